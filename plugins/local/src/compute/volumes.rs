//! Nova's volume proxies (`os-volumes`, `os-snapshots`, up to 2.35; 404 after): the
//! block-storage store's volumes and snapshots in Nova's 2011 shapes (`displayName`,
//! `availabilityZone`, …), created and deleted through block storage's own steps.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::network_proxies::{call_of, limited};
use super::servers::routes::invalid;
use crate::compute::{body, param, reply, reply_empty, Call, Compute, Urls};
use crate::store::Tx;
use crate::volume::model::{self as vm, Volume};
use crate::volume::repo::{SnapshotFilter, SortKey};
use crate::volume::snapshots::{self, Snapshot};
use crate::volume::states::VolumeAction;
use crate::volume::storage::{Kind, Source, Staged, GIB};
use crate::volume::volumes::NewVolume;
use crate::volume::Volumes;

type Svc = Arc<Compute>;

endpoint!(Svc; VolumesEp { on_get => list, on_post => create });
endpoint!(Svc; VolumesDetail { on_get => list_detail });
endpoint!(Svc; VolumeItem { on_get => show, on_delete => delete });
endpoint!(Svc; Snapshots { on_get => list_snapshots, on_post => create_snapshot });
endpoint!(Svc; SnapshotsDetail { on_get => list_snapshots });
endpoint!(Svc; SnapshotItem { on_get => show_snapshot, on_delete => delete_snapshot });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_volumes" => VolumesEp,
        "v2_os_volumes_detail" => VolumesDetail,
        "v2_os_volume" => VolumeItem,
        "v2_os_snapshots" => Snapshots,
        "v2_os_snapshots_detail" => SnapshotsDetail,
        "v2_os_snapshot" => SnapshotItem,
    }
    Ok(())
}

/// Block storage's view of the caller, for the steps Nova proxies.
pub fn volume_call(call: &Call) -> crate::volume::Call {
    crate::volume::Call {
        caller: call.caller.clone(),
        version: crate::volume::API.min,
        project_id: call.project_id.clone(),
    }
}

/// Nova relays block storage's faults with its own statuses: over quota is 403.
fn relayed(f: Fault) -> Fault {
    match f.status {
        413 => Fault::forbidden(f.message),
        _ => f,
    }
}

// ---------------------------------------------------------------- volumes

/// `_translate_volume_summary_view`: the first attachment, or `[{}]` when none.
fn volume_view(c: &dyn Tx, v: &Volume, type_name: Option<String>) -> crate::compute::Result<Value> {
    let attachment = vm::attachments_of(c, &v.id)?
        .into_iter()
        .find(|a| a.status == "attached");
    let attachments = match attachment {
        Some(a) => {
            let mut m = Map::new();
            m.insert("id".into(), json!(v.id));
            m.insert("volumeId".into(), json!(v.id));
            m.insert("serverId".into(), json!(a.server_id));
            if let Some(d) = a.mountpoint.filter(|d| !d.is_empty()) {
                m.insert("device".into(), json!(d));
            }
            json!([m])
        }
        None => json!([{}]),
    };
    Ok(json!({
        "id": v.id,
        "status": v.status,
        "size": v.size,
        "availabilityZone": v.availability_zone,
        "createdAt": crate::volume::timestamp(v.created_ms),
        "attachments": attachments,
        "displayName": v.name,
        "displayDescription": v.description,
        "volumeType": type_name,
        "snapshotId": v.snapshot_id,
        "metadata": v.metadata,
    }))
}

/// Cinder lists a project's volumes and snapshots newest first; Nova pages them itself.
const NEWEST_FIRST: [SortKey; 1] = [SortKey {
    key: "created_at",
    desc: true,
}];

/// The type's name of a volume (Nova shows the name as `volumeType`).
fn type_name(c: &dyn Tx, v: &Volume) -> crate::compute::Result<Option<String>> {
    crate::volume::types::name_of(c, &v.volume_type_id)
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let items = svc.volumes.read(|c| {
        let all = c.listed_volumes(Some(&call.project_id), &NEWEST_FIRST)?;
        let page = limited(all, req)?;
        page.into_iter()
            .map(|l| volume_view(c, &l.volume, l.type_name))
            .collect::<crate::store::Outcome<Vec<Value>>>()
    })?;
    reply(resp, &call, 200, &json!({ "volumes": items }))
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list(svc, req, resp)
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "volume_id")?;
    let body = svc.volumes.read(|c| {
        let v = vm::visible(c, id, &call.project_id, call.is_admin())?;
        let name = type_name(c, &v)?;
        volume_view(c, &v, name)
    })?;
    reply(resp, &call, 200, &json!({ "volume": body }))
}

