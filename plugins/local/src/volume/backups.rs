//! Volume backups (`/backups`): full copies of a volume's (or a snapshot's) file kept
//! apart from it, restored into an existing volume or a new one, as Cinder answers them
//! at each microversion. `export_record` hands out a backup's record, `import_record` takes
//! one back (as a new backup of the same bytes), as Cinder's posix driver.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::BackupRepo;
use super::snapshots::{self, flag, metadata_in, page, sort_of, text_field};
use super::states::{
    self, BackupStatus, SnapshotAction, SnapshotStatus, VolumeAction, VolumeStatus,
};
use super::storage::{Kind, Source, GIB};
use super::volumes::NewVolume;
use super::{
    body, model, param, quotas, reply, reply_empty, timestamp, Call, Result, Urls, Volumes, ZONE,
};
use crate::store::Tx;

type Svc = Arc<Volumes>;

endpoint!(Svc; Backups { on_get => list, on_post => create });
endpoint!(Svc; BackupsDetail { on_get => list_detail });
endpoint!(Svc; BackupItem { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; BackupRestore { on_post => restore });
endpoint!(Svc; BackupAction { on_post => action });
endpoint!(Svc; BackupExport { on_get => export_record });
endpoint!(Svc; BackupImport { on_post => import_record });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_backups" => Backups,
        "v2_backups_detail" => BackupsDetail,
        "v2_backup" => BackupItem,
        "v2_backup_restore" => BackupRestore,
        "v2_backup_action" => BackupAction,
        "v2_backup_export_record" => BackupExport,
        "v2_backups_import_record" => BackupImport,
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Backup {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub volume_id: String,
    pub snapshot_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// GiB.
    pub size: i64,
    pub status: String,
    pub availability_zone: Option<String>,
    pub container: Option<String>,
    pub is_incremental: bool,
    /// The backup an incremental one builds on.
    pub parent_id: Option<String>,
    pub object_count: i64,
    pub fail_reason: Option<String>,
    pub metadata: Map<String, Value>,
    /// What the volume was besides its bytes (metadata, bootable, image metadata): a
    /// restore gives it back, as Cinder's backup of the volume's metadata.
    pub volume: Map<String, Value>,
    pub data_timestamp_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub has_dependent_backups: bool,
}

impl Backup {
    /// What the store keeps beside the metadata (`snapshots::join_internal`).
    pub fn internal(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if !self.volume.is_empty() {
            m.insert("volume".into(), Value::Object(self.volume.clone()));
        }
        m
    }
}

pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Backup {id} could not be found."))
}

pub fn find(c: &dyn BackupRepo, id: &str) -> Result<Option<Backup>> {
    Ok(c.backup(id)?)
}

fn visible(c: &dyn BackupRepo, id: &str, call: &Call) -> Result<Backup> {
    match find(c, id)? {
        Some(b) if call.is_admin() || b.project_id == call.project_id => Ok(b),
        _ => Err(not_found(id).into()),
    }
}

/// `action` may start on `b` (the backup table in `states.rs`), or Cinder's 400 says why
/// not.
pub fn check(b: &Backup, action: states::BackupAction) -> std::result::Result<(), Fault> {
    states::may_start_stored(action, &b.status, ())
        .map_err(|r| Fault::bad_request(r.message(&b.status)))
}

fn set_status_then(
    c: &dyn BackupRepo,
    id: &str,
    status: BackupStatus,
    next: Option<BackupStatus>,
    delay_ms: i64,
) -> Result<()> {
    let now = crate::time::now_ms();
    c.set_backup_status(
        id,
        status.as_str(),
        next.map(|n| (n.as_str(), now + delay_ms)),
        now,
    )?;
    Ok(())
}

fn invalid_backup(why: &str) -> Fault {
    Fault::bad_request(format!("Invalid backup: {why}"))
}

fn invalid_volume(why: impl std::fmt::Display) -> Fault {
    Fault::bad_request(format!("Invalid volume: {why}"))
}

// ---------------------------------------------------------------- views

