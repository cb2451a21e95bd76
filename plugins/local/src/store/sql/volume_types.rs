//! Volume types in SQL: `volume_types` (extra specs as JSON text), `volume_type_access`,
//! `default_volume_types` and `volume_type_encryption` (which goes with its type, ON DELETE
//! CASCADE).

use crate::store::db::{args, Db, Found, Row};
use serde_json::Value;

use crate::store::Unique;
use crate::volume::encryption::Encryption;
use crate::volume::repo::{Result, VolumeTypeRepo};
use crate::volume::types::VolumeType;

const COLUMNS: &str = "id, name, description, is_public, extra_specs, created_ms, qos_specs_id";

fn row(r: &Row) -> Found<VolumeType> {
    Ok(VolumeType {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        is_public: r.get(3)?,
        extra_specs: serde_json::from_str(&r.get::<String>(4)?).unwrap_or_default(),
        created_ms: r.get(5)?,
        qos_specs_id: r.get(6)?,
    })
}

const ENCRYPTION_COLUMNS: &str =
    "type_id, encryption_id, provider, control_location, cipher, key_size, created_ms, updated_ms";

fn encryption_row(r: &Row) -> Found<Encryption> {
    Ok(Encryption {
        type_id: r.get(0)?,
        encryption_id: r.get(1)?,
        provider: r.get(2)?,
        control_location: r.get(3)?,
        cipher: r.get(4)?,
        key_size: r.get(5)?,
        created_ms: r.get(6)?,
        updated_ms: r.get(7)?,
    })
}

fn specs(t: &VolumeType) -> String {
    Value::Object(t.extra_specs.clone()).to_string()
}

