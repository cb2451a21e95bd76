//! User messages (3.3): what an asynchronous failure tells the user afterwards, kept for
//! Cinder's `message_ttl` (30 days). `record` writes one where Cinder's services do.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::repo::{MessageRepo, SortKey};
use super::snapshots::{page, sort_of};
use super::{param, reply, reply_empty, timestamp, Call, Result, Urls, Volumes};

type Svc = Arc<Volumes>;

/// Cinder's `message_ttl`: 2592000 seconds.
const TTL_MS: i64 = 2_592_000_000;

/// What was being done (Cinder's `message_field.Action`): its id and words.
pub type Action = (&'static str, &'static str);
/// Why it failed (Cinder's `message_field.Detail`).
pub type Detail = (&'static str, &'static str);

pub const SCHEDULE_ALLOCATE_VOLUME: Action = ("001", "schedule allocate volume");
pub const EXTEND_VOLUME: Action = ("007", "extend volume");
pub const NO_BACKEND_AVAILABLE: Detail = ("003", "Could not find any available weighted backend.");

/// Cinder's `message_field.Resource.VOLUME`.
pub const VOLUME: &str = "VOLUME";

/// Records an error message about `resource_uuid` for `project_id`, in the caller's
/// transaction: event `VOLUME_<resource>_<action>_<detail>`, text `<action>:<detail>`.
pub fn record(
    c: &dyn MessageRepo,
    project_id: &str,
    request_id: &str,
    resource_type: &str,
    resource_uuid: &str,
    action: Action,
    detail: Detail,
) -> Result<()> {
    let now = crate::time::now_ms();
    c.insert_message(&Message {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: project_id.into(),
        request_id: request_id.into(),
        resource_type: resource_type.into(),
        resource_uuid: Some(resource_uuid.into()),
        event_id: format!("VOLUME_{resource_type}_{}_{}", action.0, detail.0),
        message_level: "ERROR".into(),
        user_message: format!("{}:{}", action.1, detail.1),
        created_ms: now,
        expires_ms: now + TTL_MS,
    })?;
    Ok(())
}

/// A user message as stored.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub project_id: String,
    pub request_id: String,
    pub resource_type: String,
    pub resource_uuid: Option<String>,
    pub event_id: String,
    pub message_level: String,
    pub user_message: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

fn view(m: &Message, urls: &Urls) -> Value {
    let mut v = json!({
        "id": m.id,
        "event_id": m.event_id,
        "user_message": m.user_message,
        "message_level": m.message_level,
        "created_at": timestamp(m.created_ms),
        "guaranteed_until": timestamp(m.expires_ms),
        "request_id": m.request_id,
        "links": urls.links("messages", &m.id),
    });
    if !m.resource_type.is_empty() {
        v["resource_type"] = json!(m.resource_type);
    }
    if let Some(u) = &m.resource_uuid {
        v["resource_uuid"] = json!(u);
    }
    v
}

fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Message {id} could not be found."))
}

/// The message `id` as the caller sees it (admins see every project's).
fn visible(c: &dyn MessageRepo, id: &str, call: &Call) -> Result<Message> {
    match c.message(id, crate::time::now_ms())? {
        Some(m) if call.is_admin() || m.project_id == call.project_id => Ok(m),
        _ => Err(not_found(id).into()),
    }
}

endpoint!(Svc; Messages { on_get => list });
endpoint!(Svc; MessageItem { on_get => show, on_delete => delete });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v3_messages" => Messages,
        "v3_message" => MessageItem,
    }
    Ok(())
}

const SORT_KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("event_id", "event_id"),
    ("resource_type", "resource_type"),
    ("resource_uuid", "resource_uuid"),
    ("message_level", "message_level"),
    ("request_id", "request_id"),
    ("created_at", "created_at"),
];

/// The filters Cinder's `resource_filters.json` allows on messages (3.5).
const FILTERS: &[&str] = &[
    "resource_uuid",
    "resource_type",
    "event_id",
    "request_id",
    "message_level",
];

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(3)?;
    // Sorting, paging and filters came with 3.5.
    let paged = call.version.at_least(5);
    let sort = if paged {
        sort_of(req, SORT_KEYS)?
    } else {
        vec![SortKey {
            key: "created_at",
            desc: true,
        }]
    };
    let project = (!call.is_admin()).then(|| call.project_id.clone());
    let urls = Urls::of(svc, req, &call)?;
    let all = svc.read(|c| Ok(c.messages(project.as_deref(), crate::time::now_ms(), &sort)?))?;
    let field = |m: &Message, key: &str| -> Option<String> {
        Some(match key {
            "resource_uuid" => m.resource_uuid.clone()?,
            "resource_type" => m.resource_type.clone(),
            "event_id" => m.event_id.clone(),
            "request_id" => m.request_id.clone(),
            _ => m.message_level.clone(),
        })
    };
    let all: Vec<Message> = all
        .into_iter()
        .filter(|m| {
            !paged
                || FILTERS.iter().all(|k| {
                    req.query_param(k)
                        .is_none_or(|want| field(m, k).as_deref() == Some(want))
                })
        })
        .collect();
    let (shown, next) = if paged {
        page(all, req, |m| m.id.as_str())?
    } else {
        (all, None)
    };
    let mut out = json!({"messages": shown.iter().map(|m| view(m, &urls)).collect::<Vec<_>>()});
    if let Some(marker) = next {
        out["messages_links"] = urls.next(req, "messages", &marker);
    }
    reply(resp, &call, 200, &out)
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(3)?;
    let id = param(req, "message_id")?;
    let urls = Urls::of(svc, req, &call)?;
    let m = svc.read(|c| visible(c, id, &call))?;
    reply(resp, &call, 200, &json!({"message": view(&m, &urls)}))
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(3)?;
    let id = param(req, "message_id")?;
    svc.write(|c| {
        let m = visible(c, id, &call)?;
        c.delete_message(&m.id)?;
        Ok(())
    })?;
    reply_empty(resp, &call, 204)
}
