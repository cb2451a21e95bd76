//! `jumpgate migrate-store --to postgresql://…`: copies a cloud kept in SQLite (the default
//! store, `data_dir/jumpgate.db`) into a new PostgreSQL database, row for row, in one
//! PostgreSQL transaction: the destination holds the whole cloud or nothing of it. The
//! image and volume files stay in `data_dir`; the operator then sets `[local] database`.
//!
//! Both schemas come from the same numbered migrations, so each SQLite table has its
//! PostgreSQL twin with the same column names; PostgreSQL's tables whose SQLite rowid the
//! SQL reads (Nova's integer keypair and flavor ids, creation order) carry it as an explicit
//! `rowid` column, which is filled from SQLite's rowid so every id stays the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use ::postgres::types::{ToSql, Type};
use rusqlite::{Connection, OpenFlags};

use super::db::{PgArg, Row, Value};
use super::postgres::{pg, PgStore, Target, WRITER_LOCK};
use super::sqlite::SqliteStore;
use super::StoreError;

/// PostgreSQL's own bookkeeping table (SQLite keeps its version in `PRAGMA user_version`).
const SCHEMA_VERSION: &str = "schema_version";

/// The tables the migrations themselves fill (postgres/migrations.rs): a new database holds
/// these rows before any cloud used it. They are replaced by the source's, which started
/// from the same rows. Every other table must be empty.
const SEEDED: &[&str] = &[
    "meta",
    "metadef_resource_types",
    "metadef_namespaces",
    "metadef_associations",
    "metadef_properties",
];

/// What a migration copied, for the log.
#[derive(Debug)]
pub struct Report {
    pub tables: usize,
    pub rows: u64,
    pub elapsed: Duration,
    /// The destination, without its password.
    pub to: String,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "migrate-store: copied {} rows in {} tables to {} in {:.1} s",
            self.rows,
            self.tables,
            self.to,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Copies the SQLite store in `data_dir` into the PostgreSQL database `to`, which must hold
/// no cloud yet. Both schemas are brought up to date first.
pub fn migrate_store(data_dir: &Path, to: &str) -> Result<Report, StoreError> {
    let started = Instant::now();
    if !(to.starts_with("postgresql://") || to.starts_with("postgres://")) {
        return Err(StoreError(format!(
            "migrate-store --to: '{}' is not a postgresql:// URL",
            without_password(to)
        )));
    }
    let target = Target::parse(to)?;
    let path = data_dir.join("jumpgate.db");
    if !path.is_file() {
        return Err(StoreError(format!(
            "migrate-store: {} does not exist: there is no SQLite store to copy",
            path.display()
        )));
    }
    // Opening each store applies its migrations; each is dropped (its settler stopped)
    // before the copy, which reads and writes on connections of its own.
    drop(SqliteStore::open(data_dir)?);
    drop(PgStore::open(to, data_dir)?);

    let source = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
    source.busy_timeout(Duration::from_secs(5))?;
    // One snapshot of the source: a jumpgate still serving it cannot tear the copy.
    source.execute_batch("BEGIN")?;

    let mut client = target.connect().map_err(pg)?;
    let mut tx = client.transaction().map_err(pg)?;
    // A jumpgate already serving the destination writes under this lock: none writes while
    // the copy runs, and a second copy started at once waits here, then finds the tables full.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])
        .map_err(pg)?;

    let tables = tables_in_order(&source, &mut tx)?;
    refuse_unless_empty(&mut tx, &tables)?;
    for table in tables.iter().rev().filter(|t| SEEDED.contains(&t.as_str())) {
        tx.batch_execute(&format!("DELETE FROM {}", quoted(table)))
            .map_err(pg)?;
    }
    let mut rows = 0;
    for table in &tables {
        rows += copy_table(&source, &mut tx, table)?;
    }
    continue_identities(&mut tx)?;
    for table in &tables {
        let q = format!("SELECT count(*) FROM {}", quoted(table));
        let theirs: i64 = source.query_row(&q, [], |r| r.get(0))?;
        let ours: i64 = tx.query_one(&q, &[]).map_err(pg)?.get(0);
        if theirs != ours {
            return Err(StoreError(format!(
                "migrate-store: {table}: {theirs} rows in SQLite but {ours} copied; nothing \
                 was committed"
            )));
        }
    }
    tx.commit().map_err(pg)?;
    Ok(Report {
        tables: tables.len(),
        rows,
        elapsed: started.elapsed(),
        to: without_password(to),
    })
}

/// A table or column name in SQL. The names come from the two schemas, which name things
/// in lower-case words; quoting keeps `type` and `rowid` mere names.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every table of the cloud, each after the tables its foreign keys point at, so every
/// row goes in with its references already there and PostgreSQL checks each one as it
/// would for the API. (Skipping the checks with `session_replication_role = replica` would
/// need a superuser and would let a broken reference through unnoticed.) Ties keep
/// SQLite's creation order. Refuses when the two schemas do not have the same tables.
fn tables_in_order(
    source: &Connection,
    tx: &mut ::postgres::Transaction,
) -> Result<Vec<String>, StoreError> {
    let mut st = source.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY rowid",
    )?;
    let theirs: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let ours: BTreeSet<String> = tx
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )
        .map_err(pg)?
        .iter()
        .map(|r| r.get(0))
        .filter(|t: &String| t != SCHEMA_VERSION)
        .collect();
    let only_sqlite: Vec<&str> = theirs
        .iter()
        .filter(|t| !ours.contains(*t))
        .map(String::as_str)
        .collect();
    let only_pg: Vec<&str> = ours
        .iter()
        .filter(|t| !theirs.contains(t))
        .map(String::as_str)
        .collect();
    if !only_sqlite.is_empty() || !only_pg.is_empty() {
        return Err(StoreError(format!(
            "migrate-store: the schemas differ: only in SQLite: [{}]; only in PostgreSQL: [{}]",
            only_sqlite.join(", "),
            only_pg.join(", ")
        )));
    }
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in tx
        .query(
            "SELECT t.relname::text, r.relname::text FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid \
             WHERE c.contype = 'f' \
               AND t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
            &[],
        )
        .map_err(pg)?
    {
        let (table, target): (String, String) = (r.get(0), r.get(1));
        if table != target {
            needs.entry(table).or_default().insert(target);
        }
    }
    let mut ordered: Vec<String> = Vec::with_capacity(theirs.len());
    let mut left = theirs;
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            needs
                .get(t)
                .is_none_or(|n| n.iter().all(|d| ordered.contains(d)))
        });
        match ready {
            Some(i) => ordered.push(left.remove(i)),
            None => {
                return Err(StoreError(format!(
                    "migrate-store: the foreign keys among [{}] form a cycle",
                    left.join(", ")
                )))
            }
        }
    }
    Ok(ordered)
}

