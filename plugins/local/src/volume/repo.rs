//! What Block Storage asks of the store, one trait per aggregate of Cinder's API: volumes
//! (with the attachments Cinder and Nova share), volume types, QoS specs, quotas, groups,
//! snapshots, backups, transfers and user messages. No rules live here (those are
//! `model`'s, `states`' and the handlers'); each backend under `store/` fills these traits.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::backups::Backup;
use super::encryption::Encryption;
use super::group_snapshots::GroupSnapshot;
use super::group_types::GroupType;
use super::groups::{Group, NewGroup};
use super::messages::Message;
use super::model::{Attachment, Volume};
use super::qos::QosSpecs;
use super::snapshots::Snapshot;
use super::states::VolumeStatus;
use super::transfers::Transfer;
use super::types::VolumeType;
use super::volumes::listing::Listed;
use crate::store::{StoreError, Unique};

pub type Result<T> = std::result::Result<T, StoreError>;

/// Filters of an attachment listing: each None matches everything.
#[derive(Debug, Default, Clone)]
pub struct AttachmentFilter {
    /// The project of the attachment's volume.
    pub project_id: Option<String>,
    pub volume_id: Option<String>,
    pub server_id: Option<String>,
    pub status: Option<String>,
}

/// Volumes (their statuses and timers, flags and metadata) and their attachments.
pub trait VolumeRepo {
    fn volume(&self, id: &str) -> Result<Option<Volume>>;
    /// The volumes of `project_id` (every project's when None) with their type's name and
    /// group; sort keys `id`, `name`, `status`, `size`, `availability_zone`,
    /// `created_at`, `updated_at`, `bootable`, `volume_type`, `project_id`, `user_id`.
    fn listed_volumes(&self, project_id: Option<&str>, sort: &[SortKey]) -> Result<Vec<Listed>>;
    /// Sets the status at `now_ms` and forgets any pending one.
    fn set_volume_status(&self, id: &str, status: VolumeStatus, now_ms: i64) -> Result<()>;
    /// Sets the status at `now_ms`, and `next` at `ready_ms`.
    fn set_volume_status_then(
        &self,
        id: &str,
        status: VolumeStatus,
        next: VolumeStatus,
        ready_ms: i64,
        now_ms: i64,
    ) -> Result<()>;
    /// Sets the status at `now_ms`, and the one it had at `ready_ms`.
    fn set_volume_busy(
        &self,
        id: &str,
        status: VolumeStatus,
        ready_ms: i64,
        now_ms: i64,
    ) -> Result<()>;
    /// Gives the volume its pending status now, if it has one.
    fn end_volume_busy(&self, id: &str, now_ms: i64) -> Result<()>;
    /// Records a volume; with `next`, that status comes at its time. `group_id` names
    /// the group it is made in.
    fn insert_volume(
        &self,
        v: &Volume,
        next: Option<(&str, i64)>,
        group_id: Option<&str>,
    ) -> Result<()>;
    /// Saves its name, description, metadata and `updated_ms`.
    fn update_volume(&self, v: &Volume) -> Result<()>;
    fn set_volume_metadata(
        &self,
        id: &str,
        metadata: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<()>;
    fn set_image_metadata(
        &self,
        id: &str,
        metadata: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<()>;
    fn set_bootable(&self, id: &str, bootable: bool, now_ms: i64) -> Result<()>;
    /// Sets the flag, and records that the volume has it (`readonly_recorded`).
    fn set_readonly(&self, id: &str, readonly: bool, now_ms: i64) -> Result<()>;
    /// Records that the volume has the `readonly` admin metadata.
    fn record_readonly(&self, id: &str) -> Result<()>;
    fn set_volume_size(&self, id: &str, size: i64) -> Result<()>;
    fn set_migration_status(&self, id: &str, migration_status: Option<&str>) -> Result<()>;
    /// Gives the volume another type (and that type's multiattach flag).
    fn retype_volume(&self, id: &str, type_id: &str, multiattach: bool, now_ms: i64) -> Result<()>;
    /// Gives the volume to another project and user, with `status`.
    fn move_volume(
        &self,
        id: &str,
        project_id: &str,
        user_id: &str,
        status: VolumeStatus,
        now_ms: i64,
    ) -> Result<()>;
    fn delete_volume(&self, id: &str) -> Result<()>;
    /// Every volume's id (the files that may exist).
    fn volume_ids(&self) -> Result<HashSet<String>>;
    /// The GiB of every volume.
    fn allocated_gigabytes(&self) -> Result<i64>;
    /// Gives the volume back what a backup kept of it (without touching `updated_ms`).
    fn restore_volume(
        &self,
        id: &str,
        metadata: &Map<String, Value>,
        bootable: bool,
        image_metadata: &Map<String, Value>,
    ) -> Result<()>;
    /// Per project with volumes, by project: its volumes and its snapshots.
    fn host_holdings(&self) -> Result<Vec<(String, Counted, Counted)>>;

    /// Oldest first.
    fn attachments_of(&self, volume_id: &str) -> Result<Vec<Attachment>>;
    /// Each volume's attachments, oldest first.
    fn attachments_by_volume(
        &self,
        volume_ids: &[&str],
    ) -> Result<HashMap<String, Vec<Attachment>>>;
    /// Oldest first.
    fn attachments_of_server(&self, server_id: &str) -> Result<Vec<Attachment>>;
    fn attachment(&self, id: &str) -> Result<Option<Attachment>>;
    fn has_attachments(&self, volume_id: &str) -> Result<bool>;
    fn insert_attachment(&self, a: &Attachment) -> Result<()>;
    fn delete_attachments_of(&self, volume_id: &str) -> Result<()>;
    /// Sort keys `id`, `status`, `volume_id`, `instance_uuid`, `created_at`, `updated_at`.
    fn attachments(&self, filter: &AttachmentFilter, sort: &[SortKey]) -> Result<Vec<Attachment>>;
    /// Records the host's connector (and its host and mountpoint, when it names them): the
    /// attachment is `attaching` unless already attached.
    fn connect_attachment(&self, id: &str, connector: &Value, now_ms: i64) -> Result<()>;
    /// Marks the attachment attached at `now_ms` (at `mountpoint`, kept when None);
    /// answers its volume, None when there is no such attachment.
    fn complete_attachment(
        &self,
        id: &str,
        mountpoint: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<String>>;
    /// Answers the attachment's volume, None when there is no such attachment.
    fn delete_attachment(&self, id: &str) -> Result<Option<String>>;
}

/// Volume types with their extra specs, the projects granted a private type, the
/// per-project default types (3.62) and each type's encryption.
pub trait VolumeTypeRepo {
    fn volume_type(&self, id: &str) -> Result<Option<VolumeType>>;
    fn volume_type_by_name(&self, name: &str) -> Result<Option<VolumeType>>;
    /// The types a listing shows, oldest first: `is_public` None is every type, `Some(true)`
    /// the public ones and those shared with `project_id`, `Some(false)` the private ones.
    fn volume_types(&self, is_public: Option<bool>, project_id: &str) -> Result<Vec<VolumeType>>;
    /// Records a type with its extra specs.
    fn insert_volume_type(&self, t: &VolumeType) -> Result<()>;
    /// Records the type (without extra specs) unless one has its name.
    fn seed_volume_type(&self, t: &VolumeType) -> Result<()>;
    /// Saves the type's name, description and `is_public`.
    fn update_volume_type(&self, t: &VolumeType) -> Result<()>;
    fn set_extra_specs(&self, t: &VolumeType) -> Result<()>;
    /// Its encryption and access go with it.
    fn delete_volume_type(&self, id: &str) -> Result<()>;
    /// Whether any volume has the type.
    fn volume_type_in_use(&self, id: &str) -> Result<bool>;

    /// Whether `project_id` was granted the type.
    fn has_type_access(&self, type_id: &str, project_id: &str) -> Result<bool>;
    /// The projects granted the type, by id.
    fn type_access(&self, type_id: &str) -> Result<Vec<String>>;
    /// `Taken` when the project already has access.
    fn add_type_access(&self, type_id: &str, project_id: &str) -> Result<Unique>;
    /// Whether the project had access.
    fn remove_type_access(&self, type_id: &str, project_id: &str) -> Result<bool>;

    /// The project's own default type.
    fn default_type_of(&self, project_id: &str) -> Result<Option<String>>;
    /// Whether some project has the type as its default.
    fn is_a_default_type(&self, type_id: &str) -> Result<bool>;
    /// Every (project, type), by project.
    fn default_types(&self) -> Result<Vec<(String, String)>>;
    fn set_default_type(&self, project_id: &str, type_id: &str) -> Result<()>;
    fn unset_default_type(&self, project_id: &str) -> Result<()>;

    fn encryption(&self, type_id: &str) -> Result<Option<Encryption>>;
    fn insert_encryption(&self, e: &Encryption) -> Result<()>;
    /// Saves everything but the ids and `created_ms`.
    fn update_encryption(&self, e: &Encryption) -> Result<()>;
    /// Whether the type had encryption.
    fn delete_encryption(&self, type_id: &str) -> Result<bool>;
}

/// A count of rows and the GiB they hold.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub count: i64,
    pub gigabytes: i64,
}

/// What a project holds, counted from its rows (quota usage).
#[derive(Debug, Default, Clone)]
pub struct Holdings {
    pub volumes: Counted,
    pub snapshots: Counted,
    pub backups: Counted,
    pub groups: i64,
    /// Per volume type name.
    pub volumes_by_type: Vec<(String, Counted)>,
    /// Per volume type name (the type of the snapshot's volume).
    pub snapshots_by_type: Vec<(String, Counted)>,
}

/// Quota limits (Cinder's `quotas` and `quota_classes`): per key (a project id, `""` for
/// the default class, `class:<name>` for another class) and resource.
pub trait VolumeQuotaRepo {
    /// The project's own limit of `resource`, else the default class's.
    fn quota_limit(&self, project_id: &str, resource: &str) -> Result<Option<i64>>;
    /// Sets each (resource, limit) under `key`.
    fn set_quota_limits(&self, key: &str, limits: &[(String, i64)]) -> Result<()>;
    /// Forgets the project's own limits.
    fn delete_quota_limits(&self, project_id: &str) -> Result<()>;
    /// Every key's limit of `from` becomes one of `to` (a volume type renamed).
    fn rename_quota_resource(&self, from: &str, to: &str) -> Result<()>;
    /// Every key's limit of `resource` (a volume type deleted).
    fn delete_quota_resource(&self, resource: &str) -> Result<()>;
    /// Every volume type's name, sorted (each has per-type quotas).
    fn quota_type_names(&self) -> Result<Vec<String>>;
    /// The name of the type whose id or name is `key`.
    fn quota_type_name(&self, key: &str) -> Result<Option<String>>;
    fn holdings(&self, project_id: &str) -> Result<Holdings>;
}

/// One key of a listing's order: the record's field in Cinder's name (`created_at`,
/// `name`, …) and its direction. The store breaks ties by `id`, in the last direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub key: &'static str,
    pub desc: bool,
}

/// QoS specs and the volume types associated with them (a type with at most one).
pub trait QosRepo {
    fn qos_specs(&self, id: &str) -> Result<Option<QosSpecs>>;
    /// Whether specs have this name.
    fn qos_specs_named(&self, name: &str) -> Result<bool>;
    /// Every specs, in `sort`'s order (keys `created_at`, `id`, `name`, `consumer`).
    fn all_qos_specs(&self, sort: &[SortKey]) -> Result<Vec<QosSpecs>>;
    fn insert_qos_specs(&self, q: &QosSpecs) -> Result<()>;
    /// Saves the consumer and the specs.
    fn update_qos_specs(&self, q: &QosSpecs) -> Result<()>;
    fn delete_qos_specs(&self, id: &str) -> Result<()>;
    /// The (id, name) of the volume types associated with the specs, by name.
    fn qos_associations(&self, id: &str) -> Result<Vec<(String, String)>>;
    fn associate_qos(&self, id: &str, type_id: &str) -> Result<()>;
    /// Only if the type is associated with these specs.
    fn disassociate_qos(&self, id: &str, type_id: &str) -> Result<()>;
    fn disassociate_all_qos(&self, id: &str) -> Result<()>;
}

/// Filters of a group or group snapshot listing: each None matches everything.
#[derive(Debug, Default, Clone)]
pub struct GroupFilter {
    pub project_id: Option<String>,
    pub name: Option<String>,
    /// Group snapshots only.
    pub group_id: Option<String>,
    pub status: Option<String>,
}

/// Generic volume groups: group types (with their specs), groups (their volumes name
/// them) and group snapshots (their volumes' snapshots name them).
pub trait GroupRepo {
    fn group_type(&self, id: &str) -> Result<Option<GroupType>>;
    fn group_type_by_name(&self, name: &str) -> Result<Option<GroupType>>;
    /// `is_public` None lists every type; sort keys `id`, `name`, `description`,
    /// `is_public`, `created_at`.
    fn group_types(&self, is_public: Option<bool>, sort: &[SortKey]) -> Result<Vec<GroupType>>;
    fn insert_group_type(&self, t: &GroupType, created_ms: i64) -> Result<()>;
    /// Records the type unless one has its name.
    fn seed_group_type(&self, t: &GroupType, created_ms: i64) -> Result<()>;
    /// Saves the name, description and `is_public`.
    fn update_group_type(&self, t: &GroupType) -> Result<()>;
    fn set_group_specs(&self, t: &GroupType) -> Result<()>;
    fn delete_group_type(&self, id: &str) -> Result<()>;
    /// Whether a group has the type.
    fn group_type_in_use(&self, id: &str) -> Result<bool>;

