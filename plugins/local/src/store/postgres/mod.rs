//! The store on PostgreSQL (`[local] database = postgresql://…`): the same repositories
//! (`store/sql`) over a pool of connections, for a cloud several hosts serve at once. Files
//! stay under `data_dir`, which every host mounts.
//!
//! Reads run in a `REPEATABLE READ READ ONLY` transaction: one snapshot, never waiting for a
//! writer. A write transaction first takes one cluster-wide advisory lock, so writes are
//! applied one at a time across every host, as SQLite's `BEGIN IMMEDIATE` applies them on
//! one: every rule that reads and then writes (quotas, attachments, addresses, unique
//! names) holds whichever host runs it.

mod connect;
mod migrations;

pub use connect::Target;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, IsolationLevel, Statement};

use super::db::{Args, Db, Dialect, Found, PgArg, Row};
use super::settler::{Settler, SETTLER_POLL};
use super::sql::timers;
use super::{private_dir, StoreError, Tx, Unique};

/// The advisory lock every write transaction holds: `JGW` (Jumpgate writer).
pub(super) const WRITER_LOCK: i64 = 0x004a_4757;
/// The advisory lock a schema change holds: `JGM` (Jumpgate migration).
const MIGRATION_LOCK: i64 = 0x004a_474d;
/// Statements kept prepared per connection; the oldest are dropped past this.
const STATEMENTS: usize = 512;
/// Connections per host: a blocking handler holds one for its transaction.
const POOL_SIZE: u32 = 32;

pub(super) fn pg(e: ::postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError(format!("database: {}: {}", db.code().code(), db.message())),
        None => {
            // The cause says what to fix ("invalid peer certificate: UnknownIssuer", "Connection
            // refused"); the error's own text only says which step failed.
            let mut text = format!("database: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            StoreError(text)
        }
    }
}

/// A pooled connection and the statements prepared on it.
pub struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Opens pooled connections (`r2d2`), each keeping its prepared statements.
struct Manager {
    target: Target,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = ::postgres::Error;

    fn connect(&self) -> Result<PgConn, ::postgres::Error> {
        Ok(PgConn {
            client: self.target.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), ::postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

/// One transaction on one connection: what the repositories run their SQL on.
pub struct PgTx<'c> {
    tx: RefCell<::postgres::Transaction<'c>>,
    statements: RefCell<&'c mut HashMap<String, Statement>>,
    data_dir: &'c Path,
}

impl PgTx<'_> {
    fn prepared(&self, sql: &str) -> Result<Statement, ::postgres::Error> {
        if let Some(st) = self.statements.borrow().get(sql) {
            return Ok(st.clone());
        }
        let st = self.tx.borrow_mut().prepare(sql)?;
        let mut cache = self.statements.borrow_mut();
        if cache.len() >= STATEMENTS {
            cache.clear();
        }
        cache.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    /// The statement's arguments, as many as it has parameters.
    fn bind<'a>(st: &Statement, p: Args<'a>) -> Vec<PgArg<'a>> {
        p.iter()
            .take(st.params().len())
            .map(|a| PgArg(a.value()))
            .collect()
    }

    fn query(&self, sql: &str, p: Args) -> Result<Vec<::postgres::Row>, ::postgres::Error> {
        let st = self.prepared(sql)?;
        let args = Self::bind(&st, p);
        let refs: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        self.tx.borrow_mut().query(&st, &refs)
    }

    fn execute(&self, sql: &str, p: Args) -> Result<u64, ::postgres::Error> {
        let st = self.prepared(sql)?;
        let args = Self::bind(&st, p);
        let refs: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        self.tx.borrow_mut().execute(&st, &refs)
    }
}

fn with_sql(e: StoreError, sql: &str) -> StoreError {
    let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    StoreError(format!("{} (in: {sql})", e.0))
}

