//! `log`: one access line per request — method, path, status, latency, request id.

use jumpgate_plugin_api::env;

use super::Exchange;

pub fn on_response(x: &mut Exchange) {
    // Milliseconds to the microsecond: a number in JSON lines.
    let latency_ms = (x.start.elapsed().as_secs_f64() * 1e6).round() / 1e3;
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
        latency_ms,
        request_id = x.req.env(env::REQUEST_ID).unwrap_or("-"),
    );
}
