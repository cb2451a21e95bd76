//! Cinder's quotas in SQL: `volume_quotas` (one row per key and resource); usage is
//! counted from the resources' own tables.

use crate::store::db::{args, Db};

use crate::volume::repo::{Counted, Holdings, Result, VolumeQuotaRepo};

fn counted(c: &(impl Db + ?Sized), sql: &str, project_id: &str) -> Result<Counted> {
    let found = c.one(sql, args![project_id], |r| {
        Ok(Counted {
            count: r.get(0)?,
            gigabytes: r.get(1)?,
        })
    })?;
    Ok(found.unwrap_or_default())
}

fn by_type(c: &(impl Db + ?Sized), sql: &str, project_id: &str) -> Result<Vec<(String, Counted)>> {
    c.all(sql, args![project_id], |r| {
        Ok((
            r.get(0)?,
            Counted {
                count: r.get(1)?,
                gigabytes: r.get(2)?,
            },
        ))
    })
}

impl<D: Db + ?Sized> VolumeQuotaRepo for D {
    fn quota_limit(&self, project_id: &str, resource: &str) -> Result<Option<i64>> {
        self.one(
            "SELECT hard_limit FROM volume_quotas WHERE resource = $2 AND project_id IN ($1, '')
             ORDER BY project_id = '' LIMIT 1",
            args![project_id, resource],
            |r| r.get(0),
        )
    }

    fn set_quota_limits(&self, key: &str, limits: &[(String, i64)]) -> Result<()> {
        for (resource, limit) in limits {
            self.run(
                "INSERT INTO volume_quotas (project_id, resource, hard_limit) VALUES ($1, $2, $3)
                 ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
                args![key, resource, limit],
            )?;
        }
        Ok(())
    }

    fn delete_quota_limits(&self, project_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM volume_quotas WHERE project_id = $1",
            args![project_id],
        )?;
        Ok(())
    }

    fn rename_quota_resource(&self, from: &str, to: &str) -> Result<()> {
        self.run(
            "UPDATE volume_quotas SET resource = $2 WHERE resource = $1",
            args![from, to],
        )?;
        Ok(())
    }

    fn delete_quota_resource(&self, resource: &str) -> Result<()> {
        self.run(
            "DELETE FROM volume_quotas WHERE resource = $1",
            args![resource],
        )?;
        Ok(())
    }

    fn quota_type_names(&self) -> Result<Vec<String>> {
        self.all(
            "SELECT name FROM volume_types ORDER BY name",
            args![],
            |r| r.get(0),
        )
    }

    fn quota_type_name(&self, key: &str) -> Result<Option<String>> {
        self.one(
            "SELECT name FROM volume_types WHERE id = $1 OR name = $1",
            args![key],
            |r| r.get(0),
        )
    }

    fn holdings(&self, project_id: &str) -> Result<Holdings> {
        Ok(Holdings {
            volumes: counted(
                self,
                "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volumes WHERE project_id = $1",
                project_id,
            )?,
            snapshots: counted(
                self,
                "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volume_snapshots WHERE project_id = $1",
                project_id,
            )?,
            backups: counted(
                self,
                "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM volume_backups WHERE project_id = $1",
                project_id,
            )?,
            groups: self.count(
                "SELECT count(*) FROM volume_groups WHERE project_id = $1",
                args![project_id],
            )? as i64,
            volumes_by_type: by_type(
                self,
                "SELECT t.name, count(*), CAST(coalesce(sum(v.size), 0) AS BIGINT) FROM volumes v
                 JOIN volume_types t ON t.id = v.volume_type_id WHERE v.project_id = $1
                 GROUP BY t.name",
                project_id,
            )?,
            snapshots_by_type: by_type(
                self,
                "SELECT t.name, count(*), CAST(coalesce(sum(s.size), 0) AS BIGINT) FROM volume_snapshots s
                 JOIN volumes v ON v.id = s.volume_id JOIN volume_types t ON t.id = v.volume_type_id
                 WHERE s.project_id = $1 GROUP BY t.name",
                project_id,
            )?,
        })
    }
}
