//! The host as a driver sees it during `setup_routes` and after: `App` and `Dispatcher`,
//! in plain Rust types, and the glue `export_driver!` expands to.

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{ROption, RResult, RStr, RString, RVec},
};

use crate::abi::{
    AppBox, DispatcherBox, Hook_TO, LogLevel, Pair, Request, Responder_TO, TokenValidator_TO,
};
use crate::fault::Fault;
use crate::handler::{
    guard, Guarded, GuardedHook, GuardedValidator, Handler, RequestHook, Validator,
};

/// What went wrong talking to the host: an unknown nickname, a missing URL parameter, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error(s.to_string())
    }
}

/// Inside a handler, a failure to talk to the host is the server's fault.
impl From<Error> for Fault {
    fn from(e: Error) -> Self {
        Fault::internal(e.0)
    }
}

fn result<T>(r: RResult<T, RString>) -> Result<T, Error> {
    r.into_result().map_err(|e| Error(e.into()))
}

fn pairs(params: &[(&str, &str)]) -> Vec<Pair> {
    params.iter().map(|(k, v)| Pair::new(*k, *v)).collect()
}

/// The host application: configuration, the other services' dispatchers, the log.
/// Cheap to clone; a handler may keep one for as long as it lives.
#[derive(Clone)]
pub struct App {
    raw: AppBox,
    driver: &'static str,
}

impl App {
    pub fn host_version(&self) -> String {
        self.raw.host_version().into()
    }

    /// A value of jumpgate.conf, with `[DEFAULT]` cascading into every section.
    pub fn config(&self, section: &str, key: &str) -> Option<String> {
        self.raw
            .config(RStr::from_str(section), RStr::from_str(key))
            .into_option()
            .map(Into::into)
    }

    /// Every key of a section, `[DEFAULT]` included.
    pub fn config_items(&self, section: &str) -> Vec<(String, String)> {
        self.raw
            .config_items(RStr::from_str(section))
            .into_iter()
            .map(|p| (p.name.into(), p.value.into()))
            .collect()
    }

    pub fn enabled_services(&self) -> Vec<String> {
        self.raw
            .enabled_services()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Another service's dispatcher, as `app.get_dispatcher('compute')` in the guide.
    pub fn get_dispatcher(&self, service: &str) -> Option<Dispatcher> {
        self.raw
            .get_dispatcher(RStr::from_str(service))
            .into_option()
            .map(|raw| Dispatcher { raw })
    }

    /// A line in the host's log, attributed to this driver.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.raw
            .log(level, RStr::from_str(self.driver), RStr::from_str(message));
    }

    /// Makes `validator` the one the host's `auth_token` hook asks.
    pub fn set_token_validator(&self, validator: impl Validator) -> Result<(), Error> {
        let boxed = TokenValidator_TO::from_value(GuardedValidator(validator), TD_Opaque);
        result(self.raw.set_token_validator(boxed))
    }

    /// Offers `hook` under `name`, for `request_hooks` in jumpgate.conf.
    pub fn add_hook(&self, name: &str, hook: impl RequestHook) -> Result<(), Error> {
        let boxed = Hook_TO::from_value(GuardedHook(hook), TD_Opaque);
        result(self.raw.add_hook(RStr::from_str(name), boxed))
    }
}

/// One service's endpoints: register handlers, build URLs.
#[derive(Clone)]
pub struct Dispatcher {
    raw: DispatcherBox,
}

impl Dispatcher {
    /// `identity`, `compute`, `image`, `volume`, `network`, `baremetal` or `placement`.
    pub fn service(&self) -> String {
        self.raw.service().into()
    }

    /// The path prefix the service is mounted at.
    pub fn mount(&self) -> String {
        self.raw.mount().into()
    }

    /// Attaches `handler` to the endpoint `nickname`; an unknown nickname is an error.
    pub fn set_handler(&self, nickname: &str, handler: impl Handler) -> Result<(), Error> {
        let boxed = Responder_TO::from_value(Guarded(handler), TD_Opaque);
        result(self.raw.set_handler(RStr::from_str(nickname), boxed))
    }

    /// The path of `nickname`, placeholders from `params` and `{tenant_id}` from the request.
    pub fn get_endpoint_path(
        &self,
        req: &Request,
        nickname: &str,
        params: &[(&str, &str)],
    ) -> Result<String, Error> {
        let params = pairs(params);
        result(
            self.raw
                .get_endpoint_path(req, RStr::from_str(nickname), params.as_slice().into()),
        )
        .map(Into::into)
    }

