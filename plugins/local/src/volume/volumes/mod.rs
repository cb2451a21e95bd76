//! Cinder's volumes: create (empty, or from an image, snapshot, volume or backup), list,
//! show, update, delete, metadata; the actions are in `actions.rs`, listing filters in
//! `listing.rs`. `Volumes::create_volume` is also Nova's way to make a volume.

pub mod actions;
pub mod listing;
pub mod views;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::backups;
use super::model::{self, Volume};
use super::snapshots::{self, flag, metadata_in, text_field};
use super::states::{self, BackupAction, SnapshotAction, SnapshotFacts, VolumeStatus};
use super::storage::{Kind, Source, GIB};
use super::{body, param, reply, reply_empty, Call, Urls, Volumes, ZONE};
use crate::store::Tx;
use crate::volume::quotas::{self, Usage};
use crate::volume::types;
use views::{Extra, Shape};

type Svc = Arc<Volumes>;
type Outcome<T> = crate::store::Outcome<T>;

endpoint!(Svc; VolumesEp { on_get => list, on_post => create });
endpoint!(Svc; VolumesDetail { on_get => list_detail });
endpoint!(Svc; VolumesSummary { on_get => summary });
endpoint!(Svc; VolumeItem { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; VolumeAction { on_post => actions::act });
endpoint!(Svc; Metadata { on_get => list_metadata, on_post => merge_metadata, on_put => replace_metadata });
endpoint!(Svc; MetadataItem { on_get => show_meta, on_put => set_meta, on_delete => delete_meta });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_volumes" => VolumesEp,
        "v2_volumes_detail" => VolumesDetail,
        "v3_volumes_summary" => VolumesSummary,
        "v2_volume" => VolumeItem,
        "v2_volume_action" => VolumeAction,
        "v2_volume_metadata" => Metadata,
        "v2_volume_metadata_key" => MetadataItem,
    }
    Ok(())
}

// ---------------------------------------------------------------- creating

/// A volume to create: Cinder's create body, and what Nova asks for (os-volumes, boot from
/// an image onto a volume). Without `size`, the snapshot's, source volume's or backup's.
#[derive(Debug, Default, Clone)]
pub struct NewVolume {
    /// GiB.
    pub size: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// A type's name or id; the source's type, else `__DEFAULT__`, when None.
    pub volume_type: Option<String>,
    pub availability_zone: Option<String>,
    pub metadata: Map<String, Value>,
    pub image_ref: Option<String>,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    pub backup_id: Option<String>,
    pub multiattach: bool,
    /// The generic volume group to put it in (3.13, `groups.rs`).
    pub group_id: Option<String>,
    /// The request's id, for the user message a failure to schedule leaves (`messages.rs`).
    pub request_id: Option<String>,
}

/// Where a new volume's bytes come from, as found (and found again inside the transaction).
enum Origin {
    Empty,
    Image(crate::image::model::Image),
    Snapshot {
        id: String,
        size: i64,
        volume: Volume,
    },
    Volume(Volume),
    Backup {
        id: String,
        size: i64,
    },
}

fn invalid_input(why: impl std::fmt::Display) -> Fault {
    Fault::bad_request(format!("Invalid input received: {why}"))
}

/// GiB an image needs: its size rounded up, or its `min_disk` when larger.
pub(super) fn image_gib(image: &crate::image::model::Image) -> i64 {
    let bytes = image.size.unwrap_or(0).max(0) as u64;
    bytes.div_ceil(GIB) as i64
}

