//! Volume snapshots (`/snapshots`): point-in-time copies of a volume's file, their metadata
//! and admin actions, as Cinder answers them at each microversion. Also the listing and
//! metadata rules backups and attachments share (sort, limit/marker, metadata checks).

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::{SnapshotFilter, SnapshotRepo, SortKey};
use super::states::{self, SnapshotFacts, SnapshotStatus, VolumeAction};
use super::storage::{Kind, Source, GIB};
use super::{
    body, model, param, quotas, reply, reply_empty, timestamp, Call, Result, Urls, Volumes,
};

type Svc = Arc<Volumes>;

endpoint!(Svc; Snapshots { on_get => list, on_post => create });
endpoint!(Svc; SnapshotsDetail { on_get => list_detail });
endpoint!(Svc; SnapshotItem { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; SnapshotAction { on_post => action });
endpoint!(Svc; SnapshotMetadata { on_get => metadata_show, on_post => metadata_merge, on_put => metadata_replace });
endpoint!(Svc; SnapshotMetadataKey { on_get => meta_show, on_put => meta_set, on_delete => meta_delete });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_snapshots" => Snapshots,
        "v2_snapshots_detail" => SnapshotsDetail,
        "v2_snapshot" => SnapshotItem,
        "v2_snapshot_action" => SnapshotAction,
        "v2_snapshot_metadata" => SnapshotMetadata,
        "v2_snapshot_metadata_key" => SnapshotMetadataKey,
    }
    Ok(())
}

/// Cinder's `osapi_max_limit`.
pub const MAX_LIMIT: usize = 1000;

/// Where a snapshot keeps what its row has no column for (`progress`), inside the
/// metadata JSON under a key no client can send (metadata keys are checked below).
const INTERNAL: &str = "\u{0}";

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub volume_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// GiB: the volume's size when it was taken.
    pub size: i64,
    pub status: String,
    pub metadata: Map<String, Value>,
    /// Set by `os-update_snapshot_status`; otherwise derived from the status.
    pub progress: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The group snapshot it was taken for (`group_snapshots.rs`).
    pub group_snapshot_id: Option<String>,
}

/// A stored metadata JSON split into what clients see and the internal fields kept with it.
pub fn split_internal(stored: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut m: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    let internal = match m.remove(INTERNAL) {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    (m, internal)
}

/// The metadata JSON to store: the client's keys and the internal fields.
pub fn join_internal(metadata: &Map<String, Value>, internal: &Map<String, Value>) -> String {
    let mut m = metadata.clone();
    if !internal.is_empty() {
        m.insert(INTERNAL.into(), Value::Object(internal.clone()));
    }
    Value::Object(m).to_string()
}

impl Snapshot {
    /// Cinder's `progress`: what the driver last reported, `100%` once available.
    pub fn progress(&self) -> String {
        match &self.progress {
            Some(p) => p.clone(),
            None if self.status == SnapshotStatus::Available.as_str() => "100%".into(),
            None => "0%".into(),
        }
    }

    /// What the store keeps beside the metadata (`join_internal`).
    pub fn internal(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(p) = &self.progress {
            m.insert("progress".into(), json!(p));
        }
        m
    }
}

impl Snapshot {
    /// A new snapshot of `volume`, as `SnapshotRepo::insert_snapshot` records it.
    pub fn new(
        id: &str,
        volume: &model::Volume,
        user_id: &str,
        name: Option<String>,
        description: Option<String>,
        metadata: Map<String, Value>,
        now_ms: i64,
    ) -> Snapshot {
        Snapshot {
            id: id.into(),
            project_id: volume.project_id.clone(),
            user_id: user_id.into(),
            volume_id: volume.id.clone(),
            name,
            description,
            size: volume.size,
            status: SnapshotStatus::Creating.as_str().into(),
            metadata,
            progress: None,
            created_ms: now_ms,
            updated_ms: now_ms,
            group_snapshot_id: None,
        }
    }
}

pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Snapshot {id} could not be found."))
}

