//! Network (Neutron v2.0) for the local cloud. Every resource is a JSON document in
//! `net_objects`; one set of handlers (`api.rs`) gives each kind Neutron's conventions:
//! `fields=`, filters on any attribute, `sort_key`/`sort_dir`, `limit`/`marker` with
//! `*_links`, tags, bulk create, and `NeutronError` faults. A kind (`resources/`) says only
//! how its documents are made, changed and removed.

pub mod api;
pub mod repo;
pub mod resources;
pub mod store;
mod tags;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{Map, Value};

use crate::settings::Settings;
use crate::store::{Store, Tx};

pub use crate::store::{Failure as Error, Outcome as Result};

pub struct Net {
    pub app: App,
    pub store: Arc<Store>,
}

pub type Svc = Arc<Net>;

impl Net {
    pub fn new(app: App, store: Arc<Store>, _settings: &Settings) -> Net {
        Net { app, store }
    }

    /// The fault for an error; store failures are logged and answered 500.
    pub fn fault(&self, e: Error) -> Fault {
        match e {
            Error::Fault(f) => f,
            Error::Store(e) if e.unstorable_reason().is_some() => Fault::bad_request(format!(
                "Invalid input for operation: {}.",
                e.unstorable_reason().unwrap_or_default()
            )),
            Error::Store(e) => {
                self.app
                    .log(LogLevel::Error, &format!("network store: {e}"));
                Fault::internal(
                    "Request Failed: internal server error while processing your request.",
                )
            }
        }
    }

    pub fn read<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> std::result::Result<T, Fault> {
        self.store.read(|c| f(c)).map_err(|e| self.fault(e))
    }

    /// Runs `f` in one transaction.
    pub fn write<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> std::result::Result<T, Fault> {
        self.store.write(|tx| f(tx)).map_err(|e| self.fault(e))
    }
}

/// Who is calling.
#[derive(Clone)]
pub struct Ctx {
    pub caller: AuthContext,
    pub project_id: String,
    pub admin: bool,
}

impl Ctx {
    pub fn of(req: &Request) -> std::result::Result<Ctx, Fault> {
        let caller = req.context().ok_or_else(|| {
            Fault::unauthorized("The request you have made requires authentication.")
        })?;
        Ok(Ctx {
            project_id: caller.project_id.clone().unwrap_or_default(),
            admin: caller.is_admin,
            caller,
        })
    }

    pub fn owns(&self, doc: &Value) -> bool {
        self.admin || doc["project_id"].as_str() == Some(self.project_id.as_str())
    }

    /// Whether the token carries `reader` or a role implying it: what Neutron's get rules
    /// (`ADMIN_OR_PROJECT_READER`, neutron/conf/policies/base.py) ask of a project's own
    /// resources. A token with only an operator's own role reads nothing of its project.
    pub fn reads(&self) -> bool {
        self.admin
            || ["reader", "member", "manager"]
                .iter()
                .any(|r| self.caller.has_role(r))
    }

    /// Whether `ADMIN_OR_PROJECT_READER` lets the caller see `doc`. The table asks no role
    /// of a GET, since Neutron filters a list's items by their get rule rather than refuse
    /// it, and some get rules (shared, external) ask none.
    pub fn sees(&self, doc: &Value) -> bool {
        self.admin || (self.reads() && self.owns(doc))
    }
}

/// Neutron's 403 for a policy check that failed.
pub fn denied(action: &str) -> Fault {
    Fault::forbidden(format!("(rule:{action}) is disallowed by policy")).kind("PolicyNotAuthorized")
}

/// Neutron's 400 for bad input.
pub fn bad(message: impl Into<String>) -> Fault {
    Fault::bad_request(format!(
        "Invalid input for operation: {}.",
        message.into().trim_end_matches('.')
    ))
    .kind("InvalidInput")
}

/// Neutron's 400 for a value an attribute cannot take.
pub fn bad_value(attr: &str, value: &Value, why: &str) -> Fault {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Fault::bad_request(format!(
        "Invalid input for {attr}. Reason: {why} '{shown}'."
    ))
    .kind("HTTPBadRequest")
}

/// Neutron's 409 for a resource another one still uses.
pub fn in_use(kind: &str, message: impl Into<String>) -> Fault {
    Fault::conflict(message).kind(format!("{kind}InUse"))
}

/// A request's `{"<singular>": {...}}` body.
pub fn object_body(
    req: &Request,
    singular: &str,
) -> std::result::Result<Map<String, Value>, Fault> {
    if req.body.is_empty() {
        return Err(Fault::bad_request("Resource body required").kind("HTTPBadRequest"));
    }
    let v: Value = serde_json::from_slice(&req.body).map_err(|_| {
        Fault::bad_request("Malformed JSON in request body.").kind("HTTPBadRequest")
    })?;
    match v.get(singular) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(
            Fault::bad_request(format!("Unable to find '{singular}' in request body"))
                .kind("HTTPBadRequest"),
        ),
    }
}

/// The id of a new resource.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Neutron's timestamps: seconds and `Z`.
pub fn now() -> String {
    crate::time::now_seconds_iso()
}

pub fn setup(disp: &Dispatcher, net: Svc) -> std::result::Result<(), jumpgate_plugin_api::Error> {
    resources::setup(disp, &net)?;
    tags::setup(disp, net.clone())?;
    api::setup(disp, net)
}
