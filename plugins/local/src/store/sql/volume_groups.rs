//! Generic volume groups in SQL: `group_types` (specs as JSON text), `volume_groups`
//! (volume type ids as JSON text; a volume's `group_id` names its group) and
//! `group_snapshots` (a snapshot's `group_snapshot_id` names its group snapshot).

use crate::store::db::{args, Db, Found, Row};
use serde_json::{json, Value};

use super::volume::order_by;
use super::volume::{row as volume_row, COLUMNS as VOLUME_COLUMNS};
use crate::volume::group_snapshots::GroupSnapshot;
use crate::volume::group_types::GroupType;
use crate::volume::groups::{Group, NewGroup};
use crate::volume::model::Volume;
use crate::volume::repo::{GroupFilter, GroupRepo, Result, SortKey};

const TYPE_COLUMNS: &str = "id, name, description, is_public, group_specs";

fn type_row(r: &Row) -> Found<GroupType> {
    Ok(GroupType {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        is_public: r.get(3)?,
        group_specs: serde_json::from_str(&r.get::<String>(4)?).unwrap_or_default(),
    })
}

const COLUMNS: &str = "id, project_id, name, description, status, group_type_id, \
     volume_type_ids, availability_zone, group_snapshot_id, source_group_id, replication_status, \
     created_ms";

fn row(r: &Row) -> Found<Group> {
    Ok(Group {
        id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        status: r.get(4)?,
        group_type_id: r.get(5)?,
        volume_type_ids: serde_json::from_str(&r.get::<String>(6)?).unwrap_or_default(),
        availability_zone: r.get(7)?,
        group_snapshot_id: r.get(8)?,
        source_group_id: r.get(9)?,
        replication_status: r.get(10)?,
        created_ms: r.get(11)?,
    })
}

const SNAPSHOT_COLUMNS: &str =
    "id, project_id, group_id, group_type_id, name, description, status, created_ms";

fn snapshot_row(r: &Row) -> Found<GroupSnapshot> {
    Ok(GroupSnapshot {
        id: r.get(0)?,
        project_id: r.get(1)?,
        group_id: r.get(2)?,
        group_type_id: r.get(3)?,
        name: r.get(4)?,
        description: r.get(5)?,
        status: r.get(6)?,
        created_ms: r.get(7)?,
    })
}

fn specs(t: &GroupType) -> String {
    Value::Object(t.group_specs.clone()).to_string()
}

impl<D: Db + ?Sized> GroupRepo for D {
    fn group_type(&self, id: &str) -> Result<Option<GroupType>> {
        self.one(
            &format!("SELECT {TYPE_COLUMNS} FROM group_types WHERE id = $1"),
            args![id],
            type_row,
        )
    }

    fn group_type_by_name(&self, name: &str) -> Result<Option<GroupType>> {
        self.one(
            &format!("SELECT {TYPE_COLUMNS} FROM group_types WHERE name = $1"),
            args![name],
            type_row,
        )
    }

    fn group_types(&self, is_public: Option<bool>, sort: &[SortKey]) -> Result<Vec<GroupType>> {
        let order = order_by(sort, "id", |k| match k {
            "name" => "name",
            "description" => "description",
            "is_public" => "is_public",
            "created_at" => "created_ms",
            _ => "id",
        });
        self.all(
            &format!(
                "SELECT {TYPE_COLUMNS} FROM group_types WHERE CAST($1 AS BIGINT) IS NULL OR is_public = $1 ORDER BY {order}"
            ),
            args![is_public],
            type_row,
        )
    }