impl Volumes {
    /// The source a new volume names, checked as Cinder does; the size (given or taken
    /// from the source).
    fn origin(&self, c: &dyn Tx, call: &Call, spec: &NewVolume) -> Outcome<(Origin, i64)> {
        let admin = call.is_admin();
        let origin = if let Some(id) = &spec.snapshot_id {
            let snap = snapshots::visible(c, id, call)?;
            snapshots::check(&snap, SnapshotAction::CreateVolume)?;
            let volume =
                model::find(c, &snap.volume_id)?.ok_or_else(|| snapshots::not_found(id))?;
            Origin::Snapshot {
                id: id.clone(),
                size: snap.size,
                volume,
            }
        } else if let Some(id) = &spec.source_volid {
            let v = model::visible(c, id, &call.project_id, admin)?;
            model::check(c, &v, states::VolumeAction::Clone)?;
            Origin::Volume(v)
        } else if let Some(id) = &spec.backup_id {
            let backup = backups::find(c, id)?
                .filter(|b| admin || b.project_id == call.project_id)
                .ok_or_else(|| backups::not_found(id))?;
            backups::check(&backup, BackupAction::CreateVolume)?;
            Origin::Backup {
                id: id.clone(),
                size: backup.size,
            }
        } else if let Some(id) = &spec.image_ref {
            let image = self
                .images
                .bootable(c, id, &call.project_id, admin)
                .ok()
                .flatten()
                .ok_or_else(|| {
                    Fault::bad_request(
                        "Invalid image identifier or unable to access requested image.",
                    )
                })?;
            if image.status != "active" {
                return Err(invalid_input(format!("Image {id} is not active.")).into());
            }
            Origin::Image(image)
        } else {
            Origin::Empty
        };
        let size = match (spec.size, &origin) {
            (Some(s), _) => s,
            (None, Origin::Snapshot { size, .. }) | (None, Origin::Backup { size, .. }) => *size,
            (None, Origin::Volume(v)) => v.size,
            (None, _) => {
                return Err(invalid_input(
                    "Volume size 'None' must be an integer and greater than 0",
                )
                .into())
            }
        };
        if size < 1 {
            return Err(invalid_input(format!(
                "Volume size '{size}' must be an integer and greater than 0"
            ))
            .into());
        }
        match &origin {
            Origin::Snapshot { size: s, .. } if size < *s => {
                return Err(invalid_input(format!(
                    "Volume size '{size}'GB cannot be smaller than the snapshot size {s}GB. They must be >= original snapshot size."
                ))
                .into())
            }
            Origin::Volume(v) if size < v.size => {
                return Err(invalid_input(format!(
                    "Volume size '{size}'GB cannot be smaller than original volume size  {}GB. They must be >= original volume size.",
                    v.size
                ))
                .into())
            }
            Origin::Backup { size: s, .. } if size < *s => {
                return Err(invalid_input(format!(
                    "Volume size {size}GB cannot be smaller than the backup size {s}GB. It must be >= backup size."
                ))
                .into())
            }
            Origin::Image(image) => {
                let need = image_gib(image);
                if need > size {
                    return Err(invalid_input(format!(
                        "Size of specified image {need}GB is larger than volume size {size}GB."
                    ))
                    .into());
                }
                if image.min_disk > size {
                    return Err(invalid_input(format!(
                        "Volume size {size}GB cannot be smaller than the image minDisk size {}GB.",
                        image.min_disk
                    ))
                    .into());
                }
            }
            _ => {}
        }
        Ok((origin, size))
    }

    /// The type a new volume of `size` GiB from `origin` gets, once its quotas admit it.
    fn admit(
        &self,
        c: &dyn Tx,
        call: &Call,
        spec: &NewVolume,
        origin: &Origin,
        size: i64,
    ) -> crate::store::Outcome<types::VolumeType> {
        let inherited = match origin {
            Origin::Snapshot { volume, .. } | Origin::Volume(volume) => {
                Some(volume.volume_type_id.clone())
            }
            _ => None,
        };
        let vtype = types::resolve(
            c,
            spec.volume_type.as_deref().or(inherited.as_deref()),
            &call.project_id,
            call.is_admin(),
        )?;
        quotas::check(
            c,
            &call.project_id,
            &Usage {
                volumes: 1,
                gigabytes: size,
                ..Default::default()
            },
            Some(&vtype.name),
        )?;
        quotas::check_size(c, &call.project_id, size)?;
        Ok(vtype)
    }

