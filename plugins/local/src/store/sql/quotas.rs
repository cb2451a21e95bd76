//! Compute quotas in SQL: limits in `compute_quotas` (`user_id` '' for the project's
//! own), `compute_quota_defaults` and `compute_quota_classes`; usage counted from the
//! servers' flavor JSON, keypairs and server groups.

use crate::store::db::{args, Args, Db};

use crate::compute::quotas::repo::{ComputeQuotaRepo, Result};

impl<D: Db + ?Sized> ComputeQuotaRepo for D {
    fn quota_default(&self, resource: &str) -> Result<Option<i64>> {
        self.one(
            "SELECT hard_limit FROM compute_quota_defaults WHERE resource = $1",
            args![resource],
            |r| r.get(0),
        )
    }

    fn set_quota_default(&self, resource: &str, value: i64) -> Result<()> {
        self.run(
            "INSERT INTO compute_quota_defaults (resource, hard_limit) VALUES ($1, $2)
             ON CONFLICT (resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            args![resource, value],
        )?;
        Ok(())
    }

    fn applied_quota_limit(
        &self,
        project_id: &str,
        user_id: &str,
        resource: &str,
    ) -> Result<Option<i64>> {
        self.one(
            "SELECT hard_limit FROM compute_quotas
             WHERE project_id = $1 AND resource = $3 AND (user_id = $2 OR user_id = '')
             ORDER BY user_id DESC LIMIT 1",
            args![project_id, user_id, resource],
            |r| r.get(0),
        )
    }

    fn project_quota_limit(&self, project_id: &str, resource: &str) -> Result<Option<i64>> {
        self.one(
            "SELECT hard_limit FROM compute_quotas
             WHERE project_id = $1 AND user_id = '' AND resource = $2",
            args![project_id, resource],
            |r| r.get(0),
        )
    }

    fn user_quota_limits(&self, project_id: &str, resource: &str) -> Result<Vec<(String, i64)>> {
        self.all(
            "SELECT user_id, hard_limit FROM compute_quotas
             WHERE project_id = $1 AND user_id != '' AND resource = $2",
            args![project_id, resource],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn set_quota_limit(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        resource: &str,
        value: i64,
    ) -> Result<()> {
        self.run(
            "INSERT INTO compute_quotas (project_id, user_id, resource, hard_limit) VALUES ($1, $2, $3, $4)
             ON CONFLICT (project_id, user_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            args![project_id, user_id.unwrap_or(""), resource, value],
        )?;
        Ok(())
    }

    fn clear_quota_limits(&self, project_id: &str, user_id: Option<&str>) -> Result<()> {
        match user_id {
            None => self.run(
                "DELETE FROM compute_quotas WHERE project_id = $1",
                args![project_id],
            )?,
            Some(user) => self.run(
                "DELETE FROM compute_quotas WHERE project_id = $1 AND user_id = $2",
                args![project_id, user],
            )?,
        };
        Ok(())
    }

    fn quota_class_limit(&self, class: &str, resource: &str) -> Result<Option<i64>> {
        self.one(
            "SELECT hard_limit FROM compute_quota_classes
             WHERE class_name = $1 AND resource = $2",
            args![class, resource],
            |r| r.get(0),
        )
    }

    fn set_quota_class_limit(&self, class: &str, resource: &str, value: i64) -> Result<()> {
        self.run(
            "INSERT INTO compute_quota_classes (class_name, resource, hard_limit)
             VALUES ($1, $2, $3)
             ON CONFLICT (class_name, resource) DO UPDATE SET hard_limit = $3",
            args![class, resource, value],
        )?;
        Ok(())
    }

    fn quota_usage(
        &self,
        project_id: &str,
        user_id: &str,
        per_user: bool,
        resource: &str,
    ) -> Result<i64> {
        let one = |sql: &str, p: Args| -> Result<i64> {
            Ok(self.one(sql, p, |r| r.get(0))?.unwrap_or(0))
        };
        if per_user {
            let sql = match resource {
                "instances" => "SELECT count(*) FROM servers WHERE project_id = $1 AND user_id = $2 AND deleted = 0",
                "cores" => "SELECT CAST(coalesce(sum(CAST(flavor ->> 'vcpus' AS BIGINT)), 0) AS BIGINT) FROM servers WHERE project_id = $1 AND user_id = $2 AND deleted = 0",
                "ram" => "SELECT CAST(coalesce(sum(CAST(flavor ->> 'ram' AS BIGINT)), 0) AS BIGINT) FROM servers WHERE project_id = $1 AND user_id = $2 AND deleted = 0",
                "server_groups" => "SELECT count(*) FROM server_groups WHERE project_id = $1 AND user_id = $2",
                _ => return self.quota_usage(project_id, user_id, false, resource),
            };
            return one(sql, &[&project_id, &user_id]);
        }
        match resource {
            "instances" => one(
                "SELECT count(*) FROM servers WHERE project_id = $1 AND deleted = 0",
                &[&project_id],
            ),
            "cores" => one(
                "SELECT CAST(coalesce(sum(CAST(flavor ->> 'vcpus' AS BIGINT)), 0) AS BIGINT) FROM servers WHERE project_id = $1 AND deleted = 0",
                &[&project_id],
            ),
            "ram" => one(
                "SELECT CAST(coalesce(sum(CAST(flavor ->> 'ram' AS BIGINT)), 0) AS BIGINT) FROM servers WHERE project_id = $1 AND deleted = 0",
                &[&project_id],
            ),
            "key_pairs" => one(
                "SELECT count(*) FROM keypairs WHERE user_id = $1",
                &[&user_id],
            ),
            "server_groups" => one(
                "SELECT count(*) FROM server_groups WHERE project_id = $1",
                &[&project_id],
            ),
            _ => Ok(0),
        }
    }
}
