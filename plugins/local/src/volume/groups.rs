//! Generic volume groups (3.13): volumes of the group's volume types kept together, so
//! they can be snapshotted together (`group_snapshots.rs`) and copied as a whole
//! (create-from-src, 3.14). Create, list, show, update (members), delete with their
//! volumes, reset status (3.20); replication (3.38) is refused: no group type here
//! enables it.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::model::{self, Volume};
use super::repo::{GroupFilter, GroupRepo};
use super::snapshots::{flag, listed_project, page, sort_of, text_field};
use super::states::VolumeAction;
use super::volumes::NewVolume;
use super::{body, group_types, param, quotas, reply, reply_empty, timestamp, types};
use super::{Call, Result, Urls, Volumes, ZONE};
use crate::store::Tx;

type Svc = Arc<Volumes>;

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub project_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub group_type_id: String,
    pub volume_type_ids: Vec<String>,
    pub availability_zone: String,
    pub group_snapshot_id: Option<String>,
    pub source_group_id: Option<String>,
    pub replication_status: Option<String>,
    pub created_ms: i64,
}

pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Group {id} could not be found."))
}

/// The group `id` as the caller sees it: another project's is not found, but by admins.
pub fn visible(c: &dyn GroupRepo, id: &str, call: &Call) -> Result<Group> {
    match c.volume_group(id)? {
        Some(g) if call.is_admin() || g.project_id == call.project_id => Ok(g),
        _ => Err(not_found(id).into()),
    }
}

/// The group a volume belongs to.
pub fn group_of(c: &dyn GroupRepo, volume_id: &str) -> Result<Option<String>> {
    Ok(c.group_of_volume(volume_id)?)
}

/// The volumes of a group, oldest first.
pub fn members(c: &dyn GroupRepo, group_id: &str) -> Result<Vec<Volume>> {
    Ok(c.volume_group_members(group_id)?)
}

/// Whether a new volume of type `volume_type_id` may go into the group `group_id`
/// (Cinder's volume create with `group_id`, 3.13): the group is the caller's and its
/// volume types include the volume's.
pub fn check_new_member(
    c: &dyn GroupRepo,
    call: &Call,
    group_id: &str,
    volume_type_id: &str,
) -> Result<()> {
    let g = visible(c, group_id, call)?;
    if !g.volume_type_ids.iter().any(|t| t == volume_type_id) {
        return Err(Fault::bad_request(format!(
            "Invalid input received: Invalid volume_type provided: {volume_type_id} (requested type is not compatible; recommend omitting the type argument)."
        ))
        .into());
    }
    Ok(())
}

fn invalid_group(why: impl std::fmt::Display) -> Fault {
    Fault::bad_request(format!("Invalid group: {why}"))
}

/// Cinder's 413 for the `groups` quota; usage counted from the rows.
fn check_quota(c: &dyn Tx, project_id: &str) -> Result<()> {
    let quota = quotas::limit(c, project_id, "groups")?;
    let used = quotas::in_use(c, project_id)?
        .get("groups")
        .copied()
        .unwrap_or(0);
    if quota >= 0 && used + 1 > quota {
        return Err(Fault::too_large(format!(
            "Maximum number of groups allowed ({quota}) exceeded"
        ))
        .kind("overLimit")
        .header("Retry-After", "0")
        .into());
    }
    Ok(())
}

/// Sets a group's status now, and `next` after the service's delay when given.
fn set_status(
    svc: &Volumes,
    c: &dyn GroupRepo,
    id: &str,
    status: &str,
    next: Option<&str>,
) -> Result<()> {
    let now = crate::time::now_ms();
    c.set_volume_group_status(id, status, next.map(|n| (n, now + svc.delay_ms)), now)?;
    Ok(())
}

/// What a group is made with (`insert` records the rest).
struct Wanted {
    name: Option<String>,
    description: Option<String>,
    group_type_id: String,
    volume_type_ids: Vec<String>,
    group_snapshot_id: Option<String>,
    source_group_id: Option<String>,
}