fn summary(b: &Backup, urls: &Urls) -> Value {
    json!({"id": b.id, "name": b.name, "links": urls.links("backups", &b.id)})
}

fn detail(b: &Backup, call: &Call, urls: &Urls) -> Value {
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    put("id", json!(b.id));
    put("status", json!(b.status));
    put("size", json!(b.size));
    put("object_count", json!(b.object_count));
    put("availability_zone", json!(b.availability_zone));
    put("container", json!(b.container));
    put("created_at", json!(timestamp(b.created_ms)));
    put("updated_at", json!(timestamp(b.updated_ms)));
    put("name", json!(b.name));
    put("description", json!(b.description));
    put("fail_reason", json!(b.fail_reason));
    put("volume_id", json!(b.volume_id));
    put("links", urls.links("backups", &b.id));
    put("is_incremental", json!(b.is_incremental));
    put("has_dependent_backups", json!(b.has_dependent_backups));
    put("snapshot_id", json!(b.snapshot_id));
    put("data_timestamp", json!(timestamp(b.data_timestamp_ms)));
    let ver = call.version;
    if ver.at_least(18) {
        put("os-backup-project-attr:project_id", json!(b.project_id));
    }
    if ver.at_least(43) {
        put("metadata", Value::Object(b.metadata.clone()));
    }
    if ver.at_least(56) {
        put("user_id", json!(b.user_id));
    }
    if ver.at_least(64) {
        put("encryption_key_id", Value::Null);
    }
    Value::Object(o)
}

// ---------------------------------------------------------------- handlers

const SORT_KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("status", "status"),
    ("size", "size"),
    ("volume_id", "volume_id"),
    ("name", "name"),
    ("display_name", "name"),
    ("description", "description"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("data_timestamp", "data_timestamp"),
    ("project_id", "project_id"),
    ("user_id", "user_id"),
    ("container", "container"),
];

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, false)
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing(svc, req, resp, true)
}

fn listing(svc: &Svc, req: &Request, resp: &mut Response, detail_view: bool) -> HandlerResult {
    let call = Call::of(req)?;
    let sort = sort_of(req, SORT_KEYS)?;
    let filter = snapshots::listing_filter(req, &call)?;
    let all = svc.read(|c| Ok(c.backups(&filter, &sort)?))?;
    let count = all.len();
    let (shown, next) = page(all, req, |b| b.id.as_str())?;
    let urls = Urls::of(svc, req, &call)?;
    let mut out = Map::new();
    out.insert(
        "backups".into(),
        Value::Array(
            shown
                .iter()
                .map(|b| {
                    if detail_view {
                        detail(b, &call, &urls)
                    } else {
                        summary(b, &urls)
                    }
                })
                .collect(),
        ),
    );
    if let Some(marker) = next {
        let collection = if detail_view {
            "backups/detail"
        } else {
            "backups"
        };
        out.insert("backups_links".into(), urls.next(req, collection, &marker));
    }
    let with_count = req.query_param("with_count").map(|v| json!(v));
    if call.version.at_least(45) && flag(with_count.as_ref(), "with_count")? {
        out.insert("count".into(), json!(count));
    }
    reply(resp, &call, 200, &Value::Object(out))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "backup_id")?;
    let b = svc.read(|c| visible(c, id, &call))?;
    let urls = Urls::of(svc, req, &call)?;
    reply(
        resp,
        &call,
        200,
        &json!({"backup": detail(&b, &call, &urls)}),
    )
}

/// What a new backup copies.
struct Plan {
    volume: model::Volume,
    snapshot: Option<snapshots::Snapshot>,
    parent_id: Option<String>,
}

#[derive(Clone)]
struct CreateArgs {
    volume_id: String,
    snapshot_id: Option<String>,
    incremental: bool,
    force: bool,
}

