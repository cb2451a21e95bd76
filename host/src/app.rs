//! The host's `App`: what a driver may ask of the host, during `setup_routes` and after.
//! One per configuration; registrations (validator, hooks) are taken out when setup ends.

use std::sync::{Arc, Mutex};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RResult, RStr, RString, RVec},
};
use jumpgate_plugin_api::abi::{
    App, DispatcherBox, Dispatcher_TO, HookBox, LogLevel, Pair, TokenValidatorBox,
};

use crate::config::Config;
use crate::dispatcher::HostDispatcher;

/// What drivers registered during setup.
#[derive(Default)]
pub struct Registrations {
    /// The validator and the driver that set it.
    pub validator: Option<(String, TokenValidatorBox)>,
    pub hooks: Vec<(String, HookBox)>,
}

struct Inner {
    config: Arc<Config>,
    dispatchers: Vec<HostDispatcher>,
    registrations: Mutex<Registrations>,
}

#[derive(Clone)]
pub struct HostApp {
    inner: Arc<Inner>,
    /// The driver this handle was given to, for log lines and registrations.
    driver: Arc<str>,
}

impl HostApp {
    pub fn new(config: Arc<Config>, dispatchers: Vec<HostDispatcher>) -> HostApp {
        HostApp {
            inner: Arc::new(Inner {
                config,
                dispatchers,
                registrations: Mutex::new(Registrations::default()),
            }),
            driver: Arc::from(""),
        }
    }

    /// The same host, as handed to `driver`.
    pub fn for_driver(&self, driver: &str) -> HostApp {
        HostApp {
            inner: self.inner.clone(),
            driver: Arc::from(driver),
        }
    }

    /// Ends setup: what drivers registered, taken out so that nothing a driver registered
    /// keeps this `App` (and so itself) alive.
    pub fn take_registrations(&self) -> Registrations {
        std::mem::take(&mut *lock(&self.inner.registrations))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn dispatcher_box(d: &HostDispatcher) -> DispatcherBox {
    Dispatcher_TO::from_ptr(RArc::new(d.clone()), TD_Opaque)
}

impl App for HostApp {
    fn host_version(&self) -> RString {
        env!("CARGO_PKG_VERSION").into()
    }

    fn config(&self, section: RStr<'_>, key: RStr<'_>) -> ROption<RString> {
        self.inner
            .config
            .get(section.as_str(), key.as_str())
            .map(RString::from)
            .into()
    }

    fn config_items(&self, section: RStr<'_>) -> RVec<Pair> {
        self.inner
            .config
            .items(section.as_str())
            .into_iter()
            .map(|(k, v)| Pair::new(k, v))
            .collect()
    }

    fn enabled_services(&self) -> RVec<RString> {
        self.inner
            .config
            .services
            .iter()
            .map(|s| RString::from(s.name.as_str()))
            .collect()
    }

    fn get_dispatcher(&self, service: RStr<'_>) -> ROption<DispatcherBox> {
        self.inner
            .dispatchers
            .iter()
            .find(|d| d.table.service == service.as_str())
            .map(dispatcher_box)
            .into()
    }

    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        let (driver, message) = (target.as_str(), message.as_str());
        match level {
            LogLevel::Error => tracing::error!(driver, "{message}"),
            LogLevel::Warn => tracing::warn!(driver, "{message}"),
            LogLevel::Info => tracing::info!(driver, "{message}"),
            LogLevel::Debug => tracing::debug!(driver, "{message}"),
            LogLevel::Trace => tracing::trace!(driver, "{message}"),
        }
    }

    fn set_token_validator(&self, validator: TokenValidatorBox) -> RResult<(), RString> {
        let mut reg = lock(&self.inner.registrations);
        if let Some((other, _)) = &reg.validator {
            if **other != *self.driver {
                return RResult::RErr(
                    format!("driver '{other}' already set the token validator").into(),
                );
            }
        }
        reg.validator = Some((self.driver.to_string(), validator));
        RResult::ROk(())
    }

    fn add_hook(&self, name: RStr<'_>, hook: HookBox) -> RResult<(), RString> {
        let mut reg = lock(&self.inner.registrations);
        if crate::hooks::BUILT_IN.contains(&name.as_str()) {
            return RResult::RErr(format!("hook name '{name}' belongs to a built-in hook").into());
        }
        reg.hooks.retain(|(n, _)| n != name.as_str());
        reg.hooks.push((name.as_str().to_string(), hook));
        RResult::ROk(())
    }
}
