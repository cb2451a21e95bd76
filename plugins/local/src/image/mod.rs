//! Image (Glance v2) for the local cloud: image records in the store, their bytes as files
//! under `data_dir/images`, uploads and downloads streamed, never held whole.

mod data;
pub mod model;
mod routes;
mod views;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;

use crate::settings::Settings;
use crate::store::Store;

pub struct Images {
    app: App,
    store: Arc<Store>,
    files: data::Files,
    /// `[image] image_size_cap`, bytes (Glance's default, 1 TiB).
    size_cap: u64,
}

impl Images {
    pub fn new(app: App, store: Arc<Store>, settings: &Settings) -> Result<Images, Error> {
        let files = data::Files::new(&settings.data_dir)
            .map_err(|e| Error(format!("{}: {e}", settings.data_dir.display())))?;
        let size_cap = app
            .config("image", "image_size_cap")
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    Error(format!(
                        "[image] image_size_cap: '{v}' is not a number of bytes"
                    ))
                })
            })
            .transpose()?
            .unwrap_or(1 << 40);
        Ok(Images {
            app,
            store,
            files,
            size_cap,
        })
    }

    fn fault(&self, e: model::Error) -> Fault {
        match e {
            model::Error::NotFound(m) => Fault::not_found(m),
            model::Error::Conflict(m) => Fault::conflict(m),
            model::Error::Invalid(m) => Fault::bad_request(m),
            model::Error::Store(e) => {
                self.app.log(LogLevel::Error, &format!("image store: {e}"));
                Fault::internal("The server encountered an unexpected error.")
            }
        }
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> model::Result<T>,
    ) -> Result<T, Fault> {
        self.store.read(f).map_err(|e| self.fault(e))
    }

    /// Runs `f` in one transaction; model errors become Glance's faults.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> model::Result<T>,
    ) -> Result<T, Fault> {
        self.store.write(|tx| f(tx)).map_err(|e| self.fault(e))
    }
}

pub fn setup(disp: &Dispatcher, images: Arc<Images>) -> Result<(), Error> {
    routes::setup(disp, images)
}
