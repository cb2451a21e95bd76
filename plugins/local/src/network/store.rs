//! Network documents: one JSON body per resource (`repo` keeps them), with what every
//! kind's change does alike: common attributes, revisions, and refreshing the servers a
//! port, floating IP or network shows on.

use serde_json::{json, Map, Value};

pub use super::repo::Scope;
use super::{now, Ctx, Result};
use crate::store::Tx;

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

/// Kinds whose documents a server's copy of its networking is made from.
fn shown_on_servers(kind: &str) -> bool {
    matches!(kind, "port" | "floatingip" | "network")
}

/// Refreshes the servers a document shows on (see compute's `servers::networking`).
fn touch(c: &dyn Tx, kind: &str, doc: &Value) -> Result<()> {
    use crate::compute::servers::networking;
    for server in networking::devices_of(c, kind, doc)? {
        networking::refresh(c, &server)?;
    }
    Ok(())
}

pub fn insert(c: &dyn Tx, kind: &str, doc: &Value) -> Result<()> {
    insert_row(c, kind, doc)?;
    if shown_on_servers(kind) {
        touch(c, kind, doc)?;
    }
    Ok(())
}

fn insert_row(c: &dyn Tx, kind: &str, doc: &Value) -> Result<()> {
    Ok(c.insert_doc(kind, doc, crate::time::now_ms())?)
}

/// Writes a changed document back, a revision later.
pub fn save(c: &dyn Tx, kind: &str, doc: &mut Value) -> Result<()> {
    let before = if shown_on_servers(kind) {
        fetch(c, kind, doc["id"].as_str().unwrap_or_default())?
    } else {
        None
    };
    let rev = doc["revision_number"].as_i64().unwrap_or(0) + 1;
    doc["revision_number"] = json!(rev);
    doc["updated_at"] = json!(now());
    c.update_doc(kind, doc)?;
    if let Some(before) = before {
        touch(c, kind, &before)?;
        touch(c, kind, doc)?;
    }
    Ok(())
}

pub fn remove(c: &dyn Tx, kind: &str, id: &str) -> Result<()> {
    let before = if shown_on_servers(kind) {
        fetch(c, kind, id)?
    } else {
        None
    };
    c.delete_doc(kind, id)?;
    if let Some(before) = before {
        touch(c, kind, &before)?;
    }
    Ok(())
}

pub fn fetch(c: &dyn Tx, kind: &str, id: &str) -> Result<Option<Value>> {
    Ok(c.doc(kind, id)?)
}

/// Documents of a kind, oldest first.
pub fn all(c: &dyn Tx, kind: &str, scope: Scope) -> Result<Vec<Value>> {
    Ok(c.docs(kind, scope)?)
}

/// How many documents of a kind a project has (quota).
pub fn count(c: &dyn Tx, kind: &str, project_id: &str) -> Result<i64> {
    Ok(i64::try_from(c.count_docs(kind, project_id)?).unwrap_or(i64::MAX))
}
