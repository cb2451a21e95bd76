//! The volume model's records in SQL: `volumes` (metadata as JSON text; a status to
//! come in `next_status` at `ready_at`) and `volume_attachments`; and the ORDER BY every
//! Block Storage listing here is sorted by.

use std::collections::{HashMap, HashSet};

use crate::store::db::{args, json_elements, Db, Found, Row};
use serde_json::{Map, Value};

use crate::volume::model::{Attachment, Volume};
use crate::volume::repo::{AttachmentFilter, Counted, Result, SortKey, VolumeRepo};
use crate::volume::states::VolumeStatus;
use crate::volume::volumes::listing::Listed;

/// How many columns `COLUMNS` names: a query selecting more after them reads those from
/// this index on.
const WIDTH: usize = 21;

pub(super) const COLUMNS: &str =
    "id, project_id, user_id, name, description, size, status, volume_type_id, \
     availability_zone, bootable, readonly, multiattach, snapshot_id, source_volid, backup_id, \
     migration_status, metadata, image_metadata, created_ms, updated_ms, readonly_recorded";

fn object(s: String) -> Map<String, Value> {
    serde_json::from_str(&s).unwrap_or_default()
}

/// A volume from a row of `SELECT {COLUMNS}`, by position.
pub(super) fn row(r: &Row) -> Found<Volume> {
    Ok(Volume {
        id: r.get(0)?,
        project_id: r.get(1)?,
        user_id: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        size: r.get(5)?,
        status: r.get(6)?,
        volume_type_id: r.get(7)?,
        availability_zone: r.get(8)?,
        bootable: r.get(9)?,
        readonly: r.get(10)?,
        multiattach: r.get(11)?,
        snapshot_id: r.get(12)?,
        source_volid: r.get(13)?,
        backup_id: r.get(14)?,
        migration_status: r.get(15)?,
        metadata: object(r.get(16)?),
        image_metadata: object(r.get(17)?),
        created_ms: r.get(18)?,
        updated_ms: r.get(19)?,
        readonly_recorded: r.get(20)?,
    })
}

const ATTACHMENT_COLUMNS: &str = "id, volume_id, server_id, status, attach_mode, host, \
     mountpoint, connector, boot_index, delete_on_termination, tag, attached_ms, created_ms, updated_ms";

/// An attachment from a row of `SELECT {ATTACHMENT_COLUMNS}`, by position.
fn attachment_row(r: &Row) -> Found<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        volume_id: r.get(1)?,
        server_id: r.get(2)?,
        status: r.get(3)?,
        attach_mode: r.get(4)?,
        host: r.get(5)?,
        mountpoint: r.get(6)?,
        connector: r
            .get::<Option<String>>(7)?
            .and_then(|s| serde_json::from_str(&s).ok()),
        boot_index: r.get(8)?,
        delete_on_termination: r.get(9)?,
        tag: r.get(10)?,
        attached_ms: r.get(11)?,
        created_ms: r.get(12)?,
        updated_ms: r.get(13)?,
    })
}

/// The ORDER BY of a listing sorted by `sort`, `column` naming each key's column (its
/// argument is one of the listing's keys), ties broken by `id` in the last direction.
pub(super) fn order_by(
    sort: &[SortKey],
    id: &str,
    column: impl Fn(&str) -> &'static str,
) -> String {
    let dir = |desc: bool| if desc { "desc" } else { "asc" };
    // NULLs sort first ascending, as SQLite sorts them (PostgreSQL would put them last).
    let nulls = |desc: bool| if desc { "NULLS LAST" } else { "NULLS FIRST" };
    let mut out: Vec<String> = sort
        .iter()
        .map(|k| format!("{} {} {}", column(k.key), dir(k.desc), nulls(k.desc)))
        .collect();
    out.push(format!("{id} {}", dir(sort.last().is_none_or(|k| k.desc))));
    out.join(", ")
}

fn attachments_where(c: &(impl Db + ?Sized), clause: &str, key: &str) -> Result<Vec<Attachment>> {
    c.all(
        &format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM volume_attachments WHERE {clause} ORDER BY created_ms, id"
        ),
        args![key],
        attachment_row,
    )
}

