//! Cinder's quotas: limits per project (falling back to the `default` class, then to
//! Cinder's built-in defaults) and usage counted from the rows themselves, so a check made
//! in the creating transaction cannot be overshot by a concurrent create.

use std::collections::BTreeMap;

use jumpgate_plugin_api::prelude::*;
use rusqlite::{Connection, OptionalExtension};

use crate::store::Outcome;

/// Cinder's `quota_*` defaults, in the order its quota sets list them.
pub const DEFAULTS: [(&str, i64); 7] = [
    ("volumes", 10),
    ("snapshots", 10),
    ("gigabytes", 1000),
    ("backups", 10),
    ("backup_gigabytes", 1000),
    ("per_volume_gigabytes", -1),
    ("groups", 10),
];

/// The resources every volume type has a quota of (`volumes_<type>`, …), unlimited by default.
pub const PER_TYPE: [&str; 3] = ["volumes", "gigabytes", "snapshots"];

/// The row holding the `default` quota class.
const DEFAULT_CLASS: &str = "";

/// What a request would add to a project's usage.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub volumes: i64,
    pub gigabytes: i64,
    pub snapshots: i64,
    pub backups: i64,
    pub backup_gigabytes: i64,
}

/// Fails with Cinder's 413 if `want` would take `project_id` over a limit: its own,
/// and those of `volume_type` (a name or id) when given. Call it in the creating
/// transaction BEFORE inserting the row: usage is counted from the rows.
pub fn check(
    c: &Connection,
    project_id: &str,
    want: &Usage,
    volume_type: Option<&str>,
) -> Outcome<()> {
    let used = in_use(c, project_id)?;
    let mut deltas = vec![
        ("volumes".to_string(), want.volumes),
        ("snapshots".to_string(), want.snapshots),
        ("backups".to_string(), want.backups),
        ("gigabytes".to_string(), want.gigabytes),
        ("backup_gigabytes".to_string(), want.backup_gigabytes),
    ];
    if let Some(t) = volume_type {
        let name: Option<String> = c
            .query_row(
                "SELECT name FROM volume_types WHERE id = ?1 OR name = ?1",
                [t],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(name) = name {
            deltas.push((format!("volumes_{name}"), want.volumes));
            deltas.push((format!("gigabytes_{name}"), want.gigabytes));
            deltas.push((format!("snapshots_{name}"), want.snapshots));
        }
    }
    for (resource, delta) in deltas {
        if delta <= 0 {
            continue;
        }
        let quota = limit(c, project_id, &resource)?;
        let consumed = used.get(&resource).copied().unwrap_or(0);
        if quota >= 0 && consumed + delta > quota {
            return Err(over_quota(&resource, delta, quota, consumed).into());
        }
    }
    Ok(())
}

/// Fails with Cinder's 413 when one volume of `size` GiB exceeds `per_volume_gigabytes`
/// (volume create and extend check it, with the new size).
pub fn check_size(c: &Connection, project_id: &str, size: i64) -> Outcome<()> {
    let quota = limit(c, project_id, "per_volume_gigabytes")?;
    if quota >= 0 && size > quota {
        return Err(quota_error(format!(
            "Requested volume size {size}G is larger than maximum allowed limit {quota}G."
        ))
        .into());
    }
    Ok(())
}

/// Cinder's QuotaError: 413 `overLimit`, retry at once.
fn quota_error(message: String) -> Fault {
    Fault::too_large(message)
        .kind("overLimit")
        .header("Retry-After", "0")
}

/// The exception `process_reserve_over_quota` raises for the first resource over.
fn over_quota(resource: &str, requested: i64, quota: i64, consumed: i64) -> Fault {
    quota_error(if resource == "backup_gigabytes" {
        format!(
            "Requested backup exceeds allowed Backup gigabytes quota. Requested {requested}G, \
             quota is {quota}G and {consumed}G has been consumed."
        )
    } else if resource.contains("gigabytes") {
        format!(
            "Requested volume or snapshot exceeds allowed {resource} quota. Requested \
             {requested}G, quota is {quota}G and {consumed}G has been consumed."
        )
    } else if resource.starts_with("volumes") {
        format!("Maximum number of volumes allowed ({quota}) exceeded for quota '{resource}'.")
    } else if resource.starts_with("snapshots") {
        format!("Maximum number of snapshots allowed ({quota}) exceeded")
    } else if resource == "backups" {
        format!("Maximum number of backups allowed ({quota}) exceeded")
    } else {
        format!("Maximum number of groups allowed ({quota}) exceeded")
    })
}

/// Every quota resource: Cinder's fixed ones, then three per volume type.
pub fn resources(c: &Connection) -> Outcome<Vec<String>> {
    let mut all: Vec<String> = DEFAULTS.iter().map(|(r, _)| r.to_string()).collect();
    let mut stmt = c.prepare_cached("SELECT name FROM volume_types ORDER BY name")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for name in names {
        all.extend(PER_TYPE.iter().map(|r| format!("{r}_{name}")));
    }
    Ok(all)
}

/// The built-in default of `resource` (per-type quotas are unlimited).
fn builtin(resource: &str) -> i64 {
    DEFAULTS
        .iter()
        .find(|(r, _)| *r == resource)
        .map_or(-1, |(_, v)| *v)
}

/// The limit of one resource for `project_id`: its own, else the default class's, else
/// Cinder's built-in default. `project_id` "" reads the defaults.
pub fn limit(c: &Connection, project_id: &str, resource: &str) -> Outcome<i64> {
    let mut stmt = c.prepare_cached(
        "SELECT hard_limit FROM volume_quotas WHERE resource = ?2 AND project_id IN (?1, '')
         ORDER BY project_id = '' LIMIT 1",
    )?;
    let found: Option<i64> = stmt
        .query_row([project_id, resource], |r| r.get(0))
        .optional()?;
    Ok(found.unwrap_or_else(|| builtin(resource)))
}

/// Every resource's limit for `project_id` ("" for the defaults).
pub fn limits(c: &Connection, project_id: &str) -> Outcome<BTreeMap<String, i64>> {
    resources(c)?
        .into_iter()
        .map(|r| Ok((r.clone(), limit(c, project_id, &r)?)))
        .collect()
}

/// What `project_id` uses of every resource, counted from its rows. Snapshots count
/// toward `gigabytes` as in Cinder (`no_snapshot_gb_quota` false).
pub fn in_use(c: &Connection, project_id: &str) -> Outcome<BTreeMap<String, i64>> {
    let mut used = BTreeMap::new();
    let pair = |sql: &str| -> rusqlite::Result<(i64, i64)> {
        c.prepare_cached(sql)?
            .query_row([project_id], |r| Ok((r.get(0)?, r.get(1)?)))
    };
    let (volumes, volume_gb) =
        pair("SELECT count(*), coalesce(sum(size), 0) FROM volumes WHERE project_id = ?1")?;
    let (snapshots, snapshot_gb) = pair(
        "SELECT count(*), coalesce(sum(size), 0) FROM volume_snapshots WHERE project_id = ?1",
    )?;
    let (backups, backup_gb) =
        pair("SELECT count(*), coalesce(sum(size), 0) FROM volume_backups WHERE project_id = ?1")?;
    used.insert("volumes".to_string(), volumes);
    used.insert("gigabytes".to_string(), volume_gb + snapshot_gb);
    used.insert("snapshots".to_string(), snapshots);
    used.insert("backups".to_string(), backups);
    used.insert("backup_gigabytes".to_string(), backup_gb);
    used.insert("per_volume_gigabytes".to_string(), 0);
    used.insert("groups".to_string(), 0);
    let mut per_type = |sql: &str, counted: &str| -> Outcome<()> {
        let mut stmt = c.prepare_cached(sql)?;
        let rows = stmt
            .query_map([project_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (name, count, gb) in rows {
            *used.entry(format!("{counted}_{name}")).or_insert(0) += count;
            *used.entry(format!("gigabytes_{name}")).or_insert(0) += gb;
        }
        Ok(())
    };
    per_type(
        "SELECT t.name, count(*), coalesce(sum(v.size), 0) FROM volumes v
         JOIN volume_types t ON t.id = v.volume_type_id WHERE v.project_id = ?1 GROUP BY t.name",
        "volumes",
    )?;
    per_type(
        "SELECT t.name, count(*), coalesce(sum(s.size), 0) FROM volume_snapshots s
         JOIN volumes v ON v.id = s.volume_id JOIN volume_types t ON t.id = v.volume_type_id
         WHERE s.project_id = ?1 GROUP BY t.name",
        "snapshots",
    )?;
    Ok(used)
}