/// PostgreSQL's text cannot hold a NUL character (SQLite's can): such a value from a
/// request is refused before it reaches the database.
fn storable(p: Args) -> Found<()> {
    let nul = p
        .iter()
        .any(|a| matches!(a.value(), super::db::Value::Text(t) if t.contains('\0')));
    if nul {
        return Err(StoreError::unstorable(
            "text may not contain the NUL character (\\u0000)",
        ));
    }
    Ok(())
}

impl Db for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn data_dir(&self) -> PathBuf {
        self.data_dir.to_path_buf()
    }

    fn unique(&self, sql: &str, p: Args) -> Found<Unique> {
        storable(p)?;
        // A unique violation aborts a PostgreSQL transaction: the statement runs inside a
        // savepoint, and only the savepoint is rolled back.
        self.tx
            .borrow_mut()
            .batch_execute("SAVEPOINT jumpgate_unique")
            .map_err(pg)?;
        match self.execute(sql, p) {
            Ok(_) => {
                self.tx
                    .borrow_mut()
                    .batch_execute("RELEASE SAVEPOINT jumpgate_unique")
                    .map_err(pg)?;
                Ok(Unique::Stored)
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                self.tx
                    .borrow_mut()
                    .batch_execute("ROLLBACK TO SAVEPOINT jumpgate_unique")
                    .map_err(pg)?;
                Ok(Unique::Taken)
            }
            Err(e) => Err(with_sql(pg(e), sql)),
        }
    }

    fn one<T>(&self, sql: &str, p: Args, row: impl FnOnce(&Row) -> Found<T>) -> Found<Option<T>> {
        storable(p)?;
        let rows = self.query(sql, p).map_err(|e| with_sql(pg(e), sql))?;
        match rows.first() {
            Some(r) => row(&Row::Postgres(r)).map(Some),
            None => Ok(None),
        }
    }

    fn all<T>(&self, sql: &str, p: Args, mut row: impl FnMut(&Row) -> Found<T>) -> Found<Vec<T>> {
        storable(p)?;
        self.query(sql, p)
            .map_err(|e| with_sql(pg(e), sql))?
            .iter()
            .map(|r| row(&Row::Postgres(r)))
            .collect()
    }

    fn run(&self, sql: &str, p: Args) -> Found<usize> {
        storable(p)?;
        let n = self.execute(sql, p).map_err(|e| with_sql(pg(e), sql))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// The store on a PostgreSQL database.
pub struct PgStore {
    pool: r2d2::Pool<Manager>,
    data_dir: PathBuf,
    settler: Option<Settler>,
}

/// Refuses a database whose text order is not byte order: listings sort names the way
/// SQLite does, on every host.
fn check_collation(client: &mut Client) -> Result<(), StoreError> {
    let row = client
        .query_one(
            "SELECT datcollate FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .map_err(pg)?;
    let collate: String = row.get(0);
    if matches!(collate.as_str(), "C" | "POSIX" | "C.UTF-8" | "C.utf8") {
        return Ok(());
    }
    Err(StoreError(format!(
        "the database's collation is {collate}; Jumpgate sorts names in byte order: \
         CREATE DATABASE … LOCALE 'C.UTF-8' TEMPLATE template0"
    )))
}

impl PgStore {
    /// Connects to `url`, brings the schema up to date and starts the settler; the files
    /// stay under `data_dir`.
    pub fn open(url: &str, data_dir: &Path) -> Result<PgStore, StoreError> {
        Self::with_target(Target::parse(url)?, data_dir)
    }

    fn with_target(mut target: Target, data_dir: &Path) -> Result<PgStore, StoreError> {
        private_dir(data_dir).map_err(StoreError)?;
        if target.config.get_connect_timeout().is_none() {
            target.config.connect_timeout(Duration::from_secs(10));
        }
        target.config.application_name("jumpgate");
        let mut client = target.connect().map_err(pg)?;
        check_collation(&mut client)?;
        migrations::apply(&mut client, MIGRATION_LOCK)?;
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(2))
            .connection_timeout(Duration::from_secs(30))
            .build(Manager { target })
            .map_err(|e| StoreError(format!("database: {e}")))?;
        let settler_pool = pool.clone();
        let settler_dir = data_dir.to_path_buf();
        Ok(PgStore {
            settler: Some(Settler::start(move || {
                settle_due(&settler_pool, &settler_dir)
            })),
            pool,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// A store in a fresh schema of the database `JUMPGATE_TEST_DATABASE` names, for the
    /// unit tests on PostgreSQL.
    #[cfg(test)]
    pub fn for_tests(url: &str) -> PgStore {
        let mut target = Target::parse(url).expect("JUMPGATE_TEST_DATABASE");
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut client = target.connect().expect("test database");
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("test schema");
        target.config.options(&format!("-c search_path={schema}"));
        let dir = std::env::temp_dir().join(&schema);
        let mut store = Self::with_target(target, &dir).expect("test store");
        store.settler = None;
        store
    }

    fn conn(&self) -> Found<r2d2::PooledConnection<Manager>> {
        self.pool
            .get()
            .map_err(|e| StoreError(format!("database: {e}")))
    }

    /// Reads one consistent snapshot; never waits for a write.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        let PgConn { client, statements } = &mut *conn;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| E::from(pg(e)))?;
        let tx = PgTx {
            tx: RefCell::new(tx),
            statements: RefCell::new(statements),
            data_dir: &self.data_dir,
        };
        let out = f(&tx)?;
        tx.tx.into_inner().commit().map_err(|e| E::from(pg(e)))?;
        Ok(out)
    }

    /// Runs `f` in one transaction, after applying every clock-driven change that has come
    /// due: everything it changes is committed together, or, on any error, nothing is.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        let out = write_on(&mut conn, &self.data_dir, |tx| {
            timers::settle(tx, crate::time::now_ms()).map_err(E::from)?;
            f(tx)
        })?;
        drop(conn);
        if let Some(settler) = &self.settler {
            settler.wake();
        }
        Ok(out)
    }
}