/// Cinder's checks of a backup request (cinder/backup/api.py), run before staging and
/// again inside the transaction.
fn plan(c: &dyn Tx, call: &Call, a: &CreateArgs) -> Result<Plan> {
    let volume = model::visible(c, &a.volume_id, &call.project_id, call.is_admin())?;
    let snapshot = match &a.snapshot_id {
        None => None,
        Some(sid) => {
            let s = snapshots::visible(c, sid, call)?;
            snapshots::check(&s, SnapshotAction::Backup)?;
            Some(s)
        }
    };
    if snapshot.is_none() {
        let action = if a.force {
            VolumeAction::ForceBackup
        } else {
            VolumeAction::Backup
        };
        model::check(c, &volume, action)?;
    }
    let parent_id =
        if a.incremental {
            Some(c.latest_backup(&volume.id)?.ok_or_else(|| {
                invalid_backup("No backups available to do an incremental backup.")
            })?)
        } else {
            None
        };
    Ok(Plan {
        volume,
        snapshot,
        parent_id,
    })
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let o = b
        .get("backup")
        .and_then(Value::as_object)
        .ok_or_else(|| Fault::bad_request("Missing required element 'backup' in request body."))?;
    let volume_id = o
        .get("volume_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Fault::bad_request(
                "Invalid input for field/attribute backup. Value: {}. 'volume_id' is a required property",
            )
        })?
        .to_string();
    let args = CreateArgs {
        volume_id,
        snapshot_id: o
            .get("snapshot_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        incremental: flag(o.get("incremental"), "incremental")?,
        force: flag(o.get("force"), "force")?,
    };
    let name = text_field(o, "name")?.flatten();
    let description = text_field(o, "description")?.flatten();
    let container = o
        .get("container")
        .and_then(Value::as_str)
        .map(str::to_string);
    let metadata = if call.version.at_least(43) {
        metadata_in(o.get("metadata").unwrap_or(&Value::Null))?
    } else {
        Map::new()
    };
    if call.version.at_least(51) {
        if let Some(zone) = o.get("availability_zone").and_then(Value::as_str) {
            if zone != ZONE {
                return Err(Fault::bad_request(format!(
                    "Invalid input received: Availability zone '{zone}' is invalid."
                )));
            }
        }
    }
    let first = svc.read(|c| plan(c, &call, &args))?;
    let id = uuid::Uuid::new_v4().to_string();
    let from = match &first.snapshot {
        Some(s) => svc.disks.path(Kind::Snapshot, &s.id),
        None => svc.disks.path(Kind::Volume, &first.volume.id),
    };
    let size = first
        .snapshot
        .as_ref()
        .map_or(first.volume.size, |s| s.size);
    let staged = svc
        .disks
        .stage(Kind::Backup, &id, size as u64 * GIB, Source::File(&from))
        .map_err(|e| svc.fault(svc.io("copying the volume for a backup", e)))?;
    let backup = svc.write(|c| {
        let p = plan(c, &call, &args)?;
        let v = &p.volume;
        quotas::check(
            c,
            &v.project_id,
            &quotas::Usage {
                volumes: 0,
                gigabytes: 0,
                snapshots: 0,
                backups: 1,
                backup_gigabytes: size,
            },
            None,
        )?;
        let now = crate::time::now_ms();
        let mut saved = Map::new();
        saved.insert("metadata".into(), Value::Object(v.metadata.clone()));
        saved.insert("bootable".into(), json!(v.bootable));
        saved.insert(
            "image_metadata".into(),
            Value::Object(v.image_metadata.clone()),
        );
        c.insert_backup(
            &Backup {
                id: id.clone(),
                project_id: v.project_id.clone(),
                user_id: call.caller.user_id.clone(),
                volume_id: v.id.clone(),
                snapshot_id: p.snapshot.as_ref().map(|s| s.id.clone()),
                name: name.clone(),
                description: description.clone(),
                size,
                status: BackupStatus::Creating.as_str().into(),
                availability_zone: Some(ZONE.into()),
                container: container.clone(),
                is_incremental: p.parent_id.is_some(),
                parent_id: p.parent_id.clone(),
                object_count: 0,
                fail_reason: None,
                metadata: metadata.clone(),
                volume: saved,
                data_timestamp_ms: p.snapshot.as_ref().map_or(now, |s| s.created_ms),
                created_ms: now,
                updated_ms: now,
                has_dependent_backups: false,
            },
            now + svc.delay_ms,
        )?;
        // The source is busy while it is read, then back to what it was.
        match &p.snapshot {
            Some(s) => {
                c.set_snapshot_status_then(
                    &s.id,
                    SnapshotStatus::BackingUp.as_str(),
                    &s.status,
                    now + svc.delay_ms,
                    now,
                )?;
            }
            None => model::set_busy(c, &v.id, VolumeStatus::BackingUp, svc.delay_ms)?,
        }
        let b = find(c, &id)?.ok_or_else(|| not_found(&id))?;
        staged
            .commit()
            .map_err(|e| svc.io("saving the backup file", e))?;
        Ok(b)
    })?;
    let urls = Urls::of(svc, req, &call)?;
    reply(
        resp,
        &call,
        202,
        &json!({"backup": summary(&backup, &urls)}),
    )
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(9)?;
    let id = param(req, "backup_id")?;
    let b = body(req)?;
    let o = b
        .get("backup")
        .and_then(Value::as_object)
        .ok_or_else(|| Fault::bad_request("Missing required element 'backup' in request body."))?;
    let name = text_field(o, "name")?;
    let description = text_field(o, "description")?;
    let metadata = match o.get("metadata") {
        Some(m) if call.version.at_least(43) => Some(metadata_in(m)?),
        _ => None,
    };
    let backup = svc.write(|c| {
        let mut b = visible(c, id, &call)?;
        b.name = name.clone().unwrap_or(b.name.clone());
        b.description = description.clone().unwrap_or(b.description.clone());
        if let Some(m) = &metadata {
            b.metadata = m.clone();
        }
        c.update_backup(&b, crate::time::now_ms())?;
        Ok(find(c, id)?.ok_or_else(|| not_found(id))?)
    })?;
    let urls = Urls::of(svc, req, &call)?;
    reply(
        resp,
        &call,
        200,
        &json!({"backup": summary(&backup, &urls)}),
    )
}