/// Inserts a group in `status` (`creating`, `available` after the delay, for a plain
/// create), within the `groups` quota.
fn insert(svc: &Volumes, c: &dyn Tx, call: &Call, g: Wanted, next: Option<&str>) -> Result<String> {
    check_quota(c, &call.project_id)?;
    let id = uuid::Uuid::new_v4().to_string();
    let now = crate::time::now_ms();
    c.insert_volume_group(&NewGroup {
        id: id.clone(),
        project_id: call.project_id.clone(),
        user_id: call.caller.user_id.clone(),
        name: g.name,
        description: g.description,
        next_status: next.map(str::to_string),
        ready_ms: next.map(|_| now + svc.delay_ms),
        group_type_id: g.group_type_id,
        volume_type_ids: g.volume_type_ids,
        availability_zone: ZONE.into(),
        group_snapshot_id: g.group_snapshot_id,
        source_group_id: g.source_group_id,
        created_ms: now,
    })?;
    Ok(id)
}

/// A group as `GroupRepo::insert_group` records it: `creating`, then `next_status` at
/// `ready_ms` when given.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub next_status: Option<String>,
    pub ready_ms: Option<i64>,
    pub group_type_id: String,
    pub volume_type_ids: Vec<String>,
    pub availability_zone: String,
    pub group_snapshot_id: Option<String>,
    pub source_group_id: Option<String>,
    pub created_ms: i64,
}

// ---------------------------------------------------------------- views

fn summary(g: &Group) -> Value {
    json!({"id": g.id, "name": g.name})
}

fn detail(c: &dyn GroupRepo, g: &Group, call: &Call, req: &Request) -> Result<Value> {
    let ver = call.version;
    let mut v = json!({
        "id": g.id,
        "status": g.status,
        "availability_zone": g.availability_zone,
        "created_at": timestamp(g.created_ms),
        "name": g.name,
        "description": g.description,
        "group_type": g.group_type_id,
        "volume_types": g.volume_type_ids,
    });
    if ver.at_least(14) {
        v["group_snapshot_id"] = json!(g.group_snapshot_id);
        v["source_group_id"] = json!(g.source_group_id);
    }
    if ver.at_least(25)
        && flag(
            req.query_param("list_volume").map(|s| json!(s)).as_ref(),
            "list_volume",
        )?
    {
        let ids: Vec<String> = members(c, &g.id)?.into_iter().map(|v| v.id).collect();
        v["volumes"] = json!(ids);
    }
    if ver.at_least(38) {
        v["replication_status"] = json!(g.replication_status);
    }
    if ver.at_least(58) {
        v["project_id"] = json!(g.project_id);
    }
    Ok(v)
}

// ---------------------------------------------------------------- routes

endpoint!(Svc; Groups { on_get => list, on_post => create });
endpoint!(Svc; GroupsDetail { on_get => list_detail });
endpoint!(Svc; GroupsAction { on_post => collection_action });
endpoint!(Svc; GroupItem { on_get => show, on_put => update });
endpoint!(Svc; GroupAction { on_post => action });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v3_groups" => Groups,
        "v3_groups_detail" => GroupsDetail,
        "v3_groups_action" => GroupsAction,
        "v3_group" => GroupItem,
        "v3_group_action" => GroupAction,
    }
    Ok(())
}

fn group_object(b: &Value, key: &str) -> std::result::Result<Map<String, Value>, Fault> {
    b.get(key)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            Fault::bad_request(format!("Missing required element '{key}' in request body."))
        })
}

fn required(o: &Map<String, Value>, key: &str) -> std::result::Result<String, Fault> {
    match o.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(v) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {v}. {v} is not of type 'string'"
        ))),
        None => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute group. Value: {}. '{key}' is a required property",
            Value::Object(o.clone())
        ))),
    }
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(13)?;
    let o = group_object(&body(req)?, "group")?;
    let group_type = required(&o, "group_type")?;
    let volume_types: Vec<String> = match o.get("volume_types") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute volume_types."))?,
        Some(Value::String(s)) if !s.is_empty() => {
            s.split(',').map(|t| t.trim().to_string()).collect()
        }
        _ => {
            return Err(Fault::bad_request(
                "Invalid input for field/attribute group. 'volume_types' is a required property",
            ))
        }
    };
    if let Some(zone) = o.get("availability_zone").and_then(Value::as_str) {
        if zone != ZONE {
            return Err(Fault::bad_request(format!(
                "Availability zone '{zone}' is invalid."
            )));
        }
    }
    let name = text_field(&o, "name")?.flatten();
    let description = text_field(&o, "description")?.flatten();
    let g = svc.write(|c| {
        let gt = group_types::resolve(c, &group_type, &call)?;
        let mut type_ids = Vec::new();
        for t in &volume_types {
            type_ids.push(types::resolve(c, Some(t), &call.project_id, call.is_admin())?.id);
        }
        let id = insert(
            svc,
            c,
            &call,
            Wanted {
                name,
                description,
                group_type_id: gt.id,
                volume_type_ids: type_ids,
                group_snapshot_id: None,
                source_group_id: None,
            },
            Some("available"),
        )?;
        visible(c, &id, &call)
    })?;
    reply(resp, &call, 202, &json!({"group": summary(&g)}))
}

