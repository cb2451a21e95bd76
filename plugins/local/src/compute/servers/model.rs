//! Server records and Nova's state machine. Knows nothing of HTTP nor of SQL: records come
//! from `repo`'s trait, inside the caller's transaction; its one error (no such server)
//! is worded by `compute`'s fault mapping.

use serde_json::{Map, Value};

use super::repo::ServerRepo;
use super::states::{self, TaskState, VmState};
use crate::store::StoreError;

/// What can go wrong, in the model's terms.
#[derive(Debug)]
pub enum Error {
    /// No such server, or not the caller's.
    NotFound(String),
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The store every function here works on: the caller's transaction or snapshot.
pub type Repo<'a> = &'a dyn ServerRepo;

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

/// Writes back the fields a request may change (not the state machine's: see `begin`; nor
/// the copy of the server's networking, which only `networking::refresh` writes).
pub fn save(c: Repo, s: &Server, now_ms: i64) -> Result<()> {
    Ok(c.update_server(s, now_ms)?)
}

pub fn insert(c: Repo, s: &Server) -> Result<()> {
    Ok(c.insert_server(s)?)
}

/// No such server.
pub fn not_found(id: &str) -> Error {
    Error::NotFound(id.into())
}

/// A live (not deleted) server by id.
pub fn find(c: Repo, id: &str) -> Result<Option<Server>> {
    Ok(c.server(id)?)
}

/// A server the caller may see: their project's, or any for an admin; else not found.
pub fn visible(c: Repo, id: &str, project_id: &str, admin: bool) -> Result<Server> {
    match find(c, id)? {
        Some(s) if admin || s.project_id == project_id => Ok(s),
        _ => Err(not_found(id)),
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
pub fn begin(c: Repo, id: &str, m: &Move, now_ms: i64, delay_ms: i64) -> Result<()> {
    Ok(c.begin_move(id, m, now_ms.saturating_add(delay_ms), now_ms)?)
}

/// Sets the state at once, cancelling any move in progress (resetState, errors).
pub fn set_state(c: Repo, id: &str, vm_state: &str, power_state: i64, now_ms: i64) -> Result<()> {
    Ok(c.set_server_state(id, vm_state, power_state, now_ms)?)
}

/// Marks a server deleted: it leaves every list but `changes-since` and an admin's
/// `deleted=true`, and its name, address, quota and server groups are free at once.
pub fn delete(c: Repo, id: &str, now_ms: i64) -> Result<()> {
    c.mark_server_deleted(id, now_ms)?;
    Ok(c.leave_server_groups(id)?)
}

/// A request against a server, for os-instance-actions: the action, who asked, and its
/// one event (Nova's compute method), on `host` from `now_ms` until `due_ms`, when the
/// move it started ends.
pub struct ActionRecord<'a> {
    pub server_id: &'a str,
    pub action: &'a str,
    pub request_id: &'a str,
    pub user_id: &'a str,
    pub project_id: &'a str,
    pub event: &'a str,
    pub host: &'a str,
    pub now_ms: i64,
    pub due_ms: i64,
}

/// Records a request against a server for os-instance-actions.
pub fn record_action(c: Repo, a: &ActionRecord) -> Result<()> {
    Ok(c.record_action(a)?)
}

/// An instance action (`os-instance-actions`), as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceAction {
    pub id: i64,
    pub action: String,
    pub request_id: String,
    pub user_id: String,
    pub project_id: String,
    pub start_ms: i64,
    pub updated_ms: i64,
    pub message: Option<String>,
}

/// One event of an instance action; unfinished until `finish_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionEvent {
    pub event: String,
    pub start_ms: i64,
    pub finish_ms: Option<i64>,
    pub result: Option<String>,
    pub host: String,
}

/// A remote console's token, as stored: only its hash, so the store cannot open consoles.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleToken {
    pub token_hash: String,
    pub server_id: String,
    /// `novnc`: the only console type this cloud serves (Nova's default configuration).
    pub console_type: String,
    pub host: String,
    pub port: i64,
    pub expires_ms: i64,
}

/// How long a console token opens its console: Nova's `[consoleauth] token_ttl`.
pub const CONSOLE_TOKEN_TTL_MS: i64 = 600_000;

fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Issues a console token for the server: answers the token itself, which is kept nowhere.
pub fn issue_console_token(c: Repo, server_id: &str, host: &str, now_ms: i64) -> Result<String> {
    let token = uuid::Uuid::new_v4().to_string();
    c.insert_console_token(
        &ConsoleToken {
            token_hash: token_hash(&token),
            server_id: server_id.into(),
            console_type: "novnc".into(),
            host: host.into(),
            // Where a hypervisor's VNC server for a first guest listens.
            port: 5900,
            expires_ms: now_ms.saturating_add(CONSOLE_TOKEN_TTL_MS),
        },
        now_ms,
    )?;
    Ok(token)
}

/// The console a token opens, while it has not expired.
pub fn console_token(c: Repo, token: &str, now_ms: i64) -> Result<Option<ConsoleToken>> {
    Ok(c.console_token(&token_hash(token), now_ms)?)
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

    #[test]
    fn a_console_token_opens_its_server_until_it_expires() {
        let store = crate::store::Store::memory();
        let token = store
            .write(|c| issue_console_token(c, "s1", "host1", 1_000))
            .unwrap();
        let found = store.read(|c| console_token(c, &token, 1_000)).unwrap();
        assert_eq!(found.map(|t| t.server_id).as_deref(), Some("s1"));
        let later = 1_000 + CONSOLE_TOKEN_TTL_MS;
        assert_eq!(
            store.read(|c| console_token(c, &token, later)).unwrap(),
            None
        );
        assert_eq!(
            store.read(|c| console_token(c, "bad", 1_000)).unwrap(),
            None
        );
        // Only its hash is kept: the token itself is no key.
        let by_hash = |t: String| store.read(move |c| Ok::<_, Error>(c.console_token(&t, 1_000)?));
        assert!(by_hash(token_hash(&token)).unwrap().is_some());
        assert!(by_hash(token.clone()).unwrap().is_none());
    }
}