fn remove(c: &dyn BackupRepo, b: &Backup, force: bool) -> Result<()> {
    check(
        b,
        if force {
            states::BackupAction::ForceDelete
        } else {
            states::BackupAction::Delete
        },
    )?;
    if b.has_dependent_backups {
        return Err(invalid_backup("Incremental backups exist for this backup.").into());
    }
    c.delete_backup(&b.id)?;
    Ok(())
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "backup_id")?;
    // Cinder deletes in the background; here the row and file go before the answer.
    svc.write(|c| remove(c, &visible(c, id, &call)?, false))?;
    svc.disks.remove(Kind::Backup, id);
    reply_empty(resp, &call, 202)
}

fn action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "backup_id")?;
    let b = body(req)?;
    let (name, arg) = b
        .as_object()
        .and_then(|o| o.iter().next())
        .ok_or_else(|| Fault::bad_request("Malformed request body"))?;
    match name.as_str() {
        "os-reset_status" => {
            let status = arg
                .get("status")
                .and_then(Value::as_str)
                .and_then(BackupStatus::parse)
                .filter(|s| BackupStatus::RESETTABLE.contains(s))
                .ok_or_else(|| Fault::bad_request("Must specify a valid status"))?;
            svc.write(|c| {
                let b = visible(c, id, &call)?;
                set_status_then(c, &b.id, status, None, 0)
            })?;
            reply_empty(resp, &call, 202)
        }
        "os-force_delete" => {
            svc.write(|c| remove(c, &visible(c, id, &call)?, true))?;
            svc.disks.remove(Kind::Backup, id);
            reply_empty(resp, &call, 202)
        }
        _ => Err(Fault::bad_request(format!(
            "There is no such action: {name}"
        ))),
    }
}

// ---------------------------------------------------------------- restore