const SORT_KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("status", "status"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("group_type", "group_type"),
    ("availability_zone", "availability_zone"),
    ("project_id", "project_id"),
];

fn listing(svc: &Svc, req: &Request, resp: &mut Response, detailed: bool) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(13)?;
    let sort = sort_of(req, SORT_KEYS)?;
    let filter = GroupFilter {
        project_id: listed_project(req, &call)?,
        name: req.query_param("name").map(str::to_string),
        status: req.query_param("status").map(str::to_string),
        ..Default::default()
    };
    let (groups, next) = svc.read(|c| {
        let rows = c.volume_groups(&filter, &sort)?;
        let (shown, next) = page(rows, req, |g| g.id.as_str())?;
        let out = shown
            .iter()
            .map(|g| {
                if detailed {
                    detail(c, g, &call, req)
                } else {
                    Ok(summary(g))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((out, next))
    })?;
    let mut out = json!({ "groups": groups });
    if let Some(marker) = next {
        let collection = if detailed { "groups/detail" } else { "groups" };
        out["groups_links"] = Urls::of(svc, req, &call)?.next(req, collection, &marker);
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
    call.requires(13)?;
    let id = param(req, "group_id")?;
    let g = svc.read(|c| {
        let g = visible(c, id, &call)?;
        detail(c, &g, &call, req)
    })?;
    reply(resp, &call, 200, &json!({ "group": g }))
}

/// `add_volumes`/`remove_volumes`: comma-separated ids.
fn id_list(o: &Map<String, Value>, key: &str) -> std::result::Result<Vec<String>, Fault> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()),
        Some(v) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {v}. {v} is not of type 'string', 'null'"
        ))),
    }
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(13)?;
    let id = param(req, "group_id")?.to_string();
    let o = group_object(&body(req)?, "group")?;
    let name = text_field(&o, "name")?;
    let description = text_field(&o, "description")?;
    let add = id_list(&o, "add_volumes")?;
    let remove = id_list(&o, "remove_volumes")?;
    if name.is_none() && description.is_none() && add.is_empty() && remove.is_empty() {
        return Err(Fault::bad_request(
            "Name, description, add_volumes, and remove_volumes can not be all empty in the request body.",
        ));
    }
    svc.write(|c| {
        let g = visible(c, &id, &call)?;
        if g.status != "available" {
            return Err(invalid_group(format!(
                "Group status must be available, but current status is: {}.",
                g.status
            ))
            .into());
        }
        for vid in &add {
            let cannot = |why: String| {
                invalid_group(format!(
                    "Cannot add volume {vid} to group {id} because {why}."
                ))
            };
            let v = model::find(c, vid)?
                .filter(|v| call.is_admin() || v.project_id == call.project_id)
                .ok_or_else(|| cannot("volume cannot be found".into()))?;
            match group_of(c, vid)? {
                Some(other) if other == id => continue,
                Some(other) => return Err(cannot(format!("it is already in group {other}")).into()),
                None => {}
            }
            if !g.volume_type_ids.contains(&v.volume_type_id) {
                return Err(cannot(format!(
                    "volume type {} is not supported by the group",
                    v.volume_type_id
                ))
                .into());
            }
            if let Err(r) = model::may_start(c, &v, VolumeAction::AddToGroup)? {
                return Err(cannot(r.reason(&v.id, &v.status)).into());
            }
            c.set_group_of_volume(vid, Some(&id))?;
        }
        for vid in &remove {
            if group_of(c, vid)?.as_deref() != Some(id.as_str()) {
                return Err(invalid_group(format!(
                    "Cannot remove volume {vid} from group {id} because it is not in the group."
                ))
                .into());
            }
            c.set_group_of_volume(vid, None)?;
        }
        c.update_volume_group(
            &id,
            name.clone().unwrap_or(g.name.clone()).as_deref(),
            description
                .clone()
                .unwrap_or(g.description.clone())
                .as_deref(),
        )?;
        // The volume service updates the group's membership, then it is available again.
        set_status(svc, c, &id, "updating", Some("available"))
    })?;
    reply_empty(resp, &call, 202)
}

