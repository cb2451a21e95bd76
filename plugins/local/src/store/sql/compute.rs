//! Compute's simple resources in SQL: keypairs numbered by their rowid (Nova's integer
//! id); server groups with their rules as JSON text, members in joining order; aggregates
//! with metadata and hosts as JSON text; resizes; what Nova's side of volume attachments
//! and a server's networking read of Cinder's and Neutron's tables.

use crate::store::db::{args, json_elements, Db, Found, Row};
use serde_json::{json, Map, Value};

use crate::compute::aggregates::Aggregate;
use crate::compute::keypairs::Keypair;
use crate::compute::migrations::{Migration, Resize};
use crate::compute::repo::{
    AggregateRepo, KeypairRepo, MigrationRepo, Result, ServerGroupRepo, ServerNetworkRepo,
    ServerVolumeRepo,
};
use crate::compute::server_groups::Group;

fn keypair_row(r: &Row) -> Found<Keypair> {
    Ok(Keypair {
        id: r.get("rowid")?,
        user_id: r.get("user_id")?,
        name: r.get("name")?,
        kind: r.get("type")?,
        public_key: r.get("public_key")?,
        fingerprint: r.get("fingerprint")?,
        created_ms: r.get("created_ms")?,
    })
}

impl<D: Db + ?Sized> KeypairRepo for D {
    fn keypair(&self, user_id: &str, name: &str) -> Result<Option<Keypair>> {
        self.one(
            "SELECT rowid, * FROM keypairs WHERE user_id = $1 AND name = $2",
            args![user_id, name],
            keypair_row,
        )
    }

    fn keypairs(&self, user_id: &str, after: i64, limit: usize) -> Result<Vec<Keypair>> {
        self.all(
            "SELECT rowid, * FROM keypairs WHERE user_id = $1 AND rowid > $2 ORDER BY rowid LIMIT $3",
            args![user_id, after, i64::try_from(limit).unwrap_or(i64::MAX)],
            keypair_row,
        )
    }

    fn insert_keypair(&self, k: &Keypair) -> Result<()> {
        self.run(
            "INSERT INTO keypairs (user_id, name, type, public_key, fingerprint, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            args![k.user_id, k.name, k.kind, k.public_key, k.fingerprint, k.created_ms],
        )?;
        Ok(())
    }

    fn delete_keypair(&self, user_id: &str, name: &str) -> Result<bool> {
        let n = self.run(
            "DELETE FROM keypairs WHERE user_id = $1 AND name = $2",
            args![user_id, name],
        )?;
        Ok(n > 0)
    }
}

fn group_row(r: &Row) -> Found<Group> {
    let rules: String = r.get("rules")?;
    Ok(Group {
        id: r.get("id")?,
        name: r.get("name")?,
        project_id: r.get("project_id")?,
        user_id: r.get("user_id")?,
        policy: r.get("policy")?,
        rules: serde_json::from_str(&rules).unwrap_or_default(),
    })
}

impl<D: Db + ?Sized> ServerGroupRepo for D {
    fn server_group(&self, id: &str) -> Result<Option<Group>> {
        self.one(
            "SELECT * FROM server_groups WHERE id = $1",
            args![id],
            group_row,
        )
    }

    fn server_groups(
        &self,
        all: bool,
        project_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Group>> {
        self.all(
            "SELECT * FROM server_groups WHERE $1 OR project_id = $2
             ORDER BY created_ms, rowid LIMIT $3 OFFSET $4",
            args![all, project_id, limit as i64, offset as i64],
            group_row,
        )
    }

    fn insert_server_group(&self, g: &Group, now_ms: i64) -> Result<()> {
        self.run(
            "INSERT INTO server_groups (id, name, project_id, user_id, policy, rules, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                g.id,
                g.name,
                g.project_id,
                g.user_id,
                g.policy,
                Value::Object(g.rules.clone()).to_string(),
                now_ms
            ],
        )?;
        Ok(())
    }

    fn delete_server_group(&self, id: &str) -> Result<()> {
        self.run(
            "DELETE FROM server_group_members WHERE group_id = $1",
            args![id],
        )?;
        self.run("DELETE FROM server_groups WHERE id = $1", args![id])?;
        Ok(())
    }

    fn server_group_members(&self, group_id: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT m.server_id FROM server_group_members m JOIN servers s ON s.id = m.server_id
             WHERE m.group_id = $1 AND s.deleted = 0 ORDER BY m.rowid",
            args![group_id],
            |r| r.get(0),
        )
    }

    fn count_user_members(&self, group_id: &str, user_id: &str, server_id: &str) -> Result<u64> {
        self.count(
            "SELECT count(*) FROM server_group_members m JOIN servers s ON s.id = m.server_id
             WHERE m.group_id = $1 AND s.user_id = $2 AND s.deleted = 0 AND m.server_id != $3",
            args![group_id, user_id, server_id],
        )
    }

    fn add_server_group_member(&self, group_id: &str, server_id: &str) -> Result<()> {
        self.run(
            "INSERT INTO server_group_members (group_id, server_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![group_id, server_id],
        )?;
        Ok(())
    }

    fn groups_of_server(&self, server_id: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT group_id FROM server_group_members WHERE server_id = $1 ORDER BY rowid",
            args![server_id],
            |r| r.get(0),
        )
    }
}

fn aggregate_row(r: &Row) -> Found<Aggregate> {
    let metadata: String = r.get("metadata")?;
    let hosts: String = r.get("hosts")?;
    Ok(Aggregate {
        id: r.get("id")?,
        uuid: r.get("uuid")?,
        name: r.get("name")?,
        metadata: serde_json::from_str(&metadata).unwrap_or_default(),
        hosts: serde_json::from_str(&hosts).unwrap_or_default(),
        created_ms: r.get("created_ms")?,
        updated_ms: r.get("updated_ms")?,
    })
}

