//! Placement (API 1.0–1.39) for the local cloud: resource providers, inventories, usages,
//! traits, resource classes, aggregates, allocations and allocation candidates, with the
//! compute host as a provider whose inventory is the machine's.

pub mod model;
pub mod repo;
mod routes;
mod standard;
mod views;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;

use crate::microversion::Version;
use crate::store::Store;

pub struct Placement {
    app: App,
    store: Arc<Store>,
    /// Where the service is mounted (`/placement`): Placement's links are relative URLs
    /// under it.
    prefix: String,
}

/// The newest microversion every body here is written for.
pub const MAX: Version = Version(1, 39);
pub const MIN: Version = Version(1, 0);

impl Placement {
    pub fn new(app: App, store: Arc<Store>, prefix: String) -> Placement {
        Placement { app, store, prefix }
    }

    /// The fault for a model error; store failures are logged and answered 500.
    fn fault(&self, e: model::Error) -> Fault {
        match e {
            model::Error::NotFound(m) => Fault::not_found(m),
            model::Error::Invalid(m) => Fault::bad_request(m),
            model::Error::Conflict(m, code) => {
                let f = Fault::conflict(m);
                match code {
                    Some(code) => f.kind(code),
                    None => f,
                }
            }
            model::Error::Store(e) if e.unstorable_reason().is_some() => {
                Fault::bad_request(format!(
                    "Invalid input: {}",
                    e.unstorable_reason().unwrap_or_default()
                ))
            }
            model::Error::Store(e) => {
                self.app
                    .log(LogLevel::Error, &format!("placement store: {e}"));
                Fault::internal("Uncaught exception")
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(model::Repo) -> model::Result<T>) -> Result<T, Fault> {
        self.store.read(|c| f(c)).map_err(|e| self.fault(e))
    }

    /// Runs `f` in one transaction; model errors become Placement's faults.
    fn write<T>(&self, f: impl FnOnce(model::Repo) -> model::Result<T>) -> Result<T, Fault> {
        self.store.write(|c| f(c)).map_err(|e| self.fault(e))
    }
}

/// Placement's routes. The compute node's provider is the local compute's to report
/// (`compute::scheduler`): without it, Placement serves what its users write.
pub fn setup(disp: &Dispatcher, svc: Arc<Placement>) -> Result<(), Error> {
    routes::setup(disp, svc)
}
