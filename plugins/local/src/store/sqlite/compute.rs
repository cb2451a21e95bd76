//! Compute's simple resources in SQLite: keypairs numbered by their rowid (Nova's integer
//! id).

use rusqlite::{params, Connection, Row};

use super::Run;
use crate::compute::keypairs::Keypair;
use crate::compute::repo::{KeypairRepo, Result};

fn keypair_row(r: &Row) -> rusqlite::Result<Keypair> {
    Ok(Keypair {
        id: r.get("rowid")?,
        user_id: r.get("user_id")?,
        name: r.get("name")?,
        kind: r.get("type")?,
        public_key: r.get("public_key")?,
        fingerprint: r.get("fingerprint")?,
        created_ms: r.get("created_ms")?,
    })
}

impl KeypairRepo for Connection {
    fn keypair(&self, user_id: &str, name: &str) -> Result<Option<Keypair>> {
        self.one(
            "SELECT rowid, * FROM keypairs WHERE user_id = ?1 AND name = ?2",
            params![user_id, name],
            keypair_row,
        )
    }

    fn keypairs(&self, user_id: &str, after: i64, limit: usize) -> Result<Vec<Keypair>> {
        self.all(
            "SELECT rowid, * FROM keypairs WHERE user_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3",
            params![user_id, after, i64::try_from(limit).unwrap_or(i64::MAX)],
            keypair_row,
        )
    }

    fn insert_keypair(&self, k: &Keypair) -> Result<()> {
        self.run(
            "INSERT INTO keypairs (user_id, name, type, public_key, fingerprint, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![k.user_id, k.name, k.kind, k.public_key, k.fingerprint, k.created_ms],
        )?;
        Ok(())
    }

    fn delete_keypair(&self, user_id: &str, name: &str) -> Result<bool> {
        let n = self.run(
            "DELETE FROM keypairs WHERE user_id = ?1 AND name = ?2",
            params![user_id, name],
        )?;
        Ok(n > 0)
    }
}