pub fn find(c: &dyn SnapshotRepo, id: &str) -> Result<Option<Snapshot>> {
    Ok(c.snapshot(id)?)
}

/// The snapshot `id` as the caller sees it: another project's is not found, but by admins.
pub fn visible(c: &dyn SnapshotRepo, id: &str, call: &Call) -> Result<Snapshot> {
    match find(c, id)? {
        Some(s) if call.is_admin() || s.project_id == call.project_id => Ok(s),
        _ => Err(not_found(id).into()),
    }
}

/// `action` may start on `s` (the snapshot table in `states.rs`), or Cinder's 400 says why
/// not.
pub fn check(s: &Snapshot, action: states::SnapshotAction) -> std::result::Result<(), Fault> {
    let facts = SnapshotFacts {
        in_group: s.group_snapshot_id.is_some(),
    };
    states::may_start_stored(action, &s.status, facts)
        .map_err(|r| Fault::bad_request(r.message(&s.id, &s.status)))
}

fn save_metadata(c: &dyn SnapshotRepo, s: &Snapshot, metadata: &Map<String, Value>) -> Result<()> {
    let mut s = s.clone();
    s.metadata = metadata.clone();
    c.update_snapshot(&s, crate::time::now_ms())?;
    Ok(())
}

// ---------------------------------------------------------------- shared request rules

/// Cinder's metadata rules (schema `metadata_allows_null`): keys of 1 to 255 characters,
/// string values of at most 255.
pub fn metadata_in(v: &Value) -> std::result::Result<Map<String, Value>, Fault> {
    let invalid = |why: &str| {
        Fault::bad_request(format!(
            "Invalid input for field/attribute metadata. Value: {v}. {why}"
        ))
    };
    let m = match v {
        Value::Null => return Ok(Map::new()),
        Value::Object(m) => m,
        _ => return Err(invalid(&format!("{v} is not of type 'object'"))),
    };
    for (k, val) in m {
        if k.is_empty() || k.chars().count() > 255 || k.contains('\u{0}') {
            return Err(invalid(&format!(
                "'{k}' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{{1,255}}$'"
            )));
        }
        match val {
            Value::String(s) if s.chars().count() <= 255 => {}
            Value::String(s) => return Err(invalid(&format!("'{s}' is too long"))),
            other => return Err(invalid(&format!("{other} is not of type 'string'"))),
        }
    }
    Ok(m.clone())
}

/// A `name`/`description` (or v2's `display_*`): a string of at most 255 characters.
pub fn text_field(
    o: &Map<String, Value>,
    name: &str,
) -> std::result::Result<Option<Option<String>>, Fault> {
    let v = o.get(name).or_else(|| o.get(&format!("display_{name}")));
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.chars().count() <= 255 => Ok(Some(Some(s.clone()))),
        Some(Value::String(s)) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {name}. Value: {s}. '{s}' is too long"
        ))),
        Some(other) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {name}. Value: {other}. {other} is not of type 'string'"
        ))),
    }
}

/// Cinder's boolean strings (`strutils.bool_from_string`, strict).
pub fn flag(v: Option<&Value>, name: &str) -> std::result::Result<bool, Fault> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
            "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
            _ => Err(Fault::bad_request(format!(
                "Invalid value '{s}' for {name}. Accepted values are: 't', 'true', 'on', 'y', 'yes', '1', 'f', 'false', 'off', 'n', 'no', '0'"
            ))),
        },
        Some(other) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {name}. Value: {other}. {other} is not of type 'boolean', 'string'"
        ))),
    }
}

