//! Servers in SQL: JSON attributes as text; a move's second state in `next_*` until
//! `ready_at`; instance actions and their events; server-group memberships.

use crate::store::db::{args, json_set, Arg, Db, Dialect, Found, Owned, Row};
use serde_json::{Map, Value};

use crate::compute::servers::model::{
    ActionEvent, ActionRecord, ConsoleToken, InstanceAction, Move, Server,
};
use crate::compute::servers::repo::{Result, ServerQuery, ServerRepo, SortKey};

/// The columns `row` reads, in its order.
const COLUMNS: &str = "id, project_id, user_id, name, hostname, vm_state, task_state, power_state, image_id, flavor, old_flavor, key_name, key_data, metadata, tags, addresses, access_ipv4, access_ipv6, description, availability_zone, pinned_availability_zone, user_data, admin_pass, reservation_id, launch_index, config_drive, disk_config, locked, locked_reason, locked_by, fault, trusted_image_certificates, extra, created_ms, updated_ms, launched_ms, terminated_ms";

fn json_col(r: &Row, i: usize) -> Found<Value> {
    let s: String = r.get(i)?;
    Ok(serde_json::from_str(&s).unwrap_or(Value::Null))
}

fn opt_json_col(r: &Row, i: usize) -> Found<Option<Value>> {
    let s: Option<String> = r.get(i)?;
    Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
}

/// A server from a row of `SELECT {COLUMNS}`, by position: looking columns up by name
/// cost more than the rest of a listing.
fn row(r: &Row) -> Found<Server> {
    Ok(Server {
        id: r.get(0)?,
        project_id: r.get(1)?,
        user_id: r.get(2)?,
        name: r.get(3)?,
        hostname: r.get(4)?,
        vm_state: r.get(5)?,
        task_state: r.get(6)?,
        power_state: r.get(7)?,
        image_id: r.get(8)?,
        flavor: json_col(r, 9)?,
        old_flavor: opt_json_col(r, 10)?,
        key_name: r.get(11)?,
        key_data: r.get(12)?,
        metadata: match json_col(r, 13)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        tags: serde_json::from_value(json_col(r, 14)?).unwrap_or_default(),
        addresses: json_col(r, 15)?,
        access_ipv4: r.get(16)?,
        access_ipv6: r.get(17)?,
        description: r.get(18)?,
        availability_zone: r.get(19)?,
        pinned_availability_zone: r.get(20)?,
        user_data: r.get(21)?,
        admin_pass: r.get(22)?,
        reservation_id: r.get(23)?,
        launch_index: r.get(24)?,
        config_drive: r.get(25)?,
        disk_config: r.get(26)?,
        locked: r.get(27)?,
        locked_reason: r.get(28)?,
        locked_by: r.get(29)?,
        fault: opt_json_col(r, 30)?,
        trusted_image_certificates: opt_json_col(r, 31)?,
        extra: match json_col(r, 32)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        created_ms: r.get(33)?,
        updated_ms: r.get(34)?,
        launched_ms: r.get(35)?,
        terminated_ms: r.get(36)?,
    })
}

/// The column (or expression) behind a sort key.
fn sort_column(key: SortKey) -> &'static str {
    use SortKey::*;
    match key {
        CreatedAt => "created_ms",
        UpdatedAt => "updated_ms",
        LaunchedAt => "launched_ms",
        TerminatedAt => "terminated_ms",
        DisplayName => "name",
        Hostname => "hostname",
        Id => "id",
        VmState => "vm_state",
        TaskState => "task_state",
        PowerState => "power_state",
        ProjectId => "project_id",
        UserId => "user_id",
        ImageRef => "image_id",
        KeyName => "key_name",
        Locked => "locked",
        LaunchIndex => "launch_index",
        AccessIpV4 => "access_ipv4",
        AccessIpV6 => "access_ipv6",
        AvailabilityZone => "availability_zone",
        InstanceTypeId => "(flavor ->> 'id')",
        DisplayDescription => "description",
        ConfigDrive => "config_drive",
    }
}

