//! Volumes and their attachments as stored, and the steps every service shares: Cinder's
//! own actions, its attachments API and Nova's volume attachments all reserve, attach and
//! detach through these, so a volume's status and its attachments never disagree.

use jumpgate_plugin_api::Fault;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};

use super::states::{self, VolumeAction, VolumeFacts, VolumeRefusal, VolumeStatus};
use crate::store::Outcome as Result;

/// A volume row, read by position (`COLUMNS`).
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

/// How many columns `COLUMNS` names: a query selecting more after them reads those from
/// this index on.
pub const WIDTH: usize = 21;

pub const COLUMNS: &str =
    "id, project_id, user_id, name, description, size, status, volume_type_id, \
     availability_zone, bootable, readonly, multiattach, snapshot_id, source_volid, backup_id, \
     migration_status, metadata, image_metadata, created_ms, updated_ms, readonly_recorded";

fn object(s: String) -> Map<String, Value> {
    serde_json::from_str(&s).unwrap_or_default()
}

pub fn row(r: &Row) -> rusqlite::Result<Volume> {
    Ok(Volume {
        id: r.get(0)?,
        project_id: r.get(1)?,
        user_id: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        size: r.get(5)?,
        status: r.get(6)?,
        volume_type_id: r.get(7)?,
        availability_zone: r.get(8)?,
        bootable: r.get(9)?,
        readonly: r.get(10)?,
        multiattach: r.get(11)?,
        snapshot_id: r.get(12)?,
        source_volid: r.get(13)?,
        backup_id: r.get(14)?,
        migration_status: r.get(15)?,
        metadata: object(r.get(16)?),
        image_metadata: object(r.get(17)?),
        created_ms: r.get(18)?,
        updated_ms: r.get(19)?,
        readonly_recorded: r.get(20)?,
    })
}

/// Cinder's 404 for a volume.
pub fn volume_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Volume {id} could not be found."))
}

/// The volume `id`, whoever owns it (callers check visibility with `visible`).
pub fn find(c: &Connection, id: &str) -> Result<Option<Volume>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM volumes WHERE id = ?1"),
        [id],
        row,
    )
    .optional()?)
}

/// The volume `id` as `project` sees it: another project's volume is not found, unless
/// the caller is an admin.
pub fn visible(c: &Connection, id: &str, project: &str, admin: bool) -> Result<Volume> {
    match find(c, id)? {
        Some(v) if admin || v.project_id == project => Ok(v),
        _ => Err(volume_not_found(id).into()),
    }
}

impl Volume {
    /// The volume's status; None for a word this build does not know.
    pub fn state(&self) -> Option<VolumeStatus> {
        VolumeStatus::parse(&self.status)
    }
}

/// What the volume table (`states.rs`) needs to know of `v` besides its status.
pub fn facts(c: &Connection, v: &Volume) -> Result<VolumeFacts> {
    let has_attachments: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM volume_attachments WHERE volume_id = ?1)",
        [&v.id],
        |r| r.get(0),
    )?;
    Ok(VolumeFacts {
        multiattach: v.multiattach,
        has_attachments,
    })
}

/// Whether `action` may start on `v`: the volume table's answer.
pub fn may_start(
    c: &Connection,
    v: &Volume,
    action: VolumeAction,
) -> Result<std::result::Result<(), VolumeRefusal>> {
    Ok(states::may_start_stored(action, &v.status, facts(c, v)?))
}

/// Cinder's 400 for a refused action on `v`.
pub fn refused(r: &VolumeRefusal, v: &Volume) -> Fault {
    Fault::bad_request(r.message(&v.id, &v.status))
}

/// `action` may start on `v`, or Cinder's 400 (InvalidVolume) says why not.
pub fn check(c: &Connection, v: &Volume, action: VolumeAction) -> Result<()> {
    may_start(c, v, action)?.map_err(|r| refused(&r, v).into())
}

