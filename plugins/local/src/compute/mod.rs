//! Compute (Nova v2.1) for the local cloud: servers are records that move through Nova's
//! state machine on a timer, flavors, keypairs, server groups, quotas, instance actions.
//! Bodies follow the microversion the request names (`microversion.rs`).

pub mod aggregates;
pub mod compute_networks;
pub mod diagnostics;
pub mod extensions;
pub mod flavors;
pub mod hosts;
pub mod hypervisors;
pub mod images;
pub mod interfaces;
pub mod keypairs;
pub mod microversion;
pub mod migrations;
pub mod network_proxies;
pub mod quotas;
pub mod remote_consoles;
pub mod repo;
pub mod scheduler;
pub mod server_groups;
pub mod servers;
pub mod services;
pub mod usage;
pub mod usage_audit;
pub mod versions;
pub mod volume_attachments;
pub mod volumes;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;

use crate::image::Images;
use crate::settings::Settings;
use crate::store::{Store, Tx};
use microversion::Version;

pub use crate::store::{Failure as Error, Outcome as Result};

/// Nova's faults for the server model's errors.
impl From<servers::model::Error> for Error {
    fn from(e: servers::model::Error) -> Self {
        match e {
            servers::model::Error::NotFound(id) => Error::Fault(Fault::not_found(format!(
                "Instance {id} could not be found."
            ))),
            servers::model::Error::Store(e) => Error::Store(e),
        }
    }
}

/// The name of the one compute host of this cloud, and of its availability zone.
pub const ZONE: &str = "nova";

pub struct Compute {
    pub app: App,
    pub store: Arc<Store>,
    /// The image service's store: `imageRef` is checked against it, and `createImage`
    /// writes snapshots into it.
    pub images: Arc<Images>,
    /// `[local] boot_delay`, milliseconds: how long a server builds, and how long every
    /// other action's task takes.
    pub boot_delay_ms: i64,
    /// This machine's name: the compute host every server runs on.
    pub host: String,
    /// The network service's state: servers' ports are Neutron's.
    pub net: crate::network::Net,
    /// The block-storage service's state: servers attach and boot from its volumes.
    pub volumes: Arc<crate::volume::Volumes>,
    /// The compute host's size and ratios: its inventory in Placement, os-hypervisors'
    /// totals.
    pub node: crate::placement::model::NodeSize,
}

impl Compute {
    pub fn new(
        app: App,
        store: Arc<Store>,
        images: Arc<Images>,
        volumes: Arc<crate::volume::Volumes>,
        settings: &Settings,
    ) -> std::result::Result<Compute, jumpgate_plugin_api::Error> {
        let data_dir = store
            .read(|c| Ok::<_, crate::store::StoreError>(c.data_dir()))
            .map_err(|e| jumpgate_plugin_api::Error(e.0))?;
        let compute = Compute {
            node: scheduler::node_size(&settings.host_size, &data_dir),
            volumes,
            host: settings.host.clone(),
            boot_delay_ms: settings.boot_delay_ms,
            net: crate::network::Net::new(app.clone(), store.clone(), settings),
            app,
            store,
            images,
        };
        flavors::seed(&compute, settings)?;
        let healed = compute
            .write(|c| scheduler::report(c, &compute.host, &compute.node))
            .map_err(|f| {
                jumpgate_plugin_api::Error(format!(
                    "the compute node's report to placement: {}",
                    f.message
                ))
            })?;
        if healed > 0 {
            compute.app.log(
                LogLevel::Info,
                &format!("placement: allocations written for {healed} servers that had none"),
            );
        }
        Ok(compute)
    }

    /// The fault for an error; store failures are logged and answered 500.
    pub fn fault(&self, e: Error) -> Fault {
        match e {
            Error::Fault(f) => f,
            Error::Store(e) if e.unstorable_reason().is_some() => Fault::bad_request(format!(
                "Invalid input for field/attribute: {}",
                e.unstorable_reason().unwrap_or_default()
            )),
            Error::Store(e) => {
                self.app
                    .log(LogLevel::Error, &format!("compute store: {e}"));
                Fault::internal("Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.")
                    .kind("computeFault")
            }
        }
    }

    /// Reads one snapshot of the store (never waits for a write).
    pub fn read<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> std::result::Result<T, Fault> {
        self.store.read(|c| f(c)).map_err(|e| self.fault(e))
    }

    /// Runs `f` in one transaction, after every clock-driven change that has come due.
    pub fn write<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> std::result::Result<T, Fault> {
        self.store.write(|tx| f(tx)).map_err(|e| self.fault(e))
    }
}

/// What every compute handler starts from: the caller and the microversion.
pub struct Call {
    pub caller: AuthContext,
    pub version: Version,
    /// The project the caller acts in.
    pub project_id: String,
}