/// A string field of a create body (Nova's schema: `{'type': 'string'}`).
fn string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, Fault> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(
            key,
            other,
            &format!("{other} is not of type 'string'"),
        )),
    }
}

/// The object under `key` of a body that allows only `keys` in it (Nova's schemas'
/// `additionalProperties: False`).
pub fn object_of<'a>(
    b: &'a Value,
    key: &str,
    keys: &[&str],
) -> Result<&'a Map<String, Value>, Fault> {
    let m = b.get(key).and_then(Value::as_object).ok_or_else(|| {
        Fault::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {}. '{key}' is a required property",
            b
        ))
    })?;
    let extra: Vec<String> = m
        .keys()
        .filter(|k| !keys.contains(&k.as_str()))
        .map(|k| format!("'{k}'"))
        .collect();
    if !extra.is_empty() {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ({} {} unexpected)",
            extra.join(", "),
            if extra.len() == 1 { "was" } else { "were" }
        )));
    }
    Ok(m)
}

/// Nova's `size`: an integer, or a string of digits, at least 1.
fn size_of(v: &Value) -> Result<i64, Fault> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        Value::String(s) => {
            return Err(invalid(
                "size",
                v,
                &format!("'{s}' does not match '^[0-9]+$'"),
            ))
        }
        _ => None,
    }
    .ok_or_else(|| {
        invalid(
            "size",
            v,
            &format!("{v} is not of type 'integer', 'string'"),
        )
    })?;
    if n < 1 {
        return Err(invalid(
            "size",
            v,
            &format!("{n} is less than the minimum of 1"),
        ));
    }
    Ok(n)
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let b = body(req)?;
    let vol = object_of(
        &b,
        "volume",
        &[
            "volume_type",
            "metadata",
            "snapshot_id",
            "size",
            "availability_zone",
            "display_name",
            "display_description",
        ],
    )?;
    let size = match vol.get("size") {
        Some(s) => size_of(s)?,
        None => {
            return Err(Fault::bad_request(
                "Invalid input for field/attribute volume. 'size' is a required property",
            ))
        }
    };
    let metadata = match vol.get("metadata") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(invalid(
                "metadata",
                other,
                &format!("{other} is not of type 'object'"),
            ))
        }
    };
    let snapshot_id = string(vol, "snapshot_id")?;
    if let Some(sid) = &snapshot_id {
        // Nova looks the snapshot up first: a missing one is 404.
        svc.volumes
            .read(|c| snapshots::visible(c, sid, &volume_call(&call)))?;
    }
    let spec = NewVolume {
        size: Some(size),
        name: string(vol, "display_name")?,
        description: string(vol, "display_description")?,
        volume_type: string(vol, "volume_type")?,
        availability_zone: string(vol, "availability_zone")?,
        metadata,
        snapshot_id,
        ..Default::default()
    };
    let v = svc
        .volumes
        .create_volume(&volume_call(&call), spec)
        .map_err(relayed)?;
    let body = svc.volumes.read(|c| {
        let name = type_name(c, &v)?;
        volume_view(c, &v, name)
    })?;
    let urls = Urls::of(svc, req)?;
    resp.set_header(
        "Location",
        &format!("{}/os-volumes/{}", urls.versioned, v.id),
    );
    reply(resp, &call, 200, &json!({ "volume": body }))
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "volume_id")?;
    let snapshots = svc.volumes.write(|c| {
        let v = vm::visible(c, id, &call.project_id, call.is_admin())?;
        svc.volumes.delete_volume(c, &v, false, false)
    })?;
    svc.volumes.remove_files(id, &snapshots);
    reply_empty(resp, &call, 202)
}

// ---------------------------------------------------------------- snapshots

/// `_translate_snapshot_summary_view`.
fn snapshot_view(s: &Snapshot) -> Value {
    json!({
        "id": s.id,
        "volumeId": s.volume_id,
        "status": s.status,
        "size": s.size,
        "createdAt": crate::volume::timestamp(s.created_ms),
        "displayName": s.name,
        "displayDescription": s.description,
    })
}