/// One write transaction on `conn`, under the writer lock.
fn write_on<T, E: From<StoreError>>(
    conn: &mut PgConn,
    data_dir: &Path,
    f: impl FnOnce(&PgTx) -> Result<T, E>,
) -> Result<T, E> {
    let PgConn { client, statements } = conn;
    let tx = client.transaction().map_err(|e| E::from(pg(e)))?;
    let tx = PgTx {
        tx: RefCell::new(tx),
        statements: RefCell::new(statements),
        data_dir,
    };
    tx.run(
        "SELECT pg_advisory_xact_lock($1)",
        super::db::args![WRITER_LOCK],
    )
    .map_err(E::from)?;
    let out = f(&tx)?;
    tx.tx.into_inner().commit().map_err(|e| E::from(pg(e)))?;
    Ok(out)
}

/// Applies what is due now; answers how long until the next change (at most the poll
/// interval).
fn settle_due(pool: &r2d2::Pool<Manager>, data_dir: &Path) -> Result<Duration, StoreError> {
    let mut conn = pool
        .get()
        .map_err(|e| StoreError(format!("database: {e}")))?;
    let now = crate::time::now_ms();
    let PgConn { client, statements } = &mut *conn;
    let due = {
        let tx = PgTx {
            tx: RefCell::new(client.transaction().map_err(pg)?),
            statements: RefCell::new(statements),
            data_dir,
        };
        let due = timers::next_due(&tx)?;
        tx.tx.into_inner().commit().map_err(pg)?;
        due
    };
    match due {
        Some(due) if due <= now => {
            write_on(&mut conn, data_dir, |tx| {
                timers::settle(tx, crate::time::now_ms())
            })?;
            Ok(Duration::ZERO)
        }
        Some(due) => Ok(Duration::from_millis((due - now) as u64).min(SETTLER_POLL)),
        None => Ok(SETTLER_POLL),
    }
}