/// `POST /groups/action`: `create-from-src` (3.14).
fn collection_action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(13)?;
    let b = body(req)?;
    let Some(args) = b.get("create-from-src") else {
        return Err(Fault::bad_request("There is no such action"));
    };
    call.requires(14)?;
    let o = args
        .as_object()
        .cloned()
        .ok_or_else(|| Fault::bad_request("Malformed request body"))?;
    let name = text_field(&o, "name")?.flatten();
    let description = text_field(&o, "description")?.flatten();
    let snapshot_id = o
        .get("group_snapshot_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let source_id = o
        .get("source_group_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    if snapshot_id.is_some() == source_id.is_some() {
        return Err(Fault::bad_request(format!(
            "Either 'group_snapshot_id' or 'source_group_id' must be provided to create group {} from source.",
            name.as_deref().unwrap_or("None")
        )));
    }
    let g = svc.create_group_from_src(&call, name, description, snapshot_id, source_id)?;
    reply(resp, &call, 202, &json!({"group": summary(&g)}))
}

/// What one volume of a group made from a source copies: a snapshot of the group
/// snapshot or a volume of the source group, and its type.
struct Copy {
    snapshot_id: Option<String>,
    source_volid: Option<String>,
    volume_type: String,
}

impl Volumes {
    /// Creates a group like a group snapshot's or another group, with a volume made from
    /// each of its snapshots or volumes. The group is recorded `creating` first; each
    /// volume is made as any other (staged, then its own transaction); the group becomes
    /// `available` after the delay, or `error` when a volume could not be made.
    fn create_group_from_src(
        &self,
        call: &Call,
        name: Option<String>,
        description: Option<String>,
        snapshot_id: Option<String>,
        source_id: Option<String>,
    ) -> std::result::Result<Group, Fault> {
        let (group, sources) = self.write(|c| {
            let (origin, sources): (Group, Vec<Copy>) = if let Some(sid) = &snapshot_id {
                let gs = super::group_snapshots::visible(c, sid, call)?;
                if gs.status != "available" {
                    return Err(Fault::bad_request(format!(
                        "Invalid group snapshot: Group snapshot {sid} status must be available."
                    ))
                    .into());
                }
                let origin = visible(c, &gs.group_id, call)?;
                let rows = c
                    .group_snapshot_members(sid)?
                    .into_iter()
                    .map(|(snapshot, volume_type)| Copy {
                        snapshot_id: Some(snapshot),
                        source_volid: None,
                        volume_type,
                    })
                    .collect();
                (origin, rows)
            } else {
                let gid = source_id.as_deref().unwrap_or_default();
                let origin = visible(c, gid, call)?;
                if origin.status != "available" {
                    return Err(invalid_group(format!(
                        "Source group {gid} status must be available."
                    ))
                    .into());
                }
                let rows = members(c, gid)?
                    .into_iter()
                    .map(|v| Copy {
                        snapshot_id: None,
                        source_volid: Some(v.id),
                        volume_type: v.volume_type_id,
                    })
                    .collect();
                (origin, rows)
            };
            let id = insert(
                self,
                c,
                call,
                Wanted {
                    name,
                    description,
                    group_type_id: origin.group_type_id.clone(),
                    volume_type_ids: origin.volume_type_ids.clone(),
                    group_snapshot_id: snapshot_id.clone(),
                    source_group_id: source_id.clone(),
                },
                None,
            )?;
            Ok((visible(c, &id, call)?, sources))
        })?;
        let mut failed = false;
        for Copy {
            snapshot_id,
            source_volid,
            volume_type,
        } in sources
        {
            let made = self.create_volume(
                call,
                NewVolume {
                    snapshot_id,
                    source_volid,
                    volume_type: Some(volume_type),
                    group_id: Some(group.id.clone()),
                    ..Default::default()
                },
            );
            if let Err(f) = made {
                self.app.log(
                    LogLevel::Warn,
                    &format!(
                        "group {}: a volume could not be made: {}",
                        group.id, f.message
                    ),
                );
                failed = true;
                break;
            }
        }
        let next = if failed { "error" } else { "available" };
        self.write(|c| set_status(self, c, &group.id, "creating", Some(next)))?;
        Ok(group)
    }
}

