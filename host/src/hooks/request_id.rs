//! `request_id`: every request gets `req-<uuid>`, sent back as `X-OpenStack-Request-Id`
//! (Tempest requires it) and, on compute, also as Nova's `X-Compute-Request-Id`.

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
    x.resp.set_header("X-OpenStack-Request-Id", &id);
    if x.req.service == "compute" {
        x.resp.set_header("X-Compute-Request-Id", &id);
    }
}