fn list_snapshots(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let filter = SnapshotFilter {
        project_id: Some(call.project_id.clone()),
        ..Default::default()
    };
    let all = svc
        .volumes
        .read(|c| Ok(c.snapshots(&filter, &NEWEST_FIRST)?))?;
    let items: Vec<Value> = limited(all, req)?.iter().map(snapshot_view).collect();
    reply(resp, &call, 200, &json!({ "snapshots": items }))
}

fn show_snapshot(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "snapshot_id")?;
    let s = svc
        .volumes
        .read(|c| snapshots::visible(c, id, &volume_call(&call)))?;
    reply(resp, &call, 200, &json!({ "snapshot": snapshot_view(&s) }))
}

fn create_snapshot(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let b = body(req)?;
    let o = object_of(
        &b,
        "snapshot",
        &["volume_id", "force", "display_name", "display_description"],
    )?;
    let volume_id = string(o, "volume_id")?.ok_or_else(|| {
        Fault::bad_request(
            "Invalid input for field/attribute snapshot. 'volume_id' is a required property",
        )
    })?;
    let force = match o.get("force") {
        None => false,
        Some(f) => super::volume_attachments::boolean_value("force", f)?,
    };
    let s = svc
        .volumes
        .create_snapshot(
            &volume_call(&call),
            snapshots::NewSnapshot {
                volume_id,
                name: string(o, "display_name")?,
                description: string(o, "display_description")?,
                metadata: Map::new(),
                force: Some(force),
            },
        )
        .map_err(relayed)?;
    reply(resp, &call, 200, &json!({ "snapshot": snapshot_view(&s) }))
}

fn delete_snapshot(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "snapshot_id")?;
    svc.volumes
        .delete_snapshot(&volume_call(&call), id, false)?;
    reply_empty(resp, &call, 202)
}

/// A snapshot's file, copied before its row is written (`Volumes::record_snapshot`): for
/// `createImage` of a volume-backed server, whose snapshots are recorded in the action's
/// transaction (`Volumes::create_snapshot` runs its own).
pub struct StagedSnapshot {
    pub id: String,
    pub volume_id: String,
    staged: Staged,
}

impl Volumes {
    /// Copies a volume's bytes for a snapshot, under a temp name.
    pub fn stage_snapshot(&self, volume: &Volume) -> Result<StagedSnapshot, Fault> {
        let id = uuid::Uuid::new_v4().to_string();
        let staged = self
            .disks
            .stage(
                Kind::Snapshot,
                &id,
                volume.size as u64 * GIB,
                Source::File(&self.disks.path(Kind::Volume, &volume.id)),
            )
            .map_err(|e| self.fault(self.io("copying the volume for a snapshot", e)))?;
        Ok(StagedSnapshot {
            id,
            volume_id: volume.id.clone(),
            staged,
        })
    }

    /// Records a staged snapshot in the caller's transaction: checks the volume again and
    /// the quota, writes the row (`creating`, `available` after the delay) and renames the
    /// file into place.
    pub fn record_snapshot(
        &self,
        c: &dyn Tx,
        call: &crate::volume::Call,
        staged: StagedSnapshot,
        name: Option<String>,
        description: Option<String>,
        force: bool,
    ) -> crate::store::Outcome<Snapshot> {
        let volume = vm::visible(c, &staged.volume_id, &call.project_id, call.is_admin())?;
        let action = if force {
            VolumeAction::ForceSnapshot
        } else {
            VolumeAction::Snapshot
        };
        vm::check(c, &volume, action)?;
        crate::volume::quotas::check(
            c,
            &volume.project_id,
            &crate::volume::quotas::Usage {
                gigabytes: volume.size,
                snapshots: 1,
                ..Default::default()
            },
            Some(&volume.volume_type_id),
        )?;
        let now = crate::time::now_ms();
        c.insert_snapshot(
            &Snapshot::new(
                &staged.id,
                &volume,
                &call.caller.user_id,
                name,
                description,
                Map::new(),
                now,
            ),
            now + self.delay_ms,
        )?;
        let s = snapshots::find(c, &staged.id)?.ok_or_else(|| snapshots::not_found(&staged.id))?;
        staged
            .staged
            .commit()
            .map_err(|e| self.io("saving the snapshot file", e))?;
        Ok(s)
    }
}