/// A listing's statement and its arguments, numbered in the order they are added.
fn listing(q: &ServerQuery) -> (String, Vec<Owned>) {
    let mut sql = format!("SELECT {COLUMNS} FROM servers WHERE true");
    let mut args: Vec<Owned> = Vec::new();
    let mut arg = |sql: &mut String, clause: &str, v: Owned| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(p) = &q.project_id {
        arg(&mut sql, " AND project_id = ?", p.clone().into());
    }
    match q.deleted {
        Some(true) => sql.push_str(" AND deleted = 1"),
        Some(false) => sql.push_str(" AND deleted = 0"),
        None => {}
    }
    if let Some(t) = q.changed_since {
        arg(&mut sql, " AND updated_ms >= ?", t.into());
    }
    if let Some(t) = q.changed_before {
        arg(&mut sql, " AND updated_ms <= ?", t.into());
    }
    if let Some(states) = &q.vm_states {
        let list: Vec<String> = states.iter().map(|s| format!("'{s}'")).collect();
        if list.is_empty() {
            // No state matches (PostgreSQL has no empty `IN ()`).
            sql.push_str(" AND false");
        } else {
            sql.push_str(&format!(" AND vm_state IN ({})", list.join(",")));
        }
    }
    if let Some(image) = &q.image_id {
        arg(&mut sql, " AND image_id = ?", image.clone().into());
    }
    if let Some(flavor) = &q.flavor_id {
        arg(
            &mut sql,
            " AND (flavor ->> 'id') = ?",
            flavor.clone().into(),
        );
    }
    for (col, v) in [
        ("reservation_id", &q.reservation_id),
        ("key_name", &q.key_name),
        ("availability_zone", &q.availability_zone),
        ("user_id", &q.user_id),
    ] {
        if let Some(v) = v {
            arg(&mut sql, &format!(" AND {col} = ?"), v.clone().into());
        }
    }
    if q.on_host {
        sql.push_str(" AND vm_state != 'shelved_offloaded'");
    }
    if let Some(on) = q.locked {
        arg(&mut sql, " AND locked = ?", on.into());
    }
    if let Some((created_ms, id)) = &q.after {
        let n = args.len();
        sql.push_str(&format!(
            " AND (created_ms < ${} OR (created_ms = ${} AND id < ${}))",
            n + 1,
            n + 1,
            n + 2
        ));
        args.push((*created_ms).into());
        args.push(id.clone().into());
    }
    // NULLs sort first ascending, as SQLite sorts them (PostgreSQL would put them last).
    let mut order: Vec<String> = q
        .sort
        .iter()
        .map(|&(key, asc)| {
            let dir = if asc {
                "ASC NULLS FIRST"
            } else {
                "DESC NULLS LAST"
            };
            format!("{} {dir}", sort_column(key))
        })
        .collect();
    if order.is_empty() {
        order.push("created_ms DESC".into());
    }
    let tie = if q.sort.first().is_none_or(|&(_, asc)| !asc) {
        "id DESC"
    } else {
        "id ASC"
    };
    sql.push_str(&format!(" ORDER BY {}, {tie}", order.join(", ")));
    if let Some(limit) = q.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    (sql, args)
}

fn action_row(r: &Row) -> Found<InstanceAction> {
    Ok(InstanceAction {
        id: r.get("id")?,
        action: r.get("action")?,
        request_id: r.get("request_id")?,
        user_id: r.get("user_id")?,
        project_id: r.get("project_id")?,
        start_ms: r.get("start_ms")?,
        updated_ms: r.get("updated_ms")?,
        message: r.get("message")?,
    })
}

fn text(v: &Value) -> String {
    v.to_string()
}

