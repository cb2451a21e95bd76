//! Server records and Nova's state machine. Knows nothing of HTTP; every change runs in the
//! caller's transaction.

use jumpgate_plugin_api::Fault;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};

use super::states::{self, TaskState, VmState};
use crate::compute::Result;

/// Nova's power states (`nova/compute/power_state.py`).
pub mod power {
    pub const NOSTATE: i64 = 0;
    pub const RUNNING: i64 = 1;
    pub const PAUSED: i64 = 3;
    pub const SHUTDOWN: i64 = 4;
    pub const SUSPENDED: i64 = 7;
}

/// A server as stored.
#[derive(Debug, Clone)]
pub struct Server {
    pub id: String,
    pub project_id: String,
    pub user_id: String,
    pub name: String,
    pub hostname: String,
    pub vm_state: String,
    pub task_state: Option<String>,
    pub power_state: i64,
    pub image_id: Option<String>,
    /// The flavor as it was when the server got it (`Flavor::snapshot`).
    pub flavor: Value,
    /// During a resize: the flavor to go back to.
    pub old_flavor: Option<Value>,
    pub key_name: Option<String>,
    pub key_data: Option<String>,
    pub metadata: Map<String, Value>,
    pub tags: Vec<String>,
    pub addresses: Value,
    pub access_ipv4: String,
    pub access_ipv6: String,
    pub description: Option<String>,
    pub availability_zone: String,
    pub pinned_availability_zone: Option<String>,
    pub user_data: Option<String>,
    pub admin_pass: Option<String>,
    pub reservation_id: String,
    pub launch_index: i64,
    pub config_drive: String,
    pub disk_config: String,
    pub locked: bool,
    pub locked_reason: Option<String>,
    /// `owner` or `admin`: who locked it (only an admin unlocks an admin's lock).
    pub locked_by: Option<String>,
    pub fault: Option<Value>,
    pub trusted_image_certificates: Option<Value>,
    /// What a state change needs to remember (the vm_state to return to after a rescue).
    pub extra: Map<String, Value>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub launched_ms: Option<i64>,
    pub terminated_ms: Option<i64>,
}

/// The columns `row` reads, in its order.
pub const COLUMNS: &str = "id, project_id, user_id, name, hostname, vm_state, task_state, power_state, image_id, flavor, old_flavor, key_name, key_data, metadata, tags, addresses, access_ipv4, access_ipv6, description, availability_zone, pinned_availability_zone, user_data, admin_pass, reservation_id, launch_index, config_drive, disk_config, locked, locked_reason, locked_by, fault, trusted_image_certificates, extra, created_ms, updated_ms, launched_ms, terminated_ms";

fn json_col(r: &Row, i: usize) -> rusqlite::Result<Value> {
    let s: String = r.get(i)?;
    Ok(serde_json::from_str(&s).unwrap_or(Value::Null))
}

fn opt_json_col(r: &Row, i: usize) -> rusqlite::Result<Option<Value>> {
    let s: Option<String> = r.get(i)?;
    Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
}

/// A server from a row of `SELECT {COLUMNS}`, by position: looking columns up by name
/// cost more than the rest of a listing.
pub fn row(r: &Row) -> rusqlite::Result<Server> {
    Ok(Server {
        id: r.get(0)?,
        project_id: r.get(1)?,
        user_id: r.get(2)?,
        name: r.get(3)?,
        hostname: r.get(4)?,
        vm_state: r.get(5)?,
        task_state: r.get(6)?,
        power_state: r.get(7)?,
        image_id: r.get(8)?,
        flavor: json_col(r, 9)?,
        old_flavor: opt_json_col(r, 10)?,
        key_name: r.get(11)?,
        key_data: r.get(12)?,
        metadata: match json_col(r, 13)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        tags: serde_json::from_value(json_col(r, 14)?).unwrap_or_default(),
        addresses: json_col(r, 15)?,
        access_ipv4: r.get(16)?,
        access_ipv6: r.get(17)?,
        description: r.get(18)?,
        availability_zone: r.get(19)?,
        pinned_availability_zone: r.get(20)?,
        user_data: r.get(21)?,
        admin_pass: r.get(22)?,
        reservation_id: r.get(23)?,
        launch_index: r.get(24)?,
        config_drive: r.get(25)?,
        disk_config: r.get(26)?,
        locked: r.get(27)?,
        locked_reason: r.get(28)?,
        locked_by: r.get(29)?,
        fault: opt_json_col(r, 30)?,
        trusted_image_certificates: opt_json_col(r, 31)?,
        extra: match json_col(r, 32)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        created_ms: r.get(33)?,
        updated_ms: r.get(34)?,
        launched_ms: r.get(35)?,
        terminated_ms: r.get(36)?,
    })
}

