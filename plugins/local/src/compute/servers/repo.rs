//! What the server model asks of the store: servers, their timed moves, their instance
//! actions and their server-group memberships. No rules live here (those are `model`'s
//! and `states`'); each backend under `store/` fills this trait.

use super::model::{ActionEvent, ActionRecord, ConsoleToken, InstanceAction, Move, Server};
use crate::store::StoreError;
use serde_json::{Map, Value};

pub type Result<T> = std::result::Result<T, StoreError>;

pub trait ServerRepo {
    fn insert_server(&self, s: &Server) -> Result<()>;
    /// Writes back what a request may change (see `model::save`).
    fn update_server(&self, s: &Server, now_ms: i64) -> Result<()>;
    /// A server not deleted.
    fn server(&self, id: &str) -> Result<Option<Server>>;
    /// A server's project and whether it is deleted, deleted or not.
    fn server_owner(&self, id: &str) -> Result<Option<(String, bool)>>;
    /// A server's creation time, deleted or not (a listing's marker).
    fn server_created_ms(&self, id: &str) -> Result<Option<i64>>;
    /// The servers a listing selects, in its order.
    fn servers(&self, q: &ServerQuery) -> Result<Vec<Server>>;
    /// Records the ports server create made (deleting the server deletes them).
    fn set_ports_made(&self, id: &str, made: &[String]) -> Result<()>;
    /// Writes the server's copy of its networking: addresses and security groups.
    fn set_server_networking(
        &self,
        id: &str,
        addresses: &Map<String, Value>,
        security_groups: &[String],
    ) -> Result<()>;
    /// Writes the server's `extra` as it is (security groups too).
    fn set_server_extra(&self, id: &str, extra: &Map<String, Value>) -> Result<()>;
    /// Shows `m`'s first state now and its second at `ready_ms`.
    fn begin_move(&self, id: &str, m: &Move, ready_ms: i64, now_ms: i64) -> Result<()>;
    /// Sets the state now, forgetting any move in progress.
    fn set_server_state(
        &self,
        id: &str,
        vm_state: &str,
        power_state: i64,
        now_ms: i64,
    ) -> Result<()>;
    /// Marks the server deleted at `now_ms`: no state to come, no addresses.
    fn mark_server_deleted(&self, id: &str, now_ms: i64) -> Result<()>;
    /// Takes the server out of every server group.
    fn leave_server_groups(&self, server_id: &str) -> Result<()>;
    /// Records an instance action with its one event, finishing at `due_ms`.
    fn record_action(&self, a: &ActionRecord) -> Result<()>;

    /// A server's instance actions, newest first.
    fn instance_actions(&self, server_id: &str) -> Result<Vec<InstanceAction>>;
    fn instance_action(&self, server_id: &str, request_id: &str) -> Result<Option<InstanceAction>>;
    /// An action's events, oldest first.
    fn action_events(&self, action_id: i64) -> Result<Vec<ActionEvent>>;

    /// Records a console token (by its hash); forgets those expired by `now_ms`.
    fn insert_console_token(&self, t: &ConsoleToken, now_ms: i64) -> Result<()>;
    /// The token with this hash, if it has not expired by `now_ms`.
    fn console_token(&self, token_hash: &str, now_ms: i64) -> Result<Option<ConsoleToken>>;
}

/// Nova's server sort keys (`sort_key`); those Nova sorts by but that a server here does
/// not have (`progress`, `host`, …) sort as `Id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    CreatedAt,
    UpdatedAt,
    LaunchedAt,
    TerminatedAt,
    DisplayName,
    Hostname,
    Id,
    VmState,
    TaskState,
    PowerState,
    ProjectId,
    UserId,
    ImageRef,
    KeyName,
    Locked,
    LaunchIndex,
    AccessIpV4,
    AccessIpV6,
    AvailabilityZone,
    InstanceTypeId,
    DisplayDescription,
    ConfigDrive,
}

impl SortKey {
    /// The key of a `sort_key` value, if Nova accepts it.
    pub fn of(key: &str) -> Option<SortKey> {
        use SortKey::*;
        Some(match key {
            "created_at" => CreatedAt,
            "updated_at" => UpdatedAt,
            "launched_at" => LaunchedAt,
            "terminated_at" => TerminatedAt,
            "display_name" => DisplayName,
            "hostname" => Hostname,
            "uuid" => Id,
            "vm_state" => VmState,
            "task_state" => TaskState,
            "power_state" => PowerState,
            "project_id" => ProjectId,
            "user_id" => UserId,
            "image_ref" => ImageRef,
            "key_name" => KeyName,
            "locked" => Locked,
            "launch_index" => LaunchIndex,
            "access_ip_v4" => AccessIpV4,
            "access_ip_v6" => AccessIpV6,
            "availability_zone" => AvailabilityZone,
            "instance_type_id" => InstanceTypeId,
            "display_description" => DisplayDescription,
            "config_drive" => ConfigDrive,
            "progress" | "kernel_id" | "ramdisk_id" | "root_device_name" | "vm_mode"
            | "locked_by" | "host" | "node" => Id,
            _ => return None,
        })
    }
}

/// What a server listing selects, as Nova's filters the store can answer (the rest, and
/// paging after them, are the caller's). Each `Some` narrows the list.
#[derive(Debug, Clone, Default)]
pub struct ServerQuery {
    pub project_id: Option<String>,
    /// Only deleted servers (`true`) or only live ones (`false`).
    pub deleted: Option<bool>,
    /// Changed at or after this time (ms).
    pub changed_since: Option<i64>,
    /// Changed at or before this time (ms).
    pub changed_before: Option<i64>,
    /// In one of these vm states.
    pub vm_states: Option<Vec<&'static str>>,
    pub image_id: Option<String>,
    pub flavor_id: Option<String>,
    pub reservation_id: Option<String>,
    pub key_name: Option<String>,
    pub availability_zone: Option<String>,
    pub user_id: Option<String>,
    /// Only servers on a host (not shelved-offloaded ones).
    pub on_host: bool,
    pub locked: Option<bool>,
    /// The order, first key first, each ascending (`true`) or not; none is newest first.
    /// Ties go by id, in the first key's direction.
    pub sort: Vec<(SortKey, bool)>,
    /// Paged in the store (the default order only): after the server created at `.0` with
    /// id `.1`, at most `limit` servers.
    pub after: Option<(i64, String)>,
    pub limit: Option<usize>,
}
