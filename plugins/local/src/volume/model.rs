//! Volumes and their attachments, and the steps every service shares: Cinder's own
//! actions, its attachments API and Nova's volume attachments all reserve, attach and
//! detach through these, so a volume's status and its attachments never disagree. Knows
//! nothing of HTTP nor of SQL: records come from `repo`'s trait; errors are its own
//! (`volume::faults` words them as Cinder does).

use serde_json::{Map, Value};

use super::repo::VolumeRepo;
use super::states::{self, VolumeAction, VolumeFacts, VolumeRefusal, VolumeStatus};
use crate::store::StoreError;

/// What can go wrong, in the model's terms.
#[derive(Debug)]
pub enum Error {
    /// No such volume, or not the caller's.
    VolumeNotFound(String),
    AttachmentNotFound(String),
    /// The volume table refused an action: (why, the volume's id, its status).
    Refused(VolumeRefusal, String, String),
    /// (volume, server): the server already has the volume.
    AlreadyAttached(String, String),
    /// A server has no device name left for another volume.
    NoFreeDevice,
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The store every function here works on: the caller's transaction or snapshot.
pub type Repo<'a> = &'a dyn VolumeRepo;

/// A volume as stored.
#[derive(Debug, Clone)]
pub struct Volume {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// GiB.
    pub size: i64,
    pub status: String,
    pub volume_type_id: String,
    pub availability_zone: String,
    pub bootable: bool,
    pub readonly: bool,
    pub multiattach: bool,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    pub backup_id: Option<String>,
    pub migration_status: Option<String>,
    pub metadata: Map<String, Value>,
    pub image_metadata: Map<String, Value>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Whether Cinder would have the `readonly` admin metadata: set by os-attach and
    /// os-update_readonly_flag, never on a new volume (shown in its detail only then).
    pub readonly_recorded: bool,
}

/// No such volume.
pub fn volume_not_found(id: &str) -> Error {
    Error::VolumeNotFound(id.into())
}

/// The volume `id`, whoever owns it (callers check visibility with `visible`).
pub fn find(c: Repo, id: &str) -> Result<Option<Volume>> {
    Ok(c.volume(id)?)
}

/// The volume `id` as `project` sees it: another project's volume is not found, unless
/// the caller is an admin.
pub fn visible(c: Repo, id: &str, project: &str, admin: bool) -> Result<Volume> {
    match find(c, id)? {
        Some(v) if admin || v.project_id == project => Ok(v),
        _ => Err(volume_not_found(id)),
    }
}

impl Volume {
    /// The volume's status; None for a word this build does not know.
    pub fn state(&self) -> Option<VolumeStatus> {
        VolumeStatus::parse(&self.status)
    }
}

/// What the volume table (`states.rs`) needs to know of `v` besides its status.
pub fn facts(c: Repo, v: &Volume) -> Result<VolumeFacts> {
    Ok(VolumeFacts {
        multiattach: v.multiattach,
        has_attachments: c.has_attachments(&v.id)?,
    })
}

/// Whether `action` may start on `v`: the volume table's answer.
pub fn may_start(
    c: Repo,
    v: &Volume,
    action: VolumeAction,
) -> Result<std::result::Result<(), VolumeRefusal>> {
    Ok(states::may_start_stored(action, &v.status, facts(c, v)?))
}

/// The refusal `r` of an action on `v`, as an error.
pub fn refused(r: VolumeRefusal, v: &Volume) -> Error {
    Error::Refused(r, v.id.clone(), v.status.clone())
}

/// `action` may start on `v`, or the error says why not.
pub fn check(c: Repo, v: &Volume, action: VolumeAction) -> Result<()> {
    may_start(c, v, action)?.map_err(|r| refused(r, v))
}

/// Sets a volume's status now (and forgets any pending one).
pub fn set_status(c: Repo, id: &str, status: VolumeStatus) -> Result<()> {
    Ok(c.set_volume_status(id, status, crate::time::now_ms())?)
}

/// Sets a volume's status now, and `next` once `delay_ms` has passed (a task that runs).
pub fn set_status_then(
    c: Repo,
    id: &str,
    status: VolumeStatus,
    next: VolumeStatus,
    delay_ms: i64,
) -> Result<()> {
    let now = crate::time::now_ms();
    Ok(c.set_volume_status_then(id, status, next, now.saturating_add(delay_ms), now)?)
}

/// Sets a volume's status now, and back to the one it had once `delay_ms` has passed (a
/// task that runs on the volume: extending, uploading, backing up).
pub fn set_busy(c: Repo, id: &str, status: VolumeStatus, delay_ms: i64) -> Result<()> {
    let now = crate::time::now_ms();
    Ok(c.set_volume_busy(id, status, now.saturating_add(delay_ms), now)?)
}

/// Ends a task `set_busy` began at once (it failed): the volume has the status it was to
/// have again. Nothing changes when that already happened, or another status was set since.
pub fn end_busy(c: Repo, id: &str) -> Result<()> {
    Ok(c.end_volume_busy(id, crate::time::now_ms())?)
}

/// One attachment: Cinder's attachment record and Nova's block device mapping at once.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: String,
    pub volume_id: String,
    /// `instance_uuid`; None for an attachment reserved without a server.
    pub server_id: Option<String>,
    /// reserved | attaching | attached | detaching
    pub status: String,
    /// rw | ro
    pub attach_mode: String,
    pub host: Option<String>,
    /// The device, e.g. `/dev/vdb`.
    pub mountpoint: Option<String>,
    pub connector: Option<Value>,
    pub boot_index: Option<i64>,
    pub delete_on_termination: bool,
    pub tag: Option<String>,
    pub attached_ms: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A volume's attachments, oldest first.
pub fn attachments_of(c: Repo, volume_id: &str) -> Result<Vec<Attachment>> {
    Ok(c.attachments_of(volume_id)?)
}

/// The attachments of each of `volume_ids`, oldest first.
pub fn attachments_by_volume(
    c: Repo,
    volume_ids: &[&str],
) -> Result<std::collections::HashMap<String, Vec<Attachment>>> {
    Ok(c.attachments_by_volume(volume_ids)?)
}

/// A server's volumes (its block device mappings), oldest first.
pub fn attachments_of_server(c: Repo, server_id: &str) -> Result<Vec<Attachment>> {
    Ok(c.attachments_of_server(server_id)?)
}

pub fn attachment(c: Repo, id: &str) -> Result<Option<Attachment>> {
    Ok(c.attachment(id)?)
}

/// What a new attachment records.
#[derive(Debug, Default, Clone)]
pub struct AttachSpec {
    pub server_id: Option<String>,
    pub host: Option<String>,
    pub mountpoint: Option<String>,
    pub mode: Option<String>,
    pub connector: Option<Value>,
    pub boot_index: Option<i64>,
    pub delete_on_termination: bool,
    pub tag: Option<String>,
}

/// Reserves `volume` for an attachment (Cinder's attachment create without a connector, and
/// the first half of every attach): the volume must be available, or in use and
/// multiattach (`VolumeAction::AttachmentCreate`); it becomes `reserved` (or stays in-use)
/// and the attachment `reserved`.
pub fn reserve(c: Repo, volume: &Volume, spec: &AttachSpec) -> Result<Attachment> {
    reserve_as(c, volume, spec, VolumeAction::AttachmentCreate)
}

/// `reserve` for `action`: the table's row for it decides the statuses it starts from.
fn reserve_as(
    c: Repo,
    volume: &Volume,
    spec: &AttachSpec,
    action: VolumeAction,
) -> Result<Attachment> {
    check(c, volume, action)?;
    let attached = attachments_of(c, &volume.id)?;
    if let Some(server) = &spec.server_id {
        if attached
            .iter()
            .any(|a| a.server_id.as_deref() == Some(server))
        {
            return Err(Error::AlreadyAttached(volume.id.clone(), server.clone()));
        }
    }
    let now = crate::time::now_ms();
    let a = Attachment {
        id: uuid::Uuid::new_v4().to_string(),
        volume_id: volume.id.clone(),
        server_id: spec.server_id.clone(),
        status: "reserved".into(),
        attach_mode: spec.mode.clone().unwrap_or_else(|| {
            if volume.readonly {
                "ro".into()
            } else {
                "rw".into()
            }
        }),
        host: spec.host.clone(),
        mountpoint: spec.mountpoint.clone(),
        connector: spec.connector.clone(),
        boot_index: spec.boot_index,
        delete_on_termination: spec.delete_on_termination,
        tag: spec.tag.clone(),
        attached_ms: None,
        created_ms: now,
        updated_ms: now,
    };
    c.insert_attachment(&a)?;
    if volume.state() == Some(VolumeStatus::Available) {
        set_status(c, &volume.id, VolumeStatus::Reserved)?;
    }
    Ok(a)
}

/// Completes an attachment: it is `attached` at `mountpoint` (kept when None), and its
/// volume `in-use`.
pub fn complete(c: Repo, attachment_id: &str, mountpoint: Option<&str>) -> Result<()> {
    let now = crate::time::now_ms();
    let volume_id = c
        .complete_attachment(attachment_id, mountpoint, now)?
        .ok_or_else(|| Error::AttachmentNotFound(attachment_id.into()))?;
    set_status(c, &volume_id, VolumeStatus::InUse)
}

/// Reserves and completes in one step: Nova's attach, and boot from volume.
pub fn attach(c: Repo, volume: &Volume, spec: &AttachSpec) -> Result<Attachment> {
    attach_as(c, volume, spec, VolumeAction::AttachmentCreate)
}

/// `attach` for `action` (os-attach has its own row: it also ends what os-reserve began).
pub fn attach_as(
    c: Repo,
    volume: &Volume,
    spec: &AttachSpec,
    action: VolumeAction,
) -> Result<Attachment> {
    let mut a = reserve_as(c, volume, spec, action)?;
    complete(c, &a.id, None)?;
    a.status = "attached".into();
    a.attached_ms = Some(crate::time::now_ms());
    Ok(a)
}

/// Removes an attachment; its volume is `available` again once it has none left, and
/// stays `in-use` while other attachments are attached.
pub fn detach(c: Repo, attachment_id: &str) -> Result<()> {
    let volume_id = c
        .delete_attachment(attachment_id)?
        .ok_or_else(|| Error::AttachmentNotFound(attachment_id.into()))?;
    let left = attachments_of(c, &volume_id)?;
    let status = if left.iter().any(|a| a.status == "attached") {
        VolumeStatus::InUse
    } else if left.is_empty() {
        VolumeStatus::Available
    } else {
        VolumeStatus::Reserved
    };
    set_status(c, &volume_id, status)
}

/// The next free device name on a server (`/dev/vdb`, `/dev/vdc`, …); `/dev/vda` is the
/// root disk.
pub fn next_device(c: Repo, server_id: &str) -> Result<String> {
    let used: Vec<String> = attachments_of_server(c, server_id)?
        .into_iter()
        .filter_map(|a| a.mountpoint)
        .collect();
    let device = (b'b'..=b'z')
        .map(|l| format!("/dev/vd{}", l as char))
        .find(|d| !used.contains(d))
        .ok_or(Error::NoFreeDevice)?;
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn volume(c: Repo, id: &str) -> Volume {
        find(c, id).unwrap().unwrap()
    }

    #[test]
    fn attach_and_detach_move_the_volume_and_its_attachments_together() {
        let store = Store::memory();
        store
            .write(|c| -> Result<()> {
                crate::volume::fixtures::volume_type(c, "t", "default");
                crate::volume::fixtures::volume(c, "v", "p", "t", 1);
                Ok(())
            })
            .unwrap();
        store
            .write(|c| -> Result<()> {
                let spec = AttachSpec {
                    server_id: Some("s".into()),
                    ..AttachSpec::default()
                };
                let a = attach(c, &volume(c, "v"), &spec)?;
                assert_eq!(volume(c, "v").status, "in-use");
                assert_eq!(next_device(c, "s")?, "/dev/vdb");
                assert!(matches!(
                    attach(c, &volume(c, "v"), &spec),
                    Err(Error::Refused(..) | Error::AlreadyAttached(..))
                ));
                detach(c, &a.id)?;
                assert_eq!(volume(c, "v").status, "available");
                assert!(matches!(
                    detach(c, &a.id),
                    Err(Error::AttachmentNotFound(_))
                ));
                Ok(())
            })
            .unwrap();
    }
}