    /// The absolute URL of `nickname`, as the client reached this host.
    pub fn get_endpoint_url(
        &self,
        req: &Request,
        nickname: &str,
        params: &[(&str, &str)],
    ) -> Result<String, Error> {
        let params = pairs(params);
        result(
            self.raw
                .get_endpoint_url(req, RStr::from_str(nickname), params.as_slice().into()),
        )
        .map(Into::into)
    }

    /// Nicknames no handler has been set for: how far a driver covers the API.
    pub fn get_unused_endpoints(&self) -> Vec<String> {
        self.raw
            .get_unused_endpoints()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Every nickname with its canonical path template.
    pub fn endpoints(&self) -> Vec<(String, String)> {
        self.raw
            .endpoints()
            .into_iter()
            .map(|p| (p.name.into(), p.value.into()))
            .collect()
    }
}

/// The signature of a driver's `setup_routes`, as in the guide: `setup_routes(app, disp)`.
pub type SetupRoutes = fn(&App, &Dispatcher) -> Result<(), Error>;

/// What `export_driver!`'s `setup_routes` does: wraps the host's objects, runs the driver's
/// function and catches a panic before it can reach the host.
#[doc(hidden)]
pub fn run_setup_routes(
    driver: &'static str,
    app: AppBox,
    disp: DispatcherBox,
    setup: SetupRoutes,
) -> RResult<(), RString> {
    let app = App { raw: app, driver };
    let disp = Dispatcher { raw: disp };
    match guard("setup_routes", || setup(&app, &disp)) {
        Ok(Ok(())) => RResult::ROk(()),
        Ok(Err(e)) => RResult::RErr(e.0.into()),
        Err(panic) => RResult::RErr(panic.into()),
    }
}

#[doc(hidden)]
pub fn run_teardown(teardown: fn()) {
    // Nothing can report a failure here; a panic is only kept from crossing the boundary.
    let _ = guard("teardown", teardown);
}

#[doc(hidden)]
pub fn services(names: &[&str]) -> RVec<RString> {
    names.iter().map(|s| RString::from(*s)).collect()
}

#[doc(hidden)]
pub fn no_teardown() {}

#[doc(hidden)]
pub fn none<T>() -> ROption<T> {
    ROption::RNone
}

/// Exports a driver's root module. In the driver crate's `lib.rs`:
/// ```text
/// jumpgate_plugin_api::export_driver! {
///     name: "example",
///     services: ["compute", "identity"],
///     setup_routes: setup_routes,
/// }
/// ```
/// `teardown: my_teardown,` may follow, for a driver that starts threads.
#[macro_export]
macro_rules! export_driver {
    (
        name: $name:expr,
        services: [$($service:expr),* $(,)?],
        setup_routes: $setup:path
        $(, teardown: $teardown:path)? $(,)?
    ) => {
        /// The root module the jumpgate host loads.
        #[::abi_stable::export_root_module]
        pub fn jumpgate_driver_root_module() -> $crate::abi::DriverModRef {
            use ::abi_stable::prefix_type::PrefixTypeTrait;
            use ::abi_stable::std_types::{RResult, RStr, RString, RVec};

            const NAME: &str = $name;
            // Prefixed: the driver's own `setup_routes` is in scope under its own name.
            extern "C" fn __jg_abi_version() -> u32 {
                $crate::abi::ABI_VERSION
            }
            extern "C" fn __jg_name() -> RStr<'static> {
                RStr::from_str(NAME)
            }
            extern "C" fn __jg_version() -> RStr<'static> {
                RStr::from_str(env!("CARGO_PKG_VERSION"))
            }
            extern "C" fn __jg_services() -> RVec<RString> {
                $crate::driver::services(&[$($service),*])
            }
            extern "C" fn __jg_setup_routes(
                app: $crate::abi::AppBox,
                disp: $crate::abi::DispatcherBox,
            ) -> RResult<(), RString> {
                $crate::driver::run_setup_routes(NAME, app, disp, $setup)
            }
            extern "C" fn __jg_teardown() {
                $crate::driver::run_teardown($crate::export_driver!(@teardown $($teardown)?));
            }
            $crate::abi::DriverMod {
                abi_version: __jg_abi_version,
                name: __jg_name,
                version: __jg_version,
                services: __jg_services,
                setup_routes: __jg_setup_routes,
                teardown: __jg_teardown,
            }
            .leak_into_prefix()
        }
    };
    (@teardown) => { $crate::driver::no_teardown };
    (@teardown $teardown:path) => { $teardown };
}
