//! Port interfaces (`/servers/{id}/os-interface`): a server's Neutron ports, as Nova's
//! attach_interfaces API shows and changes them. Attaching takes a port of the caller's
//! (bound to the server) or makes one on a network (with the asked-for address); the
//! ports made here go with the server or on detach, ports passed in are only unbound.
//! Attach and detach are allowed in ACTIVE, PAUSED, STOPPED and SUSPENDED, with no task
//! and (for non-admins) no lock; `tag` (2.49 to give, 2.70 to show) is kept on the server.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::servers::model::{self, Server};
use super::servers::networking::{net_ctx, OWNER};
use super::servers::routes::{invalid, target};
use super::{param, reply, reply_empty, Call, Compute};
use crate::network::api::Kind;
use crate::network::resources::networks::Network;
use crate::network::resources::{floatingips, ports};
use crate::network::store::{self, Scope};
use crate::network::Ctx;
use crate::store::{Failure, Tx};

type Svc = Arc<Compute>;

/// Where a server keeps its interfaces' tags (port id → tag) in `extra`.
const TAGS: &str = "interface_tags";

endpoint!(Svc; Interfaces { on_get => list, on_post => create });
endpoint!(Svc; InterfaceItem { on_get => show, on_delete => delete });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_server_os_interface" => Interfaces,
        "v2_server_os_interface_port" => InterfaceItem,
    }
    Ok(())
}

/// `_translate_interface_attachment_view`, with `tag` from 2.70.
fn view(port: &Value, s: &Server, call: &Call) -> Value {
    let mut v = json!({
        "net_id": port["network_id"],
        "port_id": port["id"],
        "mac_addr": port["mac_address"],
        "port_state": port["status"],
        "fixed_ips": port["fixed_ips"].as_array().map(|l| l.iter().map(|f| json!({
            "subnet_id": f["subnet_id"], "ip_address": f["ip_address"],
        })).collect::<Vec<_>>()),
    });
    if call.version.at_least(70) {
        let id = port["id"].as_str().unwrap_or_default();
        v["tag"] = s.extra.get(TAGS).map_or(Value::Null, |t| t[id].clone());
    }
    v
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let out = svc.read(|c| {
        let s = target(&call, req, c)?;
        Ok(store::all(c, "port", Scope::Device(&s.id))?
            .iter()
            .map(|p| view(p, &s, &call))
            .collect::<Vec<_>>())
    })?;
    reply(resp, &call, 200, &json!({ "interfaceAttachments": out }))
}

fn port_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Port id {id} could not be found."))
}

/// Neutron's show of a port as the caller: 404 for one they cannot see.
fn visible_port(c: &dyn Tx, ctx: &Ctx, id: &str) -> crate::compute::Result<Value> {
    match store::fetch(c, "port", id)? {
        Some(p) if ctx.owns(&p) => Ok(p),
        _ => Err(port_not_found(id).into()),
    }
}

fn shown(c: &dyn Tx, call: &Call, s: &Server, port_id: &str) -> crate::compute::Result<Value> {
    let port = visible_port(c, &net_ctx(call), port_id)?;
    if port["device_id"].as_str() != Some(s.id.as_str()) {
        return Err(Fault::not_found(format!(
            "Instance {} does not have a port with id {port_id}",
            s.id
        ))
        .into());
    }
    Ok(view(&port, s, call))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let port_id = param(req, "port_id")?.to_string();
    let out = svc.read(|c| {
        let s = target(&call, req, c)?;
        shown(c, &call, &s, &port_id)
    })?;
    reply(resp, &call, 200, &json!({ "interfaceAttachment": out }))
}

