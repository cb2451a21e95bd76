//! QoS specs in SQL: `qos_specs` (specs as JSON text); a type's association is its
//! `volume_types.qos_specs_id`.

use crate::store::db::{args, Db, Found, Row};
use serde_json::Value;

use super::volume::order_by;
use crate::volume::qos::QosSpecs;
use crate::volume::repo::{QosRepo, Result, SortKey};

const COLUMNS: &str = "id, name, consumer, specs, created_ms";

fn row(r: &Row) -> Found<QosSpecs> {
    Ok(QosSpecs {
        id: r.get(0)?,
        name: r.get(1)?,
        consumer: r.get(2)?,
        specs: serde_json::from_str(&r.get::<String>(3)?).unwrap_or_default(),
        created_ms: r.get(4)?,
    })
}

fn specs(q: &QosSpecs) -> String {
    Value::Object(q.specs.clone()).to_string()
}

impl<D: Db + ?Sized> QosRepo for D {
    fn qos_specs(&self, id: &str) -> Result<Option<QosSpecs>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM qos_specs WHERE id = $1"),
            args![id],
            row,
        )
    }

    fn qos_specs_named(&self, name: &str) -> Result<bool> {
        let taken: Option<i64> = self.one(
            "SELECT 1 FROM qos_specs WHERE name = $1",
            args![name],
            |r| r.get(0),
        )?;
        Ok(taken.is_some())
    }

    fn all_qos_specs(&self, sort: &[SortKey]) -> Result<Vec<QosSpecs>> {
        let order = order_by(sort, "id", |k| match k {
            "created_at" => "created_ms",
            "name" => "name",
            "consumer" => "consumer",
            _ => "id",
        });
        self.all(
            &format!("SELECT {COLUMNS} FROM qos_specs ORDER BY {order}"),
            args![],
            row,
        )
    }

    fn insert_qos_specs(&self, q: &QosSpecs) -> Result<()> {
        self.run(
            &format!("INSERT INTO qos_specs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
            args![q.id, q.name, q.consumer, specs(q), q.created_ms],
        )?;
        Ok(())
    }

    fn update_qos_specs(&self, q: &QosSpecs) -> Result<()> {
        self.run(
            "UPDATE qos_specs SET consumer = $2, specs = $3 WHERE id = $1",
            args![q.id, q.consumer, specs(q)],
        )?;
        Ok(())
    }

    fn delete_qos_specs(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM qos_specs WHERE id = $1", args![id])?;
        Ok(())
    }

    fn qos_associations(&self, id: &str) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT id, name FROM volume_types WHERE qos_specs_id = $1 ORDER BY name, id",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn associate_qos(&self, id: &str, type_id: &str) -> Result<()> {
        self.run(
            "UPDATE volume_types SET qos_specs_id = $2 WHERE id = $1",
            args![type_id, id],
        )?;
        Ok(())
    }

    fn disassociate_qos(&self, id: &str, type_id: &str) -> Result<()> {
        self.run(
            "UPDATE volume_types SET qos_specs_id = NULL WHERE id = $1 AND qos_specs_id = $2",
            args![type_id, id],
        )?;
        Ok(())
    }

    fn disassociate_all_qos(&self, id: &str) -> Result<()> {
        self.run(
            "UPDATE volume_types SET qos_specs_id = NULL WHERE qos_specs_id = $1",
            args![id],
        )?;
        Ok(())
    }
}
