//! Network documents in `net_objects`: one JSON body per resource, with the attributes
//! lists filter on most copied into indexed columns.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use super::{now, Ctx, Result};

/// A new document's common attributes: id, project (and its old name tenant_id), name,
/// description, tags, times and revision, from the request body where it gives them.
pub fn common(
    ctx: &Ctx,
    input: &Map<String, Value>,
) -> std::result::Result<Map<String, Value>, jumpgate_plugin_api::Fault> {
    let project = match input.get("project_id").or_else(|| input.get("tenant_id")) {
        Some(Value::String(p)) if p != &ctx.project_id => {
            if !ctx.admin {
                return Err(super::denied("create:project_id"));
            }
            p.clone()
        }
        _ => ctx.project_id.clone(),
    };
    let mut doc = Map::new();
    doc.insert("id".into(), json!(super::new_id()));
    doc.insert("project_id".into(), json!(project));
    doc.insert("tenant_id".into(), json!(project));
    doc.insert(
        "name".into(),
        json!(input.get("name").and_then(Value::as_str).unwrap_or("")),
    );
    doc.insert(
        "description".into(),
        json!(input
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")),
    );
    doc.insert("tags".into(), json!([]));
    let t = now();
    doc.insert("created_at".into(), json!(t));
    doc.insert("updated_at".into(), json!(t));
    doc.insert("revision_number".into(), json!(0));
    Ok(doc)
}

fn text(doc: &Value, key: &str) -> Option<String> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Kinds whose documents a server's copy of its networking is made from.
fn shown_on_servers(kind: &str) -> bool {
    matches!(kind, "port" | "floatingip" | "network")
}

/// Refreshes the servers a document shows on (see compute's `servers::networking`).
fn touch(c: &Connection, kind: &str, doc: &Value) -> Result<()> {
    use crate::compute::servers::networking;
    for server in networking::devices_of(c, kind, doc)? {
        networking::refresh(c, &server)?;
    }
    Ok(())
}

pub fn insert(c: &Connection, kind: &str, doc: &Value) -> Result<()> {
    insert_row(c, kind, doc)?;
    if shown_on_servers(kind) {
        touch(c, kind, doc)?;
    }
    Ok(())
}

fn insert_row(c: &Connection, kind: &str, doc: &Value) -> Result<()> {
    c.execute(
        "INSERT INTO net_objects (kind, id, project_id, network_id, device_id, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            kind,
            text(doc, "id"),
            text(doc, "project_id").unwrap_or_default(),
            text(doc, "network_id"),
            text(doc, "device_id"),
            doc.to_string(),
            crate::time::now_ms()
        ],
    )?;
    Ok(())
}

/// Writes a changed document back, a revision later.
pub fn save(c: &Connection, kind: &str, doc: &mut Value) -> Result<()> {
    let before = if shown_on_servers(kind) {
        fetch(c, kind, doc["id"].as_str().unwrap_or_default())?
    } else {
        None
    };
    let rev = doc["revision_number"].as_i64().unwrap_or(0) + 1;
    doc["revision_number"] = json!(rev);
    doc["updated_at"] = json!(now());
    c.execute(
        "UPDATE net_objects SET project_id = ?3, network_id = ?4, device_id = ?5, body = ?6 WHERE kind = ?1 AND id = ?2",
        params![
            kind,
            text(doc, "id"),
            text(doc, "project_id").unwrap_or_default(),
            text(doc, "network_id"),
            text(doc, "device_id"),
            doc.to_string()
        ],
    )?;
    if let Some(before) = before {
        touch(c, kind, &before)?;
        touch(c, kind, doc)?;
    }
    Ok(())
}

pub fn remove(c: &Connection, kind: &str, id: &str) -> Result<()> {
    let before = if shown_on_servers(kind) {
        fetch(c, kind, id)?
    } else {
        None
    };
    c.execute(
        "DELETE FROM net_objects WHERE kind = ?1 AND id = ?2",
        params![kind, id],
    )?;
    if let Some(before) = before {
        touch(c, kind, &before)?;
    }
    Ok(())
}

pub fn fetch(c: &Connection, kind: &str, id: &str) -> Result<Option<Value>> {
    let body: Option<String> = c
        .query_row(
            "SELECT body FROM net_objects WHERE kind = ?1 AND id = ?2",
            params![kind, id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// Which rows a listing reads: all of a kind, or only those with one indexed value.
pub enum Scope<'a> {
    All,
    Project(&'a str),
    Network(&'a str),
    Device(&'a str),
}

/// Documents of a kind, oldest first.
pub fn all(c: &Connection, kind: &str, scope: Scope) -> Result<Vec<Value>> {
    let (sql, arg) = match scope {
        Scope::All => ("SELECT body FROM net_objects WHERE kind = ?1 ORDER BY created_ms, id", None),
        Scope::Project(p) => ("SELECT body FROM net_objects WHERE kind = ?1 AND project_id = ?2 ORDER BY created_ms, id", Some(p)),
        Scope::Network(n) => ("SELECT body FROM net_objects WHERE kind = ?1 AND network_id = ?2 ORDER BY created_ms, id", Some(n)),
        Scope::Device(d) => ("SELECT body FROM net_objects WHERE kind = ?1 AND device_id = ?2 ORDER BY created_ms, id", Some(d)),
    };
    let mut st = c.prepare_cached(sql)?;
    let rows = match arg {
        None => st
            .query_map([kind], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        Some(a) => st
            .query_map([kind, a], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    Ok(rows
        .iter()
        .filter_map(|b| serde_json::from_str(b).ok())
        .collect())
}

/// How many documents of a kind a project has (quota).
pub fn count(c: &Connection, kind: &str, project_id: &str) -> Result<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM net_objects WHERE kind = ?1 AND project_id = ?2",
        params![kind, project_id],
        |r| r.get(0),
    )?)
}