/// Nova's `check_instance_lock` and `check_instance_state` for attach and detach.
fn check(call: &Call, s: &Server, action: &str) -> Result<(), Fault> {
    if s.locked && !call.is_admin() {
        return Err(Fault::conflict(format!("Instance {} is locked", s.id)));
    }
    const OK: &[&str] = &["active", "paused", "stopped", "suspended"];
    let conflict = |attr: &str, state: &str| {
        Fault::conflict(format!(
            "Cannot '{action}' instance {} while it is in {attr} {state}",
            s.id
        ))
    };
    if !OK.contains(&s.vm_state.as_str()) {
        return Err(conflict("vm_state", &s.vm_state));
    }
    if let Some(t) = &s.task_state {
        return Err(conflict("task_state", t));
    }
    Ok(())
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// What a create body asks for, after Nova's schema (2.49 adds `tag`).
struct Ask {
    net_id: Option<String>,
    port_id: Option<String>,
    ip: Option<String>,
    tag: Option<String>,
}

fn parse(call: &Call, req: &Request) -> Result<Ask, Fault> {
    let mut ask = Ask {
        net_id: None,
        port_id: None,
        ip: None,
        tag: None,
    };
    if req.body.is_empty() {
        return Ok(ask);
    }
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|_| Fault::bad_request("Malformed request body"))?;
    let Some(top) = v.as_object() else {
        return Err(invalid("", &v, &format!("{v} is not of type 'object'")));
    };
    if let Some(k) = top.keys().find(|k| *k != "interfaceAttachment") {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        )));
    }
    let Some(att) = top.get("interfaceAttachment") else {
        return Ok(ask);
    };
    let Some(m) = att.as_object() else {
        return Err(invalid(
            "interfaceAttachment",
            att,
            &format!("{att} is not of type 'object'"),
        ));
    };
    let mut allowed = vec!["net_id", "port_id", "fixed_ips"];
    if call.version.at_least(49) {
        allowed.push("tag");
    }
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(
            "interfaceAttachment",
            att,
            &format!("Additional properties are not allowed ('{k}' was unexpected)"),
        ));
    }
    for key in ["net_id", "port_id"] {
        if let Some(x) = m.get(key) {
            match x.as_str() {
                Some(s) if is_uuid(s) => {
                    let s = s.to_string();
                    if key == "net_id" {
                        ask.net_id = Some(s);
                    } else {
                        ask.port_id = Some(s);
                    }
                }
                _ => return Err(invalid(key, x, &format!("{x} is not a 'uuid'"))),
            }
        }
    }
    if let Some(f) = m.get("fixed_ips") {
        let list = f.as_array().filter(|l| l.len() == 1).ok_or_else(|| {
            invalid(
                "fixed_ips",
                f,
                &format!("{f} is not a valid list of one address"),
            )
        })?;
        let ip = list[0]
            .get("ip_address")
            .and_then(Value::as_str)
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
            .ok_or_else(|| {
                invalid(
                    "ip_address",
                    &list[0],
                    "is not valid under any of the given schemas",
                )
            })?;
        ask.ip = Some(ip.to_string());
    }
    if let Some(t) = m.get("tag") {
        match t.as_str() {
            Some(s) if !s.is_empty() && s.len() <= 60 && !s.contains(['/', ',']) => {
                ask.tag = Some(s.to_string())
            }
            _ => return Err(invalid("tag", t, "does not match the tag pattern")),
        }
    }
    if ask.net_id.is_some() && ask.port_id.is_some() {
        return Err(Fault::bad_request(
            "Must not input both network_id and port_id",
        ));
    }
    if ask.ip.is_some() && ask.net_id.is_none() {
        return Err(Fault::bad_request(
            "Must input network_id when request IP address",
        ));
    }
    Ok(ask)
}

/// The network an attach with neither port nor network goes on: the one the project may
/// use (its own or shared, not external); several are ambiguous, none is a 400.
fn default_network(c: &dyn Tx, ctx: &Ctx) -> crate::compute::Result<String> {
    let found: Vec<Value> = store::all(c, "network", Scope::All)?
        .into_iter()
        .filter(|n| n["router:external"] != json!(true))
        .filter(|n| Network::visible(ctx, n))
        .collect();
    match found.len() {
        1 => Ok(found[0]["id"].as_str().unwrap_or_default().to_string()),
        0 => Err(Fault::bad_request(format!(
            "No specific network was requested and none are available for project '{}'.",
            ctx.project_id
        ))
        .into()),
        _ => Err(Fault::bad_request(
            "More than one possible network found. Specify network ID(s) to select which one(s) to connect to.",
        )
        .into()),
    }
}

/// Updates the server's `extra` with `f`.
fn change_extra(
    c: &dyn Tx,
    server_id: &str,
    f: impl FnOnce(&mut Map<String, Value>),
) -> crate::compute::Result<()> {
    let Some(s) = model::find(c, server_id)? else {
        return Ok(());
    };
    let mut extra = s.extra;
    f(&mut extra);
    Ok(c.set_server_extra(server_id, &extra)?)
}

