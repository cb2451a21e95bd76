//! Compute quotas: per-project hard limits (admins may set them per project or per user),
//! defaults as Nova's, usage counted from the store, checked inside the transaction that
//! would exceed them.

mod routes;

use rusqlite::{params, Connection, OptionalExtension};

use super::Result;
use jumpgate_plugin_api::Fault;

pub use routes::setup;

/// Nova's quota resources and their defaults (`nova/conf/quota.py`); -1 is unlimited.
pub const DEFAULTS: &[(&str, i64)] = &[
    ("instances", 10),
    ("cores", 20),
    ("ram", 51200),
    ("metadata_items", 128),
    ("key_pairs", 100),
    ("server_groups", 10),
    ("server_group_members", 10),
    ("injected_files", 5),
    ("injected_file_content_bytes", 10240),
    ("injected_file_path_bytes", 255),
];

/// The default limit of `resource`: an admin's `PUT os-quota-class-sets/default` value,
/// else Nova's.
pub fn default_limit(c: &Connection, resource: &str) -> Result<i64> {
    let set: Option<i64> = c
        .query_row(
            "SELECT hard_limit FROM compute_quota_defaults WHERE resource = ?1",
            [resource],
            |r| r.get(0),
        )
        .optional()?;
    Ok(set.unwrap_or_else(|| {
        DEFAULTS
            .iter()
            .find(|(r, _)| *r == resource)
            .map(|(_, v)| *v)
            .unwrap_or(-1)
    }))
}

/// The limit that applies to `user_id` in `project_id`: the user's own, else the
/// project's, else the default.
pub fn limit(c: &Connection, project_id: &str, user_id: &str, resource: &str) -> Result<i64> {
    let set: Option<i64> = c
        .query_row(
            "SELECT hard_limit FROM compute_quotas
             WHERE project_id = ?1 AND resource = ?3 AND (user_id = ?2 OR user_id = '')
             ORDER BY user_id DESC LIMIT 1",
            params![project_id, user_id, resource],
            |r| r.get(0),
        )
        .optional()?;
    match set {
        Some(v) => Ok(v),
        None => default_limit(c, resource),
    }
}

/// What `project_id` uses of `resource` now (servers, their cores and RAM, the user's
/// keypairs, the project's server groups).
pub fn usage(c: &Connection, project_id: &str, user_id: &str, resource: &str) -> Result<i64> {
    let n = match resource {
        "instances" => c.query_row(
            "SELECT count(*) FROM servers WHERE project_id = ?1 AND deleted = 0",
            [project_id],
            |r| r.get(0),
        )?,
        "cores" => c.query_row(
            "SELECT ifnull(sum(json_extract(flavor, '$.vcpus')), 0) FROM servers WHERE project_id = ?1 AND deleted = 0",
            [project_id],
            |r| r.get(0),
        )?,
        "ram" => c.query_row(
            "SELECT ifnull(sum(json_extract(flavor, '$.ram')), 0) FROM servers WHERE project_id = ?1 AND deleted = 0",
            [project_id],
            |r| r.get(0),
        )?,
        "key_pairs" => c.query_row(
            "SELECT count(*) FROM keypairs WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?,
        "server_groups" => c.query_row(
            "SELECT count(*) FROM server_groups WHERE project_id = ?1",
            [project_id],
            |r| r.get(0),
        )?,
        _ => 0,
    };
    Ok(n)
}

/// Checks that adding `deltas` keeps the project within its limits, else Nova's 403
/// ("Quota exceeded for cores: Requested 4, but already used 18 of 20 cores").
pub fn enforce(
    c: &Connection,
    project_id: &str,
    user_id: &str,
    deltas: &[(&str, i64)],
) -> Result<()> {
    for &(resource, delta) in deltas {
        if delta <= 0 {
            continue;
        }
        let limit = limit(c, project_id, user_id, resource)?;
        if limit < 0 {
            continue;
        }
        let used = usage(c, project_id, user_id, resource)?;
        if used + delta > limit {
            return Err(exceeded(resource, delta, used, limit).into());
        }
    }
    Ok(())
}

/// Nova's over-quota fault for `resource`.
pub fn exceeded(resource: &str, requested: i64, used: i64, limit: i64) -> Fault {
    let message = match resource {
        "key_pairs" => "Quota exceeded, too many key pairs.".to_string(),
        "server_groups" => "Quota exceeded, too many server groups.".to_string(),
        "server_group_members" => "Quota exceeded, too many servers in group".to_string(),
        "metadata_items" => format!("Quota exceeded for metadata_items: Requested {requested}, but already used {used} of {limit} metadata_items"),
        _ => format!("Quota exceeded for {resource}: Requested {requested}, but already used {used} of {limit} {resource}"),
    };
    Fault::forbidden(message)
}
