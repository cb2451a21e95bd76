//! Cinder's attachments API (3.27+): a volume reserved for a server, connected to a host
//! (the connector yields the connection info: here the volume's file) and completed. The
//! steps are the model's, shared with Nova's volume attachments.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::model::{self, Attachment};
use super::repo::AttachmentFilter;
use super::snapshots::{listed_project, page, sort_of};
use super::storage::Kind;
use super::{body, param, reply, reply_empty, timestamp, Call, Result, Urls, Volumes};
use crate::store::Tx;

type Svc = Arc<Volumes>;

endpoint!(Svc; Attachments { on_get => list, on_post => create });
endpoint!(Svc; AttachmentsDetail { on_get => list_detail });
endpoint!(Svc; AttachmentItem { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; AttachmentAction { on_post => action });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v3_attachments" => Attachments,
        "v3_attachments_detail" => AttachmentsDetail,
        "v3_attachment" => AttachmentItem,
        "v3_attachment_action" => AttachmentAction,
    }
    Ok(())
}

/// The microversion that introduced attachments.
const SINCE: u16 = 27;

/// The caller and version, for a method that exists from 3.27.
fn call_of(req: &Request) -> std::result::Result<Call, Fault> {
    let call = Call::of(req)?;
    call.requires(SINCE)?;
    Ok(call)
}

fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("VolumeAttachment {id} could not be found."))
}

/// The attachment `id` when its volume is the caller's project's (or the caller an admin).
fn visible(c: &dyn Tx, id: &str, call: &Call) -> Result<Attachment> {
    let a = model::attachment(c, id)?.ok_or_else(|| not_found(id))?;
    match model::find(c, &a.volume_id)? {
        Some(v) if call.is_admin() || v.project_id == call.project_id => Ok(a),
        _ => Err(not_found(id).into()),
    }
}

// ---------------------------------------------------------------- views

/// Cinder's `connection_info` once a connector is known: the local "driver" hands out the
/// volume's file.
fn connection_info(svc: &Volumes, a: &Attachment) -> Value {
    match &a.connector {
        None => Value::Null,
        Some(_) => json!({
            "driver_volume_type": "local",
            "data": {
                "device_path": svc.disks.path(Kind::Volume, &a.volume_id).display().to_string(),
                "access_mode": a.attach_mode,
            },
        }),
    }
}

fn summary(a: &Attachment) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("id".into(), json!(a.id));
    o.insert("status".into(), json!(a.status));
    o.insert("instance".into(), json!(a.server_id));
    o.insert("volume_id".into(), json!(a.volume_id));
    o
}

fn detail(svc: &Volumes, a: &Attachment) -> Map<String, Value> {
    let mut o = summary(a);
    // Cinder writes an unset time as "".
    o.insert(
        "attached_at".into(),
        json!(a.attached_ms.map(timestamp).unwrap_or_default()),
    );
    o.insert("detached_at".into(), json!(""));
    o.insert("attach_mode".into(), json!(a.attach_mode));
    o.insert("connection_info".into(), connection_info(svc, a));
    o
}

// ---------------------------------------------------------------- model steps

/// Records the host's connector: the attachment is `attaching` until completed (one
/// already attached stays so: its host only reconnects).
fn connect(c: &dyn Tx, id: &str, connector: &Value) -> Result<()> {
    c.connect_attachment(id, connector, crate::time::now_ms())?;
    Ok(())
}

fn connector_of(o: &Map<String, Value>) -> std::result::Result<Option<Value>, Fault> {
    match o.get("connector") {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(v) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute connector. Value: {v}. {v} is not of type 'object', 'null'"
        ))),
    }
}

// ---------------------------------------------------------------- handlers

const SORT_KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("status", "status"),
    ("volume_id", "volume_id"),
    ("instance_uuid", "instance_uuid"),
    ("attach_status", "status"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, false)
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, true)
}

