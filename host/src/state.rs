//! The running host: the current gateway, swapped whole on SIGHUP, and the drivers' life
//! cycle — a build is torn down once no gateway, current or still draining, uses it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::gateway::Gateway;
use crate::limits::{Clients, Gate};
use crate::loader::{Driver, Loader};

pub struct State {
    gateway: ArcSwap<Gateway>,
    /// Connections and streams held now, across reloads (`limits`).
    pub connections: Arc<Gate>,
    pub clients: Arc<Clients>,
    pub streams: Arc<Gate>,
    loader: Loader,
    config_path: PathBuf,
    life: Mutex<Life>,
}

#[derive(Default)]
struct Life {
    /// Builds whose `setup_routes` ran and whose `teardown` has not.
    set_up: Vec<Arc<Driver>>,
    /// Gateways replaced by a reload, until their last request finishes.
    retired: Vec<Weak<Gateway>>,
}

impl State {
    /// Loads the configuration at `config_path` and builds the first gateway.
    pub fn start(config_path: PathBuf) -> Result<State, String> {
        let config = Config::load(&config_path).map_err(|e| e.to_string())?;
        Self::with_config(config_path, config)
    }

    /// Builds the first gateway from `config`, loaded from `config_path` (which a reload
    /// reads again).
    pub fn with_config(config_path: PathBuf, config: Config) -> Result<State, String> {
        let loader =
            Loader::new().map_err(|e| format!("cannot create a folder for driver copies: {e}"))?;
        let mut life = Life::default();
        let built = Gateway::build(config, &loader, &mut life.set_up);
        let state = State {
            gateway: ArcSwap::from_pointee(match built {
                Ok(gw) => gw,
                Err(e) => {
                    for d in &life.set_up {
                        (d.module.teardown())();
                    }
                    return Err(e);
                }
            }),
            connections: Arc::default(),
            clients: Arc::default(),
            streams: Arc::default(),
            loader,
            config_path,
            life: Mutex::new(life),
        };
        Ok(state)
    }

    /// The gateway new requests go to.
    pub fn current(&self) -> Arc<Gateway> {
        self.gateway.load_full()
    }

    /// Re-reads the configuration and the drivers it names, and swaps in the new gateway.
    /// On any error the running gateway stays, untouched.
    pub fn reload(&self) -> Result<(), String> {
        let config = Config::load(&self.config_path).map_err(|e| e.to_string())?;
        let listen = self.current().config.listen;
        if config.listen != listen {
            tracing::warn!(
                "listen changed to {}: restart jumpgate to move from {listen}",
                config.listen
            );
        }
        let mut set_up = Vec::new();
        let built = Gateway::build(config, &self.loader, &mut set_up);
        let mut life = self.lock();
        for d in set_up {
            if !life.set_up.iter().any(|k| k.digest == d.digest) {
                life.set_up.push(d);
            }
        }
        let result = built.map(|gw| {
            let old = self.gateway.swap(Arc::new(gw));
            life.retired.push(Arc::downgrade(&old));
        });
        drop(life);
        self.sweep();
        result
    }

    /// Tears down the builds nothing uses any more. `true` while replaced gateways still
    /// have requests in flight (call again later).
    pub fn sweep(&self) -> bool {
        let current = self.current();
        let mut life = self.lock();
        life.retired.retain(|w| w.strong_count() > 0);
        let alive: Vec<Arc<Gateway>> = life.retired.iter().filter_map(Weak::upgrade).collect();
        let in_use = |d: &Arc<Driver>| {
            std::iter::once(&current)
                .chain(&alive)
                .any(|gw| gw.drivers().iter().any(|u| u.digest == d.digest))
        };
        let (keep, done): (Vec<_>, Vec<_>) = life.set_up.drain(..).partition(|d| in_use(d));
        life.set_up = keep;
        let waiting = !life.retired.is_empty();
        drop(life);
        drop(alive);
        for d in done {
            tracing::info!(driver = %d.name, "tearing down {} ({})", d.name, d.source.display());
            (d.module.teardown())();
        }
        waiting
    }

    /// At exit: every build that was set up is torn down.
    pub fn teardown_all(&self) {
        let set_up = std::mem::take(&mut self.lock().set_up);
        for d in set_up {
            (d.module.teardown())();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Life> {
        self.life.lock().unwrap_or_else(|e| e.into_inner())
    }
}