/// Refuses a destination that already holds a cloud, naming the first table with rows: a
/// second run must not duplicate the cloud, nor mix two.
fn refuse_unless_empty(
    tx: &mut ::postgres::Transaction,
    tables: &[String],
) -> Result<(), StoreError> {
    for table in tables.iter().filter(|t| !SEEDED.contains(&t.as_str())) {
        let q = format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table));
        let full: bool = tx.query_one(&q, &[]).map_err(pg)?.get(0);
        if full {
            return Err(StoreError(format!(
                "migrate-store: the destination is not empty: table {table} has rows (copy \
                 into a new database)"
            )));
        }
    }
    Ok(())
}

/// Copies one table with one prepared INSERT, executed row by row in SQLite's rowid order;
/// answers how many rows.
fn copy_table(
    source: &Connection,
    tx: &mut ::postgres::Transaction,
    table: &str,
) -> Result<u64, StoreError> {
    let mut st = source.prepare("SELECT name FROM pragma_table_info($1) ORDER BY cid")?;
    let theirs: Vec<String> = st
        .query_map([table], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let ours: Vec<String> = tx
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .map_err(pg)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Every SQLite column has its twin; PostgreSQL's only extra is the explicit rowid.
    let missing: Vec<&str> = theirs
        .iter()
        .filter(|c| !ours.contains(c))
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = ours
        .iter()
        .filter(|c| !theirs.contains(c) && *c != "rowid")
        .map(String::as_str)
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(StoreError(format!(
            "migrate-store: {table}: the columns differ: only in SQLite: [{}]; only in \
             PostgreSQL: [{}]",
            missing.join(", "),
            extra.join(", ")
        )));
    }
    let mut columns = theirs;
    if ours.iter().any(|c| c == "rowid") {
        columns.insert(0, "rowid".into());
    }
    let names: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
    let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    // OVERRIDING SYSTEM VALUE: identity columns take the copied ids, not new ones.
    let insert = tx
        .prepare(&format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES ({})",
            quoted(table),
            names.join(", "),
            params.join(", ")
        ))
        .map_err(pg)?;
    let types = insert.params().to_vec();
    let mut select = source.prepare(&format!(
        "SELECT {} FROM {} ORDER BY rowid",
        names.join(", "),
        quoted(table)
    ))?;
    let mut rows = select.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let row = Row::Sqlite(r);
        let mut args = Vec::with_capacity(columns.len());
        for (i, ty) in types.iter().enumerate() {
            let v = row.value(i)?;
            // PgArg writes a real as a double: anywhere else its bytes would mean another
            // number. SQLite's column affinities keep reals out of other columns; a row
            // that has one anyway stops the copy rather than change its value.
            if matches!(v, Value::Real(_)) && *ty != Type::FLOAT8 {
                return Err(StoreError(format!(
                    "migrate-store: {table}.{}: a real number in a {ty} column",
                    columns[i]
                )));
            }
            args.push(PgArg(v));
        }
        let refs: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        tx.execute(&insert, &refs)
            .map_err(|e| StoreError(format!("migrate-store: {table}: {}", pg(e).0)))?;
        n += 1;
    }
    Ok(n)
}

