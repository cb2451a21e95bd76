//! The repositories in SQL, once for every backend: each fills its service's repository
//! trait for any `Db` (`db.rs`), in the SQL SQLite and PostgreSQL share.

mod compute;
#[cfg(test)]
pub(crate) mod fixtures;
mod flavors;
mod hosts;
mod identity;
mod image;
mod network;
mod placement;
mod quotas;
mod servers;
pub(crate) mod timers;
mod volume;
mod volume_backups;
mod volume_groups;
mod volume_messages;
mod volume_qos;
mod volume_quotas;
mod volume_snapshots;
mod volume_transfers;
mod volume_types;
