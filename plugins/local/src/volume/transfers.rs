//! Volume transfers: a project offers a volume (`awaiting-transfer`), and whoever presents
//! the transfer's key takes it into their project, snapshots included unless the offer
//! said `no_snapshots` (3.55). Two APIs over one table: the legacy `os-volume-transfer`,
//! whose bodies never changed, and `volume-transfers` (3.55+), whose bodies follow the
//! microversion.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::model::{self, Volume};
use super::quotas::{self, Usage};
use super::states::{VolumeAction, VolumeStatus};
use super::{body, param, reply, reply_empty, timestamp, Call, Urls, Volumes};
use crate::store::{Outcome, Tx};

type Svc = Arc<Volumes>;

endpoint!(Svc; Legacy { on_get => list_legacy, on_post => create_legacy });
endpoint!(Svc; LegacyDetail { on_get => detail_legacy });
endpoint!(Svc; LegacyItem { on_get => show_legacy, on_delete => delete_legacy });
endpoint!(Svc; LegacyAccept { on_post => accept_legacy });
endpoint!(Svc; Transfers { on_get => list_v3, on_post => create_v3 });
endpoint!(Svc; TransfersDetail { on_get => detail_v3 });
endpoint!(Svc; TransferItem { on_get => show_v3, on_delete => delete_v3 });
endpoint!(Svc; TransferAccept { on_post => accept_v3 });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_volume_transfer" => Legacy,
        "v2_os_volume_transfer_detail" => LegacyDetail,
        "v2_os_volume_transfer_item" => LegacyItem,
        "v2_os_volume_transfer_accept" => LegacyAccept,
        "v3_volume_transfers" => Transfers,
        "v3_volume_transfers_detail" => TransfersDetail,
        "v3_volume_transfer" => TransferItem,
        "v3_volume_transfer_accept" => TransferAccept,
    }
    Ok(())
}

/// Cinder's `volume_transfer_key_length` and salt length.
const KEY_LENGTH: usize = 16;
const SALT_LENGTH: usize = 8;

/// Which API a request came through: the body shape and the links' collection follow it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Legacy,
    V3,
}

impl Api {
    fn collection(self) -> &'static str {
        match self {
            Api::Legacy => "os-volume-transfer",
            Api::V3 => "volume-transfers",
        }
    }
}

/// A transfer as stored: the key only as its salted hash.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: String,
    pub volume_id: String,
    pub name: Option<String>,
    pub salt: String,
    pub key_hash: String,
    pub source_project_id: String,
    pub no_snapshots: bool,
    pub created_ms: i64,
}

fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Transfer {id} could not be found."))
}

/// Letters and digits, as Cinder's `generate_password`.
fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = vec![0u8; len];
    getrandom::getrandom(&mut bytes).expect("the OS random source");
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn hash(salt: &str, key: &str) -> String {
    Sha256::digest(format!("{salt}{key}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A transfer as the caller may see it: their project's, or any for an admin.
fn visible(c: &dyn Tx, call: &Call, id: &str) -> Outcome<Transfer> {
    c.transfer(id)?
        .filter(|t| call.is_admin() || t.source_project_id == call.project_id)
        .ok_or_else(|| not_found(id).into())
}

fn view(t: &Transfer, api: Api, call: &Call, urls: &Urls, detail: bool) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "volume_id": t.volume_id,
        "links": urls.links(api.collection(), &t.id),
    });
    if detail {
        v["created_at"] = json!(timestamp(t.created_ms));
        if api == Api::V3 {
            v["no_snapshots"] = json!(t.no_snapshots);
            if call.version.at_least(57) {
                // A transfer listed is one not yet accepted: accepting removes it.
                v["source_project_id"] = json!(t.source_project_id);
                v["destination_project_id"] = Value::Null;
                v["accepted"] = json!(false);
            }
        }
    }
    v
}