    fn volume_group(&self, id: &str) -> Result<Option<Group>>;
    /// Sort keys `id`, `name`, `status`, `created_at`, `updated_at`, `group_type`,
    /// `availability_zone`, `project_id`.
    fn volume_groups(&self, filter: &GroupFilter, sort: &[SortKey]) -> Result<Vec<Group>>;
    fn insert_volume_group(&self, g: &NewGroup) -> Result<()>;
    fn update_volume_group(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<()>;
    /// Sets the status at `now_ms`, and `next` at `ready_ms` when given.
    fn set_volume_group_status(
        &self,
        id: &str,
        status: &str,
        next: Option<(&str, i64)>,
        now_ms: i64,
    ) -> Result<()>;
    fn delete_volume_group(&self, id: &str) -> Result<()>;
    /// The group a volume belongs to.
    fn group_of_volume(&self, volume_id: &str) -> Result<Option<String>>;
    fn set_group_of_volume(&self, volume_id: &str, group_id: Option<&str>) -> Result<()>;
    /// A group's volumes, oldest first.
    fn volume_group_members(&self, group_id: &str) -> Result<Vec<Volume>>;

    fn group_snapshot(&self, id: &str) -> Result<Option<GroupSnapshot>>;
    /// Sort keys `id`, `name`, `status`, `group_id`, `created_at`, `updated_at`,
    /// `project_id`.
    fn group_snapshots(&self, filter: &GroupFilter, sort: &[SortKey])
        -> Result<Vec<GroupSnapshot>>;
    /// Records it `creating`, `available` at `ready_ms`.
    fn insert_group_snapshot(&self, s: &GroupSnapshot, user_id: &str, ready_ms: i64) -> Result<()>;
    fn has_group_snapshots(&self, group_id: &str) -> Result<bool>;
    /// Sets the status at `now_ms` and forgets any pending one.
    fn set_group_snapshot_status(&self, id: &str, status: &str, now_ms: i64) -> Result<()>;
    /// Deletes it with its snapshots; answers theirs ids.
    fn delete_group_snapshot(&self, id: &str) -> Result<Vec<String>>;
    /// Makes the snapshot one of the group snapshot's.
    fn add_to_group_snapshot(&self, snapshot_id: &str, group_snapshot_id: &str) -> Result<()>;
    /// The (snapshot, its volume's type) of a group snapshot, oldest first.
    fn group_snapshot_members(&self, id: &str) -> Result<Vec<(String, String)>>;
}

/// Filters of a snapshot listing: each None matches everything.
#[derive(Debug, Default, Clone)]
pub struct SnapshotFilter {
    pub project_id: Option<String>,
    pub status: Option<String>,
    pub volume_id: Option<String>,
    pub name: Option<String>,
}

/// Filters of a backup listing (the same as a snapshot listing's).
pub type BackupFilter = SnapshotFilter;

/// Volume backups: their metadata keeps what the volume was besides its bytes.
pub trait BackupRepo {
    fn backup(&self, id: &str) -> Result<Option<Backup>>;
    /// Sort keys `id`, `status`, `size`, `volume_id`, `name`, `description`,
    /// `created_at`, `updated_at`, `data_timestamp`, `project_id`, `user_id`,
    /// `container`.
    fn backups(&self, filter: &BackupFilter, sort: &[SortKey]) -> Result<Vec<Backup>>;
    /// The volume's newest available backup (the parent of an incremental one).
    fn latest_backup(&self, volume_id: &str) -> Result<Option<String>>;
    /// The oldest available backup of the volume with `size` GiB (whose bytes an
    /// imported record names).
    fn backup_of_size(&self, volume_id: &str, size: i64) -> Result<Option<String>>;
    /// Records it `creating`, `available` at `ready_ms` (its status is not read).
    fn insert_backup(&self, b: &Backup, ready_ms: i64) -> Result<()>;
    /// Saves its name, description and metadata at `now_ms`.
    fn update_backup(&self, b: &Backup, now_ms: i64) -> Result<()>;
    /// Sets the status at `now_ms`, and `next` at its time when given.
    fn set_backup_status(
        &self,
        id: &str,
        status: &str,
        next: Option<(&str, i64)>,
        now_ms: i64,
    ) -> Result<()>;
    fn delete_backup(&self, id: &str) -> Result<()>;
    /// Every backup's id (the files that may exist).
    fn backup_ids(&self) -> Result<HashSet<String>>;
}

/// Volume snapshots: their metadata keeps what has no column of its own (`progress`).
pub trait SnapshotRepo {
    fn snapshot(&self, id: &str) -> Result<Option<Snapshot>>;
    /// Every snapshot's id (the files that may exist).
    fn snapshot_ids(&self) -> Result<HashSet<String>>;
    /// Sort keys `id`, `status`, `size`, `volume_id`, `name`, `description`,
    /// `created_at`, `updated_at`, `project_id`, `user_id`.
    fn snapshots(&self, filter: &SnapshotFilter, sort: &[SortKey]) -> Result<Vec<Snapshot>>;
    /// The volume's newest snapshot.
    fn latest_snapshot(&self, volume_id: &str) -> Result<Option<Snapshot>>;
    /// The (id, status) of the volume's snapshots.
    fn snapshot_statuses(&self, volume_id: &str) -> Result<Vec<(String, String)>>;
    /// Whether the volume has snapshots.
    fn has_snapshots(&self, volume_id: &str) -> Result<bool>;
    /// How many snapshots the volume has, and their GiB.
    fn snapshot_holdings(&self, volume_id: &str) -> Result<Counted>;
    /// Whether a backup is being taken from the snapshot.
    fn snapshot_backing_up(&self, id: &str) -> Result<bool>;
    /// Records it `creating`, `available` at `ready_ms` (its status is not read).
    fn insert_snapshot(&self, s: &Snapshot, ready_ms: i64) -> Result<()>;
    /// Saves its name, description, metadata and progress, at `now_ms`.
    fn update_snapshot(&self, s: &Snapshot, now_ms: i64) -> Result<()>;
    /// Sets the status at `now_ms` and forgets any pending one.
    fn set_snapshot_status(&self, id: &str, status: &str, now_ms: i64) -> Result<()>;
    /// Sets the status at `now_ms`, and `next` at `ready_ms`.
    fn set_snapshot_status_then(
        &self,
        id: &str,
        status: &str,
        next: &str,
        ready_ms: i64,
        now_ms: i64,
    ) -> Result<()>;
    fn delete_snapshot(&self, id: &str) -> Result<()>;
    fn delete_snapshots_of(&self, volume_id: &str) -> Result<()>;
    /// Gives the volume's snapshots to another project and user.
    fn move_snapshots(
        &self,
        volume_id: &str,
        project_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<()>;
}

/// User messages, until they expire.
pub trait MessageRepo {
    /// The message, unless it expired by `now_ms`.
    fn message(&self, id: &str, now_ms: i64) -> Result<Option<Message>>;
    /// The messages (of `project_id`, when given) not expired by `now_ms`; sort keys `id`,
    /// `event_id`, `resource_type`, `resource_uuid`, `message_level`, `request_id`,
    /// `created_at`.
    fn messages(
        &self,
        project_id: Option<&str>,
        now_ms: i64,
        sort: &[SortKey],
    ) -> Result<Vec<Message>>;
    fn insert_message(&self, m: &Message) -> Result<()>;
    fn delete_message(&self, id: &str) -> Result<()>;
}

/// Volume transfers: offers of a volume to whoever presents the key.
pub trait TransferRepo {
    fn transfer(&self, id: &str) -> Result<Option<Transfer>>;
    /// Every transfer (`everyone`), or those of `project_id`; newest first.
    fn transfers(&self, everyone: bool, project_id: &str) -> Result<Vec<Transfer>>;
    fn insert_transfer(&self, t: &Transfer) -> Result<()>;
    fn delete_transfer(&self, id: &str) -> Result<()>;
}
