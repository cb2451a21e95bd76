//! The local cloud's state: one SQLite database under `data_dir`, in WAL mode, changed only
//! inside transactions. Schema changes are numbered migrations, applied once, in order.

pub mod files;
mod migrations;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction};

pub use rusqlite::params;

/// A store error, for the log; handlers answer 500 for these.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(format!("database: {e}"))
    }
}

/// What a service's model step fails with: a fault to answer (400, 404, 409 …), or a
/// store failure (logged, answered 500).
#[derive(Debug)]
pub enum Failure {
    Fault(jumpgate_plugin_api::Fault),
    Store(StoreError),
}

impl From<jumpgate_plugin_api::Fault> for Failure {
    fn from(f: jumpgate_plugin_api::Fault) -> Self {
        Failure::Fault(f)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Store(e.into())
    }
}

pub type Outcome<T> = std::result::Result<T, Failure>;

/// The database. One connection, serialized: SQLite writes are serialized anyway, and the
/// hot path (token validation) does not come here.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating) `data_dir/jumpgate.db` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        private_dir(data_dir).map_err(StoreError)?;
        let path = data_dir.join("jumpgate.db");
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        // Another jumpgate sharing this file may hold the write lock for a moment.
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::apply(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// An in-memory store, for tests.
    #[cfg(test)]
    pub fn memory() -> Store {
        let mut conn = Connection::open_in_memory().expect("in-memory sqlite");
        conn.pragma_update(None, "foreign_keys", "ON")
            .expect("pragma");
        migrations::apply(&mut conn).expect("migrations");
        Store {
            conn: Mutex::new(conn),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads with the connection (no transaction of its own).
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        f(&self.lock())
    }

    /// Runs `f` in one transaction: everything it changes is committed together, or, on
    /// any error, nothing is.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| E::from(e.into()))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| E::from(e.into()))?;
        Ok(out)
    }
}

/// Creates `dir` (and its parents) readable by this user only, if it does not exist: the
/// data folder holds password hashes and the token key.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Whether an error is a UNIQUE constraint violation (a duplicate name).
pub fn is_duplicate(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_data_dir_is_private_and_an_existing_one_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o750
        );
    }
}
