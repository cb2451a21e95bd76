//! The `openstack` driver as users see it: the real binary and `.so` in front of an
//! upstream that records what reached it. Forwarding, rewriting, streaming in constant
//! memory, 502/504, a client that hangs up mid-upload, pooling, `fallback = openstack`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jumpgate_e2e::{free_port, workspace_driver, Jumpgate};
use serde_json::{json, Value};

/// What the upstream saw of one upload.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Upload {
    received: u64,
    complete: bool,
}

#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    uploads: Mutex<Vec<Upload>>,
}

/// An OpenStack stand-in on a real socket: HTTP/1.1 with keep-alive, answering by path.
struct Upstream {
    port: u16,
    seen: Arc<Seen>,
}

impl Upstream {
    fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let state = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                state.connections.fetch_add(1, Ordering::SeqCst);
                let state = state.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, port, &state);
                });
            }
        });
        Upstream { port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn uploads(&self) -> Vec<Upload> {
        self.seen.uploads.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, port: u16, seen: &Seen) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.insert(n.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: u64 = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let chunked = headers.contains_key("transfer-encoding");
        let path = target.split('?').next().unwrap_or("").to_string();
        let head = method == "HEAD";

        if path.ends_with("/upload") {
            let mut buf = vec![0u8; 64 * 1024];
            let mut received = 0u64;
            while received < length {
                let want = buf.len().min((length - received) as usize);
                let n = reader.read(&mut buf[..want])?;
                if n == 0 {
                    break;
                }
                received += n as u64;
            }
            let complete = received == length;
            seen.uploads
                .lock()
                .unwrap()
                .push(Upload { received, complete });
            if !complete {
                return Ok(());
            }
            respond(
                &mut out,
                head,
                201,
                &[],
                &json!({"received": received}).to_string(),
            )?;
            continue;
        }

        let body = if chunked {
            read_chunked(&mut reader)?
        } else {
            let mut body = vec![0u8; length as usize];
            reader.read_exact(&mut body)?;
            body
        };
        let base = format!("http://127.0.0.1:{port}");
        match path.as_str() {
            p if p.ends_with("/slow") => {
                std::thread::sleep(Duration::from_secs(3));
                respond(&mut out, head, 200, &[], "{}")?;
            }
            p if p.ends_with("/download") => {
                let size: u64 = target
                    .split("size=")
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                write!(
                    out,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {size}\r\n\r\n"
                )?;
                let chunk = vec![0x5au8; 64 * 1024];
                let mut left = if head { 0 } else { size };
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    out.write_all(&chunk[..n])?;
                    left -= n as u64;
                }
            }
            p if p.ends_with("/nocontent") => {
                write!(out, "HTTP/1.1 204 No Content\r\n\r\n")?;
            }
            p if p.ends_with("/missing") => {
                respond(
                    &mut out,
                    head,
                    404,
                    &[],
                    r#"{"itemNotFound": {"code": 404, "message": "Instance  could not be found."}}"#,
                )?;
            }
            "/v3/auth/tokens" => {
                let token = json!({"token": {
                "methods": ["password"],
                "user": {"id": "u1", "name": "admin", "domain": {"id": "default", "name": "Default"}},
                "catalog": [
                    {"type": "compute", "name": "nova", "endpoints": [
                        {"interface": "public", "region": "RegionOne", "url": "http://controller:8774/nova/v2.1"}]},
                    {"type": "identity", "name": "keystone", "endpoints": [
                        {"interface": "public", "region": "RegionOne", "url": format!("{base}/v3/")}]},
                    {"type": "object-store", "name": "swift", "endpoints": [
                        {"interface": "public", "region": "RegionOne", "url": "http://swift:8080/v1"}]}
                ]}});
                respond(
                    &mut out,
                    head,
                    201,
                    &[("X-Subject-Token", "gAAAAupstream")],
                    &token.to_string(),
                )?;
            }
            _ => {
                let echo = json!({
                    "method": method,
                    "target": target,
                    "headers": headers,
                    "body": String::from_utf8_lossy(&body),
                    "links": [{"rel": "next", "href": format!("{base}/nova/v2.1/servers?marker=x")}],
                    "elsewhere": "http://other.example/v2.1",
                });
                respond(
                    &mut out,
                    head,
                    200,
                    &[
                        ("X-OpenStack-Request-Id", "req-from-upstream"),
                        ("Location", &format!("{base}/nova/v2.1/servers/1")),
                        ("Connection", "keep-alive"),
                    ],
                    &echo.to_string(),
                )?;
            }
        }
    }
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let mut chunk = vec![0u8; n + 2];
        reader.read_exact(&mut chunk)?;
        if n == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