    /// Creates a volume: its bytes are staged first (a copy of its source), then one
    /// transaction checks the request again, counts it against the quota, records it
    /// (`creating`, `available` after the delay) and renames the file into place.
    pub fn create_volume(&self, call: &Call, spec: NewVolume) -> Result<Volume, Fault> {
        if let Some(zone) = &spec.availability_zone {
            if zone != ZONE {
                return Err(Fault::bad_request(format!(
                    "Availability zone '{zone}' is invalid."
                )));
            }
        }
        // Checked before the bytes are staged too (and again in the transaction that records
        // them): a volume over quota is Cinder's 413, never a file larger than it may be.
        let (origin, size) = self.read(|c| {
            let (origin, size) = self.origin(c, call, &spec)?;
            self.admit(c, call, &spec, &origin, size)?;
            Ok((origin, size))
        })?;
        let id = uuid::Uuid::new_v4().to_string();
        // At most DB_MAX_INT GiB (the request's schema), so at most 2^61 bytes.
        let bytes = (size as u64)
            .checked_mul(GIB)
            .ok_or_else(|| Fault::bad_request(format!("Invalid volume size {size}G.")))?;
        let staged = match &origin {
            Origin::Empty => self.disks.stage(Kind::Volume, &id, bytes, Source::Zeros),
            Origin::Image(image) => self.images.data(&image.id).and_then(|mut f| {
                self.disks
                    .stage(Kind::Volume, &id, bytes, Source::Reader(&mut f))
            }),
            Origin::Snapshot { id: sid, .. } => {
                let from = self.disks.path(Kind::Snapshot, sid);
                self.disks
                    .stage(Kind::Volume, &id, bytes, Source::File(&from))
            }
            Origin::Volume(v) => {
                let from = self.disks.path(Kind::Volume, &v.id);
                self.disks
                    .stage(Kind::Volume, &id, bytes, Source::File(&from))
            }
            Origin::Backup { id: bid, .. } => {
                let from = self.disks.path(Kind::Backup, bid);
                self.disks
                    .stage(Kind::Volume, &id, bytes, Source::File(&from))
            }
        };
        // A size the file system cannot hold is a pool without the room: Cinder's
        // scheduler leaves such a volume in `error` (below), never a shorter file.
        let staged = match staged {
            Ok(s) => Some(s),
            Err(e) if super::storage::too_large(&e) => None,
            Err(e) => return Err(self.fault(self.io("writing the volume's file", e))),
        };
        self.write(move |c| {
            let (origin, size) = self.origin(c, call, &spec)?;
            let vtype = self.admit(c, call, &spec, &origin, size)?;
            if let Some(group) = &spec.group_id {
                super::groups::check_new_member(c, call, group, &vtype.id)?;
            }
            // Cinder's scheduler: a type whose extra specs the pool cannot satisfy leaves
            // the volume in `error`, with a user message saying why.
            let placed = staged.is_some()
                && super::scheduler::satisfies(
                    &vtype.extra_specs,
                    &super::misc::pool_capabilities(self, c)?,
                );
            let type_multiattach = vtype.multiattach();
            let now = crate::time::now_ms();
            let (mut bootable, mut image_metadata) = (false, Map::new());
            let (mut snapshot_id, mut source_volid, mut backup_id) = (None, None, None);
            match &origin {
                Origin::Image(image) => {
                    bootable = true;
                    image_metadata = image_metadata_of(image);
                }
                Origin::Snapshot { id, volume, .. } => {
                    bootable = volume.bootable;
                    image_metadata = volume.image_metadata.clone();
                    snapshot_id = Some(id.clone());
                }
                Origin::Volume(v) => {
                    bootable = v.bootable;
                    image_metadata = v.image_metadata.clone();
                    source_volid = Some(v.id.clone());
                }
                Origin::Backup { id, .. } => backup_id = Some(id.clone()),
                Origin::Empty => {}
            }
            let v = Volume {
                id: id.clone(),
                project_id: call.project_id.clone(),
                user_id: call.caller.user_id.clone(),
                name: spec.name.clone(),
                description: spec.description.clone(),
                size,
                status: if placed {
                    VolumeStatus::Creating
                } else {
                    VolumeStatus::Error
                }
                .as_str()
                .into(),
                volume_type_id: vtype.id.clone(),
                availability_zone: ZONE.into(),
                bootable,
                readonly: false,
                multiattach: spec.multiattach || type_multiattach,
                snapshot_id,
                source_volid,
                backup_id,
                migration_status: None,
                metadata: spec.metadata.clone(),
                image_metadata,
                created_ms: now,
                updated_ms: now,
                readonly_recorded: false,
            };
            c.insert_volume(
                &v,
                placed.then_some((VolumeStatus::Available.as_str(), now + self.delay_ms)),
                spec.group_id.as_deref(),
            )?;
            if !placed {
                // The staged file is dropped: an unscheduled volume has no bytes.
                let request_id = spec
                    .request_id
                    .clone()
                    .unwrap_or_else(|| format!("req-{}", uuid::Uuid::new_v4()));
                super::messages::record(
                    c,
                    &v.project_id,
                    &request_id,
                    super::messages::VOLUME,
                    &v.id,
                    super::messages::SCHEDULE_ALLOCATE_VOLUME,
                    super::messages::NO_BACKEND_AVAILABLE,
                )?;
                return Ok(v);
            }
            if let Some(staged) = staged {
                staged
                    .commit()
                    .map_err(|e| self.io("placing the volume's file", e))?;
            }
            Ok(v)
        })
    }