fn list(svc: &Svc, req: &Request, resp: &mut Response, api: Api, detail: bool) -> HandlerResult {
    let call = Call::of(req)?;
    if api == Api::V3 {
        call.requires(55)?;
    }
    let urls = Urls::of(svc, req, &call)?;
    let everyone = call.is_admin()
        && req
            .query_param("all_tenants")
            .is_some_and(|v| !matches!(v, "0" | "false" | "False"));
    let transfers = svc.read(|c| Ok(c.transfers(everyone, &call.project_id)?))?;
    let items: Vec<Value> = transfers
        .iter()
        .map(|t| view(t, api, &call, &urls, detail))
        .collect();
    reply(resp, &call, 200, &json!({ "transfers": items }))
}

fn create(svc: &Svc, req: &Request, resp: &mut Response, api: Api) -> HandlerResult {
    let call = Call::of(req)?;
    if api == Api::V3 {
        call.requires(55)?;
    }
    let input = body(req)?;
    let Some(spec) = input.get("transfer").and_then(Value::as_object) else {
        return Err(Fault::bad_request(
            "Missing required element 'transfer' in request body.",
        ));
    };
    let volume_id = match spec.get("volume_id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(Fault::bad_request("Incorrect request body format")),
    };
    let name = match spec.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => return Err(Fault::bad_request("Transfer name must be a string")),
    };
    let no_snapshots = match (api, spec.get("no_snapshots")) {
        (Api::V3, Some(Value::Bool(b))) => *b,
        (Api::V3, Some(Value::String(s))) => matches!(s.as_str(), "true" | "True" | "1"),
        _ => false,
    };
    let key = random_text(KEY_LENGTH);
    let salt = random_text(SALT_LENGTH);
    let urls = Urls::of(svc, req, &call)?;
    let transfer = svc.write(|c| {
        let volume = model::visible(c, &volume_id, &call.project_id, call.is_admin())?;
        model::check(c, &volume, VolumeAction::TransferCreate)?;
        let t = Transfer {
            id: uuid::Uuid::new_v4().to_string(),
            volume_id: volume.id.clone(),
            name: name.clone(),
            key_hash: hash(&salt, &key),
            salt: salt.clone(),
            source_project_id: volume.project_id.clone(),
            no_snapshots,
            created_ms: crate::time::now_ms(),
        };
        c.insert_transfer(&t)?;
        model::set_status(c, &volume.id, VolumeStatus::AwaitingTransfer)?;
        Ok(t)
    })?;
    let mut v = view(&transfer, api, &call, &urls, true);
    v["auth_key"] = json!(key);
    reply(resp, &call, 202, &json!({ "transfer": v }))
}

fn show(svc: &Svc, req: &Request, resp: &mut Response, api: Api) -> HandlerResult {
    let call = Call::of(req)?;
    if api == Api::V3 {
        call.requires(55)?;
    }
    let id = param(req, "transfer_id")?;
    let urls = Urls::of(svc, req, &call)?;
    let t = svc.read(|c| visible(c, &call, id))?;
    reply(
        resp,
        &call,
        200,
        &json!({ "transfer": view(&t, api, &call, &urls, true) }),
    )
}

fn delete(svc: &Svc, req: &Request, resp: &mut Response, api: Api) -> HandlerResult {
    let call = Call::of(req)?;
    if api == Api::V3 {
        call.requires(55)?;
    }
    let id = param(req, "transfer_id")?;
    svc.write(|c| {
        let t = visible(c, &call, id)?;
        c.delete_transfer(&t.id)?;
        restore_status(c, &t.volume_id)
    })?;
    reply_empty(resp, &call, 202)
}

/// A volume no longer awaiting a transfer is available again.
fn restore_status(c: &dyn Tx, volume_id: &str) -> Outcome<()> {
    if let Some(v) = model::find(c, volume_id)? {
        // From another status Cinder leaves the volume as it is.
        if model::may_start(c, &v, VolumeAction::TransferDelete)?.is_ok() {
            model::set_status(c, volume_id, VolumeStatus::Available)?;
        }
    }
    Ok(())
}

