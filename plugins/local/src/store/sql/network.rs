//! Neutron's documents in SQL: `net_objects` keeps each body as JSON text with its
//! indexed columns beside it; `net_ips` the addresses ports hold; `net_quotas` limits.

use crate::store::db::{args, Db};
use serde_json::Value;

use crate::network::repo::{NetworkRepo, Result, Scope};
use crate::store::Unique;

/// A non-empty string attribute of a document, for its indexed columns.
fn text(doc: &Value, key: &str) -> Option<String> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn bodies(rows: Vec<String>) -> Vec<Value> {
    rows.iter()
        .filter_map(|b| serde_json::from_str(b).ok())
        .collect()
}

impl<D: Db + ?Sized> NetworkRepo for D {
    fn insert_doc(&self, kind: &str, doc: &Value, created_ms: i64) -> Result<()> {
        self.run(
            "INSERT INTO net_objects (kind, id, project_id, network_id, device_id, body, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                kind,
                text(doc, "id"),
                text(doc, "project_id").unwrap_or_default(),
                text(doc, "network_id"),
                text(doc, "device_id"),
                doc.to_string(),
                created_ms
            ],
        )?;
        Ok(())
    }

    fn update_doc(&self, kind: &str, doc: &Value) -> Result<()> {
        self.run(
            "UPDATE net_objects SET project_id = $3, network_id = $4, device_id = $5, body = $6 WHERE kind = $1 AND id = $2",
            args![
                kind,
                text(doc, "id"),
                text(doc, "project_id").unwrap_or_default(),
                text(doc, "network_id"),
                text(doc, "device_id"),
                doc.to_string()
            ],
        )?;
        Ok(())
    }

    fn delete_doc(&self, kind: &str, id: &str) -> Result<()> {
        self.run(
            "DELETE FROM net_objects WHERE kind = $1 AND id = $2",
            args![kind, id],
        )?;
        Ok(())
    }

    fn doc(&self, kind: &str, id: &str) -> Result<Option<Value>> {
        let body: Option<String> = self.one(
            "SELECT body FROM net_objects WHERE kind = $1 AND id = $2",
            args![kind, id],
            |r| r.get(0),
        )?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    fn docs(&self, kind: &str, scope: Scope) -> Result<Vec<Value>> {
        let column = |c: &str| {
            format!(
                "SELECT body FROM net_objects WHERE kind = $1 AND {c} = $2 ORDER BY created_ms, id"
            )
        };
        let rows = match scope {
            Scope::All => self.all(
                "SELECT body FROM net_objects WHERE kind = $1 ORDER BY created_ms, id",
                args![kind],
                |r| r.get(0),
            )?,
            Scope::Project(p) => self.all(&column("project_id"), args![kind, p], |r| r.get(0))?,
            Scope::Network(n) => self.all(&column("network_id"), args![kind, n], |r| r.get(0))?,
            Scope::Device(d) => self.all(&column("device_id"), args![kind, d], |r| r.get(0))?,
        };
        Ok(bodies(rows))
    }

    fn count_docs(&self, kind: &str, project_id: &str) -> Result<u64> {
        self.count(
            "SELECT count(*) FROM net_objects WHERE kind = $1 AND project_id = $2",
            args![kind, project_id],
        )
    }

    fn rbac_grants(&self, object_id: &str, action: &str, project_id: &str) -> Result<bool> {
        let n = self.count(
            "SELECT count(*) FROM net_objects
             WHERE kind = 'rbac_policy'
               AND (body ->> 'object_id') = $1
               AND (body ->> 'action') = $2
               AND (body ->> 'target_tenant') IN ($3, '*')",
            args![object_id, action, project_id],
        )?;
        Ok(n > 0)
    }

    fn rbac_policies_on(&self, object_id: &str) -> Result<Vec<Value>> {
        let rows = self.all(
            "SELECT body FROM net_objects
             WHERE kind = 'rbac_policy' AND (body ->> 'object_id') = $1
             ORDER BY created_ms, id",
            args![object_id],
            |r| r.get(0),
        )?;
        Ok(bodies(rows))
    }

    fn mac_in_use(&self, network_id: &str, mac: &str, except: &str) -> Result<bool> {
        // Indexed: schema 9 indexes ports' MACs per network.
        let found: Option<String> = self.one(
            "SELECT id FROM net_objects WHERE kind = 'port' AND network_id = $1
               AND (body ->> 'mac_address') = $2 AND id != $3 LIMIT 1",
            args![network_id, mac, except],
            |r| r.get(0),
        )?;
        Ok(found.is_some())
    }

    fn ip_held(&self, subnet_id: &str, n: i64) -> Result<bool> {
        let found = self.one(
            "SELECT 1 FROM net_ips WHERE subnet_id = $1 AND n = $2",
            args![subnet_id, n],
            |_| Ok(()),
        )?;
        Ok(found.is_some())
    }

    fn first_gap(&self, subnet_id: &str, a: i64, b: i64) -> Result<Option<i64>> {
        self.one(
            "SELECT t.n + 1 FROM net_ips t WHERE t.subnet_id = $1 AND t.n >= $2 AND t.n < $3 \
             AND NOT EXISTS (SELECT 1 FROM net_ips u WHERE u.subnet_id = $1 AND u.n = t.n + 1) \
             ORDER BY t.n LIMIT 1",
            args![subnet_id, a, b],
            |r| r.get(0),
        )
    }

    fn claim_ip(&self, subnet_id: &str, address: &str, n: i64, port_id: &str) -> Result<Unique> {
        self.unique(
            "INSERT INTO net_ips (subnet_id, address, n, port_id) VALUES ($1, $2, $3, $4)",
            args![subnet_id, address, n, port_id],
        )
    }

    fn release_ip(&self, subnet_id: &str, address: &str, port_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM net_ips WHERE subnet_id = $1 AND address = $2 AND port_id = $3",
            args![subnet_id, address, port_id],
        )?;
        Ok(())
    }

    fn release_port_ips(&self, port_id: &str, subnet_id: Option<&str>) -> Result<()> {
        match subnet_id {
            None => self.run("DELETE FROM net_ips WHERE port_id = $1", args![port_id])?,
            Some(s) => self.run(
                "DELETE FROM net_ips WHERE port_id = $1 AND subnet_id = $2",
                args![port_id, s],
            )?,
        };
        Ok(())
    }

    fn release_subnet_ips(&self, subnet_id: &str) -> Result<()> {
        self.run("DELETE FROM net_ips WHERE subnet_id = $1", args![subnet_id])?;
        Ok(())
    }

    fn ips_held(&self, subnet_id: &str) -> Result<u64> {
        self.count(
            "SELECT count(*) FROM net_ips WHERE subnet_id = $1",
            args![subnet_id],
        )
    }

    fn quota(&self, project_id: &str, resource: &str) -> Result<Option<i64>> {
        self.one(
            "SELECT hard_limit FROM net_quotas WHERE project_id = $1 AND resource = $2",
            args![project_id, resource],
            |r| r.get(0),
        )
    }

    fn quota_projects(&self) -> Result<Vec<String>> {
        self.all(
            "SELECT DISTINCT project_id FROM net_quotas ORDER BY project_id",
            args![],
            |r| r.get(0),
        )
    }

    fn set_quota(&self, project_id: &str, resource: &str, limit: i64) -> Result<()> {
        self.run(
            "INSERT INTO net_quotas (project_id, resource, hard_limit) VALUES ($1, $2, $3)
             ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            args![project_id, resource, limit],
        )?;
        Ok(())
    }

    fn reset_quotas(&self, project_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM net_quotas WHERE project_id = $1",
            args![project_id],
        )?;
        Ok(())
    }
}
