//! Group snapshots (3.14): a snapshot of every volume of a group, taken together (each
//! volume's copy staged first, then one transaction records them all), listed, shown,
//! deleted with its snapshots, and reset by admins (3.19). Groups are made from them in
//! `groups.rs` (create-from-src).

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::groups;
use super::repo::{GroupFilter, GroupRepo};
use super::snapshots::{listed_project, page, sort_of, text_field};
use super::storage::Kind;
use super::{body, param, reply, reply_empty, timestamp, Call, Result, Urls, Volumes};

type Svc = Arc<Volumes>;

#[derive(Debug, Clone)]
pub struct GroupSnapshot {
    pub id: String,
    pub project_id: String,
    pub group_id: String,
    pub group_type_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub created_ms: i64,
}

pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("GroupSnapshot {id} could not be found."))
}

/// The group snapshot `id` as the caller sees it (admins see every project's).
pub fn visible(c: &dyn GroupRepo, id: &str, call: &Call) -> Result<GroupSnapshot> {
    match c.group_snapshot(id)? {
        Some(s) if call.is_admin() || s.project_id == call.project_id => Ok(s),
        _ => Err(not_found(id).into()),
    }
}

fn summary(s: &GroupSnapshot) -> Value {
    json!({"id": s.id, "name": s.name, "group_type_id": s.group_type_id})
}

fn detail(s: &GroupSnapshot, call: &Call) -> Value {
    let mut v = json!({
        "id": s.id,
        "group_id": s.group_id,
        "group_type_id": s.group_type_id,
        "status": s.status,
        "created_at": timestamp(s.created_ms),
        "name": s.name,
        "description": s.description,
    });
    if call.version.at_least(58) {
        v["project_id"] = json!(s.project_id);
    }
    v
}

endpoint!(Svc; GroupSnapshots { on_get => list, on_post => create });
endpoint!(Svc; GroupSnapshotsDetail { on_get => list_detail });
endpoint!(Svc; GroupSnapshotItem { on_get => show, on_delete => delete });
endpoint!(Svc; GroupSnapshotAction { on_post => action });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v3_group_snapshots" => GroupSnapshots,
        "v3_group_snapshots_detail" => GroupSnapshotsDetail,
        "v3_group_snapshot" => GroupSnapshotItem,
        "v3_group_snapshot_action" => GroupSnapshotAction,
    }
    Ok(())
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(14)?;
    let b = body(req)?;
    let o: Map<String, Value> = b
        .get("group_snapshot")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            Fault::bad_request("Missing required element 'group_snapshot' in request body.")
        })?;
    let group_id = match o.get("group_id") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(Fault::bad_request(
            "Invalid input for field/attribute group_snapshot. 'group_id' is a required property",
        )),
    };
    let name = text_field(&o, "name")?.flatten();
    let description = text_field(&o, "description")?.flatten();
    // Each volume's copy first, outside the transaction.
    let volumes = svc.read(|c| {
        let g = groups::visible(c, &group_id, &call)?;
        if g.status != "available" {
            return Err(Fault::bad_request(format!(
                "Invalid group: Group {group_id} status must be available, but current status is: {}.",
                g.status
            ))
            .into());
        }
        groups::members(c, &group_id)
    })?;
    let staged = volumes
        .iter()
        .map(|v| svc.stage_snapshot(v))
        .collect::<std::result::Result<Vec<_>, Fault>>()?;
    let s = svc.write(|c| {
        let g = groups::visible(c, &group_id, &call)?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = crate::time::now_ms();
        let s = GroupSnapshot {
            id: id.clone(),
            project_id: g.project_id,
            group_id: g.id,
            group_type_id: g.group_type_id,
            name,
            description,
            status: "creating".into(),
            created_ms: now,
        };
        c.insert_group_snapshot(&s, &call.caller.user_id, now + svc.delay_ms)?;
        for one in staged {
            // Cinder names a group snapshot's member snapshots after it.
            let snap =
                svc.record_snapshot(c, &call, one, Some(format!("snapshot-{id}")), None, true)?;
            c.add_to_group_snapshot(&snap.id, &id)?;
        }
        visible(c, &id, &call)
    })?;
    reply(resp, &call, 202, &json!({"group_snapshot": summary(&s)}))
}

const SORT_KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("status", "status"),
    ("group_id", "group_id"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("project_id", "project_id"),
];

fn listing(svc: &Svc, req: &Request, resp: &mut Response, detailed: bool) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(14)?;
    let sort = sort_of(req, SORT_KEYS)?;
    let filter = GroupFilter {
        project_id: listed_project(req, &call)?,
        group_id: req.query_param("group_id").map(str::to_string),
        status: req.query_param("status").map(str::to_string),
        ..Default::default()
    };
    let all = svc.read(|c| Ok(c.group_snapshots(&filter, &sort)?))?;
    let (shown, next) = page(all, req, |s| s.id.as_str())?;
    let items: Vec<Value> = shown
        .iter()
        .map(|s| {
            if detailed {
                detail(s, &call)
            } else {
                summary(s)
            }
        })
        .collect();
    let mut out = json!({ "group_snapshots": items });
    if let Some(marker) = next {
        let collection = if detailed {
            "group_snapshots/detail"
        } else {
            "group_snapshots"
        };
        out["group_snapshots_links"] = Urls::of(svc, req, &call)?.next(req, collection, &marker);
    }
    reply(resp, &call, 200, &out)
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, false)
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, true)
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(14)?;
    let id = param(req, "group_snapshot_id")?;
    let s = svc.read(|c| visible(c, id, &call))?;
    reply(
        resp,
        &call,
        200,
        &json!({"group_snapshot": detail(&s, &call)}),
    )
}

/// Deletes a group snapshot and its member snapshots in one transaction (Cinder: only an
/// available or failed one); their files go after it commits.
fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(14)?;
    let id = param(req, "group_snapshot_id")?;
    let snapshots = svc.write(|c| {
        let s = visible(c, id, &call)?;
        if s.status != "available" && s.status != "error" {
            return Err(Fault::bad_request(
                "Invalid GroupSnapshot: Group snapshot status must be available or error",
            )
            .into());
        }
        Ok(c.delete_group_snapshot(id)?)
    })?;
    for s in snapshots {
        svc.disks.remove(Kind::Snapshot, &s);
    }
    reply_empty(resp, &call, 202)
}

const STATUSES: &[&str] = &[
    "error",
    "available",
    "creating",
    "deleting",
    "deleted",
    "updating",
    "error_deleting",
];

/// `reset_status` (3.19), for admins.
fn action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(14)?;
    let id = param(req, "group_snapshot_id")?;
    let b = body(req)?;
    let Some(args) = b.get("reset_status") else {
        let name = b
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        return Err(Fault::bad_request(format!(
            "There is no such action: {name}"
        )));
    };
    call.requires(19)?;
    let status = args
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
        .ok_or_else(|| Fault::bad_request("Must specify 'status'"))?;
    if !STATUSES.contains(&status.as_str()) {
        return Err(Fault::bad_request(format!(
            "Invalid input received: Group snapshot status: {status}, group snapshot status must be one of {}.",
            STATUSES.join(", ")
        )));
    }
    svc.write(|c| {
        let s = visible(c, id, &call)?;
        c.set_group_snapshot_status(&s.id, &status, crate::time::now_ms())?;
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}
