//! Volume snapshots in SQLite: `volume_snapshots` (metadata as JSON text; a status to
//! come in `next_status` at `ready_at`).

use rusqlite::Connection;

use super::Run;
use crate::volume::repo::{Result, SnapshotRepo};

impl SnapshotRepo for Connection {
    fn has_snapshots(&self, volume_id: &str) -> Result<bool> {
        Ok(self
            .one(
                "SELECT EXISTS (SELECT 1 FROM volume_snapshots WHERE volume_id = ?1)",
                [volume_id],
                |r| r.get(0),
            )?
            .unwrap_or(false))
    }
}
