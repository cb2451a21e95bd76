//! Volume types: the store's rows, how a request's `volume_type` (name or id) resolves
//! for a project (private types only where granted), and the types API.

use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::{Map, Value};

use super::DEFAULT_TYPE;
use crate::store::Outcome;
use jumpgate_plugin_api::Fault;

#[derive(Debug, Clone)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub extra_specs: Map<String, Value>,
    pub created_ms: i64,
}

const COLUMNS: &str = "id, name, description, is_public, extra_specs, created_ms";

fn row(r: &Row) -> rusqlite::Result<VolumeType> {
    Ok(VolumeType {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        is_public: r.get(3)?,
        extra_specs: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
        created_ms: r.get(5)?,
    })
}

/// Cinder's 404 for a type looked up by id.
pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Volume type {id} could not be found."))
}

/// Cinder's 404 for a type looked up by name.
pub fn not_found_by_name(name: &str) -> Fault {
    Fault::not_found(format!("Volume type with name {name} could not be found."))
}

fn one(c: &Connection, column: &str, key: &str) -> Outcome<Option<VolumeType>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM volume_types WHERE {column} = ?1"
    ))?
    .query_row([key], row)
    .optional()?)
}

/// The type `id`, whoever may see it.
pub fn find(c: &Connection, id: &str) -> Outcome<Option<VolumeType>> {
    one(c, "id", id)
}

/// The type named `name`, whoever may see it.
pub fn find_by_name(c: &Connection, name: &str) -> Outcome<Option<VolumeType>> {
    one(c, "name", name)
}

/// Whether `project_id` may use `t`: public, granted access, or an admin.
pub fn accessible(c: &Connection, t: &VolumeType, project_id: &str, admin: bool) -> Outcome<bool> {
    if admin || t.is_public {
        return Ok(true);
    }
    let granted: Option<i64> = c
        .prepare_cached("SELECT 1 FROM volume_type_access WHERE type_id = ?1 AND project_id = ?2")?
        .query_row([&t.id, project_id], |r| r.get(0))
        .optional()?;
    Ok(granted.is_some())
}

/// The type `id` as `project_id` sees it (a private type without access is not found).
pub fn visible(c: &Connection, id: &str, project_id: &str, admin: bool) -> Outcome<VolumeType> {
    match find(c, id)? {
        Some(t) if accessible(c, &t, project_id, admin)? => Ok(t),
        _ => Err(not_found(id).into()),
    }
}

/// The type a request names (by id or name, as Cinder's `get_by_name_or_id`), or the
/// default type when it names none. Private types resolve only for projects with access
/// and for admins.
pub fn resolve(
    c: &Connection,
    name_or_id: Option<&str>,
    project_id: &str,
    admin: bool,
) -> Outcome<VolumeType> {
    let Some(key) = name_or_id else {
        return find_by_name(c, DEFAULT_TYPE)?
            .ok_or_else(|| not_found_by_name(DEFAULT_TYPE).into());
    };
    let usable = |t: Option<VolumeType>| -> Outcome<Option<VolumeType>> {
        match t {
            Some(t) if accessible(c, &t, project_id, admin)? => Ok(Some(t)),
            _ => Ok(None),
        }
    };
    if uuid::Uuid::parse_str(key).is_ok() {
        // A type may be named like a UUID: the id first, then the name.
        if let Some(t) = usable(find(c, key)?)? {
            return Ok(t);
        }
        return usable(find_by_name(c, key)?)?.ok_or_else(|| not_found(key).into());
    }
    usable(find_by_name(c, key)?)?.ok_or_else(|| not_found_by_name(key).into())
}

/// The name of the type `id` (None if it is gone).
pub fn name_of(c: &Connection, id: &str) -> Outcome<Option<String>> {
    Ok(c.prepare_cached("SELECT name FROM volume_types WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}
