//! What the server model asks of the store: servers, their timed moves, their instance
//! actions and their server-group memberships. No rules live here (those are `model`'s
//! and `states`'); each backend under `store/` fills this trait.

use super::model::{ConsoleToken, Move, Server};
use crate::store::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

pub trait ServerRepo {
    fn insert_server(&self, s: &Server) -> Result<()>;
    /// Writes back what a request may change (see `model::save`).
    fn update_server(&self, s: &Server, now_ms: i64) -> Result<()>;
    /// A server not deleted.
    fn server(&self, id: &str) -> Result<Option<Server>>;
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
    #[allow(clippy::too_many_arguments)]
    fn record_action(
        &self,
        server_id: &str,
        action: &str,
        request_id: &str,
        user_id: &str,
        project_id: &str,
        event: &str,
        host: &str,
        now_ms: i64,
        due_ms: i64,
    ) -> Result<()>;

    /// Records a console token (by its hash); forgets those expired by `now_ms`.
    fn insert_console_token(&self, t: &ConsoleToken, now_ms: i64) -> Result<()>;
    /// The token with this hash, if it has not expired by `now_ms`.
    fn console_token(&self, token_hash: &str, now_ms: i64) -> Result<Option<ConsoleToken>>;
}
