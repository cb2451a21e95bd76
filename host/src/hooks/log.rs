//! `log`: one access line per request — method, path, status, latency, request id.

use jumpgate_plugin_api::env;

use super::Exchange;

pub fn on_response(x: &mut Exchange) {
    let latency_ms = x.start.elapsed().as_secs_f64() * 1000.0;
    let path = if x.req.query.is_empty() {
        x.req.path.to_string()
    } else {
        format!("{}?{}", x.req.path, x.req.query)
    };
    tracing::info!(
        target: "jumpgate::access",
        method = %x.req.method,
        path = %path,
        status = x.resp.status,
        latency_ms = format_args!("{latency_ms:.3}"),
        request_id = x.req.env(env::REQUEST_ID).unwrap_or("-"),
    );
}
