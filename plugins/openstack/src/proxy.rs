//! One request forwarded: mount stripped, query verbatim, hop-by-hop headers dropped,
//! `X-Forwarded-*` added, bodies streamed both ways; an unreachable upstream is a 502 and
//! a silent one a 504, each in the service's fault style; every other answer passes on.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use abi_stable::std_types::{ROption, RResult, RSliceMut};
use jumpgate_plugin_api::abi::BodyReaderBox;
use jumpgate_plugin_api::prelude::*;
use ureq::SendBody;

use crate::rewrite::Rewriter;

/// JSON answers up to this size are read whole so their URLs can be rewritten; larger
/// ones (never seen from OpenStack) stream on as they are.
const REWRITE_LIMIT: u64 = 32 << 20;

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), plus the
/// ones the client library sets itself for the next hop, and `Expect`, which the host
/// already answered (`100 Continue`) when the handler began reading the body.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
];

pub struct Proxy {
    pub app: App,
    pub service: String,
    pub mount: String,
    /// The upstream's URL, without a trailing slash.
    pub upstream: String,
    pub agent: ureq::Agent,
    pub rewriter: Option<Arc<Rewriter>>,
}

#[handler]
impl Handler for Proxy {
    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.forward(req, resp)
    }

    fn on_head(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.forward(req, resp)
    }

    fn on_post(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.forward(req, resp)
    }

    fn on_put(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.forward(req, resp)
    }

    fn on_patch(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.forward(req, resp)
    }

    fn on_delete(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.forward(req, resp)
    }

    /// Every body streams, whatever its size: the upstream, not Jumpgate, decides what
    /// is too large. A bodiless GET skips the stream's set-up.
    fn streams_body(&self, req: &Request) -> bool {
        has_body(req)
    }
}

fn has_body(req: &Request) -> bool {
    req.header("transfer-encoding").is_some()
        || req
            .header("content-length")
            .is_some_and(|n| n.trim() != "0")
}

/// The client's body as the upstream request's: a failure to read it (the client went
/// away mid-upload) is noted so it is not blamed on the upstream.
struct ClientBody {
    stream: BodyReaderBox,
    failed: Arc<AtomicBool>,
}

impl Read for ClientBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.stream.read(RSliceMut::from_mut_slice(buf)) {
            RResult::ROk(n) => Ok(n),
            RResult::RErr(e) => {
                self.failed.store(true, Ordering::Relaxed);
                Err(std::io::Error::other(e.to_string()))
            }
        }
    }
}

impl Proxy {
    fn forward(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let rel = req
            .path
            .strip_prefix(self.mount.as_str())
            .unwrap_or(&req.path);
        let mut url = format!("{}{rel}", self.upstream);
        if !req.query.is_empty() {
            url.push('?');
            url.push_str(&req.query);
        }
        let mut upstream = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(&url);
        for (name, value) in forwarded_headers(req, self.rewriter.is_some()) {
            upstream = upstream.header(name, value);
        }
        let failed = Arc::new(AtomicBool::new(false));
        let body = match std::mem::replace(&mut req.body_stream, ROption::RNone) {
            ROption::RSome(stream) => SendBody::from_owned_reader(ClientBody {
                stream,
                failed: failed.clone(),
            }),
            ROption::RNone if req.body.is_empty() => SendBody::none(),
            ROption::RNone => {
                upstream = upstream.header("content-length", req.body.len().to_string());
                SendBody::from_owned_reader(std::io::Cursor::new(req.body.to_vec()))
            }
        };
        let upstream = upstream
            .body(body)
            .map_err(|e| Fault::bad_request(format!("The request cannot be forwarded: {e}")))?;
        let answer = match self.agent.run(upstream) {
            Ok(answer) => answer,
            Err(_) if failed.load(Ordering::Relaxed) => {
                return Err(Fault::bad_request("The request body could not be read."));
            }
            Err(e) => return Err(self.upstream_failed(req, e)),
        };
        self.answer(req, answer, resp);
        Ok(())
    }