/// A listing's order: Cinder's `sort=key[:dir],…` or `sort_key`/`sort_dir`, over `keys`
/// (API name → the record's field, in Cinder's name); newest first by default.
pub fn sort_of(
    req: &Request,
    keys: &[(&str, &'static str)],
) -> std::result::Result<Vec<SortKey>, Fault> {
    let sort = req.query_param("sort");
    let (sort_key, sort_dir) = (req.query_param("sort_key"), req.query_param("sort_dir"));
    if sort.is_some() && (sort_key.is_some() || sort_dir.is_some()) {
        return Err(Fault::bad_request(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.",
        ));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(sort) = sort {
        for item in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, d) = item.split_once(':').unwrap_or((item, "desc"));
            pairs.push((k.trim().to_string(), d.trim().to_ascii_lowercase()));
        }
    } else if let Some(k) = sort_key {
        let d = sort_dir.unwrap_or("desc").to_ascii_lowercase();
        pairs.push((k.to_string(), d));
    }
    if pairs.is_empty() {
        pairs.push(("created_at".into(), "desc".into()));
    }
    let mut out = Vec::new();
    for (k, d) in &pairs {
        let key = keys
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, field)| *field)
            .ok_or_else(|| {
                Fault::bad_request(format!("Invalid input received: Invalid sort key {k}"))
            })?;
        if d != "asc" && d != "desc" {
            return Err(Fault::bad_request(
                "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'",
            ));
        }
        out.push(SortKey {
            key,
            desc: d == "desc",
        });
    }
    Ok(out)
}

/// One page of `items` (already sorted): after `marker`, `offset` more skipped (both from
/// the request), at most `limit`; and the marker of the next page when this one is full
/// (Cinder's `*_links`).
pub fn page<T>(
    items: Vec<T>,
    req: &Request,
    id: impl Fn(&T) -> &str,
) -> std::result::Result<(Vec<T>, Option<String>), Fault> {
    let pg = Page::from_request(req, MAX_LIMIT)?;
    let offset = match req.query_param("offset") {
        None => 0,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= 0 => n as usize,
            Ok(_) => {
                return Err(Fault::bad_request(
                    "Invalid input received: offset param must be positive",
                ))
            }
            Err(_) => {
                return Err(Fault::bad_request(
                    "Invalid input received: offset param must be an integer",
                ))
            }
        },
    };
    let start = match &pg.marker {
        None => 0,
        Some(m) => {
            items
                .iter()
                .position(|i| id(i) == m)
                .ok_or_else(|| Fault::not_found(format!("Marker {m} could not be found.")))?
                + 1
        }
    };
    let shown: Vec<T> = items
        .into_iter()
        .skip(start + offset)
        .take(pg.limit)
        .collect();
    let next = (pg.limit > 0 && shown.len() == pg.limit)
        .then(|| shown.last().map(|i| id(i).to_string()))
        .flatten();
    Ok((shown, next))
}

/// Cinder's `all_tenants` for admins: true when present and not false.
pub fn all_tenants(req: &Request, call: &Call) -> std::result::Result<bool, Fault> {
    Ok(call.is_admin()
        && match req.query_param("all_tenants") {
            None => false,
            Some("") => true,
            Some(v) => flag(Some(&json!(v)), "all_tenants")?,
        })
}

/// The project a listing shows: the caller's, or with `all_tenants` (admins) every
/// project (None) unless `project_id` names one.
pub fn listed_project(req: &Request, call: &Call) -> std::result::Result<Option<String>, Fault> {
    Ok(if all_tenants(req, call)? {
        req.query_param("project_id").map(str::to_string)
    } else {
        Some(call.project_id.clone())
    })
}

/// The filters snapshot and backup listings share: the project, `status`, `volume_id`
/// and `name` (or v2's `display_name`).
pub fn listing_filter(req: &Request, call: &Call) -> std::result::Result<SnapshotFilter, Fault> {
    Ok(SnapshotFilter {
        project_id: listed_project(req, call)?,
        status: req.query_param("status").map(str::to_string),
        volume_id: req.query_param("volume_id").map(str::to_string),
        name: req
            .query_param("name")
            .or_else(|| req.query_param("display_name"))
            .map(str::to_string),
    })
}