fn respond(
    out: &mut TcpStream,
    head: bool,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<()> {
    let mut text = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        text.push_str(&format!("{n}: {v}\r\n"));
    }
    text.push_str("\r\n");
    out.write_all(text.as_bytes())?;
    if head {
        return Ok(());
    }
    out.write_all(body.as_bytes())
}

/// Identity at the upstream's root, compute under `/nova`, image under `/glance`: the
/// mounts Jumpgate strips are not the paths the upstream serves.
fn proxy_config(up: &str, extra: &str) -> String {
    format!(
        "
enabled_services = identity, compute, image
[identity]
driver = openstack
[compute]
driver = openstack
[image]
driver = openstack
[openstack]
identity_endpoint = {up}
compute_endpoint = {up}/nova
image_endpoint = {up}/glance
connect_timeout = 1
read_timeout = 1
{extra}
"
    )
}

fn front(up: &Upstream) -> Jumpgate {
    Jumpgate::start(
        &proxy_config(&up.url(), ""),
        &[("openstack", &workspace_driver("openstack"))],
    )
}

/// The largest resident set the process had, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn requests_reach_the_upstream_with_the_mount_stripped_and_the_query_verbatim() {
    let up = Upstream::start();
    let jg = front(&up);
    let r = jg.get("/compute/v2.1/servers/detail?limit=5&name=a%20b");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["target"],
        "/nova/v2.1/servers/detail?limit=5&name=a%20b"
    );
    // Paths the catalog has no name for go through as well.
    let r = jg.get("/compute/v2.1/os-something-new/x");
    assert_eq!(r.json()["target"], "/nova/v2.1/os-something-new/x");
    // Identity sits at both roots.
    assert_eq!(jg.get("/v3/projects").json()["target"], "/v3/projects");
}

#[test]
fn hop_by_hop_headers_are_dropped_and_forwarding_headers_added() {
    let up = Upstream::start();
    let jg = front(&up);
    let r = jg.request(
        "POST",
        "/compute/v2.1/servers",
        &[
            ("Connection", "x-private"),
            ("X-Private", "not for the upstream"),
            ("X-Auth-Token", "upstream-token"),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"server": {"name": "a"}}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    let h = &seen["headers"];
    assert_eq!(h["host"], format!("127.0.0.1:{}", up.port));
    assert_eq!(h.get("x-private"), None);
    assert_eq!(h["x-auth-token"], "upstream-token");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], format!("127.0.0.1:{}", jg.port));
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body"], r#"{"server": {"name": "a"}}"#);
    // The upstream's request id is the one its logs know: it is kept.
    assert_eq!(
        r.header("x-openstack-request-id"),
        Some("req-from-upstream")
    );
    assert_eq!(r.header("x-compute-request-id"), Some("req-from-upstream"));
    assert_eq!(r.header("connection"), None);
}