    /// 504 when the upstream was too slow, 502 when it could not be reached or spoke no
    /// HTTP, in the service's fault style; the log names the upstream, the client does too.
    fn upstream_failed(&self, req: &Request, e: ureq::Error) -> Fault {
        let request_id = req.env(env::REQUEST_ID).unwrap_or("-");
        self.app.log(
            LogLevel::Warn,
            &format!(
                "{} {} → {}: {e} (request {request_id})",
                req.method, req.path, self.upstream
            ),
        );
        match e {
            ureq::Error::Timeout(_) => Fault::new(
                504,
                format!(
                    "The {} service at {} did not answer in time.",
                    self.service, self.upstream
                ),
            ),
            _ => Fault::new(
                502,
                format!(
                    "The {} service at {} cannot be reached: {e}",
                    self.service, self.upstream
                ),
            ),
        }
    }

    fn answer(&self, req: &Request, answer: ureq::http::Response<ureq::Body>, resp: &mut Response) {
        let (parts, body) = answer.into_parts();
        resp.set_status(parts.status.as_u16());
        let base = req.base_url();
        let dropped = connection_tokens(&parts.headers);
        let mut content_type = None;
        let mut length = None;
        let mut encoded = false;
        for (name, value) in &parts.headers {
            let name = name.as_str();
            let value = String::from_utf8_lossy(value.as_bytes());
            match name {
                _ if HOP_BY_HOP.contains(&name) || dropped.iter().any(|d| d == name) => {}
                "content-type" => content_type = Some(value.into_owned()),
                "content-length" => length = value.trim().parse::<u64>().ok(),
                "location" | "content-location" | "www-authenticate" => {
                    let new = self.rewriter.as_ref().and_then(|r| r.header(&base, &value));
                    resp.add_header(name, new.as_deref().unwrap_or(&value));
                }
                _ => {
                    encoded |= name == "content-encoding";
                    resp.add_header(name, &value);
                }
            }
        }
        let status = parts.status.as_u16();
        if req.method == "HEAD" || status == 204 || status == 304 || length == Some(0) {
            // No body follows. An empty stream, not an empty body: the host would fill an
            // empty error with a fault body of its own, and a HEAD still tells the size
            // of what a GET would send.
            let length = length.filter(|_| req.method == "HEAD").or(Some(0));
            resp.stream(
                std::io::empty(),
                content_type.as_deref().unwrap_or(""),
                length,
            );
            if content_type.is_none() {
                resp.headers
                    .retain(|h| !h.name.eq_ignore_ascii_case("content-type"));
            }
            return;
        }
        let content_type_str = content_type.clone().unwrap_or_default();
        let reader = body.into_reader();
        let json = content_type_str.contains("json");
        match &self.rewriter {
            Some(r) if json && !encoded && length.is_none_or(|n| n <= REWRITE_LIMIT) => {
                let mut reader = reader;
                let mut bytes = Vec::with_capacity(length.unwrap_or(4096) as usize);
                let read = (&mut reader)
                    .take(REWRITE_LIMIT + 1)
                    .read_to_end(&mut bytes);
                if read.is_err() || bytes.len() as u64 > REWRITE_LIMIT {
                    // Cut short, or too large to rewrite: what arrived, then the rest.
                    let rest = std::io::Cursor::new(bytes).chain(reader);
                    resp.stream(rest, &content_type_str, length);
                    return;
                }
                if r.may_rewrite(&bytes) {
                    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                        if r.body(&base, &mut value) {
                            bytes = serde_json::to_vec(&value).unwrap_or(bytes);
                        }
                    }
                }
                resp.set_body(bytes, &content_type_str);
            }
            _ => {
                resp.stream(reader, &content_type_str, length);
                if content_type.is_none() {
                    resp.headers
                        .retain(|h| !h.name.eq_ignore_ascii_case("content-type"));
                }
            }
        }
    }
}