    fn insert_group_type(&self, t: &GroupType, created_ms: i64) -> Result<()> {
        self.run(
            "INSERT INTO group_types (id, name, description, is_public, group_specs, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                t.id,
                t.name,
                t.description,
                t.is_public,
                specs(t),
                created_ms
            ],
        )?;
        Ok(())
    }

    fn seed_group_type(&self, t: &GroupType, created_ms: i64) -> Result<()> {
        self.run(
            "INSERT INTO group_types (id, name, description, is_public, group_specs, created_ms)
             SELECT $1, $2, $3, $4, $5, $6
             WHERE NOT EXISTS (SELECT 1 FROM group_types WHERE name = $2)",
            args![
                t.id,
                t.name,
                t.description,
                t.is_public,
                specs(t),
                created_ms
            ],
        )?;
        Ok(())
    }

    fn update_group_type(&self, t: &GroupType) -> Result<()> {
        self.run(
            "UPDATE group_types SET name = $2, description = $3, is_public = $4 WHERE id = $1",
            args![t.id, t.name, t.description, t.is_public],
        )?;
        Ok(())
    }

    fn set_group_specs(&self, t: &GroupType) -> Result<()> {
        self.run(
            "UPDATE group_types SET group_specs = $2 WHERE id = $1",
            args![t.id, specs(t)],
        )?;
        Ok(())
    }

    fn delete_group_type(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM group_types WHERE id = $1", args![id])?;
        Ok(())
    }

    fn group_type_in_use(&self, id: &str) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM volume_groups WHERE group_type_id = $1)",
            args![id],
        )
    }

    fn volume_group(&self, id: &str) -> Result<Option<Group>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM volume_groups WHERE id = $1"),
            args![id],
            row,
        )
    }

    fn volume_groups(&self, filter: &GroupFilter, sort: &[SortKey]) -> Result<Vec<Group>> {
        let order = order_by(sort, "id", |k| match k {
            "name" => "name",
            "status" => "status",
            "created_at" => "created_ms",
            "updated_at" => "updated_ms",
            "group_type" => "group_type_id",
            "availability_zone" => "availability_zone",
            "project_id" => "project_id",
            _ => "id",
        });
        self.all(
            &format!(
                "SELECT {COLUMNS} FROM volume_groups
                 WHERE (CAST($1 AS TEXT) IS NULL OR project_id = $1) AND (CAST($2 AS TEXT) IS NULL OR name = $2)
                   AND (CAST($3 AS TEXT) IS NULL OR status = $3)
                 ORDER BY {order}"
            ),
            args![filter.project_id, filter.name, filter.status],
            row,
        )
    }

    fn insert_volume_group(&self, g: &NewGroup) -> Result<()> {
        self.run(
            "INSERT INTO volume_groups (id, project_id, user_id, name, description, status,
                next_status, ready_at, group_type_id, volume_type_ids, availability_zone,
                group_snapshot_id, source_group_id, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, 'creating', $6, $7, $8, $9, $10, $11, $12, $13, $13)",
            args![
                g.id,
                g.project_id,
                g.user_id,
                g.name,
                g.description,
                g.next_status,
                g.ready_ms,
                g.group_type_id,
                json!(g.volume_type_ids).to_string(),
                g.availability_zone,
                g.group_snapshot_id,
                g.source_group_id,
                g.created_ms
            ],
        )?;
        Ok(())
    }

    fn update_volume_group(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<()> {
        self.run(
            "UPDATE volume_groups SET name = $2, description = $3 WHERE id = $1",
            args![id, name, description],
        )?;
        Ok(())
    }

    fn set_volume_group_status(
        &self,
        id: &str,
        status: &str,
        next: Option<(&str, i64)>,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volume_groups SET status = $2, next_status = $3, ready_at = $4, updated_ms = $5
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

    fn delete_volume_group(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM volume_groups WHERE id = $1", args![id])?;
        Ok(())
    }

    fn group_of_volume(&self, volume_id: &str) -> Result<Option<String>> {
        Ok(self
            .one(
                "SELECT group_id FROM volumes WHERE id = $1",
                args![volume_id],
                |r| r.get::<Option<String>>(0),
            )?
            .flatten())
    }

    fn set_group_of_volume(&self, volume_id: &str, group_id: Option<&str>) -> Result<()> {
        match group_id {
            Some(g) => self.run(
                "UPDATE volumes SET group_id = $2 WHERE id = $1",
                args![volume_id, g],
            )?,
            None => self.run(
                "UPDATE volumes SET group_id = NULL WHERE id = $1",
                args![volume_id],
            )?,
        };
        Ok(())
    }

    fn volume_group_members(&self, group_id: &str) -> Result<Vec<Volume>> {
        self.all(
            &format!(
                "SELECT {VOLUME_COLUMNS} FROM volumes WHERE group_id = $1 ORDER BY created_ms, id"
            ),
            args![group_id],
            volume_row,
        )
    }

    fn group_snapshot(&self, id: &str) -> Result<Option<GroupSnapshot>> {
        self.one(
            &format!("SELECT {SNAPSHOT_COLUMNS} FROM group_snapshots WHERE id = $1"),
            args![id],
            snapshot_row,
        )
    }

    fn group_snapshots(
        &self,
        filter: &GroupFilter,
        sort: &[SortKey],
    ) -> Result<Vec<GroupSnapshot>> {
        let order = order_by(sort, "id", |k| match k {
            "name" => "name",
            "status" => "status",
            "group_id" => "group_id",
            "created_at" => "created_ms",
            "updated_at" => "updated_ms",
            "project_id" => "project_id",
            _ => "id",
        });
        self.all(
            &format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM group_snapshots
                 WHERE (CAST($1 AS TEXT) IS NULL OR project_id = $1) AND (CAST($2 AS TEXT) IS NULL OR group_id = $2)
                   AND (CAST($3 AS TEXT) IS NULL OR status = $3)
                 ORDER BY {order}"
            ),
            args![filter.project_id, filter.group_id, filter.status],
            snapshot_row,
        )
    }

    fn insert_group_snapshot(&self, s: &GroupSnapshot, user_id: &str, ready_ms: i64) -> Result<()> {
        self.run(
            "INSERT INTO group_snapshots (id, project_id, user_id, group_id, group_type_id, name,
                description, status, next_status, ready_at, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'creating', 'available', $8, $9, $9)",
            args![
                s.id,
                s.project_id,
                user_id,
                s.group_id,
                s.group_type_id,
                s.name,
                s.description,
                ready_ms,
                s.created_ms
            ],
        )?;
        Ok(())
    }

    fn has_group_snapshots(&self, group_id: &str) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM group_snapshots WHERE group_id = $1)",
            args![group_id],
        )
    }

    fn set_group_snapshot_status(&self, id: &str, status: &str, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE group_snapshots SET status = $2, next_status = NULL, ready_at = NULL,
                updated_ms = $3 WHERE id = $1",
            args![id, status, now_ms],
        )?;
        Ok(())
    }

    fn delete_group_snapshot(&self, id: &str) -> Result<Vec<String>> {
        let ids = self.all(
            "SELECT id FROM volume_snapshots WHERE group_snapshot_id = $1",
            args![id],
            |r| r.get(0),
        )?;
        self.run(
            "DELETE FROM volume_snapshots WHERE group_snapshot_id = $1",
            args![id],
        )?;
        self.run("DELETE FROM group_snapshots WHERE id = $1", args![id])?;
        Ok(ids)
    }

    fn add_to_group_snapshot(&self, snapshot_id: &str, group_snapshot_id: &str) -> Result<()> {
        self.run(
            "UPDATE volume_snapshots SET group_snapshot_id = $2 WHERE id = $1",
            args![snapshot_id, group_snapshot_id],
        )?;
        Ok(())
    }

    fn group_snapshot_members(&self, id: &str) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT s.id, v.volume_type_id FROM volume_snapshots s
                 JOIN volumes v ON v.id = s.volume_id
                 WHERE s.group_snapshot_id = $1 ORDER BY s.created_ms, s.id",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}