/// Cinder's `metadata` listing filter (3.22): a JSON object (or Python dict text) every
/// match contains.
pub fn metadata_filter(req: &Request) -> Option<Map<String, Value>> {
    let raw = req.query_param("metadata")?;
    serde_json::from_str(raw)
        .or_else(|_| serde_json::from_str(&raw.replace('\'', "\"")))
        .ok()
}

// ---------------------------------------------------------------- views

/// Which answer a snapshot is written for: lists' summaries, create and update (Cinder's
/// detail), show and the detailed list (with the extended attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Summary,
    Written,
    Detail,
}

pub fn view(s: &Snapshot, call: &Call, shape: Shape) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(s.id));
    o.insert("created_at".into(), json!(timestamp(s.created_ms)));
    o.insert("updated_at".into(), json!(timestamp(s.updated_ms)));
    o.insert("name".into(), json!(s.name));
    o.insert("description".into(), json!(s.description));
    o.insert("volume_id".into(), json!(s.volume_id));
    o.insert("status".into(), json!(s.status));
    o.insert("size".into(), json!(s.size));
    o.insert("metadata".into(), Value::Object(s.metadata.clone()));
    if shape == Shape::Summary {
        return Value::Object(o);
    }
    let ver = call.version;
    if ver.at_least(14) {
        o.insert("group_snapshot_id".into(), json!(s.group_snapshot_id));
    }
    if ver.at_least(41) {
        o.insert("user_id".into(), json!(s.user_id));
    }
    if ver.at_least(65) {
        o.insert("consumes_quota".into(), json!(true));
    }
    if shape == Shape::Detail {
        o.insert(
            "os-extended-snapshot-attributes:progress".into(),
            json!(s.progress()),
        );
        o.insert(
            "os-extended-snapshot-attributes:project_id".into(),
            json!(s.project_id),
        );
    }
    Value::Object(o)
}

// ---------------------------------------------------------------- handlers

const SORT_KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("status", "status"),
    ("size", "size"),
    ("volume_size", "size"),
    ("volume_id", "volume_id"),
    ("name", "name"),
    ("display_name", "name"),
    ("description", "description"),
    ("display_description", "description"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("project_id", "project_id"),
    ("user_id", "user_id"),
];

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, false)
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, true)
}

fn listing(svc: &Svc, req: &Request, resp: &mut Response, detail: bool) -> HandlerResult {
    let call = Call::of(req)?;
    let sort = sort_of(req, SORT_KEYS)?;
    let filter = listing_filter(req, &call)?;
    let metadata = call
        .version
        .at_least(22)
        .then(|| metadata_filter(req))
        .flatten();
    let all = svc.read(|c| Ok(c.snapshots(&filter, &sort)?))?;
    let all: Vec<Snapshot> = all
        .into_iter()
        .filter(|s| {
            metadata
                .as_ref()
                .is_none_or(|m| m.iter().all(|(k, v)| s.metadata.get(k) == Some(v)))
        })
        .collect();
    let count = all.len();
    let (shown, next) = page(all, req, |s| s.id.as_str())?;
    let shape = if detail {
        Shape::Detail
    } else {
        Shape::Summary
    };
    let mut out = Map::new();
    out.insert(
        "snapshots".into(),
        Value::Array(shown.iter().map(|s| view(s, &call, shape)).collect()),
    );
    if let Some(marker) = next {
        let urls = Urls::of(svc, req, &call)?;
        let collection = if detail {
            "snapshots/detail"
        } else {
            "snapshots"
        };
        out.insert(
            "snapshots_links".into(),
            urls.next(req, collection, &marker),
        );
    }
    if call.version.at_least(45)
        && flag(
            req.query_param("with_count").map(|v| json!(v)).as_ref(),
            "with_count",
        )?
    {
        out.insert("count".into(), json!(count));
    }
    reply(resp, &call, 200, &Value::Object(out))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "snapshot_id")?;
    let s = svc.read(|c| visible(c, id, &call))?;
    reply(
        resp,
        &call,
        200,
        &json!({"snapshot": view(&s, &call, Shape::Detail)}),
    )
}

