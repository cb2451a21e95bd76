//! The local cloud's state, as a layer: each service's model asks its repository trait
//! (`identity::repo`, …) for records and never sees SQL; `sqlite` fills those traits
//! today (one database under `data_dir`), and another backend can fill them beside it.
//! `files` keeps the image and volume files every backend shares.

pub(crate) mod db;
pub mod files;
pub(crate) mod migrate;
mod postgres;
mod settler;
pub(crate) mod sql;
pub(crate) mod sqlite;

use std::path::Path;

use crate::compute::flavors::repo::FlavorRepo;
use crate::compute::quotas::repo::ComputeQuotaRepo;
use crate::compute::repo::{
    AggregateRepo, HypervisorRepo, KeypairRepo, MigrationRepo, ServerBackupRepo, ServerGroupRepo,
    ServerNetworkRepo, ServerVolumeRepo, ServiceRepo, UsageRepo,
};
use crate::compute::servers::repo::ServerRepo;
use crate::identity::repo::IdentityRepo;
use crate::image::repo::ImageRepo;
use crate::network::repo::NetworkRepo;
use crate::placement::repo::PlacementRepo;
use crate::volume::repo::{
    BackupRepo, GroupRepo, MessageRepo, QosRepo, SnapshotRepo, TransferRepo, VolumeQuotaRepo,
    VolumeRepo, VolumeTypeRepo,
};

/// Declares `Tx` over the repositories listed, once: the trait and its blanket impl.
macro_rules! transaction {
    ($($repo:ident),+ $(,)?) => {
        /// Everything one transaction reaches: every service's repositories. A backend
        /// fills each trait for its transaction type and so has a `Tx`; services take
        /// `&dyn Tx` (or the one repository they need, which `&dyn Tx` upcasts to).
        #[cfg(not(test))]
        pub trait Tx: $($repo +)+ {}
        #[cfg(not(test))]
        impl<T: $($repo +)+ ?Sized> Tx for T {}

        // Tests also write records the repositories have no method for.
        #[cfg(test)]
        pub trait Tx: $($repo +)+ sql::fixtures::Fixtures {}
        #[cfg(test)]
        impl<T: $($repo +)+ sql::fixtures::Fixtures + ?Sized> Tx for T {}
    };
}

transaction!(
    IdentityRepo,
    ImageRepo,
    NetworkRepo,
    VolumeRepo,
    VolumeTypeRepo,
    VolumeQuotaRepo,
    QosRepo,
    GroupRepo,
    SnapshotRepo,
    MessageRepo,
    BackupRepo,
    TransferRepo,
    ServerRepo,
    KeypairRepo,
    FlavorRepo,
    ServerGroupRepo,
    ComputeQuotaRepo,
    ServerBackupRepo,
    UsageRepo,
    HypervisorRepo,
    ServiceRepo,
    ServerNetworkRepo,
    ServerVolumeRepo,
    MigrationRepo,
    AggregateRepo,
    PlacementRepo,
);

/// Where the cloud's state is kept: SQLite in `data_dir` (the default), or a PostgreSQL
/// database several hosts share. Either way the files are under `data_dir`.
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens the store `[local] database` names (a `postgresql://` URL), or SQLite's file
    /// in `data_dir` when it names none; creates or upgrades its schema.
    pub fn open(data_dir: &Path, database: Option<&str>) -> Result<Store, StoreError> {
        match database {
            None => Ok(Store::Sqlite(sqlite::SqliteStore::open(data_dir)?)),
            Some(url) if url.starts_with("postgresql://") || url.starts_with("postgres://") => {
                Ok(Store::Postgres(postgres::PgStore::open(url, data_dir)?))
            }
            Some(other) => Err(StoreError(format!(
                "[local] database: '{other}' is not a postgresql:// URL (leave it unset for \
                 SQLite in data_dir)"
            ))),
        }
    }

    /// A store for unit tests: SQLite in memory, or, with `JUMPGATE_TEST_DATABASE` set to
    /// a PostgreSQL URL, a fresh schema there.
    #[cfg(test)]
    pub fn memory() -> Store {
        match std::env::var("JUMPGATE_TEST_DATABASE") {
            Ok(url) if !url.is_empty() => Store::Postgres(postgres::PgStore::for_tests(&url)),
            _ => Store::Sqlite(sqlite::SqliteStore::memory()),
        }
    }

    /// Reads one consistent snapshot; never waits for a write.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Store::Sqlite(s) => s.read(f),
            Store::Postgres(s) => s.read(f),
        }
    }

    /// Runs `f` in one transaction, after applying every clock-driven change that has come
    /// due: everything it changes is committed together, or, on any error, nothing is.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&dyn Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Store::Sqlite(s) => s.write(f),
            Store::Postgres(s) => s.write(f),
        }
    }
}

/// A store error, for the log; handlers answer 500 for these.
#[derive(Debug)]
pub struct StoreError(pub String);

/// What marks a value the database cannot hold (see `StoreError::unstorable`).
const UNSTORABLE: &str = "unstorable value: ";

impl StoreError {
    /// A value from the request the database cannot hold (PostgreSQL's text has no NUL
    /// character): the client's fault, answered 400 by every service, not a failure.
    pub fn unstorable(why: &str) -> StoreError {
        StoreError(format!("{UNSTORABLE}{why}"))
    }

    /// Why the request's value cannot be stored, if that is what this error is.
    pub fn unstorable_reason(&self) -> Option<&str> {
        self.0.strip_prefix(UNSTORABLE)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
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

pub type Outcome<T> = std::result::Result<T, Failure>;

/// What storing a record under a unique name did: stored it, or found the name taken
/// (the model answers its service's 409).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    Stored,
    Taken,
}

/// Creates `dir` (and its parents) readable by this user only, if it does not exist: the
/// data folder holds password hashes and the token key.
pub fn private_dir(dir: &std::path::Path) -> Result<(), String> {
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
