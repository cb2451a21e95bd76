//! What compute's resources ask of the store, one trait per aggregate (the server model,
//! flavors and quotas have theirs beside them: `servers/repo.rs`, `flavors/repo.rs`,
//! `quotas/repo.rs`). Each backend under `store/` fills these traits.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::aggregates::Aggregate;
use super::hypervisors::Used;
use super::keypairs::Keypair;
use super::migrations::{Migration, Resize};
use super::server_groups::Group;
use super::services::ServiceState;
use super::usage::ServerRun;
use crate::store::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Keypairs, per user: a name is unique per user; `id` numbers them in creation order.
pub trait KeypairRepo {
    fn keypair(&self, user_id: &str, name: &str) -> Result<Option<Keypair>>;
    /// The user's keypairs numbered above `after`, at most `limit`, in creation order.
    fn keypairs(&self, user_id: &str, after: i64, limit: usize) -> Result<Vec<Keypair>>;
    /// Records a keypair (its `id` is given by the store).
    fn insert_keypair(&self, k: &Keypair) -> Result<()>;
    /// Whether there was such a keypair.
    fn delete_keypair(&self, user_id: &str, name: &str) -> Result<bool>;
}

/// Server groups and their members (servers join at create, leave when deleted:
/// `ServerRepo::leave_server_groups`).
pub trait ServerGroupRepo {
    fn server_group(&self, id: &str) -> Result<Option<Group>>;
    /// Every group (`all`) or the project's, oldest first, a page of them.
    fn server_groups(
        &self,
        all: bool,
        project_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Group>>;
    fn insert_server_group(&self, g: &Group, now_ms: i64) -> Result<()>;
    /// Deletes the group with its memberships.
    fn delete_server_group(&self, id: &str) -> Result<()>;
    /// The group's servers not deleted, in the order they joined.
    fn server_group_members(&self, group_id: &str) -> Result<Vec<String>>;
    /// How many of the user's servers not deleted, `server_id` aside, are in the group.
    fn count_user_members(&self, group_id: &str, user_id: &str, server_id: &str) -> Result<u64>;
    /// Puts the server in the group (again is nothing).
    fn add_server_group_member(&self, group_id: &str, server_id: &str) -> Result<()>;
    /// The groups a server is in, in the order it joined them.
    fn groups_of_server(&self, server_id: &str) -> Result<Vec<String>>;
}

/// Host aggregates, numbered by the store (Nova's integer id) in creation order; a name
/// is unique.
pub trait AggregateRepo {
    /// Every aggregate, by id.
    fn aggregates(&self) -> Result<Vec<Aggregate>>;
    fn aggregate(&self, id: i64) -> Result<Option<Aggregate>>;
    /// Whether an aggregate other than `other_than` has this name.
    fn aggregate_named(&self, name: &str, other_than: i64) -> Result<bool>;
    /// Records an aggregate (its `id` is given by the store, and answered).
    fn insert_aggregate(&self, a: &Aggregate) -> Result<i64>;
    /// Writes back its name, zone, metadata, hosts and update time.
    fn update_aggregate(&self, a: &Aggregate) -> Result<()>;
    fn delete_aggregate(&self, id: i64) -> Result<()>;
}

/// Server moves Nova records (`os-migrations`): resizes, on the one host.
pub trait MigrationRepo {
    /// Every migration, oldest first, with its flavors' internal ids (None once a flavor
    /// is gone).
    fn migrations(&self) -> Result<Vec<Migration>>;
    /// Records a resize, finished (it waits to be confirmed or reverted).
    fn record_resize(&self, r: &Resize) -> Result<()>;
    /// Closes the server's finished resize as `status` (`confirmed`, `reverted`).
    fn close_resize(&self, server_id: &str, status: &str, now_ms: i64) -> Result<()>;
}

/// What Nova's side of volume attachments asks beyond the volume model's `VolumeRepo`.
pub trait ServerVolumeRepo {
    /// (server id, volume id, delete_on_termination) of many servers' attachments at
    /// once, oldest first.
    fn volumes_attached(&self, server_ids: &[&str]) -> Result<Vec<(String, String, bool)>>;
    fn set_delete_on_termination(&self, attachment_id: &str, on: bool, now_ms: i64) -> Result<()>;
    /// Gives an attachment made while its server had no host its device and host.
    fn set_attachment_device(
        &self,
        attachment_id: &str,
        device: &str,
        host: &str,
        now_ms: i64,
    ) -> Result<()>;
    /// Rebuild of a volume-backed server: its root volume's new image metadata.
    fn reimage_volume(
        &self,
        volume_id: &str,
        image_metadata: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<()>;
}

/// What a server's copy of its networking asks of the network documents beyond
/// `NetworkRepo`.
pub trait ServerNetworkRepo {
    /// The floating IPs pointing at a port.
    fn floating_ips_of_port(&self, port_id: &str) -> Result<Vec<Value>>;
}

/// The state an admin gives the compute service (`os-services`), per host.
pub trait ServiceRepo {
    fn compute_service(&self, host: &str) -> Result<Option<ServiceState>>;
    fn save_compute_service(&self, host: &str, s: &ServiceState) -> Result<()>;
}

/// What the one compute host holds (`os-hypervisors`, `os-hosts`): the servers placed on
/// it (not deleted, not shelved off it).
pub trait HypervisorRepo {
    /// What those servers' flavors add up to.
    fn host_usage(&self) -> Result<Used>;
    /// `(uuid, name)` of each, oldest first.
    fn servers_on_host(&self) -> Result<Vec<(String, String)>>;
    /// `(project, vcpus, memory_mb, disk_gb)` of each, oldest first.
    fn server_sizes_on_host(&self) -> Result<Vec<(String, i64, i64, i64)>>;
    /// The folder the store keeps its data in (the working folder for an in-memory one):
    /// the host's disk is that folder's file system.
    fn data_dir(&self) -> PathBuf;
}

/// Servers by the time they ran (`os-simple-tenant-usage`, `os-instance_usage_audit_log`):
/// launched before a period's end and not terminated before its start, deleted ones too.
pub trait UsageRepo {
    /// Those of `[start, stop]` (of one project, if given), oldest first.
    fn servers_run_between(
        &self,
        start: i64,
        stop: i64,
        project_id: Option<&str>,
    ) -> Result<Vec<ServerRun>>;
    /// How many ran in `[begin, end)`.
    fn count_servers_run_between(&self, begin: i64, end: i64) -> Result<i64>;
    /// When this cloud began: its first flavor's creation.
    fn cloud_born_ms(&self) -> Result<Option<i64>>;
}

/// The snapshots a server's `createBackup` made.
pub trait ServerBackupRepo {
    /// The ids of the server's backups of `backup_type`, newest first.
    fn server_backups(&self, server_id: &str, backup_type: &str) -> Result<Vec<String>>;
}