/// A snapshot to take: Cinder's create body, and Nova's `os-snapshots` proxy.
#[derive(Debug, Default, Clone)]
pub struct NewSnapshot {
    pub volume_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Map<String, Value>,
    /// Whether the client sent `force` (from 3.66 only `true` is accepted).
    pub force: Option<bool>,
}

impl Volumes {
    /// Takes a snapshot of a volume: its bytes are copied first, then one transaction
    /// checks the volume again and the quota, records the snapshot (`creating`, then
    /// `available` after the delay) and renames the copy into place. An in-use volume needs
    /// `force` before 3.66 (Nova's proxy calls at 3.0).
    pub fn create_snapshot(
        &self,
        call: &Call,
        spec: NewSnapshot,
    ) -> std::result::Result<Snapshot, Fault> {
        let new_rules = call.version.at_least(66);
        if new_rules && spec.force == Some(false) {
            return Err(Fault::bad_request("Invalid value 'False' for force."));
        }
        let action = if new_rules || spec.force == Some(true) {
            VolumeAction::ForceSnapshot
        } else {
            VolumeAction::Snapshot
        };
        let admin = call.is_admin();
        let volume = self.read(|c| {
            let v = model::visible(c, &spec.volume_id, &call.project_id, admin)?;
            model::check(c, &v, action)?;
            Ok(v)
        })?;
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
        self.write(|c| {
            let volume = model::visible(c, &spec.volume_id, &call.project_id, admin)?;
            model::check(c, &volume, action)?;
            quotas::check(
                c,
                &volume.project_id,
                &quotas::Usage {
                    gigabytes: volume.size,
                    snapshots: 1,
                    ..Default::default()
                },
                Some(&volume.volume_type_id),
            )?;
            let now = crate::time::now_ms();
            c.insert_snapshot(
                &Snapshot::new(
                    &id,
                    &volume,
                    &call.caller.user_id,
                    spec.name.clone(),
                    spec.description.clone(),
                    spec.metadata.clone(),
                    now,
                ),
                now + self.delay_ms,
            )?;
            let s = find(c, &id)?.ok_or_else(|| not_found(&id))?;
            staged
                .commit()
                .map_err(|e| self.io("saving the snapshot file", e))?;
            Ok(s)
        })
    }

    /// Deletes a snapshot (Cinder's delete, Nova's proxy): only an available or failed one
    /// (any, with `force`: the admin's os-force_delete). Cinder deletes in the background;
    /// here the row goes before the answer and the file right after.
    pub fn delete_snapshot(
        &self,
        call: &Call,
        id: &str,
        force: bool,
    ) -> std::result::Result<(), Fault> {
        self.write(|c| {
            let s = visible(c, id, call)?;
            check(
                &s,
                if force {
                    states::SnapshotAction::ForceDelete
                } else {
                    states::SnapshotAction::Delete
                },
            )?;
            in_use_check(c, &s)?;
            c.delete_snapshot(id)?;
            Ok(())
        })?;
        self.disks.remove(Kind::Snapshot, id);
        Ok(())
    }
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let o = b
        .get("snapshot")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            Fault::bad_request("Missing required element 'snapshot' in request body.")
        })?;
    let volume_id = match o.get("volume_id") {
        None => {
            return Err(Fault::bad_request(
                "Invalid input for field/attribute snapshot. Value: {}. 'volume_id' is a required property",
            ))
        }
        Some(Value::String(s)) => s.clone(),
        // Cinder looks a null volume up, and does not find it.
        Some(Value::Null) => "None".to_string(),
        Some(other) => other.to_string(),
    };
    let force = match o.get("force").filter(|v| !v.is_null()) {
        None => None,
        Some(f) => Some(flag(Some(f), "force")?),
    };
    let spec = NewSnapshot {
        volume_id,
        name: text_field(o, "name")?.flatten(),
        description: text_field(o, "description")?.flatten(),
        metadata: metadata_in(o.get("metadata").unwrap_or(&Value::Null))?,
        force,
    };
    let snapshot = svc.create_snapshot(&call, spec)?;
    reply(
        resp,
        &call,
        202,
        &json!({"snapshot": view(&snapshot, &call, Shape::Written)}),
    )
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "snapshot_id")?;
    let b = body(req)?;
    let o = b
        .get("snapshot")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            Fault::bad_request("Missing required element 'snapshot' in request body.")
        })?;
    let name = text_field(o, "name")?;
    let description = text_field(o, "description")?;
    if name.is_none() && description.is_none() {
        return Err(Fault::bad_request(
            "Invalid input for field/attribute snapshot. Value: {}. {} does not have enough properties",
        ));
    }
    let s = svc.write(|c| {
        let mut s = visible(c, id, &call)?;
        s.name = name.clone().unwrap_or(s.name.clone());
        s.description = description.clone().unwrap_or(s.description.clone());
        c.update_snapshot(&s, crate::time::now_ms())?;
        Ok(find(c, id)?.ok_or_else(|| not_found(id))?)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({"snapshot": view(&s, &call, Shape::Written)}),
    )
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    svc.delete_snapshot(&call, param(req, "snapshot_id")?, false)?;
    reply_empty(resp, &call, 202)
}