/// The client's headers as the upstream gets them: hop-by-hop ones dropped (and those the
/// client's `Connection` names), `X-Forwarded-For`/`-Proto`/`-Host` extended, Jumpgate's
/// request id offered as the upstream's global request id.
fn forwarded_headers(req: &Request, rewriting: bool) -> Vec<(String, String)> {
    let named: Vec<String> = req
        .header("connection")
        .map(|c| {
            c.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::with_capacity(req.headers.len() + 3);
    for h in req.headers.iter() {
        let name = h.name.as_str();
        let skip = HOP_BY_HOP.contains(&name)
            || named.iter().any(|n| n == name)
            || name.starts_with("x-forwarded-")
            // Bodies to rewrite must come back uncompressed.
            || (rewriting && name == "accept-encoding");
        if !skip {
            out.push((name.to_string(), h.value.to_string()));
        }
    }
    let client = req
        .env(env::REMOTE_ADDR)
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .map(|a| a.ip().to_string());
    let forwarded_for = match (req.header("x-forwarded-for"), client) {
        (Some(prior), Some(ip)) => Some(format!("{prior}, {ip}")),
        (prior, ip) => prior.map(str::to_string).or(ip),
    };
    if let Some(v) = forwarded_for {
        out.push(("x-forwarded-for".into(), v));
    }
    let proto = req.header("x-forwarded-proto").unwrap_or("http");
    out.push(("x-forwarded-proto".into(), proto.to_string()));
    if let Some(host) = req.header("x-forwarded-host").or(req.header("host")) {
        out.push(("x-forwarded-host".into(), host.to_string()));
    }
    if req.header("x-openstack-request-id").is_none() {
        if let Some(id) = req.env(env::REQUEST_ID) {
            out.push(("x-openstack-request-id".into(), id.to_string()));
        }
    }
    out
}

/// Header names a `Connection` header lists: hop-by-hop for this one message.
fn connection_tokens(headers: &ureq::http::HeaderMap) -> Vec<String> {
    headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut req = Request::new("GET", "/compute/v2.1/servers");
        for (n, v) in headers {
            req.headers.push(Pair::new(*n, *v));
        }
        req.set_env(env::REMOTE_ADDR, "10.1.2.3:5555");
        req.set_env(env::REQUEST_ID, "req-1");
        req
    }

    fn find<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn hop_by_hop_and_host_are_dropped() {
        let req = request(&[
            ("host", "jg:5000"),
            ("connection", "keep-alive, x-secret"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("expect", "100-continue"),
            ("x-auth-token", "tok"),
        ]);
        let h = forwarded_headers(&req, true);
        for gone in ["host", "connection", "x-secret", "te", "expect"] {
            assert_eq!(find(&h, gone), None, "{gone}");
        }
        assert_eq!(find(&h, "x-auth-token"), Some("tok"));
    }

    #[test]
    fn forwarded_headers_extend_what_came_before() {
        let req = request(&[("host", "jg:5000"), ("x-forwarded-for", "1.1.1.1")]);
        let h = forwarded_headers(&req, true);
        assert_eq!(find(&h, "x-forwarded-for"), Some("1.1.1.1, 10.1.2.3"));
        assert_eq!(find(&h, "x-forwarded-proto"), Some("http"));
        assert_eq!(find(&h, "x-forwarded-host"), Some("jg:5000"));
        assert_eq!(find(&h, "x-openstack-request-id"), Some("req-1"));
    }

    #[test]
    fn a_body_is_streamed_only_when_there_is_one() {
        assert!(!has_body(&request(&[])));
        assert!(!has_body(&request(&[("content-length", "0")])));
        assert!(has_body(&request(&[("content-length", "12")])));
        assert!(has_body(&request(&[("transfer-encoding", "chunked")])));
    }
}
