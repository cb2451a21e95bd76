//! Volume transfers in SQL: `volume_transfers` (the key kept as a salted hash).

use crate::store::db::{args, Db, Found, Row};

use crate::volume::repo::{Result, TransferRepo};
use crate::volume::transfers::Transfer;

const COLUMNS: &str =
    "id, volume_id, name, salt, key_hash, source_project_id, no_snapshots, created_ms";

fn row(r: &Row) -> Found<Transfer> {
    Ok(Transfer {
        id: r.get(0)?,
        volume_id: r.get(1)?,
        name: r.get(2)?,
        salt: r.get(3)?,
        key_hash: r.get(4)?,
        source_project_id: r.get(5)?,
        no_snapshots: r.get(6)?,
        created_ms: r.get(7)?,
    })
}

impl<D: Db + ?Sized> TransferRepo for D {
    fn transfer(&self, id: &str) -> Result<Option<Transfer>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM volume_transfers WHERE id = $1"),
            args![id],
            row,
        )
    }

    fn transfers(&self, everyone: bool, project_id: &str) -> Result<Vec<Transfer>> {
        self.all(
            &format!(
                "SELECT {COLUMNS} FROM volume_transfers WHERE $1 OR source_project_id = $2
                 ORDER BY created_ms DESC, id"
            ),
            args![everyone, project_id],
            row,
        )
    }

    fn insert_transfer(&self, t: &Transfer) -> Result<()> {
        self.run(
            &format!(
                "INSERT INTO volume_transfers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            args![
                t.id,
                t.volume_id,
                t.name,
                t.salt,
                t.key_hash,
                t.source_project_id,
                t.no_snapshots,
                t.created_ms
            ],
        )?;
        Ok(())
    }

    fn delete_transfer(&self, id: &str) -> Result<()> {
        self.run("DELETE FROM volume_transfers WHERE id = $1", args![id])?;
        Ok(())
    }
}