fn listing(svc: &Svc, req: &Request, resp: &mut Response, detailed: bool) -> HandlerResult {
    let call = call_of(req)?;
    let sort = sort_of(req, SORT_KEYS)?;
    let filter = AttachmentFilter {
        project_id: listed_project(req, &call)?,
        volume_id: req.query_param("volume_id").map(str::to_string),
        server_id: req
            .query_param("instance_id")
            .or_else(|| req.query_param("instance_uuid"))
            .map(str::to_string),
        status: req
            .query_param("status")
            .or_else(|| req.query_param("attach_status"))
            .map(str::to_string),
    };
    let all = svc.read(|c| Ok(c.attachments(&filter, &sort)?))?;
    let (shown, next) = page(all, req, |a| a.id.as_str())?;
    let mut out = Map::new();
    out.insert(
        "attachments".into(),
        Value::Array(
            shown
                .iter()
                .map(|a| Value::Object(if detailed { detail(svc, a) } else { summary(a) }))
                .collect(),
        ),
    );
    if let Some(marker) = next {
        let urls = Urls::of(svc, req, &call)?;
        let collection = if detailed {
            "attachments/detail"
        } else {
            "attachments"
        };
        out.insert(
            "attachments_links".into(),
            urls.next(req, collection, &marker),
        );
    }
    reply(resp, &call, 200, &Value::Object(out))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "attachment_id")?;
    let a = svc.read(|c| visible(c, id, &call))?;
    reply(resp, &call, 200, &json!({"attachment": detail(svc, &a)}))
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let b = body(req)?;
    let o = b
        .get("attachment")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            Fault::bad_request("Missing required element 'attachment' in request body.")
        })?;
    let volume_id = o
        .get("volume_uuid")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Fault::bad_request(
                "Invalid input for field/attribute attachment. Value: {}. 'volume_uuid' is a required property",
            )
        })?
        .to_string();
    let instance = o
        .get("instance_uuid")
        .and_then(Value::as_str)
        .map(str::to_string);
    let connector = connector_of(o)?;
    let mode = match o.get("mode") {
        Some(m) if call.version.at_least(54) => match m.as_str() {
            Some(m @ ("rw" | "ro")) => Some(m.to_string()),
            _ => {
                return Err(Fault::bad_request(format!(
                    "Invalid input for field/attribute mode. Value: {m}. {m} is not one of ['rw', 'ro']"
                )))
            }
        },
        _ => None,
    };
    let a = svc.write(|c| {
        let volume = model::visible(c, &volume_id, &call.project_id, call.is_admin())?;
        if mode.as_deref() == Some("rw") && volume.readonly {
            return Err(Fault::bad_request(format!(
                "Invalid volume: Volume {} is read-only and can't be attached with mode rw.",
                volume.id
            ))
            .into());
        }
        let spec = model::AttachSpec {
            server_id: instance.clone(),
            mode: mode.clone(),
            ..Default::default()
        };
        let a = model::reserve(c, &volume, &spec)?;
        if let Some(conn) = &connector {
            connect(c, &a.id, conn)?;
        }
        Ok(model::attachment(c, &a.id)?.ok_or_else(|| not_found(&a.id))?)
    })?;
    reply(resp, &call, 200, &json!({"attachment": detail(svc, &a)}))
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "attachment_id")?;
    let b = body(req)?;
    let connector = b
        .get("attachment")
        .and_then(Value::as_object)
        .map(connector_of)
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            Fault::bad_request(
                "Invalid input for field/attribute attachment. Value: {}. 'connector' is a required property",
            )
        })?;
    let a = svc.write(|c| {
        let a = visible(c, id, &call)?;
        connect(c, &a.id, &connector)?;
        Ok(model::attachment(c, id)?.ok_or_else(|| not_found(id))?)
    })?;
    reply(resp, &call, 200, &json!({"attachment": detail(svc, &a)}))
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "attachment_id")?;
    // Cinder answers with the volume's attachments that remain.
    let left = svc.write(|c| {
        let a = visible(c, id, &call)?;
        model::detach(c, &a.id)?;
        Ok(model::attachments_of(c, &a.volume_id)?)
    })?;
    let left: Vec<Value> = left.iter().map(|a| Value::Object(summary(a))).collect();
    reply(resp, &call, 200, &json!({"attachments": left}))
}

fn action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "attachment_id")?;
    let b = body(req)?;
    let name = b
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .ok_or_else(|| Fault::bad_request("Malformed request body"))?;
    match name.as_str() {
        "os-complete" if call.version.at_least(44) => {
            svc.write(|c| {
                let a = visible(c, id, &call)?;
                Ok(model::complete(c, &a.id, None)?)
            })?;
            reply_empty(resp, &call, 204)
        }
        _ => Err(Fault::bad_request(format!(
            "There is no such action: {name}"
        ))),
    }
}
