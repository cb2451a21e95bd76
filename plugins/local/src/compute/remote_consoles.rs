//! Remote consoles, as Nova with its default configuration (`[vnc] enabled`, SPICE,
//! serial, MKS and RDP off): `os-getVNCConsole` and friends up to 2.5, `POST
//! /servers/{id}/remote-consoles` from 2.6, and `GET /os-console-auth-tokens/{token}` for
//! admins. A console URL opens `vnc_auto.html` here, in place of nova-novncproxy: there is
//! no guest to draw, so the page shows the server's console log as it grows.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::servers::model::{self, Server};
use super::servers::{console, routes::target, views};
use super::{body, param, reply, Call, Compute, Urls};
use crate::store::Tx;

type Svc = Arc<Compute>;

endpoint!(Svc; RemoteConsoles { on_post => create });
endpoint!(Svc; ConsoleAuthToken { on_get => show_token });
endpoint!(Svc; NoVnc { on_get => page });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_server_remote_consoles" => RemoteConsoles,
        "v2_os_console_auth_token" => ConsoleAuthToken,
        "novnc_console" => NoVnc,
    }
    Ok(())
}

/// What Nova answers when a method exists only at other microversions.
fn not_at_this_version() -> Fault {
    Fault::not_found("The resource could not be found.")
}

/// Nova's schema error for one attribute.
fn invalid(attr: &str, value: &Value, why: &str) -> Fault {
    let shown = match value {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    Fault::bad_request(format!(
        "Invalid input for field/attribute {attr}. Value: {shown}. {why}"
    ))
}

/// The attributes of a request object, checked as Nova's schemas check them: each of
/// `required` present, nothing else, each a string from its enum.
fn strings<'a>(
    what: &str,
    v: &'a Value,
    required: &[(&str, &[&str])],
) -> Result<Vec<&'a str>, Fault> {
    let Some(o) = v.as_object() else {
        return Err(invalid(what, v, &format!("{v} is not of type 'object'")));
    };
    if let Some(extra) = o.keys().find(|k| !required.iter().any(|(r, _)| r == k)) {
        return Err(invalid(
            what,
            v,
            &format!("Additional properties are not allowed ('{extra}' was unexpected)"),
        ));
    }
    let mut out = Vec::with_capacity(required.len());
    for (name, allowed) in required {
        let Some(x) = o.get(*name) else {
            return Err(invalid(
                what,
                v,
                &format!("'{name}' is a required property"),
            ));
        };
        let s = x.as_str().filter(|s| allowed.contains(s)).ok_or_else(|| {
            let list = allowed
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ");
            invalid(name, x, &format!("{x} is not one of [{list}]"))
        })?;
        out.push(s);
    }
    Ok(out)
}

/// Nova's checks before a console is handed out: the server has a host (not while it
/// waits for one, nor once offloaded) and is not being deleted or migrated. Its vm_state
/// is not checked: a stopped server has a console too.
fn may_open(svc: &Compute, s: &Server, method: &str) -> Result<(), Fault> {
    if views::host_of(s, &svc.host).is_none() || s.vm_state == "building" {
        return Err(Fault::conflict(format!("Instance {} is not ready", s.id)));
    }
    if let Some(task @ ("deleting" | "migrating")) = s.task_state.as_deref() {
        return Err(Fault::conflict(format!(
            "Cannot '{method}' instance {} while it is in task_state {task}",
            s.id
        )));
    }
    Ok(())
}

/// A noVNC console for `s`: its URL, with a token valid for Nova's ten minutes. Other
/// VNC types are Nova's ConsoleTypeInvalid.
fn vnc_url(
    svc: &Compute,
    c: &dyn Tx,
    urls: &Urls,
    s: &Server,
    kind: &str,
    method: &str,
) -> crate::compute::Result<String> {
    may_open(svc, s, method)?;
    if kind != "novnc" {
        return Err(Fault::bad_request(format!("Invalid console type {kind}")).into());
    }
    let token = model::issue_console_token(c, &s.id, &svc.host, crate::time::now_ms())?;
    // As Nova's ConsoleAuthToken.access_url for novnc: the token rides in `path`.
    Ok(format!(
        "{}/vnc_auto.html?path=%3Ftoken%3D{token}",
        urls.root
    ))
}

/// The server actions `os-getVNCConsole`, `os-getSPICEConsole`, `os-getSerialConsole`,
/// `os-getRDPConsole` (2.1 to 2.5; from 2.6 Nova answers 404): the `console` body, or
/// None for another action.
pub fn action(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    urls: &Urls,
    s: &Server,
    name: &str,
    args: &Value,
) -> Option<crate::compute::Result<Value>> {
    let wanted: &[&str] = match name {
        "os-getVNCConsole" => &["novnc", "xvpvnc"],
        "os-getSPICEConsole" => &["spice-html5"],
        "os-getSerialConsole" => &["serial"],
        "os-getRDPConsole" => &[],
        _ => return None,
    };
    Some(console_action(svc, c, call, urls, s, name, args, wanted))
}