fn text(v: &Value) -> String {
    v.to_string()
}

pub fn insert(c: &Connection, s: &Server) -> Result<()> {
    c.execute(
        "INSERT INTO servers (id, project_id, user_id, name, hostname, vm_state, task_state, power_state, image_id, flavor,
            key_name, key_data, metadata, tags, addresses, access_ipv4, access_ipv6, description, availability_zone,
            pinned_availability_zone, user_data, admin_pass, reservation_id, launch_index, config_drive, disk_config,
            trusted_image_certificates, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
            ?23, ?24, ?25, ?26, ?27, ?28, ?29)",
        params![
            s.id, s.project_id, s.user_id, s.name, s.hostname, s.vm_state, s.task_state, s.power_state, s.image_id,
            text(&s.flavor), s.key_name, s.key_data, Value::Object(s.metadata.clone()).to_string(),
            serde_json::to_string(&s.tags).unwrap_or_default(), text(&s.addresses), s.access_ipv4, s.access_ipv6,
            s.description, s.availability_zone, s.pinned_availability_zone, s.user_data, s.admin_pass,
            s.reservation_id, s.launch_index, s.config_drive, s.disk_config,
            s.trusted_image_certificates.as_ref().map(text), s.created_ms, s.updated_ms
        ],
    )?;
    Ok(())
}

/// Writes back the fields a request may change (not the state machine's: see `begin`; nor
/// the copy of the server's networking, which only `networking::refresh` writes).
pub fn save(c: &Connection, s: &Server, now_ms: i64) -> Result<()> {
    c.execute(
        "UPDATE servers SET name = ?2, hostname = ?3, image_id = ?4, flavor = ?5, old_flavor = ?6, key_name = ?7,
            key_data = ?8, metadata = ?9, tags = ?10, access_ipv4 = ?11, access_ipv6 = ?12, description = ?13,
            user_data = ?14, admin_pass = ?15, locked = ?16, locked_reason = ?17, locked_by = ?18, fault = ?19,
            trusted_image_certificates = ?20, updated_ms = ?22, disk_config = ?23,
            extra = json_set(?21, '$.security_groups', json_extract(extra, '$.security_groups'))
         WHERE id = ?1",
        params![
            s.id, s.name, s.hostname, s.image_id, text(&s.flavor), s.old_flavor.as_ref().map(text), s.key_name,
            s.key_data, Value::Object(s.metadata.clone()).to_string(),
            serde_json::to_string(&s.tags).unwrap_or_default(), s.access_ipv4, s.access_ipv6, s.description,
            s.user_data, s.admin_pass, s.locked, s.locked_reason, s.locked_by, s.fault.as_ref().map(text),
            s.trusted_image_certificates.as_ref().map(text), Value::Object(s.extra.clone()).to_string(), now_ms,
            s.disk_config
        ],
    )?;
    Ok(())
}

/// Nova's 404 for a server.
pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Instance {id} could not be found."))
}

/// A live (not deleted) server by id.
pub fn find(c: &Connection, id: &str) -> Result<Option<Server>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM servers WHERE id = ?1 AND deleted = 0"),
        [id],
        row,
    )
    .optional()?)
}

/// A server the caller may see: their project's, or any for an admin; else 404.
pub fn visible(c: &Connection, id: &str, project_id: &str, admin: bool) -> Result<Server> {
    match find(c, id)? {
        Some(s) if admin || s.project_id == project_id => Ok(s),
        _ => Err(not_found(id).into()),
    }
}