impl<D: Db + ?Sized> VolumeRepo for D {
    fn volume(&self, id: &str) -> Result<Option<Volume>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM volumes WHERE id = $1"),
            args![id],
            row,
        )
    }

    fn listed_volumes(&self, project_id: Option<&str>, sort: &[SortKey]) -> Result<Vec<Listed>> {
        let order = order_by(sort, "id", |k| match k {
            "name" => "name",
            "status" => "status",
            "size" => "size",
            "availability_zone" => "availability_zone",
            "created_at" => "created_ms",
            "updated_at" => "updated_ms",
            "bootable" => "bootable",
            "volume_type" => "volume_type_id",
            "project_id" => "project_id",
            "user_id" => "user_id",
            _ => "id",
        });
        self.all(
            &format!(
                "SELECT {COLUMNS}, (SELECT name FROM volume_types t WHERE t.id = volumes.volume_type_id),
                    group_id
                 FROM volumes WHERE CAST($1 AS TEXT) IS NULL OR project_id = $1 ORDER BY {order}"
            ),
            args![project_id],
            |r| {
                Ok(Listed {
                    volume: row(r)?,
                    type_name: r.get(WIDTH)?,
                    group_id: r.get(WIDTH + 1)?,
                })
            },
        )
    }

    fn set_volume_status(&self, id: &str, status: VolumeStatus, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volumes SET status = $2, next_status = NULL, ready_at = NULL, updated_ms = $3
             WHERE id = $1",
            args![id, status.as_str(), now_ms],
        )?;
        Ok(())
    }

    fn set_volume_status_then(
        &self,
        id: &str,
        status: VolumeStatus,
        next: VolumeStatus,
        ready_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volumes SET status = $2, next_status = $3, ready_at = $4, updated_ms = $5
             WHERE id = $1",
            args![id, status.as_str(), next.as_str(), ready_ms, now_ms],
        )?;
        Ok(())
    }

    fn set_volume_busy(
        &self,
        id: &str,
        status: VolumeStatus,
        ready_ms: i64,
        now_ms: i64,
    ) -> Result<()> {
        // SET reads the row as it was: the status it had becomes the one to come.
        self.run(
            "UPDATE volumes SET next_status = status, status = $2, ready_at = $3, updated_ms = $4
             WHERE id = $1",
            args![id, status.as_str(), ready_ms, now_ms],
        )?;
        Ok(())
    }

    fn end_volume_busy(&self, id: &str, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volumes SET status = next_status, next_status = NULL, ready_at = NULL,
                updated_ms = $2
             WHERE id = $1 AND next_status IS NOT NULL",
            args![id, now_ms],
        )?;
        Ok(())
    }

    fn insert_volume(
        &self,
        v: &Volume,
        next: Option<(&str, i64)>,
        group_id: Option<&str>,
    ) -> Result<()> {
        self.run(
            "INSERT INTO volumes (id, project_id, user_id, name, description, size, status,
                next_status, ready_at, volume_type_id, availability_zone, bootable, readonly,
                multiattach, snapshot_id, source_volid, backup_id, metadata, image_metadata,
                created_ms, updated_ms, group_id, readonly_recorded)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $21, $8, $9, $10, $11, $12, $13,
                $14, $15, $16, $17, $18, $19, $19, $20, 0)",
            args![
                v.id,
                v.project_id,
                v.user_id,
                v.name,
                v.description,
                v.size,
                v.status,
                next.map(|(_, at)| at),
                v.volume_type_id,
                v.availability_zone,
                v.bootable,
                v.readonly,
                v.multiattach,
                v.snapshot_id,
                v.source_volid,
                v.backup_id,
                Value::Object(v.metadata.clone()).to_string(),
                Value::Object(v.image_metadata.clone()).to_string(),
                v.created_ms,
                group_id,
                next.map(|(s, _)| s),
            ],
        )?;
        Ok(())
    }

    fn update_volume(&self, v: &Volume) -> Result<()> {
        self.run(
            "UPDATE volumes SET name = $2, description = $3, metadata = $4, updated_ms = $5
             WHERE id = $1",
            args![
                v.id,
                v.name,
                v.description,
                Value::Object(v.metadata.clone()).to_string(),
                v.updated_ms
            ],
        )?;
        Ok(())
    }

    fn set_volume_metadata(
        &self,
        id: &str,
        metadata: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volumes SET metadata = $2, updated_ms = $3 WHERE id = $1",
            args![id, Value::Object(metadata.clone()).to_string(), now_ms],
        )?;
        Ok(())
    }

    fn set_image_metadata(
        &self,
        id: &str,
        metadata: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volumes SET image_metadata = $2, updated_ms = $3 WHERE id = $1",
            args![id, Value::Object(metadata.clone()).to_string(), now_ms],
        )?;
        Ok(())
    }

    fn set_bootable(&self, id: &str, bootable: bool, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volumes SET bootable = $2, updated_ms = $3 WHERE id = $1",
            args![id, bootable, now_ms],
        )?;
        Ok(())
    }

    fn set_readonly(&self, id: &str, readonly: bool, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volumes SET readonly = $2, readonly_recorded = 1, updated_ms = $3
             WHERE id = $1",
            args![id, readonly, now_ms],
        )?;
        Ok(())
    }

    fn record_readonly(&self, id: &str) -> Result<()> {
        self.run(
            "UPDATE volumes SET readonly_recorded = 1 WHERE id = $1",
            args![id],
        )?;
        Ok(())
    }

    fn set_volume_size(&self, id: &str, size: i64) -> Result<()> {
        self.run(
            "UPDATE volumes SET size = $2 WHERE id = $1",
            args![id, size],
        )?;
        Ok(())
    }

    fn set_migration_status(&self, id: &str, migration_status: Option<&str>) -> Result<()> {
        self.run(
            "UPDATE volumes SET migration_status = $2 WHERE id = $1",
            args![id, migration_status],
        )?;
        Ok(())
    }

    fn retype_volume(&self, id: &str, type_id: &str, multiattach: bool, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volumes SET volume_type_id = $2, multiattach = $3, updated_ms = $4 WHERE id = $1",
            args![id, type_id, multiattach, now_ms],
        )?;
        Ok(())
    }

    fn move_volume(
        &self,
        id: &str,
        project_id: &str,
        user_id: &str,
        status: VolumeStatus,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volumes SET project_id = $2, user_id = $3, status = $5, updated_ms = $4
             WHERE id = $1",
            args![id, project_id, user_id, now_ms, status.as_str()],
        )?;
        Ok(())
    }

    fn delete_volume(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM volumes WHERE id = $1", args![id])?;
        Ok(())
    }

    fn volume_ids(&self) -> Result<HashSet<String>> {
        Ok(self
            .all("SELECT id FROM volumes", args![], |r| r.get(0))?
            .into_iter()
            .collect())
    }

    fn allocated_gigabytes(&self) -> Result<i64> {
        Ok(self
            .one(
                "SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM volumes",
                args![],
                |r| r.get(0),
            )?
            .unwrap_or(0))
    }

    fn restore_volume(
        &self,
        id: &str,
        metadata: &Map<String, Value>,
        bootable: bool,
        image_metadata: &Map<String, Value>,
    ) -> Result<()> {
        self.run(
            "UPDATE volumes SET metadata = $2, bootable = $3, image_metadata = $4 WHERE id = $1",
            args![
                id,
                Value::Object(metadata.clone()).to_string(),
                bootable,
                Value::Object(image_metadata.clone()).to_string()
            ],
        )?;
        Ok(())
    }

    fn host_holdings(&self) -> Result<Vec<(String, Counted, Counted)>> {
        self.all(
            "SELECT v.project_id, count(*), CAST(sum(v.size) AS BIGINT),
                (SELECT count(*) FROM volume_snapshots s WHERE s.project_id = v.project_id),
                (SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM volume_snapshots s
                 WHERE s.project_id = v.project_id)
             FROM volumes v GROUP BY v.project_id ORDER BY v.project_id",
            args![],
            |r| {
                Ok((
                    r.get(0)?,
                    Counted {
                        count: r.get(1)?,
                        gigabytes: r.get(2)?,
                    },
                    Counted {
                        count: r.get(3)?,
                        gigabytes: r.get(4)?,
                    },
                ))
            },
        )
    }

    fn attachments_of(&self, volume_id: &str) -> Result<Vec<Attachment>> {
        attachments_where(self, "volume_id = $1", volume_id)
    }

    fn attachments_by_volume(
        &self,
        volume_ids: &[&str],
    ) -> Result<HashMap<String, Vec<Attachment>>> {
        // One statement for a page of volumes.
        let ids = serde_json::to_string(volume_ids).unwrap_or_else(|_| "[]".into());
        let all = self.all(
            &format!(
                "SELECT {ATTACHMENT_COLUMNS} FROM volume_attachments
                 WHERE volume_id IN ({}) ORDER BY created_ms, id",
                json_elements(self.dialect())
            ),
            args![ids],
            attachment_row,
        )?;
        let mut by_volume = HashMap::<String, Vec<Attachment>>::new();
        for a in all {
            by_volume.entry(a.volume_id.clone()).or_default().push(a);
        }
        Ok(by_volume)
    }

    fn attachments_of_server(&self, server_id: &str) -> Result<Vec<Attachment>> {
        attachments_where(self, "server_id = $1", server_id)
    }

    fn attachment(&self, id: &str) -> Result<Option<Attachment>> {
        self.one(
            &format!("SELECT {ATTACHMENT_COLUMNS} FROM volume_attachments WHERE id = $1"),
            args![id],
            attachment_row,
        )
    }

    fn has_attachments(&self, volume_id: &str) -> Result<bool> {
        let n = self.count(
            "SELECT count(*) FROM volume_attachments WHERE volume_id = $1",
            args![volume_id],
        )?;
        Ok(n > 0)
    }

    fn insert_attachment(&self, a: &Attachment) -> Result<()> {
        self.run(
            &format!(
                "INSERT INTO volume_attachments ({ATTACHMENT_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ),
            args![
                a.id,
                a.volume_id,
                a.server_id,
                a.status,
                a.attach_mode,
                a.host,
                a.mountpoint,
                a.connector.as_ref().map(Value::to_string),
                a.boot_index,
                a.delete_on_termination,
                a.tag,
                a.attached_ms,
                a.created_ms,
                a.updated_ms
            ],
        )?;
        Ok(())
    }

    fn delete_attachments_of(&self, volume_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM volume_attachments WHERE volume_id = $1",
            args![volume_id],
        )?;
        Ok(())
    }

    fn attachments(&self, filter: &AttachmentFilter, sort: &[SortKey]) -> Result<Vec<Attachment>> {
        // Qualified: the volume has an `id`, a `status` … too.
        let order = order_by(sort, "a.id", |k| match k {
            "status" => "a.status",
            "volume_id" => "a.volume_id",
            "instance_uuid" => "a.server_id",
            "created_at" => "a.created_ms",
            "updated_at" => "a.updated_ms",
            _ => "a.id",
        });
        let columns = ATTACHMENT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        self.all(
            &format!(
                "SELECT {columns} FROM volume_attachments a JOIN volumes v ON v.id = a.volume_id
                 WHERE (CAST($1 AS TEXT) IS NULL OR v.project_id = $1) AND (CAST($2 AS TEXT) IS NULL OR a.volume_id = $2)
                   AND (CAST($3 AS TEXT) IS NULL OR a.server_id = $3) AND (CAST($4 AS TEXT) IS NULL OR a.status = $4)
                 ORDER BY {order}"
            ),
            args![
                filter.project_id,
                filter.volume_id,
                filter.server_id,
                filter.status
            ],
            attachment_row,
        )
    }

    fn connect_attachment(&self, id: &str, connector: &Value, now_ms: i64) -> Result<()> {
        let host = connector.get("host").and_then(Value::as_str);
        let mountpoint = connector.get("mountpoint").and_then(Value::as_str);
        self.run(
            "UPDATE volume_attachments SET connector = $2,
                status = CASE status WHEN 'attached' THEN status ELSE 'attaching' END,
                host = COALESCE($3, host), mountpoint = COALESCE($4, mountpoint), updated_ms = $5
             WHERE id = $1",
            args![id, connector.to_string(), host, mountpoint, now_ms],
        )?;
        Ok(())
    }

    fn complete_attachment(
        &self,
        id: &str,
        mountpoint: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<String>> {
        self.one(
            "UPDATE volume_attachments SET status = 'attached', attached_ms = $2, updated_ms = $2,
                mountpoint = COALESCE($3, mountpoint)
             WHERE id = $1 RETURNING volume_id",
            args![id, now_ms, mountpoint],
            |r| r.get(0),
        )
    }

    fn delete_attachment(&self, id: &str) -> Result<Option<String>> {
        self.one(
            "DELETE FROM volume_attachments WHERE id = $1 RETURNING volume_id",
            args![id],
            |r| r.get(0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_counts_the_columns() {
        assert_eq!(COLUMNS.split(',').count(), WIDTH);
    }
}