/// Sets a volume's status now (and forgets any pending one).
pub fn set_status(c: &Connection, id: &str, status: VolumeStatus) -> Result<()> {
    c.execute(
        "UPDATE volumes SET status = ?2, next_status = NULL, ready_at = NULL, updated_ms = ?3
         WHERE id = ?1",
        params![id, status.as_str(), crate::time::now_ms()],
    )?;
    Ok(())
}

/// Sets a volume's status now, and `next` once `delay_ms` has passed (a task that runs).
pub fn set_status_then(
    c: &Connection,
    id: &str,
    status: VolumeStatus,
    next: VolumeStatus,
    delay_ms: i64,
) -> Result<()> {
    let now = crate::time::now_ms();
    c.execute(
        "UPDATE volumes SET status = ?2, next_status = ?3, ready_at = ?4, updated_ms = ?5
         WHERE id = ?1",
        params![id, status.as_str(), next.as_str(), now + delay_ms, now],
    )?;
    Ok(())
}

/// Sets a volume's status now, and back to the one it had once `delay_ms` has passed (a
/// task that runs on the volume: extending, uploading, backing up).
pub fn set_busy(c: &Connection, id: &str, status: VolumeStatus, delay_ms: i64) -> Result<()> {
    let now = crate::time::now_ms();
    // SET reads the row as it was: the status it had becomes the one to come.
    c.execute(
        "UPDATE volumes SET next_status = status, status = ?2, ready_at = ?3, updated_ms = ?4
         WHERE id = ?1",
        params![id, status.as_str(), now + delay_ms, now],
    )?;
    Ok(())
}

/// Ends a task `set_busy` began at once (it failed): the volume has the status it was to
/// have again. Nothing changes when that already happened, or another status was set since.
pub fn end_busy(c: &Connection, id: &str) -> Result<()> {
    c.execute(
        "UPDATE volumes SET status = next_status, next_status = NULL, ready_at = NULL,
            updated_ms = ?2
         WHERE id = ?1 AND next_status IS NOT NULL",
        params![id, crate::time::now_ms()],
    )?;
    Ok(())
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

pub const ATTACHMENT_COLUMNS: &str = "id, volume_id, server_id, status, attach_mode, host, \
     mountpoint, connector, boot_index, delete_on_termination, tag, attached_ms, created_ms, updated_ms";

pub fn attachment_row(r: &Row) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        volume_id: r.get(1)?,
        server_id: r.get(2)?,
        status: r.get(3)?,
        attach_mode: r.get(4)?,
        host: r.get(5)?,
        mountpoint: r.get(6)?,
        connector: r
            .get::<_, Option<String>>(7)?
            .and_then(|s| serde_json::from_str(&s).ok()),
        boot_index: r.get(8)?,
        delete_on_termination: r.get(9)?,
        tag: r.get(10)?,
        attached_ms: r.get(11)?,
        created_ms: r.get(12)?,
        updated_ms: r.get(13)?,
    })
}

fn attachments_where(c: &Connection, clause: &str, key: &str) -> Result<Vec<Attachment>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM volume_attachments WHERE {clause} ORDER BY created_ms, id"
    ))?;
    let rows = stmt.query_map([key], attachment_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A volume's attachments, oldest first.
pub fn attachments_of(c: &Connection, volume_id: &str) -> Result<Vec<Attachment>> {
    attachments_where(c, "volume_id = ?1", volume_id)
}

/// The attachments of each of `volume_ids`, oldest first: one statement for a page.
pub fn attachments_by_volume(
    c: &Connection,
    volume_ids: &[&str],
) -> Result<std::collections::HashMap<String, Vec<Attachment>>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM volume_attachments
         WHERE volume_id IN (SELECT value FROM json_each(?1)) ORDER BY created_ms, id"
    ))?;
    let ids = serde_json::to_string(volume_ids).unwrap_or_else(|_| "[]".into());
    let mut by_volume = std::collections::HashMap::<String, Vec<Attachment>>::new();
    for a in stmt.query_map([ids], attachment_row)? {
        let a = a?;
        by_volume.entry(a.volume_id.clone()).or_default().push(a);
    }
    Ok(by_volume)
}

