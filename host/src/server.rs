//! The HTTP side: hyper accepts, each request becomes a plugin-api `Request`, runs through
//! the current gateway (on a blocking thread unless its handler never blocks), and goes
//! back out; bodies marked for streaming flow through channels, never held whole.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{ROption, RResult, RSliceMut, RString};
use bytes::{Buf, Bytes};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Body as _, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use jumpgate_plugin_api::abi::{BodyReader, BodyReaderBox, BodyReader_TO, Pair};
use jumpgate_plugin_api::{Fault, FaultStyle, Request, Response};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use crate::gateway::{Gateway, Routed, INTERNAL_ERROR};
use crate::limits::Slot;
use crate::state::State;

pub type Body = BoxBody<Bytes, std::io::Error>;

/// Chunks of a streamed body in flight between socket and driver: bounded, so a slow
/// reader slows the sender instead of filling memory.
const STREAM_DEPTH: usize = 8;
const STREAM_CHUNK: usize = 64 * 1024;
/// How much of a request body the handler left unread is still read (and thrown away)
/// so that the client gets to read the answer.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;
/// How long a client has to finish a TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// Serves until `shutdown` resolves, then stops accepting and lets requests in flight
/// finish for up to the configured `shutdown_timeout`.
pub async fn serve(state: Arc<State>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // Past `max_connections` the next client waits in the listen backlog until one
        // leaves; the ceiling is the current configuration's.
        let room = state
            .connections
            .enter(state.current().config.max_connections);
        let slot = tokio::select! {
            slot = room => slot,
            _ = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, don't die.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let gw = state.current();
                // One address holding `max_connections_per_client` already: this one is
                // closed at once, so no single client can take every connection.
                let Some(client) = state.clients.admit(remote.ip(), gw.config.max_connections_per_client) else {
                    tracing::debug!("connection from {remote} closed: it holds max_connections_per_client already");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                // The configuration current at accept time says whether this connection
                // is HTTPS and how long its client may take; the handshake runs in the
                // connection's own task, so a slow client holds up no one.
                let tls = gw.tls.clone();
                let http = http1_builder(&gw.config);
                drop(gw);
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let _held = (slot, client);
                    let result = match tls {
                        None => {
                            let service = service_fn(move |req| handle(state.clone(), req, remote, "http"));
                            let conn = http.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(conn).await
                        }
                        Some(acceptor) => {
                            let stream = match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!("TLS handshake with {remote}: {e}");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!("TLS handshake with {remote}: no answer in {TLS_HANDSHAKE:?}");
                                    return;
                                }
                            };
                            let service = service_fn(move |req| handle(state.clone(), req, remote, "https"));
                            let conn = http.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(conn).await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!("connection from {remote}: {e}");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let timeout = state.current().config.shutdown_timeout;
    tracing::info!("shutting down: draining requests in flight (at most {timeout:?})");
    if tokio::time::timeout(timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {timeout:?}: closing them");
    }
}

/// HTTP/1.1 as this configuration has it: hyper closes a connection whose client takes
/// longer than `header_timeout` to send a request's headers, or sits idle that long
/// between requests.
fn http1_builder(config: &crate::config::Config) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    http
}

async fn handle(
    state: Arc<State>,
    req: hyper::Request<Incoming>,
    remote: SocketAddr,
    scheme: &'static str,
) -> Result<hyper::Response<Body>, Infallible> {
    let start = Instant::now();
    let gw = state.current();
    let (parts, body) = req.into_parts();
    let Some(routed) = gw.route(parts.uri.path()) else {
        // Only when no service is mounted at the root.
        let fault = Fault::not_found(format!("No service is mounted at {}", parts.uri.path()));
        return Ok(fault_response(&fault, FaultStyle::Nova));
    };
    let mut request = to_request(&parts, remote, scheme, &gw, &routed);
    let handler = gw.handler(&routed, &request.method);
    let streams = handler.is_some_and(|h| h.responder.streams_body(&request));
    let mut early = None;
    let idle = gw.config.body_timeout;
    // A streaming handler holds a thread while its client sends: at most `max_streams`
    // run at once, and the rest wait here without one.
    let mut stream_slot = None;
    if streams {
        stream_slot = Some(state.streams.enter(gw.config.max_streams).await);
        request.body_stream = ROption::RSome(request_stream(body, idle));
    } else {
        match read_whole(body, gw.config.max_request_body_size, idle).await {
            Ok(bytes) => request.body = bytes.into(),
            Err(fault) => {
                tracing::debug!("reading a request body from {remote}: {}", fault.message);
                early = Some(fault);
            }
        }
    }
    let head = parts.method == hyper::Method::HEAD;
    let blocking = streams || handler.is_some_and(|h| !h.nonblocking);
    let resp = if blocking {
        let gw = gw.clone();
        let service = gw.services[routed.service].name().to_string();
        let answered = tokio::task::spawn_blocking(move || {
            let resp = gw.respond(&routed, request, early, start);
            drop(stream_slot);
            resp
        });
        match answered.await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::error!("request thread failed: {e}");
                let mut resp = Response::default();
                Fault::internal(INTERNAL_ERROR).write_to(&service, &mut resp);
                resp
            }
        }
    } else {
        gw.respond(&routed, request, early, start)
    };
    // A body streamed out holds a thread while its client reads: it takes a stream slot.
    let out_slot = if resp.body_stream.is_some() && !head {
        Some(state.streams.enter(gw.config.max_streams).await)
    } else {
        None
    };
    Ok(to_hyper(resp, head, out_slot, idle))
}