/// Gives a volume back what its backup kept besides the bytes.
fn restore_volume_state(c: &dyn Tx, b: &Backup, volume_id: &str) -> Result<()> {
    let v = model::find(c, volume_id)?.ok_or_else(|| model::volume_not_found(volume_id))?;
    let mut metadata = v.metadata.clone();
    if let Some(Value::Object(m)) = b.volume.get("metadata") {
        metadata.extend(m.clone());
    }
    let bootable = b
        .volume
        .get("bootable")
        .and_then(Value::as_bool)
        .unwrap_or(v.bootable);
    let image_metadata = match b.volume.get("image_metadata") {
        Some(Value::Object(m)) if !m.is_empty() => m.clone(),
        _ => v.image_metadata.clone(),
    };
    c.restore_volume(volume_id, &metadata, bootable, &image_metadata)?;
    Ok(())
}

fn restore(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "backup_id")?.to_string();
    let b = body(req)?;
    let o = match b.get("restore") {
        Some(Value::Object(o)) => o.clone(),
        Some(Value::Null) => Map::new(),
        _ => {
            return Err(Fault::bad_request(
                "Missing required element 'restore' in request body.",
            ))
        }
    };
    let target = o
        .get("volume_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let name = o.get("name").and_then(Value::as_str).map(str::to_string);
    let ready = |c: &dyn Tx| -> Result<Backup> {
        let b = visible(c, &id, &call)?;
        check(&b, states::BackupAction::Restore)?;
        Ok(b)
    };
    let backup = svc.read(|c| ready(c))?;
    let from = svc.disks.path(Kind::Backup, &id);
    let volume = match target {
        Some(vid) => {
            let fits = |c: &dyn Tx| -> Result<model::Volume> {
                let v = model::visible(c, &vid, &call.project_id, call.is_admin())?;
                model::check(c, &v, VolumeAction::RestoreBackup)?;
                if backup.size > v.size {
                    return Err(invalid_volume(format!(
                        "volume size {} is too small to restore backup of size {}.",
                        v.size, backup.size
                    ))
                    .into());
                }
                Ok(v)
            };
            let v = svc.read(|c| fits(c))?;
            let staged = svc
                .disks
                .stage(
                    Kind::Volume,
                    &v.id,
                    v.size as u64 * GIB,
                    Source::File(&from),
                )
                .map_err(|e| svc.fault(svc.io("restoring the backup", e)))?;
            svc.write(|c| {
                let b = ready(c)?;
                let v = fits(c)?;
                restore_volume_state(c, &b, &v.id)?;
                model::set_status_then(
                    c,
                    &v.id,
                    VolumeStatus::RestoringBackup,
                    VolumeStatus::Available,
                    svc.delay_ms,
                )?;
                set_status_then(
                    c,
                    &b.id,
                    BackupStatus::Restoring,
                    Some(BackupStatus::Available),
                    svc.delay_ms,
                )?;
                staged
                    .commit()
                    .map_err(|e| svc.io("saving the restored volume", e))?;
                Ok(v)
            })?
        }
        None => {
            // A new volume of the backup's size, copied by volume create from the backup.
            let saved = match backup.volume.get("metadata") {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            let v = svc.create_volume(
                &call,
                NewVolume {
                    name: Some(name.unwrap_or_else(|| format!("restore_backup_{id}"))),
                    metadata: saved,
                    backup_id: Some(id.clone()),
                    ..Default::default()
                },
            )?;
            svc.write(|c| {
                let b = visible(c, &id, &call)?;
                restore_volume_state(c, &b, &v.id)?;
                model::set_status_then(
                    c,
                    &v.id,
                    VolumeStatus::RestoringBackup,
                    VolumeStatus::Available,
                    svc.delay_ms,
                )?;
                set_status_then(
                    c,
                    &b.id,
                    BackupStatus::Restoring,
                    Some(BackupStatus::Available),
                    svc.delay_ms,
                )?;
                Ok(())
            })?;
            v
        }
    };
    reply(
        resp,
        &call,
        202,
        &json!({"restore": {
            "backup_id": backup.id,
            "volume_id": volume.id,
            "volume_name": volume.name,
        }}),
    )
}

// ---------------------------------------------------------------- export and import

/// The driver Cinder names in a backup record: ours are files, as its posix driver's.
const BACKUP_SERVICE: &str = "cinder.backup.drivers.posix.PosixBackupDriver";

fn export_record(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "backup_id")?;
    let b = svc.read(|c| visible(c, id, &call))?;
    check(&b, states::BackupAction::Export)?;
    // Cinder's record is the backup's fields as JSON, base64-encoded.
    let record = json!({
        "id": b.id,
        "volume_id": b.volume_id,
        "snapshot_id": b.snapshot_id,
        "display_name": b.name,
        "display_description": b.description,
        "size": b.size,
        "container": b.container,
        "availability_zone": b.availability_zone,
        "is_incremental": b.is_incremental,
        "object_count": b.object_count,
        "data_timestamp": timestamp(b.data_timestamp_ms),
        "metadata": b.metadata,
        "volume": b.volume,
        "service": BACKUP_SERVICE,
    });
    let url = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        record.to_string(),
    );
    reply(
        resp,
        &call,
        200,
        &json!({"backup-record": {"backup_service": BACKUP_SERVICE, "backup_url": url}}),
    )
}

