//! The `openstack` driver: passthrough to real OpenStack endpoints. Every request under a
//! service's mount goes to `[openstack] <service>_endpoint` over a pooled keep-alive
//! connection, bodies streaming both ways; answers come back with their URLs pointed at
//! Jumpgate, so clients never learn the upstream's addresses.
//!
//! As `fallback = openstack` it answers whatever the service's own driver leaves unset.

mod proxy;
mod rewrite;
mod settings;
mod validate;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;

use crate::proxy::Proxy;
use crate::rewrite::Rewriter;
use crate::settings::Settings;

jumpgate_plugin_api::export_driver! {
    name: "openstack",
    services: [
        "identity",
        "compute",
        "image",
        "volume",
        "network",
        "baremetal",
        "placement",
    ],
    setup_routes: setup_routes,
}

/// The nickname the host reserves for "every path no endpoint handler answers".
const CATCH_ALL: &str = "*";

fn setup_routes(app: &App, disp: &Dispatcher) -> Result<(), Error> {
    let service = disp.service();
    let settings = Settings::read(app)?;
    let upstream = settings.endpoint(&service).ok_or_else(|| {
        Error(format!(
            "[openstack] {service}_endpoint: missing: the URL of the {service} service to pass requests to"
        ))
    })?;
    let rewriter = settings
        .rewrite_urls
        .then(|| Arc::new(Rewriter::new(app, &settings)));
    let agent = settings.agent();
    if service == "identity" && settings.validate_tokens {
        app.set_token_validator(validate::UpstreamKeystone::new(
            agent.clone(),
            &upstream,
            settings.token_cache_time,
        ))?;
    }
    disp.set_handler(
        CATCH_ALL,
        Proxy {
            app: app.clone(),
            service: service.clone(),
            mount: disp.mount(),
            upstream,
            agent,
            rewriter,
        },
    )
}