/// A snapshot a backup is being taken from cannot go.
fn in_use_check(c: &dyn SnapshotRepo, s: &Snapshot) -> Result<()> {
    if c.snapshot_backing_up(&s.id)? {
        return Err(Fault::bad_request(format!(
            "Invalid snapshot: Snapshot {} is being backed up.",
            s.id
        ))
        .into());
    }
    Ok(())
}

fn action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "snapshot_id")?;
    let b = body(req)?;
    let (name, arg) = b
        .as_object()
        .and_then(|o| o.iter().next())
        .ok_or_else(|| Fault::bad_request("Malformed request body"))?;
    match name.as_str() {
        "os-reset_status" => {
            // Any of Cinder's snapshot statuses.
            let status = arg
                .get("status")
                .and_then(Value::as_str)
                .and_then(SnapshotStatus::parse)
                .ok_or_else(|| Fault::bad_request("Must specify a valid status"))?;
            svc.write(|c| {
                let s = visible(c, id, &call)?;
                c.set_snapshot_status(&s.id, status.as_str(), crate::time::now_ms())?;
                Ok(())
            })?;
            reply_empty(resp, &call, 202)
        }
        "os-update_snapshot_status" => {
            let status = arg
                .get("status")
                .and_then(Value::as_str)
                .ok_or_else(|| Fault::bad_request("'status' must be specified."))?;
            let progress = arg.get("progress").and_then(Value::as_str);
            svc.write(|c| {
                let s = visible(c, id, &call)?;
                match SnapshotStatus::parse(status) {
                    Some(to) => check(&s, states::SnapshotAction::ReportStatus(to))?,
                    None => {
                        return Err(
                            Fault::bad_request(states::report_refused(status, &s.status)).into(),
                        )
                    }
                }
                let mut s2 = s.clone();
                if let Some(p) = progress {
                    s2.progress = Some(p.to_string());
                }
                let now = crate::time::now_ms();
                c.set_snapshot_status(&s.id, status, now)?;
                c.update_snapshot(&s2, now)?;
                Ok(())
            })?;
            reply_empty(resp, &call, 202)
        }
        "os-force_delete" => {
            svc.delete_snapshot(&call, id, true)?;
            reply_empty(resp, &call, 202)
        }
        _ => Err(Fault::bad_request(format!(
            "There is no such action: {name}"
        ))),
    }
}

// ---------------------------------------------------------------- metadata

fn metadata_body(req: &Request, key: &str) -> std::result::Result<Map<String, Value>, Fault> {
    let b = body(req)?;
    let v = b
        .get(key)
        .ok_or_else(|| Fault::bad_request("Malformed request body"))?;
    if !v.is_object() {
        return Err(Fault::bad_request("Malformed request body"));
    }
    metadata_in(v)
}