fn import_record(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let rec = b
        .get("backup-record")
        .and_then(Value::as_object)
        .ok_or_else(|| Fault::bad_request("Incorrect request body format."))?;
    let (Some(service), Some(url)) = (
        rec.get("backup_service").and_then(Value::as_str),
        rec.get("backup_url").and_then(Value::as_str),
    ) else {
        return Err(Fault::bad_request("Incorrect request body format."));
    };
    if service != BACKUP_SERVICE {
        return Err(Fault::internal(format!(
            "Service {service} could not be found."
        )));
    }
    let bad = || invalid_backup("Can't parse backup record.");
    let record: Map<String, Value> =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, url.trim())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(bad)?;
    let text = |k: &str| record.get(k).and_then(Value::as_str).map(str::to_string);
    let id = text("id").ok_or_else(bad)?;
    let volume_id = text("volume_id").ok_or_else(bad)?;
    let size = record.get("size").and_then(Value::as_i64).ok_or_else(bad)?;
    let object = |k: &str| match record.get(k) {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    // The bytes: the exported backup's file when it is still here (as Cinder's record
    // points at the same objects); else there is nothing to import.
    let source = svc.read(|c| Ok(c.backup_of_size(&volume_id, size)?))?;
    let source = source.ok_or_else(|| invalid_backup("The backup's data could not be found."))?;
    let staged = svc
        .disks
        .stage(
            Kind::Backup,
            &id,
            size as u64 * GIB,
            Source::File(&svc.disks.path(Kind::Backup, &source)),
        )
        .map_err(|e| svc.fault(svc.io("importing the backup", e)))?;
    let backup = svc.write(|c| {
        if find(c, &id)?.is_some() {
            return Err(invalid_backup("Backup already exists in database.").into());
        }
        quotas::check(
            c,
            &call.project_id,
            &quotas::Usage {
                volumes: 0,
                gigabytes: 0,
                snapshots: 0,
                backups: 1,
                backup_gigabytes: size,
            },
            None,
        )?;
        let now = crate::time::now_ms();
        c.insert_backup(
            &Backup {
                id: id.clone(),
                project_id: call.project_id.clone(),
                user_id: call.caller.user_id.clone(),
                volume_id: volume_id.clone(),
                snapshot_id: text("snapshot_id"),
                name: text("display_name"),
                description: text("display_description"),
                size,
                status: BackupStatus::Creating.as_str().into(),
                availability_zone: Some(ZONE.into()),
                container: text("container"),
                is_incremental: record
                    .get("is_incremental")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                parent_id: None,
                object_count: record
                    .get("object_count")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                fail_reason: None,
                metadata: object("metadata"),
                volume: object("volume"),
                data_timestamp_ms: now,
                created_ms: now,
                updated_ms: now,
                has_dependent_backups: false,
            },
            now + svc.delay_ms,
        )?;
        let b = find(c, &id)?.ok_or_else(|| not_found(&id))?;
        staged
            .commit()
            .map_err(|e| svc.io("saving the imported backup", e))?;
        Ok(b)
    })?;
    let urls = Urls::of(svc, req, &call)?;
    reply(
        resp,
        &call,
        201,
        &json!({"backup": summary(&backup, &urls)}),
    )
}