fn attach(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    s: &Server,
    ask: &Ask,
) -> crate::compute::Result<String> {
    let ctx = net_ctx(call);
    let port_id = if let Some(port_id) = &ask.port_id {
        let mut port = visible_port(c, &ctx, port_id)?;
        if port["device_id"].as_str().is_some_and(|d| !d.is_empty()) {
            return Err(Fault::conflict(format!("Port {port_id} is still in use.")).into());
        }
        port["device_id"] = json!(s.id);
        port["device_owner"] = json!(OWNER);
        port["status"] = json!("ACTIVE");
        store::save(c, "port", &mut port)?;
        port_id.clone()
    } else {
        let network_id = match &ask.net_id {
            Some(n) => n.clone(),
            None => default_network(c, &ctx)?,
        };
        match store::fetch(c, "network", &network_id)? {
            Some(n) if Network::visible(&ctx, &n) => {}
            _ => {
                return Err(
                    Fault::not_found(format!("Network {network_id} could not be found.")).into(),
                )
            }
        }
        let port = ports::create_for(
            &svc.net,
            c,
            &ctx,
            &network_id,
            ask.ip.as_deref(),
            &s.id,
            OWNER,
        )
        .map_err(|e| match e {
            Failure::Fault(f) => {
                let kind = f.kind.clone().unwrap_or_default();
                Failure::Fault(match kind.as_str() {
                    "IpAddressAlreadyAllocated" | "IpAddressInUse" => Fault::conflict(format!(
                        "Fixed IP address {} is already in use on instance {}.",
                        ask.ip.as_deref().unwrap_or_default(),
                        s.id
                    )),
                    "IpAddressGenerationFailure" => Fault::bad_request(format!(
                        "No fixed IP addresses available for network: {network_id}"
                    )),
                    _ if f.status == 404 => Fault::not_found(f.message),
                    _ if f.status == 403 => Fault::forbidden(f.message),
                    _ => Fault::bad_request(f.message),
                })
            }
            other => other,
        })?;
        let id = port["id"].as_str().unwrap_or_default().to_string();
        change_extra(c, &s.id, |extra| {
            let mut made: Vec<Value> = extra
                .get("ports_made")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            made.push(json!(id));
            extra.insert("ports_made".into(), Value::Array(made));
        })?;
        id
    };
    if let Some(tag) = &ask.tag {
        change_extra(c, &s.id, |extra| {
            let tags = extra.entry(TAGS).or_insert_with(|| json!({}));
            tags[port_id.as_str()] = json!(tag);
        })?;
    }
    Ok(port_id)
}

/// Records an instance action that finishes at once (`compute_<action>` its event): the
/// interface and volume attachments.
pub fn record(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    s: &Server,
    req: &Request,
    action: &str,
) -> crate::compute::Result<()> {
    let now = crate::time::now_ms();
    Ok(model::record_action(
        c,
        &model::ActionRecord {
            server_id: &s.id,
            action,
            request_id: req.env("request_id").unwrap_or_default(),
            user_id: &call.caller.user_id,
            project_id: &s.project_id,
            event: &format!("compute_{action}"),
            host: &svc.host,
            now_ms: now,
            due_ms: now,
        },
    )?)
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let ask = parse(&call, req)?;
    let out = svc.write(|c| {
        let s = target(&call, req, c)?;
        check(&call, &s, "attach_interface")?;
        let port_id = attach(svc, c, &call, &s, &ask)?;
        record(svc, c, &call, &s, req, "attach_interface")?;
        let s = model::find(c, &s.id)?.unwrap_or(s);
        shown(c, &call, &s, &port_id)
    })?;
    reply(resp, &call, 200, &json!({ "interfaceAttachment": out }))
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let port_id = param(req, "port_id")?.to_string();
    svc.write(|c| {
        let s = target(&call, req, c)?;
        check(&call, &s, "detach_interface")?;
        record(svc, c, &call, &s, req, "detach_interface")?;
        // Nova casts the detach to the compute host: a port that is not the server's is
        // the host's failure, not the caller's.
        let Some(mut port) = store::fetch(c, "port", &port_id)? else {
            return Ok(());
        };
        if port["device_id"].as_str() != Some(s.id.as_str()) {
            return Ok(());
        }
        let made: Vec<Value> = s
            .extra
            .get("ports_made")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if made.contains(&json!(port_id)) {
            ports::release(c, &port)?;
            floatingips::port_deleted(c, &port_id)?;
            store::remove(c, "port", &port_id)?;
        } else {
            port["device_id"] = json!("");
            port["device_owner"] = json!("");
            port["status"] = json!("DOWN");
            store::save(c, "port", &mut port)?;
        }
        change_extra(c, &s.id, |extra| {
            if let Some(Value::Array(m)) = extra.get_mut("ports_made") {
                m.retain(|p| *p != json!(port_id));
            }
            if let Some(Value::Object(t)) = extra.get_mut(TAGS) {
                t.remove(&port_id);
            }
        })
    })?;
    reply_empty(resp, &call, 202)
}
