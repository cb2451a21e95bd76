//! The `local` driver: a complete OpenStack cloud on one machine. State lives in SQLite
//! under `[local] data_dir`; each service is a folder with routes, views and model.

#[macro_use]
mod macros;
mod compute;
mod identity;
mod image;
mod microversion;
mod network;
mod placement;
mod policy;
mod settings;
mod store;
mod time;
mod volume;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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

/// What every service of this build shares for one `data_dir` and database: one store (one
/// connection to one database), and whether the files a crash left were put right — once
/// per build, not once per service whose side owns files (image, compute, volume).
struct Shared {
    data_dir: PathBuf,
    database: Option<String>,
    store: Arc<Store>,
    images_recovered: Mutex<bool>,
    volumes_swept: Mutex<bool>,
}

/// Held until `teardown`: a retired build lets go of its database.
static SHARED: Mutex<Vec<Arc<Shared>>> = Mutex::new(Vec::new());

fn shared_for(app: &App, settings: &Settings) -> Result<Arc<Shared>, Error> {
    let mut all = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = all
        .iter()
        .find(|s| s.data_dir == settings.data_dir && s.database == settings.database)
    {
        return Ok(s.clone());
    }
    // `jumpgate migrate-store`: the copy runs once, before the first service is set up,
    // and any failure fails the setup, so the command exits with the reason.
    if let Some(to) = &settings.migrate_store_to {
        if settings.database.is_some() {
            return Err(Error(
                "migrate-store copies the SQLite store in data_dir, but [local] database \
                 already names another store"
                    .into(),
            ));
        }
        let report =
            store::migrate::migrate_store(&settings.data_dir, to).map_err(|e| Error(e.0))?;
        app.log(LogLevel::Info, &report.to_string());
    }
    let store = Arc::new(
        Store::open(&settings.data_dir, settings.database.as_deref())
            .map_err(|e| Error(e.to_string()))?,
    );
    let shared = Arc::new(Shared {
        data_dir: settings.data_dir.clone(),
        database: settings.database.clone(),
        store,
        images_recovered: Mutex::new(false),
        volumes_swept: Mutex::new(false),
    });
    all.push(shared.clone());
    Ok(shared)
}

/// Runs `f` unless it already succeeded under `done`.
fn once(done: &Mutex<bool>, f: impl FnOnce() -> Result<(), Error>) -> Result<(), Error> {
    let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
    if !*done {
        f()?;
        *done = true;
    }
    Ok(())
}

impl Shared {
    /// The image side with this configuration's settings.
    fn images(&self, app: &App, settings: &Settings) -> Result<Arc<image::Images>, Error> {
        let images = image::Images::new(app.clone(), self.store.clone(), settings)?;
        once(&self.images_recovered, || images.recover())?;
        Ok(Arc::new(images))
    }

    /// Block storage, for Cinder and for Nova's attachments and boot volumes alike: both
    /// read one truth.
    fn volumes(&self, app: &App, settings: &Settings) -> Result<Arc<volume::Volumes>, Error> {
        let images = self.images(app, settings)?;
        let volumes = volume::Volumes::new(app.clone(), self.store.clone(), images, settings)?;
        once(&self.volumes_swept, || volumes.sweep())?;
        Ok(Arc::new(volumes))
    }
}

fn setup_routes(app: &App, disp: &Dispatcher) -> Result<(), Error> {
    let settings = Settings::read(app)?;
    let shared = shared_for(app, &settings)?;
    let store = shared.store.clone();
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
        "image" => image::setup(disp, shared.images(app, &settings)?),
        "compute" => compute::setup(
            disp,
            Arc::new(compute::Compute::new(
                app.clone(),
                store,
                shared.images(app, &settings)?,
                shared.volumes(app, &settings)?,
                &settings,
            )?),
        ),
        "volume" => volume::setup(disp, shared.volumes(app, &settings)?),
        "network" => {
            let net = Arc::new(network::Net::new(app.clone(), store, &settings));
            // The external network `public` (devstack's), for routers and floating IPs.
            network::resources::floatingips::bootstrap(&net)
                .map_err(|e| Error(net.fault(e).message))?;
            network::setup(disp, net)
        }
        "placement" => placement::setup(
            disp,
            Arc::new(placement::Placement::new(
                app.clone(),
                store,
                disp.mount().to_string(),
            )),
        ),
        other => Err(Error(format!(
            "the local driver does not serve {other} yet"
        ))),
    }
}

/// Drops what the build shares: a retired build holds no database.
fn teardown() {
    SHARED.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

export_driver! {
    name: "local",
    services: ["identity", "image", "compute", "network", "volume", "placement"],
    setup_routes: setup_routes,
    teardown: teardown,
}
