//! The `local` driver: a complete OpenStack cloud on one machine. State lives in SQLite
//! under `[local] data_dir`; each service is a folder with routes, views and model.

#[macro_use]
mod macros;
mod compute;
mod identity;
mod image;
mod microversion;
mod network;
mod policy;
mod settings;
mod store;
mod time;
mod volume;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use jumpgate_plugin_api::prelude::*;

use identity::Identity;
use settings::Settings;
use store::Store;

/// A driver has its own global allocator (its own std). Listing images and users
/// allocates many small strings; glibc's malloc was the top cost there, as it was in the
/// host. abi_stable's strings and vectors free through the side that made them, so the two
/// allocators never meet.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Open stores by data_dir: every service of this driver, and every reload, shares one
/// connection to one database.
static STORES: Mutex<Vec<(PathBuf, Weak<Store>)>> = Mutex::new(Vec::new());

fn store_for(settings: &Settings) -> Result<Arc<Store>, Error> {
    let mut stores = STORES.lock().unwrap_or_else(|e| e.into_inner());
    stores.retain(|(_, w)| w.strong_count() > 0);
    if let Some(s) = stores
        .iter()
        .find(|(p, _)| *p == settings.data_dir)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(s);
    }
    let store = Arc::new(Store::open(&settings.data_dir).map_err(|e| Error(e.to_string()))?);
    stores.push((settings.data_dir.clone(), Arc::downgrade(&store)));
    Ok(store)
}

fn setup_routes(app: &App, disp: &Dispatcher) -> Result<(), Error> {
    let settings = Settings::read(app)?;
    let store = store_for(&settings)?;
    match disp.service().as_str() {
        "identity" => {
            let id = Arc::new(Identity::new(app.clone(), store, &settings).map_err(Error)?);
            if let Some(password) = id
                .bootstrap(settings.admin_password.as_deref())
                .map_err(Error)?
            {
                app.log(
                    LogLevel::Warn,
                    &format!("bootstrap: created user 'admin' in project 'admin' with the generated password {password} (shown once; set [local] admin_password or JUMPGATE_ADMIN_PASSWORD to choose it)"),
                );
            }
            identity::setup(app, disp, id)
        }
        "image" => image::setup(
            disp,
            Arc::new(image::Images::new(app.clone(), store, &settings)?),
        ),
        "compute" => {
            let images = Arc::new(image::Images::new(app.clone(), store.clone(), &settings)?);
            // Compute's own handle on block storage: attachments and boot volumes live in
            // the same store, so both services read one truth.
            let volumes = Arc::new(volume::Volumes::new(
                app.clone(),
                store.clone(),
                images.clone(),
                &settings,
            )?);
            compute::setup(
                disp,
                Arc::new(compute::Compute::new(
                    app.clone(),
                    store,
                    images,
                    volumes,
                    &settings,
                )?),
            )
        }
        "volume" => volume::setup(
            disp,
            Arc::new(volume::Volumes::new(
                app.clone(),
                store.clone(),
                Arc::new(image::Images::new(app.clone(), store, &settings)?),
                &settings,
            )?),
        ),
        "network" => {
            let net = Arc::new(network::Net::new(app.clone(), store, &settings));
            // The external network `public` (devstack's), for routers and floating IPs.
            network::resources::floatingips::bootstrap(&net)
                .map_err(|e| Error(net.fault(e).message))?;
            network::setup(disp, net)
        }
        other => Err(Error(format!(
            "the local driver does not serve {other} yet"
        ))),
    }
}

/// Drops the driver's open stores: a retired build holds no database.
fn teardown() {
    STORES.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

export_driver! {
    name: "local",
    services: ["identity", "image", "compute", "network", "volume"],
    setup_routes: setup_routes,
    teardown: teardown,
}