impl<D: Db + ?Sized> VolumeTypeRepo for D {
    fn volume_type(&self, id: &str) -> Result<Option<VolumeType>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM volume_types WHERE id = $1"),
            args![id],
            row,
        )
    }

    fn volume_type_by_name(&self, name: &str) -> Result<Option<VolumeType>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM volume_types WHERE name = $1"),
            args![name],
            row,
        )
    }

    fn volume_types(&self, is_public: Option<bool>, project_id: &str) -> Result<Vec<VolumeType>> {
        self.all(
            &format!(
                "SELECT {COLUMNS} FROM volume_types t
                 WHERE CAST($1 AS BIGINT) IS NULL OR t.is_public = $1
                    OR ($1 = 1 AND EXISTS (SELECT 1 FROM volume_type_access a
                                           WHERE a.type_id = t.id AND a.project_id = $2))
                 ORDER BY created_ms, name"
            ),
            args![is_public, project_id],
            row,
        )
    }

    fn insert_volume_type(&self, t: &VolumeType) -> Result<()> {
        self.run(
            &format!("INSERT INTO volume_types ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            args![
                t.id,
                t.name,
                t.description,
                t.is_public,
                specs(t),
                t.created_ms,
                t.qos_specs_id
            ],
        )?;
        Ok(())
    }

    fn seed_volume_type(&self, t: &VolumeType) -> Result<()> {
        self.run(
            "INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_ms)
             SELECT $1, $2, $3, $4, '{}', $5
             WHERE NOT EXISTS (SELECT 1 FROM volume_types WHERE name = $2)",
            args![t.id, t.name, t.description, t.is_public, t.created_ms],
        )?;
        Ok(())
    }

    fn update_volume_type(&self, t: &VolumeType) -> Result<()> {
        self.run(
            "UPDATE volume_types SET name = $2, description = $3, is_public = $4 WHERE id = $1",
            args![t.id, t.name, t.description, t.is_public],
        )?;
        Ok(())
    }

    fn set_extra_specs(&self, t: &VolumeType) -> Result<()> {
        self.run(
            "UPDATE volume_types SET extra_specs = $2 WHERE id = $1",
            args![t.id, specs(t)],
        )?;
        Ok(())
    }

    fn delete_volume_type(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM volume_types WHERE id = $1", args![id])?;
        Ok(())
    }

    fn volume_type_in_use(&self, id: &str) -> Result<bool> {
        let used: Option<i64> = self.one(
            "SELECT 1 FROM volumes WHERE volume_type_id = $1 LIMIT 1",
            args![id],
            |r| r.get(0),
        )?;
        Ok(used.is_some())
    }

    fn has_type_access(&self, type_id: &str, project_id: &str) -> Result<bool> {
        let granted: Option<i64> = self.one(
            "SELECT 1 FROM volume_type_access WHERE type_id = $1 AND project_id = $2",
            args![type_id, project_id],
            |r| r.get(0),
        )?;
        Ok(granted.is_some())
    }

    fn type_access(&self, type_id: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT project_id FROM volume_type_access WHERE type_id = $1 ORDER BY project_id",
            args![type_id],
            |r| r.get(0),
        )
    }

    fn add_type_access(&self, type_id: &str, project_id: &str) -> Result<Unique> {
        let n = self.run(
            "INSERT INTO volume_type_access (type_id, project_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![type_id, project_id],
        )?;
        Ok(if n == 0 {
            Unique::Taken
        } else {
            Unique::Stored
        })
    }

    fn remove_type_access(&self, type_id: &str, project_id: &str) -> Result<bool> {
        let n = self.run(
            "DELETE FROM volume_type_access WHERE type_id = $1 AND project_id = $2",
            args![type_id, project_id],
        )?;
        Ok(n > 0)
    }

    fn default_type_of(&self, project_id: &str) -> Result<Option<String>> {
        self.one(
            "SELECT volume_type_id FROM default_volume_types WHERE project_id = $1",
            args![project_id],
            |r| r.get(0),
        )
    }

    fn is_a_default_type(&self, type_id: &str) -> Result<bool> {
        let found: Option<i64> = self.one(
            "SELECT 1 FROM default_volume_types WHERE volume_type_id = $1 LIMIT 1",
            args![type_id],
            |r| r.get(0),
        )?;
        Ok(found.is_some())
    }

    fn default_types(&self) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT project_id, volume_type_id FROM default_volume_types ORDER BY project_id",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn set_default_type(&self, project_id: &str, type_id: &str) -> Result<()> {
        self.run(
            "INSERT INTO default_volume_types (project_id, volume_type_id) VALUES ($1, $2)
             ON CONFLICT (project_id) DO UPDATE SET volume_type_id = excluded.volume_type_id",
            args![project_id, type_id],
        )?;
        Ok(())
    }

    fn unset_default_type(&self, project_id: &str) -> Result<()> {
        self.run(
            "DELETE FROM default_volume_types WHERE project_id = $1",
            args![project_id],
        )?;
        Ok(())
    }

    fn encryption(&self, type_id: &str) -> Result<Option<Encryption>> {
        self.one(
            &format!("SELECT {ENCRYPTION_COLUMNS} FROM volume_type_encryption WHERE type_id = $1"),
            args![type_id],
            encryption_row,
        )
    }

    fn insert_encryption(&self, e: &Encryption) -> Result<()> {
        self.run(
            &format!(
                "INSERT INTO volume_type_encryption ({ENCRYPTION_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            args![
                e.type_id,
                e.encryption_id,
                e.provider,
                e.control_location,
                e.cipher,
                e.key_size,
                e.created_ms,
                e.updated_ms
            ],
        )?;
        Ok(())
    }

    fn update_encryption(&self, e: &Encryption) -> Result<()> {
        self.run(
            "UPDATE volume_type_encryption
             SET provider = $2, control_location = $3, cipher = $4, key_size = $5, updated_ms = $6
             WHERE type_id = $1",
            args![
                e.type_id,
                e.provider,
                e.control_location,
                e.cipher,
                e.key_size,
                e.updated_ms
            ],
        )?;
        Ok(())
    }

    fn delete_encryption(&self, type_id: &str) -> Result<bool> {
        let n = self.run(
            "DELETE FROM volume_type_encryption WHERE type_id = $1",
            args![type_id],
        )?;
        Ok(n > 0)
    }
}
