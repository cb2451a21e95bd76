//! What the fuzz targets share: the host's own catalog, router and dispatcher (compiled from
//! host/src, the host being a binary), and `Cloud`, the local driver run in process behind
//! them, so that a fuzzed request reaches the very handler and parsers a served one would.

#![allow(dead_code)] // the host's modules bring more than the targets call

#[path = "../../host/src/catalog/mod.rs"]
pub mod catalog;
#[path = "../../host/src/dispatcher.rs"]
pub mod dispatcher;
#[path = "../../host/src/router.rs"]
pub mod router;

// The local driver's microversion parser and Nova's table of it, compiled here too: the
// driver keeps them private, and the `microversion` target wants them without a store.
#[path = "../../plugins/local/src/compute/microversion.rs"]
pub mod compute_microversion;
#[path = "../../plugins/local/src/microversion.rs"]
pub mod microversion;

pub mod cloud;

pub use cloud::Cloud;

/// A request's query string split into pairs as the host splits it (host/src/server.rs).
pub fn query_pairs(query: &str) -> Vec<jumpgate_plugin_api::Pair> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| jumpgate_plugin_api::Pair::new(k.as_ref(), v.as_ref()))
        .collect()
}