/// A whole request body, at most `limit` bytes, each part arriving within `idle`: else
/// the fault to answer (413 before a byte is read when `Content-Length` is over the limit,
/// 408 when the client stops sending).
async fn read_whole(body: Incoming, limit: usize, idle: Duration) -> Result<Vec<u8>, Fault> {
    let too_large =
        || Fault::too_large(format!("Request is too large: the limit is {limit} bytes."));
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    let mut body = Limited::new(body, limit);
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(body_timed_out(idle)),
            Ok(None) => return Ok(out),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Ok(Some(Err(e))) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(too_large())
            }
            Ok(Some(Err(_))) => {
                return Err(Fault::bad_request("The request body could not be read."))
            }
        }
    }
}

fn body_timed_out(idle: Duration) -> Fault {
    Fault::new(
        408,
        format!(
            "Request Timeout: no part of the request body arrived in {} seconds.",
            idle.as_secs_f64()
        ),
    )
}

fn to_request(
    parts: &hyper::http::request::Parts,
    remote: SocketAddr,
    scheme: &str,
    gw: &Gateway,
    routed: &Routed,
) -> Request {
    let mut req = Request::new(parts.method.as_str(), parts.uri.path());
    let query = parts.uri.query().unwrap_or("");
    req.query = query.into();
    req.query_params = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| Pair::new(k.as_ref(), v.as_ref()))
        .collect();
    req.headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            Pair::new(
                name.as_str(),
                String::from_utf8_lossy(value.as_bytes()).as_ref(),
            )
        })
        .collect();
    let service = &gw.services[routed.service];
    req.service = service.name().into();
    if let Some(m) = &routed.matched {
        req.endpoint = service.table.endpoints[m.endpoint].name.into();
        req.params = m
            .params
            .iter()
            .map(|(k, v)| Pair::new(k.as_str(), v.as_str()))
            .collect();
    }
    req.env.push(Pair::new(
        jumpgate_plugin_api::env::REMOTE_ADDR,
        remote.to_string(),
    ));
    req.env
        .push(Pair::new(jumpgate_plugin_api::env::URL_SCHEME, scheme));
    req
}

fn to_hyper(
    resp: Response,
    head: bool,
    slot: Option<Slot>,
    idle: Duration,
) -> hyper::Response<Body> {
    let Response {
        status,
        headers,
        body,
        body_stream,
    } = resp;
    let mut builder = hyper::Response::builder().status(status);
    let streaming = body_stream.is_some() && !head;
    for h in headers.iter() {
        // The host sizes whole bodies itself; a stream or a HEAD keeps the driver's length.
        if !streaming && !head && h.name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        // A header HTTP cannot carry is the driver's bug: drop it, keep the answer.
        match (
            hyper::header::HeaderName::from_bytes(h.name.as_bytes()),
            hyper::header::HeaderValue::from_str(h.value.as_str()),
        ) {
            (Ok(name), Ok(value)) => builder = builder.header(name, value),
            _ => tracing::warn!(
                "dropped a response header a driver set that HTTP cannot carry: {:?}",
                h.name.as_str()
            ),
        }
    }
    let body = match body_stream {
        ROption::RSome(reader) if !head => response_stream(reader, slot, idle),
        _ => Full::new(Bytes::from(Vec::from(body)))
            .map_err(|never| match never {})
            .boxed(),
    };
    builder.body(body).unwrap_or_else(|e| {
        tracing::error!("driver produced an invalid response (status {status}): {e}");
        fault_response(&Fault::internal(INTERNAL_ERROR), FaultStyle::Nova)
    })
}