impl Call {
    /// The caller (401 without one) and the version they asked for (406 out of range).
    pub fn of(req: &Request) -> std::result::Result<Call, Fault> {
        let version = microversion::requested(req)?;
        let caller = crate::policy::caller(req)?;
        let project_id = caller.project_id.clone().unwrap_or_default();
        Ok(Call {
            caller,
            version,
            project_id,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.caller.is_admin
    }

    /// What only an admin may do, when the body or the query says so: the policy table
    /// (`policies/compute.policy`) has decided everything else before the handler runs.
    pub fn admin(&self, rule: &str) -> std::result::Result<(), Fault> {
        if self.caller.is_admin {
            Ok(())
        } else {
            Err(policy_denied(rule))
        }
    }
}

/// Nova's 403 for a policy check that failed.
pub fn policy_denied(rule: &str) -> Fault {
    crate::policy::denied("compute", "POST", rule)
}

/// Where a resource's `links` point: `self` under the version the request used, `bookmark`
/// without it, both with the project when the request's URL carried one (as Nova).
pub struct Urls {
    /// `http://host/compute`
    pub root: String,
    /// `http://host/compute/v2.1[/project]`
    pub versioned: String,
    /// `http://host/compute[/project]`
    pub bookmark: String,
}

impl Urls {
    pub fn of(svc: &Compute, req: &Request) -> std::result::Result<Urls, Fault> {
        let disp = svc
            .app
            .get_dispatcher("compute")
            .ok_or_else(|| Fault::internal("compute is not enabled"))?;
        let mut base = disp.get_endpoint_url(req, "index", &[])?;
        while base.ends_with('/') {
            base.pop();
        }
        let version = if req.path.contains("/v2.1") {
            "v2.1"
        } else {
            "v2"
        };
        let project = req
            .param("tenant_id")
            .map(|p| format!("/{p}"))
            .unwrap_or_default();
        Ok(Urls {
            root: base.clone(),
            versioned: format!("{base}/{version}{project}"),
            bookmark: format!("{base}{project}"),
        })
    }

    /// `[{"rel": "self", …}, {"rel": "bookmark", …}]` for `collection/id`.
    pub fn links(&self, collection: &str, id: &str) -> serde_json::Value {
        serde_json::json!([
            {"rel": "self", "href": format!("{}/{collection}/{id}", self.versioned)},
            {"rel": "bookmark", "href": format!("{}/{collection}/{id}", self.bookmark)},
        ])
    }

    /// The `*_links` of a page that stopped at `marker`.
    pub fn next(&self, req: &Request, collection: &str, marker: &str) -> serde_json::Value {
        let url = format!("{}/{collection}", self.versioned);
        serde_json::json!([{"rel": "next", "href": next_href(&url, &req.query_params, marker)}])
    }
}

/// A required path parameter.
pub fn param<'a>(req: &'a Request, name: &str) -> std::result::Result<&'a str, Fault> {
    req.param(name)
        .ok_or_else(|| Fault::internal(format!("route without {{{name}}}")))
}

/// The request's JSON body, or Nova's 400 for a missing or malformed one.
pub fn body(req: &Request) -> std::result::Result<serde_json::Value, Fault> {
    if req.body.is_empty() {
        return Err(Fault::bad_request("The request body is missing or empty."));
    }
    serde_json::from_slice(&req.body).map_err(|_| Fault::bad_request("Malformed request body"))
}

/// Writes `v` with `status`, stamped with the version used.
pub fn reply(
    resp: &mut Response,
    call: &Call,
    status: u16,
    v: &serde_json::Value,
) -> HandlerResult {
    resp.set_status(status);
    microversion::stamp(resp, call.version);
    resp.json(v);
    Ok(())
}

/// An empty answer (202, 204), stamped with the version used.
pub fn reply_empty(resp: &mut Response, call: &Call, status: u16) -> HandlerResult {
    resp.set_status(status);
    microversion::stamp(resp, call.version);
    Ok(())
}

pub fn setup(
    disp: &Dispatcher,
    compute: Arc<Compute>,
) -> std::result::Result<(), jumpgate_plugin_api::Error> {
    versions::setup(disp, compute.clone())?;
    servers::routes::setup(disp, compute.clone())?;
    flavors::setup(disp, compute.clone())?;
    keypairs::setup(disp, compute.clone())?;
    server_groups::setup(disp, compute.clone())?;
    extensions::setup(disp, compute.clone())?;
    hypervisors::setup(disp, compute.clone())?;
    images::setup(disp, compute.clone())?;
    services::setup(disp, compute.clone())?;
    usage::setup(disp, compute.clone())?;
    aggregates::setup(disp, compute.clone())?;
    hosts::setup(disp, compute.clone())?;
    migrations::setup(disp, compute.clone())?;
    usage_audit::setup(disp, compute.clone())?;
    diagnostics::setup(disp, compute.clone())?;
    compute_networks::setup(disp, compute.clone())?;
    network_proxies::setup(disp, compute.clone())?;
    interfaces::setup(disp, compute.clone())?;
    volumes::setup(disp, compute.clone())?;
    volume_attachments::setup(disp, compute.clone())?;
    remote_consoles::setup(disp, compute.clone())?;
    quotas::setup(disp, compute)?;
    Ok(())
}