/// Nova's status for a vm_state and task_state as stored (`states::status`); a vm_state
/// this build does not know is `UNKNOWN`, as in Nova, and an unknown task changes nothing.
pub fn status(vm_state: &str, task_state: Option<&str>) -> &'static str {
    match VmState::parse(vm_state) {
        Some(vm) => states::status(vm, task_state.and_then(TaskState::parse)),
        None => "UNKNOWN",
    }
}

/// A state change that takes time: the server shows `now` (with its task) at once, and
/// `then` after `delay_ms` (applied by `settle`).
pub struct Move<'a> {
    pub vm_state: &'a str,
    pub task_state: Option<&'a str>,
    pub power_state: i64,
    pub then_vm_state: &'a str,
    pub then_power_state: i64,
}

/// Starts a move.
pub fn begin(c: &Connection, id: &str, m: &Move, now_ms: i64, delay_ms: i64) -> Result<()> {
    c.execute(
        "UPDATE servers SET vm_state = ?2, task_state = ?3, power_state = ?4, next_vm_state = ?5,
            next_task_state = NULL, next_power_state = ?6, ready_at = ?7, updated_ms = ?8
         WHERE id = ?1",
        params![
            id,
            m.vm_state,
            m.task_state,
            m.power_state,
            m.then_vm_state,
            m.then_power_state,
            now_ms + delay_ms,
            now_ms
        ],
    )?;
    Ok(())
}

/// Sets the state at once, cancelling any move in progress (resetState, errors).
pub fn set_state(
    c: &Connection,
    id: &str,
    vm_state: &str,
    power_state: i64,
    now_ms: i64,
) -> Result<()> {
    c.execute(
        "UPDATE servers SET vm_state = ?2, task_state = NULL, power_state = ?3, next_vm_state = NULL,
            next_task_state = NULL, next_power_state = NULL, ready_at = NULL, updated_ms = ?4
         WHERE id = ?1",
        params![id, vm_state, power_state, now_ms],
    )?;
    Ok(())
}

/// Marks a server deleted: it leaves every list but `changes-since` and an admin's
/// `deleted=true`, and its name, address and quota are free at once.
pub fn delete(c: &Connection, id: &str, now_ms: i64) -> Result<()> {
    c.execute(
        "UPDATE servers SET deleted = 1, vm_state = 'deleted', task_state = NULL, power_state = 0,
            next_vm_state = NULL, next_task_state = NULL, next_power_state = NULL, ready_at = NULL,
            addresses = '{}', terminated_ms = ?2, updated_ms = ?2
         WHERE id = ?1",
        params![id, now_ms],
    )?;
    crate::compute::server_groups::remove_server(c, id)
}

/// Records a request against a server for os-instance-actions, with its one event
/// finishing when the move it started does.
#[allow(clippy::too_many_arguments)]
pub fn record_action(
    c: &Connection,
    server_id: &str,
    action: &str,
    request_id: &str,
    user_id: &str,
    project_id: &str,
    event: &str,
    host: &str,
    now_ms: i64,
    due_ms: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO instance_actions (server_id, action, request_id, user_id, project_id, start_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![server_id, action, request_id, user_id, project_id, now_ms],
    )?;
    let action_id = c.last_insert_rowid();
    c.execute(
        "INSERT INTO instance_action_events (action_id, event, start_ms, due_ms, host) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![action_id, event, now_ms, due_ms, host],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_nova() {
        assert_eq!(status("building", Some("spawning")), "BUILD");
        assert_eq!(status("active", None), "ACTIVE");
        assert_eq!(status("active", Some("reboot_started_hard")), "HARD_REBOOT");
        assert_eq!(status("stopped", None), "SHUTOFF");
        assert_eq!(status("resized", None), "VERIFY_RESIZE");
        assert_eq!(status("resized", Some("resize_reverting")), "REVERT_RESIZE");
        assert_eq!(status("shelved_offloaded", None), "SHELVED_OFFLOADED");
        assert_eq!(status("active", Some("no_such_task")), "ACTIVE");
        assert_eq!(status("soft-delete", None), "SOFT_DELETED");
        assert_eq!(status("no_such_state", None), "UNKNOWN");
    }
}
