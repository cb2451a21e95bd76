//! A driver that misbehaves on purpose, for the host's end-to-end tests: a handler that
//! panics, one that is slow, streaming upload and download, a token validator and a hook.

use std::io::Read;
use std::time::Duration;

use jumpgate_plugin_api::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

fn setup_routes(app: &App, disp: &Dispatcher) -> Result<(), Error> {
    if app.config("testkit", "panic_in_setup").as_deref() == Some("true") {
        panic!("setup_routes exploded on purpose");
    }
    match disp.service().as_str() {
        "compute" => {
            disp.set_handler("v2_index", Echo { disp: disp.clone() })?;
            disp.set_handler("v2_limits", Panics)?;
            disp.set_handler("v2_servers", Slow)?;
            disp.set_handler("v2_server", Echo { disp: disp.clone() })?;
        }
        "image" => {
            disp.set_handler("v2_image_file", Bytes)?;
        }
        "identity" => {
            app.set_token_validator(Tokens)?;
            app.add_hook("stamp", Stamp)?;
            app.log(LogLevel::Info, "testkit identity ready");
        }
        other => return Err(Error(format!("testkit does not serve {other}"))),
    }
    Ok(())
}

/// Answers with what it saw: the request as a handler gets it.
struct Echo {
    disp: Dispatcher,
}

#[handler]
impl Handler for Echo {
    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let server = req.param("server_id").map(str::to_string);
        let link = match &server {
            Some(id) => self
                .disp
                .get_endpoint_url(req, "v2_server", &[("server_id", id)])?,
            None => self.disp.get_endpoint_url(req, "v2_index", &[])?,
        };
        resp.json(&json!({
            "endpoint": req.endpoint.as_str(),
            "params": req.params.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect::<std::collections::BTreeMap<_, _>>(),
            "query": req.query_param("q"),
            "user_id": req.env(env::USER_ID),
            "tenant_id": req.env(env::TENANT_ID),
            "link": link,
        }));
        Ok(())
    }

    fn on_post(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let body: serde_json::Value = req.json()?;
        resp.set_status(201);
        resp.json(&json!({ "got": body }));
        Ok(())
    }
}

struct Panics;

#[handler]
impl Handler for Panics {
    fn on_get(&self, _: &mut Request, _: &mut Response) -> HandlerResult {
        let empty: Vec<u8> = Vec::new();
        let _ = empty[16]; // index out of bounds, on purpose
        Ok(())
    }
}

/// Takes `?ms=` milliseconds to answer, for draining and concurrency tests.
struct Slow;

#[handler]
impl Handler for Slow {
    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let ms = req
            .query_param("ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        std::thread::sleep(Duration::from_millis(ms));
        resp.json(&json!({"slept_ms": ms}));
        Ok(())
    }
}

/// `PUT` streams the body in and answers its length and sha256; `GET ?size=N` streams N
/// bytes out without holding them.
struct Bytes;

#[handler]
impl Handler for Bytes {
    fn on_put(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let reader = req
            .body_reader()
            .ok_or_else(|| Fault::internal("expected a streamed body"))?;
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        let mut reader = reader;
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| Fault::bad_request(e.to_string()))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            hasher.update(&buf[..n]);
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        resp.json(&json!({"size": total, "sha256": digest}));
        Ok(())
    }

    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let size: u64 = req
            .query_param("size")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        resp.stream(
            Pattern { left: size, at: 0 },
            "application/octet-stream",
            Some(size),
        );
        Ok(())
    }

    fn streams_body(&self, req: &Request) -> bool {
        req.method == "PUT"
    }
}

/// Bytes 0, 1, …, 250, 0, 1, … — checkable by the client without storing them.
struct Pattern {
    left: u64,
    at: u64,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for b in &mut buf[..n] {
            *b = (self.at % 251) as u8;
            self.at += 1;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Tokens: `member-p1` (member of p1), `admin-p2` (admin of p2); anything else is invalid.
struct Tokens;

impl Validator for Tokens {
    fn validate(&self, token: &str) -> Result<Option<AuthContext>, String> {
        let (role, project) = match token {
            "member-p1" => ("member", "p1"),
            "admin-p2" => ("admin", "p2"),
            "explode" => panic!("validator exploded on purpose"),
            _ => return Ok(None),
        };
        Ok(Some(AuthContext {
            user_id: format!("{role}-user"),
            user_name: role.into(),
            project_id: Some(project.into()),
            roles: vec![role.into()],
            is_admin: role == "admin",
            ..Default::default()
        }))
    }
}

/// Adds `X-Testkit-Stamp` to every response, to show driver hooks run.
struct Stamp;

impl RequestHook for Stamp {
    fn on_response(&self, req: &Request, resp: &mut Response) {
        resp.set_header("X-Testkit-Stamp", &req.endpoint);
    }
}

export_driver! {
    name: "testkit",
    services: ["compute", "image", "identity"],
    setup_routes: setup_routes,
}
