//! Volume backups in SQL: `volume_backups` (metadata as JSON text, with what the volume
//! was under an internal key; an incremental backup names its `parent_id`).

use std::collections::HashSet;

use crate::store::db::{args, Db, Found, Row};
use serde_json::{Map, Value};

use super::volume::order_by;
use crate::volume::backups::Backup;
use crate::volume::repo::{BackupFilter, BackupRepo, Result, SortKey};
use crate::volume::snapshots::{join_internal, split_internal};

const COLUMNS: &str = "id, project_id, user_id, volume_id, snapshot_id, name, description, size, \
     status, availability_zone, container, is_incremental, parent_id, object_count, fail_reason, \
     metadata, data_timestamp_ms, created_ms, updated_ms, \
     EXISTS (SELECT 1 FROM volume_backups d WHERE d.parent_id = volume_backups.id)";

fn row(r: &Row) -> Found<Backup> {
    let (metadata, internal) = split_internal(&r.get::<String>(15)?);
    Ok(Backup {
        id: r.get(0)?,
        project_id: r.get(1)?,
        user_id: r.get(2)?,
        volume_id: r.get(3)?,
        snapshot_id: r.get(4)?,
        name: r.get(5)?,
        description: r.get(6)?,
        size: r.get(7)?,
        status: r.get(8)?,
        availability_zone: r.get(9)?,
        container: r.get(10)?,
        is_incremental: r.get(11)?,
        parent_id: r.get(12)?,
        object_count: r.get(13)?,
        fail_reason: r.get(14)?,
        metadata,
        volume: match internal.get("volume") {
            Some(Value::Object(o)) => o.clone(),
            _ => Map::new(),
        },
        data_timestamp_ms: r.get(16)?,
        created_ms: r.get(17)?,
        updated_ms: r.get(18)?,
        has_dependent_backups: r.get(19)?,
    })
}

impl<D: Db + ?Sized> BackupRepo for D {
    fn backup(&self, id: &str) -> Result<Option<Backup>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM volume_backups WHERE id = $1"),
            args![id],
            row,
        )
    }

    fn backups(&self, filter: &BackupFilter, sort: &[SortKey]) -> Result<Vec<Backup>> {
        let order = order_by(sort, "id", |k| match k {
            "status" => "status",
            "size" => "size",
            "volume_id" => "volume_id",
            "name" => "name",
            "description" => "description",
            "created_at" => "created_ms",
            "updated_at" => "updated_ms",
            "data_timestamp" => "data_timestamp_ms",
            "project_id" => "project_id",
            "user_id" => "user_id",
            "container" => "container",
            _ => "id",
        });
        self.all(
            &format!(
                "SELECT {COLUMNS} FROM volume_backups
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

    fn latest_backup(&self, volume_id: &str) -> Result<Option<String>> {
        self.one(
            "SELECT id FROM volume_backups WHERE volume_id = $1 AND status = 'available'
             ORDER BY data_timestamp_ms DESC, created_ms DESC LIMIT 1",
            args![volume_id],
            |r| r.get(0),
        )
    }

    fn backup_of_size(&self, volume_id: &str, size: i64) -> Result<Option<String>> {
        self.one(
            "SELECT id FROM volume_backups WHERE volume_id = $1 AND size = $2
             AND status = 'available' ORDER BY created_ms LIMIT 1",
            args![volume_id, size],
            |r| r.get(0),
        )
    }

    fn insert_backup(&self, b: &Backup, ready_ms: i64) -> Result<()> {
        self.run(
            "INSERT INTO volume_backups (id, project_id, user_id, volume_id, snapshot_id, name,
                description, size, status, next_status, ready_at, availability_zone, container,
                is_incremental, parent_id, object_count, metadata, data_timestamp_ms, created_ms,
                updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'creating', 'available', $9, $10, $11, $12,
                $13, $14, $15, $16, $17, $18)",
            args![
                b.id,
                b.project_id,
                b.user_id,
                b.volume_id,
                b.snapshot_id,
                b.name,
                b.description,
                b.size,
                ready_ms,
                b.availability_zone,
                b.container,
                b.is_incremental,
                b.parent_id,
                b.object_count,
                join_internal(&b.metadata, &b.internal()),
                b.data_timestamp_ms,
                b.created_ms,
                b.updated_ms
            ],
        )?;
        Ok(())
    }

    fn update_backup(&self, b: &Backup, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volume_backups SET name = $2, description = $3, metadata = $4, updated_ms = $5
             WHERE id = $1",
            args![
                b.id,
                b.name,
                b.description,
                join_internal(&b.metadata, &b.internal()),
                now_ms
            ],
        )?;
        Ok(())
    }

    fn set_backup_status(
        &self,
        id: &str,
        status: &str,
        next: Option<(&str, i64)>,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volume_backups SET status = $2, next_status = $3, ready_at = $4, updated_ms = $5
             WHERE id = $1",
            args![
                id,
                status,
                next.map(|(s, _)| s),
                next.map(|(_, at)| at),
                now_ms
            ],
        )?;
        Ok(())
    }

    fn delete_backup(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM volume_backups WHERE id = $1", args![id])?;
        Ok(())
    }

    fn backup_ids(&self) -> Result<HashSet<String>> {
        Ok(self
            .all("SELECT id FROM volume_backups", args![], |r| r.get(0))?
            .into_iter()
            .collect())
    }
}