#[test]
fn urls_in_answers_point_back_at_jumpgate() {
    let up = Upstream::start();
    let jg = front(&up);
    let me = format!("http://127.0.0.1:{}", jg.port);
    let r = jg.get("/compute/v2.1/servers");
    let v = r.json();
    assert_eq!(
        v["links"][0]["href"],
        format!("{me}/compute/v2.1/servers?marker=x")
    );
    assert_eq!(v["elsewhere"], "http://other.example/v2.1");
    assert_eq!(
        r.header("location"),
        Some(format!("{me}/compute/v2.1/servers/1").as_str())
    );

    let r = jg.request(
        "POST",
        "/v3/auth/tokens",
        &[("Content-Type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-subject-token"), Some("gAAAAupstream"));
    let catalog = r.json()["token"]["catalog"].clone();
    // By type, whatever host the upstream's catalog names.
    assert_eq!(
        catalog[0]["endpoints"][0]["url"],
        format!("{me}/compute/v2.1")
    );
    assert_eq!(catalog[1]["endpoints"][0]["url"], format!("{me}/v3/"));
    assert_eq!(catalog[2]["endpoints"][0]["url"], "http://swift:8080/v1");
}

#[test]
fn rewriting_can_be_switched_off() {
    let up = Upstream::start();
    let jg = Jumpgate::start(
        &proxy_config(&up.url(), "rewrite_urls = false"),
        &[("openstack", &workspace_driver("openstack"))],
    );
    let r = jg.get("/compute/v2.1/servers");
    assert_eq!(
        r.json()["links"][0]["href"],
        format!("{}/nova/v2.1/servers?marker=x", up.url())
    );
    assert_eq!(
        r.header("location"),
        Some(format!("{}/nova/v2.1/servers/1", up.url()).as_str())
    );
}

#[test]
fn upstream_errors_pass_through_unchanged() {
    let up = Upstream::start();
    let jg = front(&up);
    let r = jg.get("/compute/v2.1/servers/missing");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        r#"{"itemNotFound": {"code": 404, "message": "Instance  could not be found."}}"#
    );
}

#[test]
fn head_answers_keep_the_upstreams_length_and_status() {
    let up = Upstream::start();
    let jg = front(&up);
    let r = jg.request("HEAD", "/image/v2/download?size=12345", &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("12345"));
    let r = jg.request("HEAD", "/compute/v2.1/servers/missing", &[], None);
    assert_eq!(r.status, 404);
    // The connection survives both: the next request on it is answered.
    assert_eq!(jg.get("/compute/v2.1/servers").status, 200);
}

#[test]
fn a_204_without_a_content_type_is_passed_without_one() {
    // python-glanceclient reads an empty answer labelled JSON as JSON, and fails.
    let up = Upstream::start();
    let jg = front(&up);
    let r = jg.request("PUT", "/image/v2/images/x/nocontent", &[], Some(b"abc"));
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-type"), None);
    assert_eq!(r.text(), "");
    assert_eq!(jg.get("/compute/v2.1/servers").status, 200);
}

#[test]
fn an_unreachable_upstream_is_a_502_in_the_services_style() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let jg = Jumpgate::start(
        &proxy_config(&closed, ""),
        &[("openstack", &workspace_driver("openstack"))],
    );
    let r = jg.get("/compute/v2.1/servers");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.json()["computeFault"]["code"], 502);
    assert!(r.header("x-openstack-request-id").is_some());
    let r = jg.get("/v3/projects");
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["error"]["code"], 502);
    // The log names the upstream (written asynchronously: wait for it).
    assert!(
        jg.wait_log(&format!("/v3/projects → {closed}"), Duration::from_secs(10)),
        "{}",
        jg.log()
    );
}

#[test]
fn a_slow_upstream_is_a_504() {
    let up = Upstream::start();
    let jg = front(&up);
    let start = Instant::now();
    // Glance's faults are JSON for a client that prefers JSON (webob's negotiation).
    let r = jg.request(
        "GET",
        "/image/v2/slow",
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        start.elapsed() < Duration::from_millis(2800),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.json()["code"], "504 Gateway Timeout");
}