impl<D: Db + ?Sized> ServerRepo for D {
    fn insert_server(&self, s: &Server) -> Result<()> {
        self.run(
            "INSERT INTO servers (id, project_id, user_id, name, hostname, vm_state, task_state, power_state, image_id, flavor,
                key_name, key_data, metadata, tags, addresses, access_ipv4, access_ipv6, description, availability_zone,
                pinned_availability_zone, user_data, admin_pass, reservation_id, launch_index, config_drive, disk_config,
                trusted_image_certificates, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
                $23, $24, $25, $26, $27, $28, $29)",
            args![
                s.id, s.project_id, s.user_id, s.name, s.hostname, s.vm_state, s.task_state, s.power_state, s.image_id,
                text(&s.flavor), s.key_name, s.key_data, Value::Object(s.metadata.clone()).to_string(),
                serde_json::to_string(&s.tags).unwrap_or_default(), text(&s.addresses), s.access_ipv4, s.access_ipv6,
                s.description, s.availability_zone, s.pinned_availability_zone, s.user_data, s.admin_pass,
                s.reservation_id, s.launch_index, s.config_drive, s.disk_config,
                s.trusted_image_certificates.as_ref().map(text), s.created_ms, s.updated_ms
            ],
        )?;
        Ok(())
    }

    fn update_server(&self, s: &Server, now_ms: i64) -> Result<()> {
        // The security groups in `extra` are networking's: kept as stored.
        let extra = match self.dialect() {
            Dialect::Sqlite => {
                "json_set($21, '$.security_groups', json_extract(extra, '$.security_groups'))"
            }
            Dialect::Postgres => {
                "jsonb_set(CAST($21 AS jsonb), '{security_groups}', coalesce(extra -> 'security_groups', 'null'))"
            }
        };
        self.run(
            &format!("UPDATE servers SET name = $2, hostname = $3, image_id = $4, flavor = $5, old_flavor = $6, key_name = $7,
                key_data = $8, metadata = $9, tags = $10, access_ipv4 = $11, access_ipv6 = $12, description = $13,
                user_data = $14, admin_pass = $15, locked = $16, locked_reason = $17, locked_by = $18, fault = $19,
                trusted_image_certificates = $20, updated_ms = $22, disk_config = $23,
                extra = {extra}
             WHERE id = $1"),
            args![
                s.id, s.name, s.hostname, s.image_id, text(&s.flavor), s.old_flavor.as_ref().map(text), s.key_name,
                s.key_data, Value::Object(s.metadata.clone()).to_string(),
                serde_json::to_string(&s.tags).unwrap_or_default(), s.access_ipv4, s.access_ipv6, s.description,
                s.user_data, s.admin_pass, s.locked, s.locked_reason, s.locked_by, s.fault.as_ref().map(text),
                s.trusted_image_certificates.as_ref().map(text), Value::Object(s.extra.clone()).to_string(), now_ms,
                s.disk_config
            ],
        )?;
        Ok(())
    }

    fn server(&self, id: &str) -> Result<Option<Server>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM servers WHERE id = $1 AND deleted = 0"),
            args![id],
            row,
        )
    }

    fn server_owner(&self, id: &str) -> Result<Option<(String, bool)>> {
        self.one(
            "SELECT project_id, deleted FROM servers WHERE id = $1",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn server_created_ms(&self, id: &str) -> Result<Option<i64>> {
        self.one(
            "SELECT created_ms FROM servers WHERE id = $1",
            args![id],
            |r| r.get(0),
        )
    }

    fn servers(&self, q: &ServerQuery) -> Result<Vec<Server>> {
        let (sql, args) = listing(q);
        let args: Vec<&dyn Arg> = args.iter().map(|a| a as &dyn Arg).collect();
        self.all(&sql, &args, row)
    }

    fn set_ports_made(&self, id: &str, made: &[String]) -> Result<()> {
        self.run(
            &format!(
                "UPDATE servers SET extra = {} WHERE id = $1",
                json_set(self.dialect(), "extra", "ports_made", "$2")
            ),
            args![id, serde_json::json!(made).to_string()],
        )?;
        Ok(())
    }

    fn set_server_networking(
        &self,
        id: &str,
        addresses: &Map<String, Value>,
        security_groups: &[String],
    ) -> Result<()> {
        self.run(
            &format!(
                "UPDATE servers SET addresses = $2, extra = {} WHERE id = $1",
                json_set(self.dialect(), "extra", "security_groups", "$3")
            ),
            args![
                id,
                Value::Object(addresses.clone()).to_string(),
                serde_json::json!(security_groups).to_string()
            ],
        )?;
        Ok(())
    }

    fn set_server_extra(&self, id: &str, extra: &Map<String, Value>) -> Result<()> {
        self.run(
            "UPDATE servers SET extra = $2 WHERE id = $1",
            args![id, Value::Object(extra.clone()).to_string()],
        )?;
        Ok(())
    }

    fn begin_move(&self, id: &str, m: &Move, ready_ms: i64, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE servers SET vm_state = $2, task_state = $3, power_state = $4, next_vm_state = $5,
                next_task_state = NULL, next_power_state = $6, ready_at = $7, updated_ms = $8
             WHERE id = $1",
            args![
                id,
                m.vm_state,
                m.task_state,
                m.power_state,
                m.then_vm_state,
                m.then_power_state,
                ready_ms,
                now_ms
            ],
        )?;
        Ok(())
    }

    fn set_server_state(
        &self,
        id: &str,
        vm_state: &str,
        power_state: i64,
        now_ms: i64,
    ) -> Result<()> {
        self.run(
            "UPDATE servers SET vm_state = $2, task_state = NULL, power_state = $3, next_vm_state = NULL,
                next_task_state = NULL, next_power_state = NULL, ready_at = NULL, updated_ms = $4
             WHERE id = $1",
            args![id, vm_state, power_state, now_ms],
        )?;
        Ok(())
    }

    fn mark_server_deleted(&self, id: &str, now_ms: i64) -> Result<()> {
        self.run(
            "UPDATE servers SET deleted = 1, vm_state = 'deleted', task_state = NULL, power_state = 0,
                next_vm_state = NULL, next_task_state = NULL, next_power_state = NULL, ready_at = NULL,
                addresses = '{}', terminated_ms = $2, updated_ms = $2
             WHERE id = $1",
            args![id, now_ms],
        )?;
        Ok(())
    }

    fn leave_server_groups(&self, server_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM server_group_members WHERE server_id = $1",
            args![server_id],
        )?;
        Ok(())
    }

    fn record_action(&self, a: &ActionRecord) -> Result<()> {
        let action_id = self.returning(
            "INSERT INTO instance_actions (server_id, action, request_id, user_id, project_id, start_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            args![a.server_id, a.action, a.request_id, a.user_id, a.project_id, a.now_ms],
        )?;
        self.run(
            "INSERT INTO instance_action_events (action_id, event, start_ms, due_ms, host) VALUES ($1, $2, $3, $4, $5)",
            args![action_id, a.event, a.now_ms, a.due_ms, a.host],
        )?;
        Ok(())
    }

    fn instance_actions(&self, server_id: &str) -> Result<Vec<InstanceAction>> {
        self.all(
            "SELECT * FROM instance_actions WHERE server_id = $1 ORDER BY start_ms DESC, id DESC",
            args![server_id],
            action_row,
        )
    }

    fn instance_action(&self, server_id: &str, request_id: &str) -> Result<Option<InstanceAction>> {
        self.one(
            "SELECT * FROM instance_actions WHERE server_id = $1 AND request_id = $2",
            args![server_id, request_id],
            action_row,
        )
    }

    fn action_events(&self, action_id: i64) -> Result<Vec<ActionEvent>> {
        self.all(
            "SELECT * FROM instance_action_events WHERE action_id = $1 ORDER BY start_ms",
            args![action_id],
            |r| {
                Ok(ActionEvent {
                    event: r.get("event")?,
                    start_ms: r.get("start_ms")?,
                    finish_ms: r.get("finish_ms")?,
                    result: r.get("result")?,
                    host: r.get("host")?,
                })
            },
        )
    }

    fn insert_console_token(&self, t: &ConsoleToken, now_ms: i64) -> Result<()> {
        self.run(
            "DELETE FROM console_auth_tokens WHERE expires_ms <= $1",
            args![now_ms],
        )?;
        self.run(
            "INSERT INTO console_auth_tokens (token_hash, server_id, console_type, host, port, expires_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![t.token_hash, t.server_id, t.console_type, t.host, t.port, t.expires_ms],
        )?;
        Ok(())
    }

    fn console_token(&self, token_hash: &str, now_ms: i64) -> Result<Option<ConsoleToken>> {
        self.one(
            "SELECT token_hash, server_id, console_type, host, port, expires_ms
             FROM console_auth_tokens WHERE token_hash = $1 AND expires_ms > $2",
            args![token_hash, now_ms],
            |r| {
                Ok(ConsoleToken {
                    token_hash: r.get(0)?,
                    server_id: r.get(1)?,
                    console_type: r.get(2)?,
                    host: r.get(3)?,
                    port: r.get(4)?,
                    expires_ms: r.get(5)?,
                })
            },
        )
    }
}
