//! Flavors: the sizes a server can have. Seeded from `[flavors] flavor_list` (or Nova's
//! classic m1 flavors), then managed through the API by admins.

mod routes;

use jumpgate_plugin_api::prelude::*;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{Compute, Result};
use crate::settings::Settings;

pub use routes::setup;

/// A flavor as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: i64,
    /// MiB
    pub ram: i64,
    /// GiB
    pub disk: i64,
    #[serde(default)]
    pub ephemeral: i64,
    /// MiB
    #[serde(default)]
    pub swap: i64,
    #[serde(default = "one")]
    pub rxtx_factor: f64,
    #[serde(default = "yes")]
    pub is_public: bool,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub extra_specs: Map<String, Value>,
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

impl Flavor {
    /// What a server keeps of its flavor: the body of `flavor` in a server from 2.47,
    /// and enough to show the older `{id, links}` form and to count quota.
    pub fn snapshot(&self) -> Value {
        json!({
            "id": self.id,
            "original_name": self.name,
            "vcpus": self.vcpus,
            "ram": self.ram,
            "disk": self.disk,
            "ephemeral": self.ephemeral,
            "swap": self.swap,
            "extra_specs": self.extra_specs,
        })
    }
}

/// Nova's classic flavors, with devstack's m1.nano (42) and m1.micro (84) for tests.
const DEFAULT_FLAVORS: &str = r#"[
    {"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1},
    {"id": "2", "name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20},
    {"id": "3", "name": "m1.medium", "vcpus": 2, "ram": 4096, "disk": 40},
    {"id": "4", "name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 80},
    {"id": "5", "name": "m1.xlarge", "vcpus": 8, "ram": 16384, "disk": 160},
    {"id": "42", "name": "m1.nano", "vcpus": 1, "ram": 128, "disk": 1},
    {"id": "84", "name": "m1.micro", "vcpus": 1, "ram": 192, "disk": 1}
]"#;

/// Adds the configured flavors that the store does not have yet (by id). Flavors an admin
/// deleted or changed stay as the admin left them only until the list names them again.
pub fn seed(svc: &Compute, settings: &Settings) -> std::result::Result<(), Error> {
    let (text, origin) = match &settings.flavor_list {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| Error(format!("[flavors] flavor_list: {}: {e}", path.display())))?,
            path.display().to_string(),
        ),
        None => (
            DEFAULT_FLAVORS.to_string(),
            "the built-in flavors".to_string(),
        ),
    };
    let list: Vec<Flavor> = serde_json::from_str(&text)
        .map_err(|e| Error(format!("[flavors] flavor_list: {origin}: {e}")))?;
    for f in &list {
        validate(f).map_err(|m| Error(format!("[flavors] flavor_list: {origin}: {m}")))?;
    }
    svc.store
        .write(|tx| -> Result<()> {
            let now = crate::time::now_ms();
            for f in &list {
                let exists: bool = tx
                    .query_row(
                        "SELECT 1 FROM flavors WHERE id = ?1 OR name = ?2",
                        params![f.id, f.name],
                        |_| Ok(true),
                    )
                    .optional()?
                    .unwrap_or(false);
                if !exists {
                    insert(tx, f, now)?;
                }
            }
            Ok(())
        })
        .map_err(|e| Error(format!("flavors: {}", svc.fault(e).message)))
}