#[test]
fn bodies_stream_both_ways_in_constant_memory() {
    let up = Upstream::start();
    let jg = front(&up);
    let before = peak_rss_kib(jg.pid());
    const SIZE: u64 = 512 << 20;

    // Upload: a body the client streams from a reader, never held whole here either.
    let body = std::io::repeat(0xa5).take(SIZE);
    let request = ureq::http::Request::builder()
        .method("PUT")
        .uri(jg.url("/image/v2/images/x/upload"))
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", SIZE.to_string())
        .body(ureq::SendBody::from_owned_reader(body))
        .unwrap();
    let mut resp = jg.agent().run(request).unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let answer: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(answer["received"], SIZE);
    assert_eq!(
        up.uploads(),
        vec![Upload {
            received: SIZE,
            complete: true
        }]
    );

    // Download.
    let resp = jg
        .agent()
        .get(&jg.url(&format!("/image/v2/download?size={SIZE}")))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("content-length")
            .unwrap()
            .to_str()
            .unwrap(),
        SIZE.to_string()
    );
    let mut reader = resp.into_body().into_reader();
    let got = std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
    assert_eq!(got, SIZE);

    let grown = peak_rss_kib(jg.pid()).saturating_sub(before);
    assert!(
        grown < 48 * 1024,
        "jumpgate's peak RSS grew by {grown} KiB passing 2 × {} MiB",
        SIZE >> 20
    );
}

#[test]
fn a_client_that_hangs_up_mid_upload_aborts_the_upstream_request() {
    let up = Upstream::start();
    let jg = front(&up);
    let mut client = TcpStream::connect(("127.0.0.1", jg.port)).unwrap();
    write!(
        client,
        "PUT /image/v2/images/x/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        100u64 << 20
    )
    .unwrap();
    client.write_all(&vec![1u8; 4 << 20]).unwrap();
    client.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(client);
    let until = Instant::now() + Duration::from_secs(10);
    while up.uploads().is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let uploads = up.uploads();
    assert_eq!(uploads.len(), 1, "the upstream request did not end");
    assert!(!uploads[0].complete);
    assert!(uploads[0].received < 100 << 20);
}

#[test]
fn upstream_connections_are_pooled_and_kept_alive() {
    let up = Upstream::start();
    let jg = front(&up);
    for _ in 0..50 {
        assert_eq!(jg.get("/compute/v2.1/servers").status, 200);
    }
    let connections = up.seen.connections.load(Ordering::SeqCst);
    assert!(
        connections <= 2,
        "{connections} upstream connections for 50 requests"
    );
}

#[test]
fn fallback_answers_what_the_services_driver_leaves_unhandled() {
    let up = Upstream::start();
    let body = format!(
        "
enabled_services = compute
[compute]
driver = example
fallback = openstack
[openstack]
compute_endpoint = {}/nova
",
        up.url()
    );
    let jg = Jumpgate::start(
        &body,
        &[
            ("example", &workspace_driver("example")),
            ("openstack", &workspace_driver("openstack")),
        ],
    );
    // The example driver's own endpoint stays its own.
    let r = jg.get("/compute/v2");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["versions"][0]["id"], "v2.0");
    // A method its handler does not answer goes to the fallback, not to a 405.
    let r = jg.request("DELETE", "/compute/v2", &[], None);
    assert_eq!(r.json()["target"], "/nova/v2");
    assert_eq!(r.json()["method"], "DELETE");
    // Endpoints it left unset, and paths the catalog does not know, pass through.
    assert_eq!(
        jg.get("/compute/v2/t1/servers").json()["target"],
        "/nova/v2/t1/servers"
    );
    assert_eq!(
        jg.get("/compute/v9/not-in-any-catalog").json()["target"],
        "/nova/v9/not-in-any-catalog"
    );
    // The operator's table says who answers what.
    let out = std::process::Command::new(jumpgate_e2e::binary())
        .args(["--config"])
        .arg(jg.config_path())
        .arg("endpoints")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("example"), "{table}");
    assert!(table.contains("openstack"), "{table}");
}

#[test]
fn without_a_fallback_unhandled_endpoints_stay_501() {
    let jg = Jumpgate::start(
        "\nenabled_services = compute\n[compute]\ndriver = example\n",
        &[("example", &workspace_driver("example"))],
    );
    assert_eq!(jg.get("/compute/v2/t1/servers").status, 501);
}

#[test]
fn a_missing_endpoint_is_a_config_error_naming_the_key() {
    let (code, _, err) = jumpgate_e2e::run_command(
        &["check-config"],
        "\nenabled_services = compute\n[compute]\ndriver = openstack\n",
        &[("openstack", &workspace_driver("openstack"))],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("[openstack] compute_endpoint: missing"),
        "{err}"
    );
}
