//! Flavors in SQL: extra specs as a JSON object in text; `flavor_access` holds the
//! projects a private flavor is shared with.

use crate::store::db::{args, Db, Found, Row};
use serde_json::Value;

use crate::compute::flavors::repo::{FlavorPlace, FlavorRepo, Result};
use crate::compute::flavors::Flavor;

fn row(r: &Row) -> Found<Flavor> {
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

impl<D: Db + ?Sized> FlavorRepo for D {
    fn flavor(&self, id: &str) -> Result<Option<Flavor>> {
        self.one("SELECT * FROM flavors WHERE id = $1", args![id], row)
    }

    fn flavors(&self) -> Result<Vec<Flavor>> {
        self.all("SELECT * FROM flavors ORDER BY id", args![], row)
    }

    fn flavor_places(&self) -> Result<Vec<(String, FlavorPlace)>> {
        self.all("SELECT id, created_ms, rowid FROM flavors", args![], |r| {
            Ok((
                r.get::<String>(0)?,
                FlavorPlace {
                    created_ms: r.get(1)?,
                    row: r.get(2)?,
                },
            ))
        })
    }

    fn flavor_named(&self, name: &str) -> Result<bool> {
        Ok(self
            .one("SELECT 1 FROM flavors WHERE name = $1", args![name], |_| {
                Ok(())
            })?
            .is_some())
    }

    fn flavor_id_or_name_taken(&self, id: &str, name: &str) -> Result<bool> {
        Ok(self
            .one(
                "SELECT 1 FROM flavors WHERE id = $1 OR name = $2",
                args![id, name],
                |_| Ok(()),
            )?
            .is_some())
    }

    fn insert_flavor(&self, f: &Flavor, now_ms: i64) -> Result<()> {
        self.run(
            "INSERT INTO flavors (id, name, vcpus, ram, disk, ephemeral, swap, rxtx_factor, is_public, disabled, description, extra_specs, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            args![
                f.id, f.name, f.vcpus, f.ram, f.disk, f.ephemeral, f.swap, f.rxtx_factor, f.is_public, f.disabled,
                f.description, Value::Object(f.extra_specs.clone()).to_string(), now_ms
            ],
        )?;
        Ok(())
    }

    fn set_flavor_description(&self, id: &str, description: Option<&str>) -> Result<()> {
        self.run(
            "UPDATE flavors SET description = $2 WHERE id = $1",
            args![id, description],
        )?;
        Ok(())
    }

    fn set_flavor_extra_specs(&self, f: &Flavor) -> Result<()> {
        self.run(
            "UPDATE flavors SET extra_specs = $2 WHERE id = $1",
            args![f.id, Value::Object(f.extra_specs.clone()).to_string()],
        )?;
        Ok(())
    }

    fn delete_flavor(&self, id: &str) -> Result<bool> {
        self.run("DELETE FROM flavor_access WHERE flavor_id = $1", args![id])?;
        Ok(self.run("DELETE FROM flavors WHERE id = $1", args![id])? > 0)
    }

    fn flavor_access(&self, flavor_id: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT project_id FROM flavor_access WHERE flavor_id = $1 ORDER BY project_id",
            args![flavor_id],
            |r| r.get(0),
        )
    }

    fn flavor_shared_with(&self, flavor_id: &str, project_id: &str) -> Result<bool> {
        Ok(self
            .one(
                "SELECT 1 FROM flavor_access WHERE flavor_id = $1 AND project_id = $2",
                args![flavor_id, project_id],
                |_| Ok(()),
            )?
            .is_some())
    }

    fn flavors_shared_with(&self, project_id: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT flavor_id FROM flavor_access WHERE project_id = $1",
            args![project_id],
            |r| r.get(0),
        )
    }

    fn grant_flavor_access(&self, flavor_id: &str, project_id: &str) -> Result<()> {
        self.run(
            "INSERT INTO flavor_access (flavor_id, project_id) VALUES ($1, $2)",
            args![flavor_id, project_id],
        )?;
        Ok(())
    }

    fn revoke_flavor_access(&self, flavor_id: &str, project_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM flavor_access WHERE flavor_id = $1 AND project_id = $2",
            args![flavor_id, project_id],
        )?;
        Ok(())
    }
}
