//! The compute host in SQL: its service state (`compute_services`), and what the
//! servers on it, or run in a period, add up to, from their flavor JSON.

use std::path::PathBuf;

use crate::store::db::{args, Db};
use serde_json::Value;

use crate::compute::hypervisors::Used;
use crate::compute::repo::{HypervisorRepo, Result, ServerBackupRepo, ServiceRepo, UsageRepo};
use crate::compute::services::ServiceState;
use crate::compute::usage::ServerRun;

impl<D: Db + ?Sized> ServiceRepo for D {
    fn compute_service(&self, host: &str) -> Result<Option<ServiceState>> {
        self.one(
            "SELECT disabled, disabled_reason, forced_down FROM compute_services WHERE host = $1",
            args![host],
            |r| {
                Ok(ServiceState {
                    disabled: r.get(0)?,
                    disabled_reason: r.get(1)?,
                    forced_down: r.get(2)?,
                })
            },
        )
    }

    fn save_compute_service(&self, host: &str, s: &ServiceState) -> Result<()> {
        self.run(
            "INSERT INTO compute_services (host, disabled, disabled_reason, forced_down)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (host) DO UPDATE SET disabled = $2, disabled_reason = $3, forced_down = $4",
            args![host, s.disabled, s.disabled_reason, s.forced_down],
        )?;
        Ok(())
    }
}

impl<D: Db + ?Sized> HypervisorRepo for D {
    fn host_usage(&self) -> Result<Used> {
        Ok(self
            .one(
                "SELECT count(*),
                        CAST(coalesce(sum(CAST(flavor ->> 'vcpus' AS BIGINT)), 0) AS BIGINT),
                        CAST(coalesce(sum(CAST(flavor ->> 'ram' AS BIGINT)), 0) AS BIGINT),
                        CAST(coalesce(sum(CAST(flavor ->> 'disk' AS BIGINT)
                            + coalesce(CAST(flavor ->> 'ephemeral' AS BIGINT), 0)), 0) AS BIGINT),
                        count(task_state)
                 FROM servers WHERE deleted = 0 AND vm_state != 'shelved_offloaded'",
                args![],
                |r| {
                    Ok(Used {
                        running_vms: r.get(0)?,
                        vcpus: r.get(1)?,
                        memory_mb: r.get(2)?,
                        local_gb: r.get(3)?,
                        workload: r.get(4)?,
                    })
                },
            )?
            .unwrap_or_default())
    }

    fn servers_on_host(&self) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT id, name FROM servers WHERE deleted = 0 AND vm_state != 'shelved_offloaded'
             ORDER BY created_ms, id",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn server_sizes_on_host(&self) -> Result<Vec<(String, i64, i64, i64)>> {
        self.all(
            "SELECT project_id,
                    coalesce(CAST(flavor ->> 'vcpus' AS BIGINT), 0),
                    coalesce(CAST(flavor ->> 'ram' AS BIGINT), 0),
                    coalesce(CAST(flavor ->> 'disk' AS BIGINT), 0)
                        + coalesce(CAST(flavor ->> 'ephemeral' AS BIGINT), 0)
             FROM servers WHERE deleted = 0 AND vm_state != 'shelved_offloaded'
             ORDER BY created_ms, id",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
    }

    fn data_dir(&self) -> PathBuf {
        Db::data_dir(self)
    }
}

impl<D: Db + ?Sized> UsageRepo for D {
    fn servers_run_between(
        &self,
        start: i64,
        stop: i64,
        project_id: Option<&str>,
    ) -> Result<Vec<ServerRun>> {
        self.all(
            "SELECT id, name, project_id, flavor, vm_state, launched_ms, terminated_ms
             FROM servers
             WHERE launched_ms IS NOT NULL AND launched_ms < $2
               AND (terminated_ms IS NULL OR terminated_ms > $1)
               AND (CAST($3 AS TEXT) IS NULL OR project_id = $3)
             ORDER BY created_ms, id",
            args![start, stop, project_id],
            |r| {
                let flavor: String = r.get(3)?;
                Ok(ServerRun {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    project_id: r.get(2)?,
                    flavor: serde_json::from_str(&flavor).unwrap_or(Value::Null),
                    vm_state: r.get(4)?,
                    launched_ms: r.get(5)?,
                    terminated_ms: r.get(6)?,
                })
            },
        )
    }

    fn count_servers_run_between(&self, begin: i64, end: i64) -> Result<i64> {
        Ok(self.count(
            "SELECT count(*) FROM servers WHERE launched_ms IS NOT NULL AND launched_ms < $2
                AND (terminated_ms IS NULL OR terminated_ms > $1)",
            args![begin, end],
        )? as i64)
    }

    fn cloud_born_ms(&self) -> Result<Option<i64>> {
        Ok(self
            .one("SELECT min(created_ms) FROM flavors", args![], |r| r.get(0))?
            .flatten())
    }
}

impl<D: Db + ?Sized> ServerBackupRepo for D {
    fn server_backups(&self, server_id: &str, backup_type: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT id FROM images WHERE (properties ->> 'instance_uuid') = $1
               AND (properties ->> 'image_type') = 'backup' AND (properties ->> 'backup_type') = $2
             ORDER BY created_at DESC, rowid DESC",
            args![server_id, backup_type],
            |r| r.get(0),
        )
    }
}
