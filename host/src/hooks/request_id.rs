//! `request_id`: every request gets `req-<uuid>`, sent back as `X-OpenStack-Request-Id`
//! (Tempest requires it) and, on compute, also as Nova's `X-Compute-Request-Id`. An id the
//! handler already set (an upstream's, through the passthrough driver) is kept: it is the
//! one the upstream's logs know.

use jumpgate_plugin_api::env;

use super::Exchange;

pub fn on_request(x: &mut Exchange) -> bool {
    let id = format!("req-{}", uuid::Uuid::new_v4());
    x.req.set_env(env::REQUEST_ID, &id);
    false
}

pub fn on_response(x: &mut Exchange) {
    let Some(id) = x.req.env(env::REQUEST_ID).map(str::to_string) else {
        return;
    };
    let upstream = x.resp.header("x-openstack-request-id").map(str::to_string);
    let id = upstream.unwrap_or(id);
    x.resp.set_header("X-OpenStack-Request-Id", &id);
    if x.req.service == "compute" && x.resp.header("x-compute-request-id").is_none() {
        x.resp.set_header("X-Compute-Request-Id", &id);
    }
}