fn fault_response(fault: &Fault, style: FaultStyle) -> hyper::Response<Body> {
    let mut resp = hyper::Response::new(
        Full::new(Bytes::from(fault.body(style).to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = hyper::StatusCode::from_u16(fault.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// A request body for a driver that streams it: frames are forwarded by a task as the
/// driver reads, at most `STREAM_DEPTH` ahead.
fn request_stream(mut body: Incoming, idle: Duration) -> BodyReaderBox {
    let (tx, rx) = mpsc::channel::<Result<Bytes, String>>(STREAM_DEPTH);
    tokio::spawn(async move {
        let mut drained = 0usize;
        loop {
            let frame = match tokio::time::timeout(idle, body.frame()).await {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(_) => {
                    // The handler's read fails, and its thread is free again.
                    let _ = tx.send(Err(body_timed_out(idle).message)).await;
                    break;
                }
            };
            let item = match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => Ok(data),
                    Err(_trailers) => continue,
                },
                Err(e) => Err(format!("reading the request body: {e}")),
            };
            let failed = item.is_err();
            if failed {
                let _ = tx.send(item).await;
                break;
            }
            if tx.is_closed() {
                // The handler answered without reading everything (a 409 before the
                // upload, say). Read the rest away, up to a bound, so the client is not
                // cut off mid-send and sees the answer: nginx's lingering close.
                drained += item.as_ref().map(Bytes::len).unwrap_or(0);
                if drained > DRAIN_LIMIT {
                    break;
                }
                continue;
            }
            if tx.send(item).await.is_err() {
                continue;
            }
        }
    });
    BodyReader_TO::from_value(
        ChannelBody {
            rx,
            current: Bytes::new(),
        },
        TD_Opaque,
    )
}

struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl BodyReader for ChannelBody {
    fn read(&mut self, mut buf: RSliceMut<'_, u8>) -> RResult<usize, RString> {
        // Host code called by a driver: a panic here would cross the boundary and abort,
        // so even "cannot block inside the runtime" becomes an error.
        let step = catch_unwind(AssertUnwindSafe(|| {
            while self.current.is_empty() {
                match self.rx.blocking_recv() {
                    None => return Ok(0),
                    Some(Ok(chunk)) => self.current = chunk,
                    Some(Err(e)) => return Err(e),
                }
            }
            let n = buf.len().min(self.current.len());
            buf[..n].copy_from_slice(&self.current[..n]);
            self.current.advance(n);
            Ok(n)
        }));
        match step {
            Ok(Ok(n)) => RResult::ROk(n),
            Ok(Err(e)) => RResult::RErr(e.into()),
            Err(_) => {
                RResult::RErr("the request body can only be read on the handler's thread".into())
            }
        }
    }
}

/// A response body a driver produces while it is sent: read on a blocking thread, in
/// chunks, and handed to hyper through a bounded channel. A client that reads nothing for
/// `idle` is cut off, and its thread (and stream `slot`) freed; the body then ends in an
/// error, never in a clean end a client would take for the whole file.
fn response_stream(mut reader: BodyReaderBox, slot: Option<Slot>, idle: Duration) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(STREAM_DEPTH);
    let complete = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Handle::current();
    let finished = complete.clone();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let send = |item| runtime.block_on(tokio::time::timeout(idle, tx.send(item)));
        loop {
            let mut chunk = vec![0u8; STREAM_CHUNK];
            match reader.read(RSliceMut::from_mut_slice(&mut chunk)) {
                RResult::ROk(0) => {
                    finished.store(true, Ordering::Release);
                    break;
                }
                RResult::ROk(n) => {
                    chunk.truncate(n);
                    match send(Ok(Frame::data(Bytes::from(chunk)))) {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break, // the client went away
                        Err(_) => {
                            tracing::debug!(
                                "a client read nothing of a response for {idle:?}: cut off"
                            );
                            break;
                        }
                    }
                }
                RResult::RErr(e) => {
                    tracing::error!("streaming a response body failed: {e}");
                    let _ = send(Err(std::io::Error::other(e.to_string())));
                    break;
                }
            }
        }
    });
    let cut_short = tokio_stream::once(()).filter_map(move |()| {
        (!complete.load(Ordering::Acquire))
            .then(|| Err(std::io::Error::other("the response body was cut short")))
    });
    BodyExt::boxed(StreamBody::new(ReceiverStream::new(rx).chain(cut_short)))
}