fn metadata_show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "snapshot_id")?;
    let s = svc.read(|c| visible(c, id, &call))?;
    reply(resp, &call, 200, &json!({"metadata": s.metadata}))
}

fn metadata_write(svc: &Svc, req: &Request, resp: &mut Response, merge: bool) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "snapshot_id")?;
    let new = metadata_body(req, "metadata")?;
    let m = svc.write(|c| {
        let s = visible(c, id, &call)?;
        let mut m = if merge {
            s.metadata.clone()
        } else {
            Map::new()
        };
        m.extend(new.clone());
        save_metadata(c, &s, &m)?;
        Ok(m)
    })?;
    reply(resp, &call, 200, &json!({"metadata": m}))
}

fn metadata_merge(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    metadata_write(svc, req, resp, true)
}

fn metadata_replace(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    metadata_write(svc, req, resp, false)
}

fn key_not_found(id: &str, key: &str) -> Fault {
    Fault::not_found(format!("Snapshot {id} has no metadata with key {key}."))
}

fn meta_show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "snapshot_id")?;
    let key = param(req, "key")?;
    let s = svc.read(|c| visible(c, id, &call))?;
    let v = s.metadata.get(key).ok_or_else(|| key_not_found(id, key))?;
    reply(resp, &call, 200, &json!({"meta": {key: v}}))
}

fn meta_set(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "snapshot_id")?;
    let key = param(req, "key")?;
    let meta = metadata_body(req, "meta")?;
    if meta.len() > 1 {
        return Err(Fault::bad_request("Request body contains too many items."));
    }
    let value = meta
        .get(key)
        .cloned()
        .ok_or_else(|| Fault::bad_request("Request body and URI mismatch"))?;
    svc.write(|c| {
        let s = visible(c, id, &call)?;
        let mut m = s.metadata.clone();
        m.insert(key.to_string(), value.clone());
        save_metadata(c, &s, &m)
    })?;
    reply(resp, &call, 200, &json!({"meta": {key: value}}))
}

fn meta_delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "snapshot_id")?;
    let key = param(req, "key")?;
    svc.write(|c| {
        let s = visible(c, id, &call)?;
        let mut m = s.metadata.clone();
        if m.remove(key).is_none() {
            return Err(key_not_found(id, key).into());
        }
        save_metadata(c, &s, &m)
    })?;
    reply_empty(resp, &call, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_fields_stay_out_of_the_metadata_clients_see() {
        let mut meta = Map::new();
        meta.insert("k".into(), json!("v"));
        let mut internal = Map::new();
        internal.insert("progress".into(), json!("80%"));
        let stored = join_internal(&meta, &internal);
        let (m, i) = split_internal(&stored);
        assert_eq!(m, meta);
        assert_eq!(i, internal);
        assert!(metadata_in(&json!({"\u{0}": "x"})).is_err());
    }

    #[test]
    fn pages_follow_the_marker_and_offset_and_link_only_full_pages() {
        let ids = vec!["a", "b", "c"];
        let req = |query: &[(&str, &str)]| {
            let mut r = Request::new("GET", "/");
            for (k, v) in query {
                r.query_params.push(Pair::new(*k, *v));
            }
            r
        };
        let (shown, next) = page(ids.clone(), &req(&[("limit", "2")]), |s| s).unwrap();
        assert_eq!((shown, next.as_deref()), (vec!["a", "b"], Some("b")));
        let (shown, next) =
            page(ids.clone(), &req(&[("limit", "2"), ("marker", "b")]), |s| s).unwrap();
        assert_eq!((shown, next), (vec!["c"], None));
        let (shown, _) = page(ids.clone(), &req(&[("offset", "2")]), |s| s).unwrap();
        assert_eq!(shown, vec!["c"]);
        let missing = page(ids, &req(&[("marker", "x")]), |s| s).unwrap_err();
        assert_eq!(missing.status, 404);
    }
}