    /// A volume's JSON with its type's name and its attachments.
    pub fn render(
        &self,
        c: &dyn Tx,
        v: &Volume,
        call: &Call,
        urls: &Urls,
        shape: Shape,
    ) -> Outcome<Value> {
        let name = types::name_of(c, &v.volume_type_id)?;
        let attachments = model::attachments_of(c, &v.id)?;
        let group_id = super::groups::group_of(c, &v.id)?;
        Ok(views::volume(
            v,
            &Extra {
                type_name: name.as_deref(),
                group_id: group_id.as_deref(),
                attachments: &attachments,
                host: &self.host,
                encrypted: super::encryption::of_type(c, &v.volume_type_id)?.is_some(),
            },
            call,
            urls,
            shape,
        ))
    }
}

/// What Cinder copies from an image into `volume_image_metadata`: its core attributes and
/// its own properties.
pub(super) fn image_metadata_of(image: &crate::image::model::Image) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in &image.properties {
        m.insert(k.clone(), v.clone());
    }
    m.insert("image_id".into(), json!(image.id));
    m.insert(
        "image_name".into(),
        json!(image.name.clone().unwrap_or_default()),
    );
    m.insert("checksum".into(), json!(image.checksum));
    m.insert("container_format".into(), json!(image.container_format));
    m.insert("disk_format".into(), json!(image.disk_format));
    m.insert("min_disk".into(), json!(image.min_disk));
    m.insert("min_ram".into(), json!(image.min_ram));
    m.insert("size".into(), json!(image.size));
    views::stringified(&m)
}

// ---------------------------------------------------------------- request parsing

fn field_error(field: &str, value: &Value, why: &str) -> Fault {
    Fault::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {}. {why}",
        match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    ))
}

/// Cinder's `constants.DB_MAX_INT`: the largest size (GiB) its `volume_size` schema takes.
pub(super) const MAX_SIZE: i64 = 0x7FFF_FFFF;

fn size_of(v: &Value) -> Result<i64, Fault> {
    gigabytes(
        "size",
        v,
        &format!("{v} is not of type 'integer', 'string', 'null'"),
    )
}

/// A size in GiB as Cinder's `parameter_types.volume_size` takes it (create's `size`,
/// os-extend's `new_size`): an integer or its digits, from 1 to `DB_MAX_INT`, checked as
/// its schema validator does (numbers in strings too) before any arithmetic. So the bytes
/// of any accepted size, at most 2^61, fit in a u64.
pub(super) fn gigabytes(field: &str, v: &Value, not_a_number: &str) -> Result<i64, Fault> {
    // i128 holds every integer JSON gives (u64 included) and any 38 digits of a string;
    // longer digit strings are simply too large.
    let n: Option<i128> = match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => {
            let t = s.trim();
            match t.parse::<i128>() {
                Ok(n) => Some(n),
                Err(_) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => Some(i128::MAX),
                Err(_) => None,
            }
        }
        _ => None,
    };
    match n {
        Some(n) if n < 1 => Err(field_error(
            field,
            v,
            &format!("{n} is less than the minimum of 1"),
        )),
        Some(n) if n > i128::from(MAX_SIZE) => Err(field_error(
            field,
            v,
            &format!(
                "{} is greater than the maximum of {MAX_SIZE}",
                match v {
                    Value::String(s) => s.trim().to_string(),
                    other => other.to_string(),
                }
            ),
        )),
        Some(n) => Ok(n as i64),
        None => Err(field_error(field, v, not_a_number)),
    }
}

fn string_field(o: &Map<String, Value>, key: &str) -> Result<Option<String>, Fault> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(field_error(key, v, &format!("{v} is not of type 'string'"))),
    }
}

/// The body's `volume` object.
fn volume_object(req: &Request) -> Result<Map<String, Value>, Fault> {
    match body(req)?.get("volume") {
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(v) => Err(field_error(
            "volume",
            v,
            &format!("{v} is not of type 'object'"),
        )),
        None => Err(Fault::bad_request(
            "Missing required element 'volume' in request body.",
        )),
    }
}