fn accept(svc: &Svc, req: &Request, resp: &mut Response, api: Api) -> HandlerResult {
    let call = Call::of(req)?;
    if api == Api::V3 {
        call.requires(55)?;
    }
    let id = param(req, "transfer_id")?;
    let input = body(req)?;
    let Some(key) = input
        .get("accept")
        .and_then(|a| a.get("auth_key"))
        .and_then(Value::as_str)
    else {
        return Err(Fault::bad_request("Incorrect request body format"));
    };
    let urls = Urls::of(svc, req, &call)?;
    let user_id = call.caller.user_id.clone();
    let t = svc.write(|c| {
        // Whoever holds the key may accept: the transfer is not theirs to see otherwise.
        let t = c.transfer(id)?.ok_or_else(|| not_found(id))?;
        if hash(&t.salt, key) != t.key_hash {
            return Err(Fault::bad_request(format!(
                "Invalid auth key: Attempt to transfer {id} with invalid auth key."
            ))
            .into());
        }
        let volume =
            model::find(c, &t.volume_id)?.ok_or_else(|| model::volume_not_found(&t.volume_id))?;
        take(c, &t, &volume, &call.project_id, &user_id)?;
        Ok(t)
    })?;
    reply(
        resp,
        &call,
        202,
        &json!({ "transfer": view(&t, api, &call, &urls, false) }),
    )
}

/// Moves the volume (and its snapshots, unless the offer excluded them) into `project`,
/// within its quota, and ends the transfer.
fn take(c: &dyn Tx, t: &Transfer, volume: &Volume, project: &str, user: &str) -> Outcome<()> {
    let (snapshots, snapshot_gb) = if t.no_snapshots {
        (0, 0)
    } else {
        let held = c.snapshot_holdings(&volume.id)?;
        (held.count, held.gigabytes)
    };
    let want = Usage {
        volumes: 1,
        gigabytes: volume.size + snapshot_gb,
        snapshots,
        ..Default::default()
    };
    quotas::check(c, project, &want, Some(&volume.volume_type_id))?;
    let now = crate::time::now_ms();
    c.move_volume(&volume.id, project, user, VolumeStatus::Available, now)?;
    if !t.no_snapshots {
        c.move_snapshots(&volume.id, project, user, now)?;
    }
    c.delete_transfer(&t.id)?;
    Ok(())
}

fn list_legacy(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list(svc, req, resp, Api::Legacy, false)
}
fn detail_legacy(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list(svc, req, resp, Api::Legacy, true)
}
fn create_legacy(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    create(svc, req, resp, Api::Legacy)
}
fn show_legacy(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    show(svc, req, resp, Api::Legacy)
}
fn delete_legacy(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    delete(svc, req, resp, Api::Legacy)
}
fn accept_legacy(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    accept(svc, req, resp, Api::Legacy)
}
fn list_v3(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list(svc, req, resp, Api::V3, false)
}
fn detail_v3(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list(svc, req, resp, Api::V3, true)
}
fn create_v3(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    create(svc, req, resp, Api::V3)
}
fn show_v3(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    show(svc, req, resp, Api::V3)
}
fn delete_v3(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    delete(svc, req, resp, Api::V3)
}
fn accept_v3(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    accept(svc, req, resp, Api::V3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_cinders_length_and_only_their_hash_matches() {
        let key = random_text(KEY_LENGTH);
        assert_eq!(key.len(), 16);
        assert!(key.chars().all(|c| c.is_ascii_alphanumeric()));
        let h = hash("salt1234", &key);
        assert_eq!(h, hash("salt1234", &key));
        assert_ne!(h, hash("salt1234", "wrong"));
        assert_ne!(h, hash("othersal", &key));
    }
}