/// A server's volumes (its block device mappings), oldest first.
pub fn attachments_of_server(c: &Connection, server_id: &str) -> Result<Vec<Attachment>> {
    attachments_where(c, "server_id = ?1", server_id)
}

pub fn attachment(c: &Connection, id: &str) -> Result<Option<Attachment>> {
    Ok(c.query_row(
        &format!("SELECT {ATTACHMENT_COLUMNS} FROM volume_attachments WHERE id = ?1"),
        [id],
        attachment_row,
    )
    .optional()?)
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
pub fn reserve(c: &Connection, volume: &Volume, spec: &AttachSpec) -> Result<Attachment> {
    reserve_as(c, volume, spec, VolumeAction::AttachmentCreate)
}

/// `reserve` for `action`: the table's row for it decides the statuses it starts from.
fn reserve_as(
    c: &Connection,
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
            return Err(Fault::bad_request(format!(
                "Invalid volume: volume {} is already attached to instance {server}.",
                volume.id
            ))
            .into());
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
    c.execute(
        &format!(
            "INSERT INTO volume_attachments ({ATTACHMENT_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            a.id,
            a.volume_id,
            a.server_id,
            a.status,
            a.attach_mode,
            a.host,
            a.mountpoint,
            a.connector.as_ref().map(Value::to_string),
            a.boot_index,
            a.delete_on_termination,
            a.tag,
            a.attached_ms,
            a.created_ms,
            a.updated_ms
        ],
    )?;
    if volume.state() == Some(VolumeStatus::Available) {
        set_status(c, &volume.id, VolumeStatus::Reserved)?;
    }
    Ok(a)
}

/// Completes an attachment: it is `attached` at `mountpoint` (kept when None), and its
/// volume `in-use`.
pub fn complete(c: &Connection, attachment_id: &str, mountpoint: Option<&str>) -> Result<()> {
    let now = crate::time::now_ms();
    let volume_id: String = c
        .query_row(
            "UPDATE volume_attachments SET status = 'attached', attached_ms = ?2, updated_ms = ?2,
                mountpoint = COALESCE(?3, mountpoint)
             WHERE id = ?1 RETURNING volume_id",
            params![attachment_id, now, mountpoint],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| {
            Fault::not_found(format!(
                "VolumeAttachment {attachment_id} could not be found."
            ))
        })?;
    set_status(c, &volume_id, VolumeStatus::InUse)
}

/// Reserves and completes in one step: Nova's attach, and boot from volume.
pub fn attach(c: &Connection, volume: &Volume, spec: &AttachSpec) -> Result<Attachment> {
    attach_as(c, volume, spec, VolumeAction::AttachmentCreate)
}

/// `attach` for `action` (os-attach has its own row: it also ends what os-reserve began).
pub fn attach_as(
    c: &Connection,
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
pub fn detach(c: &Connection, attachment_id: &str) -> Result<()> {
    let volume_id: String = c
        .query_row(
            "DELETE FROM volume_attachments WHERE id = ?1 RETURNING volume_id",
            [attachment_id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| {
            Fault::not_found(format!(
                "VolumeAttachment {attachment_id} could not be found."
            ))
        })?;
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
pub fn next_device(c: &Connection, server_id: &str) -> Result<String> {
    let used: Vec<String> = attachments_of_server(c, server_id)?
        .into_iter()
        .filter_map(|a| a.mountpoint)
        .collect();
    let device = (b'b'..=b'z')
        .map(|l| format!("/dev/vd{}", l as char))
        .find(|d| !used.contains(d))
        .ok_or_else(|| Fault::bad_request("No free disk device names for prefix 'vd'"))?;
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_counts_the_columns() {
        assert_eq!(COLUMNS.split(',').count(), WIDTH);
    }
}
