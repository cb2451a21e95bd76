//! Flavors: the sizes a server can have. Seeded from `[flavors] flavor_list` (or Nova's
//! classic m1 flavors), then managed through the API by admins.

pub mod repo;
mod routes;

use jumpgate_plugin_api::prelude::*;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{Compute, Result};
use crate::settings::Settings;
use repo::FlavorRepo;

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
    svc.write(|tx| {
        let now = crate::time::now_ms();
        for f in &list {
            if !tx.flavor_id_or_name_taken(&f.id, &f.name)? {
                tx.insert_flavor(f, now)?;
            }
        }
        Ok(())
    })
    .map_err(|f| Error(format!("flavors: {}", f.message)))
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

/// Nova's 404 for a flavor id it does not know.
pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Flavor {id} could not be found."))
}

/// A flavor by id, or 404.
pub fn get(c: &dyn FlavorRepo, id: &str) -> Result<Flavor> {
    Ok(c.flavor(id)?.ok_or_else(|| not_found(id))?)
}

/// Whether `project` may use (and see) `f`: public flavors, or private ones shared with it.
pub fn usable(c: &dyn FlavorRepo, f: &Flavor, project: &str, admin: bool) -> Result<bool> {
    if f.is_public || admin {
        return Ok(true);
    }
    Ok(c.flavor_shared_with(&f.id, project)?)
}

/// A flavor a server may be given: it exists, and the project may use it.
pub fn for_server(c: &dyn FlavorRepo, id: &str, project: &str, admin: bool) -> Result<Flavor> {
    match c.flavor(id)? {
        Some(f) if usable(c, &f, project, admin)? => Ok(f),
        _ => Err(Fault::bad_request(format!("Flavor {id} could not be found.")).into()),
    }
}
