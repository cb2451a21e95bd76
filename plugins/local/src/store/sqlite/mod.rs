//! The store on SQLite: one database under `data_dir`, in WAL mode, changed only inside
//! transactions (one writer connection), read from snapshots on reader connections that
//! never wait for a writer. Schema changes are numbered migrations, applied once, in
//! order; clock-driven changes are `timers`, applied by a settler thread. The system's
//! libsqlite3 is linked, so every build of the driver in one process shares one SQLite.
//!
//! A connection fills each service's repository trait (`identity::repo`, …), so a model
//! sees only its trait: `read` and `write` hand out the transaction as `&dyn Tx`.

mod compute;
#[cfg(test)]
pub(crate) mod fixtures;
mod flavors;
mod hosts;
mod identity;
mod image;
mod migrations;
mod network;
mod quotas;
mod servers;
mod timers;
mod volume;
mod volume_backups;
mod volume_groups;
mod volume_messages;
mod volume_qos;
mod volume_quotas;
mod volume_snapshots;
mod volume_transfers;
mod volume_types;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, Row};

use super::{private_dir, StoreError, Tx, Unique};

type Found<T> = std::result::Result<T, StoreError>;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(format!("database: {e}"))
    }
}

impl From<rusqlite::Error> for super::Failure {
    fn from(e: rusqlite::Error) -> Self {
        super::Failure::Store(e.into())
    }
}

/// The statements every repository method is made of, on prepared (cached) statements.
trait Run {
    /// An INSERT or UPDATE that may hit a unique name.
    fn unique(&self, sql: &str, p: impl Params) -> Found<Unique>;
    fn one<T>(
        &self,
        sql: &str,
        p: impl Params,
        row: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> Found<Option<T>>;
    fn all<T>(
        &self,
        sql: &str,
        p: impl Params,
        row: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Found<Vec<T>>;
    /// How many rows changed.
    fn run(&self, sql: &str, p: impl Params) -> Found<usize>;
    fn count(&self, sql: &str, p: impl Params) -> Found<u64>;
    /// What a `SELECT EXISTS (…)` answers.
    fn exists(&self, sql: &str, p: impl Params) -> Found<bool>;
}

impl Run for Connection {
    fn unique(&self, sql: &str, p: impl Params) -> Found<Unique> {
        match self.prepare_cached(sql)?.execute(p) {
            Ok(_) => Ok(Unique::Stored),
            Err(e) if is_duplicate(&e) => Ok(Unique::Taken),
            Err(e) => Err(e.into()),
        }
    }

    fn one<T>(
        &self,
        sql: &str,
        p: impl Params,
        row: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> Found<Option<T>> {
        Ok(self.prepare_cached(sql)?.query_row(p, row).optional()?)
    }

    fn all<T>(
        &self,
        sql: &str,
        p: impl Params,
        row: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Found<Vec<T>> {
        let mut st = self.prepare_cached(sql)?;
        let rows = st.query_map(p, row)?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn run(&self, sql: &str, p: impl Params) -> Found<usize> {
        Ok(self.prepare_cached(sql)?.execute(p)?)
    }

    fn count(&self, sql: &str, p: impl Params) -> Found<u64> {
        let n: i64 = self.prepare_cached(sql)?.query_row(p, |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn exists(&self, sql: &str, p: impl Params) -> Found<bool> {
        Ok(self.prepare_cached(sql)?.query_row(p, |r| r.get(0))?)
    }
}

/// Idle reader connections kept open; more are opened while more reads run at once.
const IDLE_READERS: usize = 8;

/// How often the settler looks for changes other hosts scheduled (its own are woken at
/// once, and each waits exactly until it is due).
const SETTLER_POLL: Duration = Duration::from_millis(250);

/// The database: one writer connection (SQLite serializes writers anyway), a pool of
/// reader connections, and the settler.
pub struct Store {
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

impl Store {
    /// Opens (creating) `data_dir/jumpgate.db`, brings its schema up to date and starts
    /// the settler.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        private_dir(data_dir).map_err(StoreError)?;
        let path = data_dir.join("jumpgate.db");
        let mut conn = open_connection(&path)?;
        migrations::apply(&mut conn)?;
        Ok(Store {
            writer: Mutex::new(conn),
            settler: Some(Settler::start(path.clone())),
            path: Some(path),
            readers: Mutex::new(Vec::new()),
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
            writer: Mutex::new(conn),
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
        timers::settle(&tx, crate::time::now_ms()).map_err(|e| E::from(e.into()))?;
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

/// The thread that applies clock-driven changes as they come due, on its own connection;
/// it ends when the store is dropped (a retired build holds no thread).
struct Settler {
    signal: Arc<(Mutex<Signal>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Signal {
    woken: bool,
    stop: bool,
}

impl Settler {
    fn start(path: PathBuf) -> Settler {
        let signal = Arc::new((Mutex::new(Signal::default()), Condvar::new()));
        let theirs = signal.clone();
        let thread = std::thread::Builder::new()
            .name("jumpgate-local-settler".into())
            .spawn(move || Self::run(&path, &theirs))
            .ok();
        Settler { signal, thread }
    }

    fn wake(&self) {
        let (lock, cvar) = &*self.signal;
        lock.lock().unwrap_or_else(|e| e.into_inner()).woken = true;
        cvar.notify_one();
    }

    fn run(path: &Path, signal: &(Mutex<Signal>, Condvar)) {
        let mut conn = None;
        loop {
            // On any error (the database busy beyond the timeout, a connection that could
            // not open) it tries again after the poll interval.
            let wait = Self::settle_due(path, &mut conn).unwrap_or(SETTLER_POLL);
            let (lock, cvar) = signal;
            let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
            if !s.woken && !s.stop && !wait.is_zero() {
                s = cvar
                    .wait_timeout(s, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            if s.stop {
                return;
            }
            s.woken = false;
        }
    }

    /// Applies what is due now; answers how long until the next change (at most the poll
    /// interval).
    fn settle_due(path: &Path, conn: &mut Option<Connection>) -> Result<Duration, StoreError> {
        if conn.is_none() {
            *conn = Some(open_connection(path)?);
        }
        let Some(c) = conn.as_mut() else {
            return Ok(SETTLER_POLL);
        };
        let now = crate::time::now_ms();
        match timers::next_due(c)? {
            Some(due) if due <= now => {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                timers::settle(&tx, crate::time::now_ms())?;
                tx.commit()?;
                Ok(Duration::ZERO)
            }
            Some(due) => Ok(Duration::from_millis((due - now) as u64).min(SETTLER_POLL)),
            None => Ok(SETTLER_POLL),
        }
    }
}

impl Drop for Settler {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.signal;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        cvar.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether an error is a UNIQUE constraint violation (a duplicate name).
pub fn is_duplicate(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}
