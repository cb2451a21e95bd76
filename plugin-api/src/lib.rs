//! The contract between the jumpgate host and its drivers, as in the original guide: a
//! driver exports `setup_routes(app, disp)` and sets a handler object per endpoint nickname.
//!
//! `abi` holds every type that crosses the `.so` boundary (checked by abi_stable at load);
//! the rest are helpers compiled into each driver: handlers guarded against panics, faults
//! in each service's style, request and response helpers, paging.
#![allow(non_local_definitions)] // #[sabi_trait] expands to impls the lint dislikes

pub mod abi;
pub mod context;
pub mod driver;
pub mod fault;
pub mod handler;
pub mod message;
pub mod paginate;

pub use abi::{LogLevel, Pair, Request, Response, ABI_VERSION};
pub use context::{env, AuthContext};
pub use driver::{App, Dispatcher, Error};
pub use fault::{Fault, FaultStyle};
pub use handler::{Handler, HandlerResult, RequestHook, Validator};
pub use jumpgate_plugin_api_macros::handler;
pub use paginate::{next_href, Page};

/// The text of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Everything a driver's `lib.rs` usually needs.
pub mod prelude {
    pub use crate::{
        env, export_driver, handler, next_href, App, AuthContext, Dispatcher, Error, Fault,
        Handler, HandlerResult, LogLevel, Page, Pair, Request, RequestHook, Response, Validator,
    };
}