/// The limits Nova puts on a flavor's numbers and name.
pub fn validate(f: &Flavor) -> std::result::Result<(), String> {
    let name = f.name.trim();
    if name.is_empty() || f.name.chars().count() > 255 {
        return Err("Invalid input for field/attribute name.".into());
    }
    if f.id.is_empty() || f.id.chars().count() > 255 {
        return Err("Invalid input for field/attribute id.".into());
    }
    let in_range = |v: i64, min: i64| v >= min && v <= i32::MAX as i64;
    if !in_range(f.vcpus, 1) {
        return Err(format!(
            "Invalid input for field/attribute vcpus. Value: {}.",
            f.vcpus
        ));
    }
    if !in_range(f.ram, 1) {
        return Err(format!(
            "Invalid input for field/attribute ram. Value: {}.",
            f.ram
        ));
    }
    for (field, v) in [
        ("disk", f.disk),
        ("OS-FLV-EXT-DATA:ephemeral", f.ephemeral),
        ("swap", f.swap),
    ] {
        if !in_range(v, 0) {
            return Err(format!(
                "Invalid input for field/attribute {field}. Value: {v}."
            ));
        }
    }
    if !(f.rxtx_factor > 0.0 && f.rxtx_factor <= 3.40282e38) {
        return Err(format!(
            "Invalid input for field/attribute rxtx_factor. Value: {}.",
            f.rxtx_factor
        ));
    }
    Ok(())
}

pub fn insert(c: &Connection, f: &Flavor, now_ms: i64) -> Result<()> {
    c.execute(
        "INSERT INTO flavors (id, name, vcpus, ram, disk, ephemeral, swap, rxtx_factor, is_public, disabled, description, extra_specs, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            f.id, f.name, f.vcpus, f.ram, f.disk, f.ephemeral, f.swap, f.rxtx_factor, f.is_public, f.disabled,
            f.description, Value::Object(f.extra_specs.clone()).to_string(), now_ms
        ],
    )?;
    Ok(())
}

fn row(r: &Row) -> rusqlite::Result<Flavor> {
    let specs: String = r.get("extra_specs")?;
    Ok(Flavor {
        id: r.get("id")?,
        name: r.get("name")?,
        vcpus: r.get("vcpus")?,
        ram: r.get("ram")?,
        disk: r.get("disk")?,
        ephemeral: r.get("ephemeral")?,
        swap: r.get("swap")?,
        rxtx_factor: r.get("rxtx_factor")?,
        is_public: r.get("is_public")?,
        disabled: r.get("disabled")?,
        description: r.get("description")?,
        extra_specs: serde_json::from_str(&specs).unwrap_or_default(),
    })
}

/// Nova's 404 for a flavor id it does not know.
pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Flavor {id} could not be found."))
}

/// A flavor by id, or 404.
pub fn get(c: &Connection, id: &str) -> Result<Flavor> {
    Ok(find(c, id)?.ok_or_else(|| not_found(id))?)
}

pub fn find(c: &Connection, id: &str) -> Result<Option<Flavor>> {
    Ok(
        c.query_row("SELECT * FROM flavors WHERE id = ?1", [id], row)
            .optional()?,
    )
}

/// Every flavor, ordered by id as Nova's default sort (`flavorid`, ascending).
pub fn all(c: &Connection) -> Result<Vec<Flavor>> {
    let mut st = c.prepare("SELECT * FROM flavors ORDER BY id")?;
    let rows = st
        .query_map([], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Projects a private flavor is shared with.
pub fn access(c: &Connection, id: &str) -> Result<Vec<String>> {
    let mut st =
        c.prepare("SELECT project_id FROM flavor_access WHERE flavor_id = ?1 ORDER BY project_id")?;
    let rows = st
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

/// Whether `project` may use (and see) `f`: public flavors, or private ones shared with it.
pub fn usable(c: &Connection, f: &Flavor, project: &str, admin: bool) -> Result<bool> {
    if f.is_public || admin {
        return Ok(true);
    }
    Ok(c.query_row(
        "SELECT 1 FROM flavor_access WHERE flavor_id = ?1 AND project_id = ?2",
        params![f.id, project],
        |_| Ok(true),
    )
    .optional()?
    .unwrap_or(false))
}

/// A flavor a server may be given: it exists, and the project may use it.
pub fn for_server(c: &Connection, id: &str, project: &str, admin: bool) -> Result<Flavor> {
    match find(c, id)? {
        Some(f) if usable(c, &f, project, admin)? => Ok(f),
        _ => Err(Fault::bad_request(format!("Flavor {id} could not be found.")).into()),
    }
}