fn new_volume(call: &Call, o: &Map<String, Value>) -> Result<NewVolume, Fault> {
    let backup_id = if call.version.at_least(47) {
        string_field(o, "backup_id")?
    } else {
        None
    };
    let image_ref = match string_field(o, "imageRef")? {
        Some(i) => Some(i),
        None => string_field(o, "image_id")?,
    };
    Ok(NewVolume {
        size: match o.get("size") {
            None | Some(Value::Null) => None,
            Some(v) => Some(size_of(v)?),
        },
        name: text_field(o, "name")?.flatten(),
        description: text_field(o, "description")?.flatten(),
        volume_type: string_field(o, "volume_type")?,
        availability_zone: string_field(o, "availability_zone")?,
        metadata: match o.get("metadata") {
            None => Map::new(),
            Some(v) => metadata_in(v)?,
        },
        image_ref,
        snapshot_id: string_field(o, "snapshot_id")?,
        source_volid: string_field(o, "source_volid")?,
        backup_id,
        multiattach: flag(o.get("multiattach"), "multiattach")?,
        group_id: if call.version.at_least(13) {
            string_field(o, "group_id")?
        } else {
            None
        },
        request_id: None,
    })
}

// ---------------------------------------------------------------- handlers

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let o = volume_object(req)?;
    let mut spec = new_volume(&call, &o)?;
    spec.request_id = req.env(env::REQUEST_ID).map(str::to_string);
    let v = svc.create_volume(&call, spec)?;
    let urls = Urls::of(svc, req, &call)?;
    let out = svc.read(|c| svc.render(c, &v, &call, &urls, Shape::Created))?;
    reply(resp, &call, 202, &json!({"volume": out}))
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing::list(svc, req, resp, Shape::Summary)
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing::list(svc, req, resp, Shape::Detail)
}

fn summary(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    listing::summary(svc, req, resp)
}

/// The volume named by the path, as the caller may see it.
pub fn target(svc: &Volumes, call: &Call, req: &Request) -> Result<Volume, Fault> {
    let id = param(req, "volume_id")?.to_string();
    svc.read(|c| Ok(model::visible(c, &id, &call.project_id, call.is_admin())?))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "volume_id")?.to_string();
    let urls = Urls::of(svc, req, &call)?;
    let out = svc.read(|c| {
        let v = model::visible(c, &id, &call.project_id, call.is_admin())?;
        svc.render(c, &v, &call, &urls, Shape::Detail)
    })?;
    reply(resp, &call, 200, &json!({"volume": out}))
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "volume_id")?.to_string();
    let o = volume_object(req)?;
    let name = text_field(&o, "name")?;
    let description = text_field(&o, "description")?;
    let metadata = match o.get("metadata") {
        None => None,
        Some(v) => Some(metadata_in(v)?),
    };
    if name.is_none() && description.is_none() && metadata.is_none() {
        return Err(Fault::bad_request(
            "Invalid input for field/attribute volume. Value: {}. {} does not have enough properties",
        ));
    }
    let urls = Urls::of(svc, req, &call)?;
    let out = svc.write(|c| {
        let mut v = model::visible(c, &id, &call.project_id, call.is_admin())?;
        if let Some(n) = name {
            v.name = n;
        }
        if let Some(d) = description {
            v.description = d;
        }
        if let Some(m) = metadata {
            v.metadata = m;
        }
        v.updated_ms = crate::time::now_ms();
        c.update_volume(&v)?;
        svc.render(c, &v, &call, &urls, Shape::Created)
    })?;
    reply(resp, &call, 200, &json!({"volume": out}))
}

/// Cinder's refusal to delete a volume that is busy (not for its status: that is the
/// table's).
fn cannot_delete() -> Fault {
    Fault::bad_request(format!("Invalid volume: {}", states::CANNOT_DELETE))
}

impl Volumes {
    /// Deletes a volume (and with `cascade` its snapshots) in the caller's transaction;
    /// `force` starts from any status (os-force_delete). Returns the snapshots removed:
    /// their files, and the volume's, go once the transaction has committed.
    pub fn delete_volume(
        &self,
        c: &dyn Tx,
        v: &Volume,
        cascade: bool,
        force: bool,
    ) -> Outcome<Vec<String>> {
        let action = if force {
            states::VolumeAction::ForceDelete
        } else {
            states::VolumeAction::Delete
        };
        model::check(c, v, action)?;
        if v.migration_status
            .as_deref()
            .is_some_and(|m| m == "migrating")
        {
            return Err(cannot_delete().into());
        }
        let snapshots = c.snapshot_statuses(&v.id)?;
        if !snapshots.is_empty() {
            if !cascade {
                return Err(cannot_delete().into());
            }
            if !force {
                for (id, status) in &snapshots {
                    states::may_start_stored(
                        SnapshotAction::DeleteWithVolume,
                        status,
                        SnapshotFacts::default(),
                    )
                    .map_err(|r| Fault::bad_request(r.message(id, status)))?;
                }
            }
            c.delete_snapshots_of(&v.id)?;
        }
        c.delete_attachments_of(&v.id)?;
        c.delete_volume(&v.id)?;
        Ok(snapshots.into_iter().map(|(id, _)| id).collect())
    }