impl<D: Db + ?Sized> AggregateRepo for D {
    fn aggregates(&self) -> Result<Vec<Aggregate>> {
        self.all(
            "SELECT * FROM aggregates ORDER BY id",
            args![],
            aggregate_row,
        )
    }

    fn aggregate(&self, id: i64) -> Result<Option<Aggregate>> {
        self.one(
            "SELECT * FROM aggregates WHERE id = $1",
            args![id],
            aggregate_row,
        )
    }

    fn aggregate_named(&self, name: &str, other_than: i64) -> Result<bool> {
        Ok(self.count(
            "SELECT count(*) FROM aggregates WHERE name = $1 AND id != $2",
            args![name, other_than],
        )? > 0)
    }

    fn insert_aggregate(&self, a: &Aggregate) -> Result<i64> {
        self.returning(
            "INSERT INTO aggregates (uuid, name, availability_zone, metadata, hosts, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![
                a.uuid,
                a.name,
                a.zone(),
                Value::Object(a.metadata.clone()).to_string(),
                json!(a.hosts).to_string(),
                a.created_ms,
                a.updated_ms
            ],
        )
    }

    fn update_aggregate(&self, a: &Aggregate) -> Result<()> {
        self.run(
            "UPDATE aggregates SET name = $2, availability_zone = $3, metadata = $4, hosts = $5, updated_ms = $6
             WHERE id = $1",
            args![
                a.id,
                a.name,
                a.zone(),
                Value::Object(a.metadata.clone()).to_string(),
                json!(a.hosts).to_string(),
                a.updated_ms
            ],
        )?;
        Ok(())
    }

    fn delete_aggregate(&self, id: i64) -> Result<()> {
        self.run("DELETE FROM aggregates WHERE id = $1", args![id])?;
        Ok(())
    }
}

fn migration_row(r: &Row) -> Found<Migration> {
    Ok(Migration {
        id: r.get("id")?,
        uuid: r.get("uuid")?,
        server_id: r.get("server_id")?,
        project_id: r.get("project_id")?,
        user_id: r.get("user_id")?,
        migration_type: r.get("migration_type")?,
        status: r.get("status")?,
        source_compute: r.get("source_compute")?,
        dest_compute: r.get("dest_compute")?,
        old_flavor: r.get("old_flavor")?,
        new_flavor: r.get("new_flavor")?,
        created_ms: r.get("created_ms")?,
        updated_ms: r.get("updated_ms")?,
    })
}

impl<D: Db + ?Sized> MigrationRepo for D {
    fn migrations(&self) -> Result<Vec<Migration>> {
        self.all(
            "SELECT m.*, (SELECT rowid FROM flavors WHERE id = m.old_flavor_id) AS old_flavor,
                    (SELECT rowid FROM flavors WHERE id = m.new_flavor_id) AS new_flavor
             FROM compute_migrations m ORDER BY m.id",
            args![],
            migration_row,
        )
    }

    fn record_resize(&self, r: &Resize) -> Result<()> {
        self.run(
            "INSERT INTO compute_migrations (uuid, server_id, project_id, user_id, migration_type, status, source_compute,
                dest_compute, old_flavor_id, new_flavor_id, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, 'resize', 'finished', $5, $5, $6, $7, $8, $8)",
            args![r.uuid, r.server_id, r.project_id, r.user_id, r.host, r.old_flavor_id, r.new_flavor_id, r.now_ms],
        )?;
        Ok(())
    }

    fn close_resize(&self, server_id: &str, status: &str, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE compute_migrations SET status = $2, updated_ms = $3 WHERE server_id = $1 AND status = 'finished'",
            args![server_id, status, now_ms],
        )?;
        Ok(())
    }
}

impl<D: Db + ?Sized> ServerVolumeRepo for D {
    fn volumes_attached(&self, server_ids: &[&str]) -> Result<Vec<(String, String, bool)>> {
        // One statement per page, its ids bound as a JSON array (no SQL built from ids).
        let ids = serde_json::to_string(server_ids).unwrap_or_default();
        self.all(
            &format!(
                "SELECT server_id, volume_id, delete_on_termination FROM volume_attachments
                 WHERE server_id IN ({}) ORDER BY created_ms, id",
                json_elements(self.dialect())
            ),
            args![ids],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    fn set_delete_on_termination(&self, attachment_id: &str, on: bool, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE volume_attachments SET delete_on_termination = $2, updated_ms = $3 WHERE id = $1",
            args![attachment_id, on, now_ms],
        )?;
        Ok(())
    }

    fn set_attachment_device(
        &self,
        attachment_id: &str,
        device: &str,
        host: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volume_attachments SET mountpoint = $2, host = $3, updated_ms = $4
             WHERE id = $1",
            args![attachment_id, device, host, now_ms],
        )?;
        Ok(())
    }

    fn reimage_volume(
        &self,
        volume_id: &str,
        image_metadata: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE volumes SET image_metadata = $2, updated_ms = $3 WHERE id = $1",
            args![
                volume_id,
                Value::Object(image_metadata.clone()).to_string(),
                now_ms
            ],
        )?;
        Ok(())
    }
}

impl<D: Db + ?Sized> ServerNetworkRepo for D {
    fn floating_ips_of_port(&self, port_id: &str) -> Result<Vec<Value>> {
        let bodies: Vec<String> = self.all(
            "SELECT body FROM net_objects WHERE kind = 'floatingip' AND (body ->> 'port_id') = $1",
            args![port_id],
            |r| r.get(0),
        )?;
        Ok(bodies
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect())
    }
}
