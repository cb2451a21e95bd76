//! Volume snapshots in SQL: `volume_snapshots` (metadata as JSON text, with the fields
//! that have no column under an internal key; a status to come in `next_status` at
//! `ready_at`).

use std::collections::HashSet;

use crate::store::db::{args, Db, Found, Row};
use serde_json::Value;

use super::volume::order_by;
use crate::volume::repo::{Counted, Result, SnapshotFilter, SnapshotRepo, SortKey};
use crate::volume::snapshots::{join_internal, split_internal, Snapshot};

const COLUMNS: &str = "id, project_id, user_id, volume_id, name, description, size, status, \
     metadata, created_ms, updated_ms, group_snapshot_id";

fn row(r: &Row) -> Found<Snapshot> {
    let (metadata, internal) = split_internal(&r.get::<String>(8)?);
    Ok(Snapshot {
        id: r.get(0)?,
        project_id: r.get(1)?,
        user_id: r.get(2)?,
        volume_id: r.get(3)?,
        name: r.get(4)?,
        description: r.get(5)?,
        size: r.get(6)?,
        status: r.get(7)?,
        metadata,
        progress: internal
            .get("progress")
            .and_then(Value::as_str)
            .map(str::to_string),
        created_ms: r.get(9)?,
        updated_ms: r.get(10)?,
        group_snapshot_id: r.get(11)?,
    })
}

impl<D: Db + ?Sized> SnapshotRepo for D {
    fn snapshot_ids(&self) -> Result<HashSet<String>> {
        Ok(self
            .all("SELECT id FROM volume_snapshots", args![], |r| r.get(0))?
            .into_iter()
            .collect())
    }

    fn snapshot(&self, id: &str) -> Result<Option<Snapshot>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM volume_snapshots WHERE id = $1"),
            args![id],
            row,
        )
    }

    fn snapshots(&self, filter: &SnapshotFilter, sort: &[SortKey]) -> Result<Vec<Snapshot>> {
        let order = order_by(sort, "id", |k| match k {
            "status" => "status",
            "size" => "size",
            "volume_id" => "volume_id",
            "name" => "name",
            "description" => "description",
            "created_at" => "created_ms",
            "updated_at" => "updated_ms",
            "project_id" => "project_id",
            "user_id" => "user_id",
            _ => "id",
        });
        self.all(
            &format!(
                "SELECT {COLUMNS} FROM volume_snapshots
                 WHERE (CAST($1 AS TEXT) IS NULL OR project_id = $1) AND (CAST($2 AS TEXT) IS NULL OR status = $2)
                   AND (CAST($3 AS TEXT) IS NULL OR volume_id = $3) AND (CAST($4 AS TEXT) IS NULL OR name = $4)
                 ORDER BY {order}"
            ),
            args![
                filter.project_id,
                filter.status,
                filter.volume_id,
                filter.name
            ],
            row,
        )
    }

    fn latest_snapshot(&self, volume_id: &str) -> Result<Option<Snapshot>> {
        self.one(
            &format!(
                "SELECT {COLUMNS} FROM volume_snapshots WHERE volume_id = $1
                 ORDER BY created_ms DESC, rowid DESC LIMIT 1"
            ),
            args![volume_id],
            row,
        )
    }

    fn snapshot_statuses(&self, volume_id: &str) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT id, status FROM volume_snapshots WHERE volume_id = $1",
            args![volume_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn has_snapshots(&self, volume_id: &str) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM volume_snapshots WHERE volume_id = $1)",
            args![volume_id],
        )
    }

    fn snapshot_holdings(&self, volume_id: &str) -> Result<Counted> {
        Ok(self
            .one(
                "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volume_snapshots WHERE volume_id = $1",
                args![volume_id],
                |r| {
                    Ok(Counted {
                        count: r.get(0)?,
                        gigabytes: r.get(1)?,
                    })
                },
            )?
            .unwrap_or_default())
    }

    fn snapshot_backing_up(&self, id: &str) -> Result<bool> {
        self.exists("SELECT EXISTS (SELECT 1 FROM volume_backups WHERE snapshot_id = $1 AND status = 'creating')", args![id])
    }

    fn insert_snapshot(&self, s: &Snapshot, ready_ms: i64) -> Result<()> {
        self.run(
            "INSERT INTO volume_snapshots (id, project_id, user_id, volume_id, name,
                description, size, status, next_status, ready_at, metadata, created_ms,
                updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'creating', 'available', $8, $9, $10, $10)",
            args![
                s.id,
                s.project_id,
                s.user_id,
                s.volume_id,
                s.name,
                s.description,
                s.size,
                ready_ms,
                join_internal(&s.metadata, &s.internal()),
                s.created_ms
            ],
        )?;
        Ok(())
    }

    fn update_snapshot(&self, s: &Snapshot, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volume_snapshots SET name = $2, description = $3, metadata = $4,
                updated_ms = $5 WHERE id = $1",
            args![
                s.id,
                s.name,
                s.description,
                join_internal(&s.metadata, &s.internal()),
                now_ms
            ],
        )?;
        Ok(())
    }

    fn set_snapshot_status(&self, id: &str, status: &str, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volume_snapshots SET status = $2, next_status = NULL, ready_at = NULL,
                updated_ms = $3 WHERE id = $1",
            args![id, status, now_ms],
        )?;
        Ok(())
    }

    fn set_snapshot_status_then(
        &self,
        id: &str,
        status: &str,
        next: &str,
        ready_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volume_snapshots SET status = $2, next_status = $3, ready_at = $4,
                updated_ms = $5
             WHERE id = $1",
            args![id, status, next, ready_ms, now_ms],
        )?;
        Ok(())
    }

    fn delete_snapshot(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM volume_snapshots WHERE id = $1", args![id])?;
        Ok(())
    }

    fn delete_snapshots_of(&self, volume_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM volume_snapshots WHERE volume_id = $1",
            args![volume_id],
        )?;
        Ok(())
    }

    fn move_snapshots(
        &self,
        volume_id: &str,
        project_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volume_snapshots SET project_id = $2, user_id = $3, updated_ms = $4
             WHERE volume_id = $1",
            args![volume_id, project_id, user_id, now_ms],
        )?;
        Ok(())
    }
}
