//! The store on SQLite: one database under `data_dir`, in WAL mode, changed only inside
//! transactions (one writer connection), read from snapshots on reader connections that
//! never wait for a writer. Schema changes are numbered migrations, applied once, in
//! order; clock-driven changes are `timers`, applied by a settler thread. The system's
//! libsqlite3 is linked, so every build of the driver in one process shares one SQLite.
//!
//! A connection fills each service's repository trait (`identity::repo`, …), so a model
//! sees only its trait: `read` and `write` hand out the transaction as `&dyn Tx`.

mod migrations;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::db::{Args, Db, Dialect, Found, Row};
use super::settler::{Settler, SETTLER_POLL};
use super::sql::timers;
use super::{private_dir, StoreError, Tx, Unique};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(format!("database: {e}"))
    }
}

/// Binds each `$N` of a prepared statement to `p[N-1]`. SQLite numbers named parameters
/// in the order they first appear, so they are bound by name, not by position.
fn bind(st: &mut rusqlite::Statement, sql: &str, p: Args) -> Found<()> {
    for i in 1..=st.parameter_count() {
        let arg = st
            .parameter_name(i)
            .and_then(|n| n.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| p.get(n))
            .ok_or_else(|| {
                StoreError(format!(
                    "statement parameter {i} has no argument ({} given): {sql}",
                    p.len()
                ))
            })?;
        st.raw_bind_parameter(i, arg.value())?;
    }
    Ok(())
}

/// The statements on SQLite, prepared once per connection (cached).
impl Db for Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn data_dir(&self) -> std::path::PathBuf {
        // The folder of the main database file; "." for an in-memory one.
        self.path()
            .map(Path::new)
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    fn unique(&self, sql: &str, p: Args) -> Found<Unique> {
        let mut st = self.prepare_cached(sql)?;
        bind(&mut st, sql, p)?;
        match st.raw_execute() {
            Ok(_) => Ok(Unique::Stored),
            Err(e) if is_duplicate(&e) => Ok(Unique::Taken),
            Err(e) => Err(e.into()),
        }
    }

    fn one<T>(&self, sql: &str, p: Args, row: impl FnOnce(&Row) -> Found<T>) -> Found<Option<T>> {
        let mut st = self.prepare_cached(sql)?;
        bind(&mut st, sql, p)?;
        let mut rows = st.raw_query();
        match rows.next()? {
            Some(r) => row(&Row::Sqlite(r)).map(Some),
            None => Ok(None),
        }
    }

    fn all<T>(&self, sql: &str, p: Args, mut row: impl FnMut(&Row) -> Found<T>) -> Found<Vec<T>> {
        let mut st = self.prepare_cached(sql)?;
        bind(&mut st, sql, p)?;
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(row(&Row::Sqlite(r))?);
        }
        Ok(out)
    }

    fn run(&self, sql: &str, p: Args) -> Found<usize> {
        let mut st = self.prepare_cached(sql)?;
        bind(&mut st, sql, p)?;
        Ok(st.raw_execute()?)
    }
}

/// A migrated in-memory database, for the repositories' unit tests.
#[cfg(test)]
pub fn test_connection() -> Connection {
    let mut conn = Connection::open_in_memory().expect("in-memory sqlite");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("pragma");
    migrations::apply(&mut conn).expect("migrations");
    conn
}

/// Idle reader connections kept open; more are opened while more reads run at once.
const IDLE_READERS: usize = 8;

/// The database: one writer connection (SQLite serializes writers anyway), a pool of
/// reader connections, and the settler.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    /// Where reader connections open; None for an in-memory store, which reads through
    /// the writer.
    path: Option<PathBuf>,
    readers: Mutex<Vec<Connection>>,
    settler: Option<Settler>,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
    // Another connection (a settler, another build, another host) may hold the write
    // lock for a moment.
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating) `data_dir/jumpgate.db`, brings its schema up to date and starts
    /// the settler.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        private_dir(data_dir).map_err(StoreError)?;
        let path = data_dir.join("jumpgate.db");
        let mut conn = open_connection(&path)?;
        migrations::apply(&mut conn)?;
        let theirs = path.clone();
        let mut settler_conn = None;
        Ok(SqliteStore {
            writer: Mutex::new(conn),
            settler: Some(Settler::start(move || {
                settle_due(&theirs, &mut settler_conn)
            })),
            path: Some(path),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// An in-memory store, for tests.
    #[cfg(test)]
    pub fn memory() -> SqliteStore {
        SqliteStore {
            writer: Mutex::new(test_connection()),
            path: None,
            readers: Mutex::new(Vec::new()),
            settler: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads one consistent snapshot, on a reader connection: never waits for a write,
    /// never writes (the connection is `query_only`).
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let Some(path) = &self.path else {
            return f(&*self.lock());
        };
        let idle = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match idle {
            Some(c) => c,
            None => {
                let c = open_connection(path).map_err(E::from)?;
                c.pragma_update(None, "query_only", true)
                    .map_err(|e| E::from(e.into()))?;
                c
            }
        };
        let out = {
            let tx = conn.transaction().map_err(|e| E::from(e.into()))?;
            f(&*tx)
        };
        let mut idle = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    /// Runs `f` in one transaction, after applying every clock-driven change that has come
    /// due: everything it changes is committed together, or, on any error, nothing is.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| E::from(e.into()))?;
        timers::settle(&*tx, crate::time::now_ms()).map_err(E::from)?;
        let out = f(&*tx)?;
        tx.commit().map_err(|e| E::from(e.into()))?;
        drop(conn);
        // The change may have started a timer: the settler waits for it from now.
        if let Some(settler) = &self.settler {
            settler.wake();
        }
        Ok(out)
    }
}

/// Whether an error is a UNIQUE constraint violation (a duplicate name).
fn is_duplicate(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// Applies what is due now on the settler's own connection (opened on first use, again
/// after an error); answers how long until the next change (at most the poll interval).
fn settle_due(path: &Path, conn: &mut Option<Connection>) -> Result<Duration, StoreError> {
    if conn.is_none() {
        *conn = Some(open_connection(path)?);
    }
    let Some(c) = conn.as_mut() else {
        return Ok(SETTLER_POLL);
    };
    let now = crate::time::now_ms();
    let due = match timers::next_due(c) {
        Ok(due) => due,
        Err(e) => {
            *conn = None;
            return Err(e);
        }
    };
    match due {
        Some(due) if due <= now => {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            timers::settle(&*tx, crate::time::now_ms())?;
            tx.commit()?;
            Ok(Duration::ZERO)
        }
        Some(due) => Ok(Duration::from_millis((due - now) as u64).min(SETTLER_POLL)),
        None => Ok(SETTLER_POLL),
    }
}
