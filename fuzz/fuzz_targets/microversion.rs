//! The microversion headers, as Nova's and Cinder's handlers read them (the local driver's
//! microversion.rs). No panic; a version taken is within min..=max; what `stamp` writes
//! back asks for the same version again.
#![no_main]

use jumpgate_fuzz::compute_microversion;
use jumpgate_fuzz::microversion::{Api, Version};
use jumpgate_plugin_api::{Pair, Request, Response};
use libfuzzer_sys::fuzz_target;

/// Cinder's, as plugins/local/src/volume/mod.rs declares it.
const VOLUME: Api = Api {
    service: "volume",
    min: Version(3, 0),
    max: Version(3, 70),
    legacy_header: None,
    fault_kind: "computeFault",
};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Ok(value) = std::str::from_utf8(rest) else {
        return;
    };
    let api = if choice & 1 == 0 {
        &compute_microversion::API
    } else {
        &VOLUME
    };
    let header = match (choice >> 1) % 3 {
        0 => "OpenStack-API-Version",
        1 => "X-OpenStack-Nova-API-Version",
        _ => "openstack-api-version",
    };
    let mut req = Request::new("GET", "/");
    req.headers.push(Pair::new(header, value));
    let Ok(v) = api.requested(&req) else {
        return;
    };
    assert!(api.min <= v && v <= api.max, "{value:?} gave {v}");
    let mut resp = Response::default();
    api.stamp(&mut resp, v);
    let mut again = Request::new("GET", "/");
    again.headers = resp.headers.clone();
    assert_eq!(
        api.requested(&again).ok(),
        Some(v),
        "stamped {v} reads back otherwise"
    );
});