const GROUP_STATUSES: &[&str] = &[
    "error",
    "available",
    "creating",
    "deleting",
    "deleted",
    "updating",
    "in-use",
    "error_deleting",
];

/// `POST /groups/{id}/action`: delete, reset_status (3.20), and the replication actions
/// (3.38).
fn action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(13)?;
    let id = param(req, "group_id")?.to_string();
    let b = body(req)?;
    let (name, args) = b
        .as_object()
        .and_then(|o| o.iter().next())
        .ok_or_else(|| Fault::bad_request("Malformed request body"))?;
    match name.as_str() {
        "delete" => {
            let delete_volumes = flag(args.get("delete-volumes"), "delete-volumes")?;
            let removed = svc.write(|c| delete(svc, c, &call, &id, delete_volumes))?;
            for (volume, snapshots) in removed {
                svc.remove_files(&volume, &snapshots);
            }
            reply_empty(resp, &call, 202)
        }
        "reset_status" => {
            call.requires(20)?;
            let status = args
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_lowercase)
                .ok_or_else(|| Fault::bad_request("Must specify 'status'"))?;
            if !GROUP_STATUSES.contains(&status.as_str()) {
                return Err(Fault::bad_request(format!(
                    "Invalid input received: Group status: {status}, group status must be one of {}.",
                    GROUP_STATUSES.join(", ")
                )));
            }
            svc.write(|c| {
                let g = visible(c, &id, &call)?;
                set_status(svc, c, &g.id, &status, None)
            })?;
            reply_empty(resp, &call, 202)
        }
        "enable_replication"
        | "disable_replication"
        | "failover_replication"
        | "list_replication_targets" => {
            call.requires(38)?;
            let g = svc.read(|c| visible(c, &id, &call))?;
            Err(Fault::bad_request(format!(
                "Invalid group type: Group {} is not a replication group type.",
                g.id
            )))
        }
        _ => Err(Fault::bad_request(format!(
            "There is no such action: {name}"
        ))),
    }
}

/// Deletes a group in the caller's transaction, with its volumes when `delete_volumes`
/// (Cinder refuses a group that still has volumes otherwise, or group snapshots, or an
/// attached or snapshotted volume). Returns each removed volume with its snapshots: their
/// files go once the transaction has committed.
fn delete(
    svc: &Volumes,
    c: &dyn Tx,
    call: &Call,
    id: &str,
    delete_volumes: bool,
) -> Result<Vec<(String, Vec<String>)>> {
    let g = visible(c, id, call)?;
    if !["available", "error"].contains(&g.status.as_str()) {
        return Err(invalid_group(format!(
            "Group status must be available or error, but current status is: {}",
            g.status
        ))
        .into());
    }
    if c.has_group_snapshots(id)? {
        return Err(
            invalid_group(format!("Group {id} still has dependent group snapshots.")).into(),
        );
    }
    let volumes = members(c, id)?;
    if !volumes.is_empty() && !delete_volumes {
        return Err(invalid_group(format!(
            "Group {id} still contains volumes. The delete-volumes flag is required to delete it."
        ))
        .into());
    }
    let mut removed = Vec::new();
    for v in &volumes {
        if !model::attachments_of(c, &v.id)?.is_empty() {
            return Err(invalid_group(format!(
                "Volume in group {id} is attached. Need to detach first."
            ))
            .into());
        }
        if c.has_snapshots(&v.id)? {
            return Err(invalid_group("Volume in group still has dependent snapshots.").into());
        }
        // Cinder deletes a group's volumes whatever their status (error ones included).
        removed.push((v.id.clone(), svc.delete_volume(c, v, false, true)?));
    }
    c.delete_volume_group(id)?;
    Ok(removed)
}
