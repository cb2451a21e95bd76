//! Servers: records moving through Nova's state machine on a timer.

pub mod actions;
mod console;
pub mod model;
pub mod networking;
pub mod routes;
mod tags;
pub mod views;

use rusqlite::Connection;

use super::Result;

/// Applies every state change that has come due by `now_ms`: a server reaches its
/// `next_*` state, and the action events that waited for it finish.
pub fn settle(c: &Connection, now_ms: i64) -> Result<()> {
    c.execute(
        "UPDATE servers SET vm_state = next_vm_state, task_state = next_task_state, power_state = next_power_state,
            updated_ms = ready_at,
            launched_ms = CASE WHEN launched_ms IS NULL AND next_vm_state = 'active' THEN ready_at ELSE launched_ms END,
            next_vm_state = NULL, next_task_state = NULL, next_power_state = NULL, ready_at = NULL
         WHERE ready_at IS NOT NULL AND ready_at <= ?1",
        [now_ms],
    )?;
    c.execute(
        "UPDATE instance_action_events SET finish_ms = due_ms, result = 'Success'
         WHERE finish_ms IS NULL AND due_ms <= ?1",
        [now_ms],
    )?;
    Ok(())
}