    /// Removes a deleted volume's file and its snapshots' files.
    pub fn remove_files(&self, volume_id: &str, snapshots: &[String]) {
        for s in snapshots {
            self.disks.remove(Kind::Snapshot, s);
        }
        self.disks.remove(Kind::Volume, volume_id);
    }
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "volume_id")?.to_string();
    let query_flag = |name: &str| flag(req.query_param(name).map(|s| json!(s)).as_ref(), name);
    let cascade = query_flag("cascade")?;
    let force = call.version.at_least(23) && query_flag("force")?;
    if force {
        call.admin("volume:force_delete")?;
    }
    let snapshots = svc.write(|c| {
        let v = model::visible(c, &id, &call.project_id, call.is_admin())?;
        // A group's volumes go with the group (`groups.rs`), as Cinder.
        if super::groups::group_of(c, &v.id)?.is_some() {
            return Err(cannot_delete().into());
        }
        svc.delete_volume(c, &v, cascade, force)
    })?;
    svc.remove_files(&id, &snapshots);
    reply_empty(resp, &call, 202)
}

// ---------------------------------------------------------------- metadata

fn metadata_not_found(volume_id: &str, key: &str) -> Fault {
    Fault::not_found(format!(
        "Volume {volume_id} has no metadata with key {key}."
    ))
}

/// Replaces a volume's metadata (after `f` computes it from the old one).
fn change_metadata(
    svc: &Volumes,
    call: &Call,
    id: &str,
    f: impl FnOnce(&mut Map<String, Value>) -> Result<(), Fault>,
) -> Result<Map<String, Value>, Fault> {
    svc.write(|c| {
        let mut v = model::visible(c, id, &call.project_id, call.is_admin())?;
        model::check(c, &v, states::VolumeAction::UpdateMetadata)?;
        f(&mut v.metadata)?;
        c.set_volume_metadata(id, &v.metadata, crate::time::now_ms())?;
        Ok(v.metadata)
    })
}

fn metadata_body(req: &Request) -> Result<Map<String, Value>, Fault> {
    match body(req)?.get("metadata") {
        Some(v) => metadata_in(v),
        None => Err(Fault::bad_request(
            "Missing required element 'metadata' in request body.",
        )),
    }
}

fn list_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let v = target(svc, &call, req)?;
    reply(resp, &call, 200, &json!({"metadata": v.metadata}))
}

fn merge_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "volume_id")?.to_string();
    let new = metadata_body(req)?;
    let m = change_metadata(svc, &call, &id, |m| {
        m.extend(new);
        Ok(())
    })?;
    reply(resp, &call, 200, &json!({"metadata": m}))
}

fn replace_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "volume_id")?.to_string();
    let new = metadata_body(req)?;
    let m = change_metadata(svc, &call, &id, |m| {
        *m = new;
        Ok(())
    })?;
    reply(resp, &call, 200, &json!({"metadata": m}))
}

fn show_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let key = param(req, "key")?.to_string();
    let v = target(svc, &call, req)?;
    let val = v
        .metadata
        .get(&key)
        .ok_or_else(|| metadata_not_found(&v.id, &key))?;
    reply(resp, &call, 200, &json!({"meta": {key: val}}))
}

fn set_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "volume_id")?.to_string();
    let key = param(req, "key")?.to_string();
    let meta = match body(req)?.get("meta") {
        Some(v) => metadata_in(v)?,
        None => {
            return Err(Fault::bad_request(
                "Missing required element 'meta' in request body.",
            ))
        }
    };
    if meta.len() != 1 {
        return Err(Fault::bad_request("Request body contains too many items."));
    }
    let Some(val) = meta.get(&key).cloned() else {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    };
    change_metadata(svc, &call, &id, |m| {
        m.insert(key.clone(), val.clone());
        Ok(())
    })?;
    reply(resp, &call, 200, &json!({"meta": {key: val}}))
}

fn delete_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "volume_id")?.to_string();
    let key = param(req, "key")?.to_string();
    change_metadata(svc, &call, &id, |m| {
        m.remove(&key)
            .map(|_| ())
            .ok_or_else(|| metadata_not_found(&id, &key))
    })?;
    reply_empty(resp, &call, 200)
}