/// One of the legacy console actions, `wanted` its console types.
#[allow(clippy::too_many_arguments)]
fn console_action(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    urls: &Urls,
    s: &Server,
    name: &str,
    args: &Value,
    wanted: &[&str],
) -> crate::compute::Result<Value> {
    if call.version.at_least(6) {
        return Err(not_at_this_version().into());
    }
    if name == "os-getRDPConsole" {
        // Removed from Nova (29.0.0): a bare 400.
        return Err(Fault::bad_request(
                "The server could not comply with the request since it is either malformed or otherwise incorrect.",
            )
            .into());
    }
    let kind = strings(name, args, &[("type", wanted)])?[0];
    let method = match name {
        "os-getVNCConsole" => "get_vnc_console",
        "os-getSPICEConsole" => "get_spice_console",
        _ => "get_serial_console",
    };
    if name != "os-getVNCConsole" {
        may_open(svc, s, method)?;
        return Err(Fault::bad_request(format!("Unavailable console type {kind}.")).into());
    }
    let url = vnc_url(svc, c, urls, s, kind, method)?;
    Ok(json!({"console": {"type": kind, "url": url}}))
}

/// `POST /servers/{id}/remote-consoles` (2.6+): 200 and the `remote_console`.
fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    if !call.version.at_least(6) {
        return Err(not_at_this_version());
    }
    let b = body(req)?;
    let mut protocols = vec!["vnc", "spice", "serial", "rdp"];
    let mut types = vec!["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"];
    if call.version.at_least(8) {
        protocols.push("mks");
        types.push("webmks");
    }
    if call.version.at_least(99) {
        types.push("spice-direct");
    }
    let Some(rc) = b.as_object().and_then(|o| o.get("remote_console")) else {
        return Err(invalid(
            "remote_console",
            &b,
            "'remote_console' is a required property",
        ));
    };
    let (protocol, kind) = match strings(
        "remote_console",
        rc,
        &[("protocol", &protocols), ("type", &types)],
    )?[..]
    {
        [p, t] => (p.to_string(), t.to_string()),
        _ => return Err(Fault::internal("remote_console without its attributes")),
    };
    let urls = Urls::of(svc, req)?;
    let url = svc.write(|c| {
        let s = target(&call, req, c)?;
        match protocol.as_str() {
            "vnc" => vnc_url(svc, c, &urls, &s, &kind, "get_vnc_console"),
            // Off in Nova's default configuration (RDP is gone from Nova altogether).
            _ => {
                if protocol != "rdp" {
                    may_open(svc, &s, &format!("get_{protocol}_console"))?;
                }
                let unavailable = if protocol == "rdp" { &protocol } else { &kind };
                Err(Fault::bad_request(format!("Unavailable console type {unavailable}.")).into())
            }
        }
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({"remote_console": {"protocol": protocol, "type": kind, "url": url}}),
    )
}

/// `GET /os-console-auth-tokens/{token}` (admin; 2.31+, before that a bare 400).
fn show_token(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    if !call.version.at_least(31) {
        return Err(Fault::bad_request(
            "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        ));
    }
    let token = param(req, "console_token")?.to_string();
    if token.is_empty() {
        return Err(Fault::bad_request("token not provided"));
    }
    let found = svc.read(|c| Ok(model::console_token(c, &token, crate::time::now_ms())?))?;
    let t = found.ok_or_else(|| Fault::not_found("Token not found"))?;
    reply(
        resp,
        &call,
        200,
        &json!({"console": {
            "instance_uuid": t.server_id,
            "host": t.host,
            "port": t.port,
            "internal_access_path": null,
        }}),
    )
}

/// The token a console URL carries: in `path` (`?token=…`, as Nova's novnc URL), or as
/// `token` itself.
fn token_of(req: &Request) -> Option<String> {
    if let Some(t) = req.query_param("token") {
        return Some(t.to_string());
    }
    let path = req.query_param("path")?;
    path.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::to_string)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /vnc_auto.html?path=%3Ftoken%3D…` (no auth token: the console token is the key):
/// a page showing the server's console log, reloading itself as the log grows. A token
/// that is unknown or expired opens nothing (404).
fn page(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let token = token_of(req).unwrap_or_default();
    let now = crate::time::now_ms();
    let server = svc.read(|c| {
        let Some(t) = model::console_token(c, &token, now)? else {
            return Ok(None);
        };
        Ok(model::find(c, &t.server_id)?)
    })?;
    let Some(s) = server else {
        resp.set_status(404);
        resp.set_body(
            b"<!DOCTYPE html>\n<html><head><title>noVNC</title></head><body><p>Failed to connect to server: the console token is invalid or has expired.</p></body></html>\n".to_vec(),
            "text/html; charset=UTF-8",
        );
        return Ok(());
    };
    let title = req
        .query_param("title")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}({})", s.name, s.id));
    let log = console::boot_log(&s);
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>noVNC - {title}</title>\n\
         <style>body{{margin:0;background:#000;color:#ccc}}#status{{background:#333;color:#fff;padding:4px 8px;font:13px sans-serif}}pre{{margin:0;padding:8px;font:13px monospace;white-space:pre-wrap}}</style>\n\
         </head>\n<body>\n<div id=\"status\">Connected (unencrypted) to: {title}</div>\n<pre id=\"screen\">{log}</pre>\n\
         <script>\n// The console of a server with no guest: its log, read again every few seconds.\nsetTimeout(function () {{ location.reload(); }}, 5000);\nwindow.scrollTo(0, document.body.scrollHeight);\n</script>\n</body>\n</html>\n",
        title = escape(&title),
        log = escape(&log),
    );
    resp.set_status(200);
    resp.set_header("Cache-Control", "no-store");
    resp.set_body(html.into_bytes(), "text/html; charset=UTF-8");
    Ok(())
}