/// Moves each identity sequence past the largest id copied, so the next row made through
/// the API gets the next id, as it would have on SQLite.
fn continue_identities(tx: &mut ::postgres::Transaction) -> Result<(), StoreError> {
    let identities: Vec<(String, String)> = tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE is_identity = 'YES' AND table_schema = current_schema()",
            &[],
        )
        .map_err(pg)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (table, column) in identities {
        // An empty table keeps its sequence at the start.
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), m) \
                 FROM (SELECT max({}) AS m FROM {}) s WHERE m IS NOT NULL",
                quoted(&column),
                quoted(&table)
            ),
            &[&quoted(&table), &column],
        )
        .map_err(pg)?;
    }
    Ok(())
}

/// `url` without the password it may carry, for the log.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(':') => {
            let user = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::flavors::Flavor;
    use crate::compute::keypairs::Keypair;
    use crate::identity::model::{Domain, Project, User};
    use crate::store::sql::fixtures::TestServer;
    use crate::store::{Store, Unique};

    #[test]
    fn a_password_is_not_logged() {
        assert_eq!(
            without_password("postgresql://jg:secret@db:5432/cloud"),
            "postgresql://jg:***@db:5432/cloud"
        );
        assert_eq!(
            without_password("postgresql://jg@db/cloud"),
            "postgresql://jg@db/cloud"
        );
    }

    /// A URL for a new, empty schema in the database `JUMPGATE_TEST_DATABASE` names.
    fn new_schema(base: &str) -> String {
        let schema = format!("m_{}", uuid::Uuid::new_v4().simple());
        let mut client = Target::parse(base).unwrap().connect().unwrap();
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{schema}")
    }

    fn flavor(id: &str, is_public: bool) -> Flavor {
        Flavor {
            id: id.into(),
            name: format!("f-{id}"),
            vcpus: 2,
            ram: 512,
            disk: 1,
            ephemeral: 0,
            swap: 0,
            rxtx_factor: 1.5,
            is_public,
            disabled: false,
            description: Some("copied".into()),
            extra_specs: serde_json::json!({"hw:cpu_policy": "dedicated"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn stored(u: Unique) {
        assert_eq!(u, Unique::Stored);
    }

    fn keypair(n: usize) -> Keypair {
        Keypair {
            id: 0,
            user_id: "u1".into(),
            name: format!("k{n}"),
            kind: "ssh".into(),
            public_key: format!("ssh-ed25519 AAAA{n}"),
            fingerprint: format!("fp:{n}"),
            created_ms: n as i64,
        }
    }

    /// A cloud in SQLite, copied into PostgreSQL, reads the same through the repositories:
    /// keypair ids and flavor places included, and new rows continue after the copied ids.
    #[test]
    fn a_sqlite_cloud_reads_the_same_from_postgresql() {
        let Ok(base) = std::env::var("JUMPGATE_TEST_DATABASE") else {
            return;
        };
        if base.is_empty() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let to = new_schema(&base);
        assert!(migrate_store(dir.path(), &to)
            .unwrap_err()
            .0
            .contains("no SQLite store"));

        let keypairs = 50;
        let sqlite = Store::Sqlite(SqliteStore::open(dir.path()).unwrap());
        sqlite
            .write(|c| -> Result<(), StoreError> {
                stored(c.insert_domain(&Domain {
                    id: "d1".into(),
                    name: "one".into(),
                    description: "a domain".into(),
                    enabled: true,
                    tags: vec!["t".into()],
                })?);
                stored(c.insert_project(&Project {
                    id: "p1".into(),
                    name: "proj".into(),
                    domain_id: "d1".into(),
                    parent_id: Some("d1".into()),
                    description: String::new(),
                    enabled: true,
                    tags: vec![],
                    extra: Default::default(),
                })?);
                stored(c.insert_user(&User {
                    id: "u1".into(),
                    name: "alice".into(),
                    domain_id: "d1".into(),
                    password_hash: Some("$argon2id$x".into()),
                    enabled: true,
                    default_project_id: Some("p1".into()),
                    extra: Default::default(),
                    created_at: "2026-01-01T00:00:00.000000".into(),
                    password_changed_at: None,
                })?);
                c.insert_flavor(&flavor("f1", true), 1)?;
                c.insert_flavor(&flavor("f2", false), 2)?;
                c.grant_flavor_access("f2", "p1")?;
                // A gap in the rowids: ids are kept as they are, not renumbered.
                for n in 0..=keypairs {
                    c.insert_keypair(&keypair(n))?;
                }
                c.delete_keypair("u1", "k0")?;
                c.test_server(&TestServer {
                    id: "s1",
                    project_id: "p1",
                    user_id: "u1",
                    flavor: serde_json::json!({"original_name": "f-f1", "vcpus": 2}),
                    ..Default::default()
                });
                crate::volume::fixtures::volume_type(c, "vt", "lvm");
                crate::volume::fixtures::volume(c, "v1", "p1", "vt", 3);
                Ok(())
            })
            .unwrap();
        let snapshot = |s: &Store| {
            s.read(|c| -> Result<_, StoreError> {
                Ok((
                    c.domain("d1")?,
                    c.project("p1")?,
                    c.user("u1")?,
                    format!("{:?}", (c.flavor("f1")?, c.flavor("f2")?)),
                    format!("{:?}", c.flavor_places()?),
                    c.flavor_access("f2")?,
                    format!("{:?}", c.keypairs("u1", 0, usize::MAX)?),
                    format!("{:?}", c.server("s1")?),
                    format!("{:?}", c.volume("v1")?),
                ))
            })
            .unwrap()
        };
        let before = snapshot(&sqlite);
        drop(sqlite);

        let report = migrate_store(dir.path(), &to).unwrap();
        eprintln!("{report}");
        assert!(report.rows as usize > keypairs);

        let pg = Store::Postgres(PgStore::open(&to, dir.path()).unwrap());
        let after = snapshot(&pg);
        assert_eq!(before, after);
        // The first keypair left was the second made: its id is 2 on both.
        assert!(after.6.starts_with("[Keypair { id: 2,"), "{}", after.6);
        pg.write(|c| -> Result<(), StoreError> {
            c.insert_keypair(&keypair(keypairs + 1))?;
            c.insert_flavor(&flavor("f3", true), 3)
        })
        .unwrap();
        let (next, places) = pg
            .read(|c| -> Result<_, StoreError> {
                Ok((
                    c.keypair("u1", &format!("k{}", keypairs + 1))?,
                    c.flavor_places()?,
                ))
            })
            .unwrap();
        assert_eq!(next.map(|k| k.id), Some(keypairs as i64 + 2));
        let row_of = |id: &str| places.iter().find(|(f, _)| f == id).map(|(_, p)| p.row);
        assert_eq!(row_of("f3"), row_of("f2").map(|r| r + 1));
        drop(pg);

        let again = migrate_store(dir.path(), &to).unwrap_err().0;
        assert!(again.contains("not empty"), "{again}");
    }

    /// Only the tables in `SEEDED` have rows in a new database: anything else the
    /// migrations insert would make every destination look full.
    #[test]
    fn a_new_database_has_rows_only_in_the_seeded_tables() {
        let Ok(base) = std::env::var("JUMPGATE_TEST_DATABASE") else {
            return;
        };
        if base.is_empty() {
            return;
        }
        let to = new_schema(&base);
        let dir = tempfile::tempdir().unwrap();
        drop(PgStore::open(&to, dir.path()).unwrap());
        let mut client = Target::parse(&to).unwrap().connect().unwrap();
        let tables: Vec<String> = client
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(tables.len() > 40, "{tables:?}");
        for t in tables {
            let q = format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(&t));
            let full: bool = client.query_one(&q, &[]).unwrap().get(0);
            assert_eq!(
                full,
                t == SCHEMA_VERSION || SEEDED.contains(&t.as_str()),
                "{t}"
            );
        }
    }
}
