//! The local cloud's state, as a layer: each service's model asks its repository trait
//! (`identity::repo`, …) for records and never sees SQL; `sqlite` fills those traits
//! today (one database under `data_dir`), and another backend can fill them beside it.
//! `files` keeps the image and volume files every backend shares.

pub mod files;
pub(crate) mod sqlite;

pub use sqlite::Store;

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
        pub trait Tx: $($repo +)+ sqlite::fixtures::Fixtures {}
        #[cfg(test)]
        impl<T: $($repo +)+ sqlite::fixtures::Fixtures + ?Sized> Tx for T {}
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
);

/// A store error, for the log; handlers answer 500 for these.
#[derive(Debug)]
pub struct StoreError(pub String);

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
