//! Nova's network proxy APIs (up to 2.35; 404 after, but for a server's os-security-groups,
//! which Nova answers at every microversion), answered over this cloud's Neutron
//! documents as Nova answers them when it runs with Neutron
//! (`nova/network/security_group_api.py`, `nova/network/neutron.py`):
//! os-security-groups, os-security-group-rules, a server's os-security-groups,
//! os-floating-ips, os-floating-ip-pools, and the server actions addFloatingIp and
//! removeFloatingIp (up to 2.43). Groups, rules and floating IPs are made, changed and
//! removed through the network kinds, so Neutron's checks, quotas and messages hold;
//! Neutron's faults become the ones Nova turns them into.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::servers::model::{self, Server};
use super::servers::networking::net_ctx;
use super::{body, param, reply, reply_empty, Call, Compute};
use crate::network::api::{self as net_api, Kind};
use crate::network::resources::floatingips::FloatingIp;
use crate::network::resources::security_groups::{
    ensure_default, parse_prefix, SecurityGroup, SecurityGroupRule,
};
use crate::network::store::{self, Scope};
use crate::network::Ctx;
use crate::store::{Failure, Tx};

type Svc = Arc<Compute>;

/// `nova.api.openstack.api_version_request.MAX_PROXY_API_SUPPORT_VERSION`.
const MAX_PROXY: u16 = 35;

/// `CONF.neutron.default_floating_pool`.
const DEFAULT_POOL: &str = "nova";

/// `CONF.api.max_limit`.
const MAX_LIMIT: usize = 1000;

pub fn call_of(req: &Request) -> Result<Call, Fault> {
    let call = Call::of(req)?;
    if call.version.at_least(MAX_PROXY + 1) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    Ok(call)
}

/// A Neutron fault with the status Nova answers it with (Nova's own fault kind).
fn as_nova(f: Fault, status: u16) -> Fault {
    Fault::new(status, f.message)
}

/// Maps the faults of a network call: `map(status)` gives Nova's status for Neutron's
/// (None: unchanged); store failures pass through.
fn mapped<T>(r: super::Result<T>, map: impl Fn(u16) -> Option<u16>) -> super::Result<T> {
    r.map_err(|e| match e {
        Failure::Fault(f) => match map(f.status) {
            Some(s) => Failure::Fault(as_nova(f, s)),
            None => Failure::Fault(f),
        },
        other => other,
    })
}

fn object_of(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn is_uuid_like(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// `security_group_api.validate_id`.
fn validate_id(id: Option<&Value>) -> Result<String, Fault> {
    match id {
        Some(Value::String(s)) if is_uuid_like(s) => Ok(s.clone()),
        _ => Err(Fault::bad_request("Security group id should be uuid")),
    }
}

/// `SecurityGroupControllerBase._from_body`.
fn from_body(v: &Value, key: &str) -> Result<Value, Fault> {
    if v.as_object().is_none_or(|m| m.is_empty()) {
        return Err(Fault::bad_request("The request body can't be empty"));
    }
    match v.get(key) {
        None | Some(Value::Null) => Err(Fault::bad_request(format!("Missing parameter {key}"))),
        Some(x) => Ok(x.clone()),
    }
}

/// `security_group_api.validate_property`: a string of at most 255 characters.
fn validate_property(value: Option<&Value>, property: &str) -> Result<String, Fault> {
    match value {
        Some(Value::String(s)) => {
            if s.chars().count() > 255 {
                Err(Fault::bad_request(format!(
                    "{property} has {} characters, more than 255.",
                    s.chars().count()
                )))
            } else {
                Ok(s.clone())
            }
        }
        _ => Err(Fault::bad_request(format!(
            "{property} is not a string or unicode"
        ))),
    }
}

/// `common.limited`: `offset` and `limit` from the query.
pub fn limited<T>(items: Vec<T>, req: &Request) -> Result<Vec<T>, Fault> {
    let number = |name: &str| -> Result<Option<usize>, Fault> {
        match req.query_param(name) {
            None => Ok(None),
            Some(v) => {
                let n: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| Fault::bad_request(format!("{name} param must be an integer")))?;
                if n < 0 {
                    return Err(Fault::bad_request(format!("{name} param must be positive")));
                }
                Ok(Some(n as usize))
            }
        }
    };
    let limit = number("limit")?;
    let offset = number("offset")?.unwrap_or(0);
    let limit = match limit {
        Some(0) | None => MAX_LIMIT,
        Some(l) => l.min(MAX_LIMIT),
    };
    Ok(items.into_iter().skip(offset).take(limit).collect())
}

// ------------------------------------------------------------------ security group views

/// `_convert_to_nova_security_group_rule_format`: a Neutron rule as Nova's driver sees it.
fn nova_rule(rule: &Value) -> Value {
    let protocol = rule["protocol"].as_str().map(str::to_string);
    let (from, to) = match &protocol {
        Some(p) if rule["port_range_min"].is_null() && rule["port_range_max"].is_null() => {
            if matches!(p.to_ascii_uppercase().as_str(), "TCP" | "UDP") {
                (json!(1), json!(65535))
            } else {
                (json!(-1), json!(-1))
            }
        }
        _ => (
            rule["port_range_min"].clone(),
            rule["port_range_max"].clone(),
        ),
    };
    let cidr = match rule["remote_ip_prefix"].as_str() {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => "0.0.0.0/0".to_string(),
    };
    json!({
        "id": rule["id"],
        "parent_group_id": rule["security_group_id"],
        "protocol": protocol,
        "from_port": from,
        "to_port": to,
        "group_id": rule["remote_group_id"],
        "cidr": cidr,
    })
}

/// A group the caller may see, in Nova's driver format (`rules`: the ingress ones).
fn nova_group(group: &Value) -> Value {
    let rules: Vec<Value> = group["security_group_rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["direction"] == "ingress")
        .map(nova_rule)
        .collect();
    json!({
        "id": group["id"],
        "description": group["description"],
        "name": group["name"],
        "project_id": group["tenant_id"],
        "rules": rules,
    })
}

/// `_format_security_group_rule`; None when the rule's remote group is gone or hidden.
fn format_rule(c: &dyn Tx, ctx: &Ctx, rule: &Value, data: Option<Value>) -> Option<Value> {
    let mut out = json!({
        "id": rule["id"],
        "parent_group_id": rule["parent_group_id"],
        "ip_protocol": rule["protocol"],
        "from_port": rule["from_port"],
        "to_port": rule["to_port"],
        "group": {},
        "ip_range": {},
    });
    if let Some(d) = data {
        out["group"] = d;
    } else if let Some(gid) = rule["group_id"].as_str().filter(|g| !g.is_empty()) {
        let source = net_api::get::<SecurityGroup>(c, ctx, gid).ok()?;
        out["group"] = json!({"name": source["name"], "tenant_id": source["tenant_id"]});
    } else {
        out["ip_range"] = json!({"cidr": rule["cidr"]});
    }
    Some(out)
}

/// `_format_security_group` over a Neutron group.
fn format_group(c: &dyn Tx, ctx: &Ctx, group: &Value) -> Value {
    let g = nova_group(group);
    let rules: Vec<Value> = g["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| format_rule(c, ctx, r, None))
        .collect();
    json!({
        "id": g["id"],
        "description": g["description"],
        "name": g["name"],
        "tenant_id": g["project_id"],
        "rules": rules,
    })
}

fn sorted_groups(mut groups: Vec<Value>) -> Vec<Value> {
    groups.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["tenant_id"].as_str().unwrap_or("").to_string(),
                v["name"].as_str().unwrap_or("").to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    groups
}

/// `security_group_api.get`: Neutron's show, its 404 kept as Nova's.
fn group_by_id(c: &dyn Tx, ctx: &Ctx, id: &str) -> super::Result<Value> {
    match store::fetch(c, "security_group", id)? {
        Some(g) if SecurityGroup::visible(ctx, &g) => Ok(g),
        _ => Err(Fault::not_found(format!("Security group {id} does not exist")).into()),
    }
}

// ------------------------------------------------------------------ security groups

endpoint!(Svc; Groups { on_get => list_groups, on_post => create_group });
endpoint!(Svc; GroupItem { on_get => show_group, on_put => update_group, on_delete => delete_group });
endpoint!(Svc; Rules { on_post => create_rule });
endpoint!(Svc; RuleItem { on_delete => delete_rule });
endpoint!(Svc; ServerGroups { on_get => server_groups });
endpoint!(Svc; FloatingIps { on_get => list_fips, on_post => create_fip });
endpoint!(Svc; FloatingIpItem { on_get => show_fip, on_delete => delete_fip });
endpoint!(Svc; Pools { on_get => list_pools });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_security_groups" => Groups,
        "v2_os_security_group" => GroupItem,
        "v2_os_security_group_rules" => Rules,
        "v2_os_security_group_rule" => RuleItem,
        "v2_os_server_security_groups" => ServerGroups,
        "v2_os_floating_ips" => FloatingIps,
        "v2_os_floating_ips_id" => FloatingIpItem,
        "v2_os_floating_ip_pools" => Pools,
    }
    Ok(())
}

fn list_groups(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let ctx = net_ctx(&call);
    let all_tenants = call.is_admin() && req.query_param("all_tenants").is_some();
    let groups = svc.write(|c| {
        if !call.project_id.is_empty() {
            ensure_default(c, &call.project_id)?;
        }
        let scope = if all_tenants {
            Scope::All
        } else {
            Scope::Project(&call.project_id)
        };
        let raw: Vec<Value> = store::all(c, "security_group", scope)?
            .into_iter()
            .filter(|g| SecurityGroup::visible(&ctx, g))
            .collect();
        Ok(raw)
    })?;
    let page = limited(groups, req)?;
    let out = svc.read(|c| Ok(page.iter().map(|g| format_group(c, &ctx, g)).collect()))?;
    reply(
        resp,
        &call,
        200,
        &json!({ "security_groups": sorted_groups(out) }),
    )
}

fn create_group(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let v = body(req)?;
    let sg = from_body(&v, "security_group")?;
    let name = validate_property(sg.get("name"), "name")?;
    let description = validate_property(sg.get("description"), "description")?;
    let ctx = net_ctx(&call);
    let group = svc.write(|c| {
        let input = object_of(json!({"name": name, "description": description}));
        let doc = mapped(SecurityGroup::create(&svc.net, c, &ctx, input), |s| {
            Some(match s {
                409 => 403,
                401 => 400,
                other => other,
            })
        })?;
        Ok(format_group(c, &ctx, &doc))
    })?;
    reply(resp, &call, 200, &json!({ "security_group": group }))
}

fn show_group(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = validate_id(Some(&json!(param(req, "security_group_id")?)))?;
    let ctx = net_ctx(&call);
    let group = svc.read(|c| {
        let g = group_by_id(c, &ctx, &id)?;
        Ok(format_group(c, &ctx, &g))
    })?;
    reply(resp, &call, 200, &json!({ "security_group": group }))
}

fn update_group(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = validate_id(Some(&json!(param(req, "security_group_id")?)))?;
    let ctx = net_ctx(&call);
    svc.read(|c| group_by_id(c, &ctx, &id))?;
    let v = body(req)?;
    let sg = from_body(&v, "security_group")?;
    let name = validate_property(sg.get("name"), "name")?;
    let description = validate_property(sg.get("description"), "description")?;
    let group = svc.write(|c| {
        let mut doc = group_by_id(c, &ctx, &id)?;
        if !ctx.owns(&doc) {
            return Err(crate::network::denied("update_security_group").into());
        }
        let input = object_of(json!({"name": name, "description": description}));
        mapped(
            SecurityGroup::update(&svc.net, c, &ctx, &mut doc, &input),
            |s| Some(if s == 409 { 400 } else { s }),
        )?;
        store::save(c, "security_group", &mut doc)?;
        Ok(format_group(c, &ctx, &doc))
    })?;
    reply(resp, &call, 200, &json!({ "security_group": group }))
}

fn delete_group(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = validate_id(Some(&json!(param(req, "security_group_id")?)))?;
    let ctx = net_ctx(&call);
    svc.write(|c| {
        let doc = group_by_id(c, &ctx, &id)?;
        if !ctx.owns(&doc) {
            return Err(crate::network::denied("delete_security_group").into());
        }
        mapped(SecurityGroup::delete(&svc.net, c, &ctx, &doc), |s| {
            Some(if s == 409 { 400 } else { s })
        })
    })?;
    reply_empty(resp, &call, 202)
}

// ------------------------------------------------------------------ rules

/// Python's `int()` of a port as Nova's `_new_ingress_rule` applies it.
fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|x| !x.is_null())
}

/// `_new_ingress_rule`: the rule in Nova's driver format, or None when a CIDR rule lacks
/// a protocol or ports.
fn new_ingress_rule(
    protocol: Option<&Value>,
    from: Option<&Value>,
    to: Option<&Value>,
    group_id: Option<&str>,
    cidr: Option<&str>,
) -> Result<Option<Map<String, Value>>, Fault> {
    let mut values = Map::new();
    let truthy = |v: Option<&Value>| match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    };
    let proto_str = protocol.filter(|p| truthy(Some(p))).map(|p| match p {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let upper = proto_str.as_deref().unwrap_or("").to_ascii_uppercase();
    let mut from = present(from).cloned();
    let mut to = present(to).cloned();
    if let Some(g) = group_id {
        values.insert("group_id".into(), json!(g));
        if from.is_none() && to.is_none() {
            if upper == "ICMP" {
                from = Some(json!(-1));
                to = Some(json!(-1));
            } else if upper == "TCP" || upper == "UDP" {
                from = Some(json!(1));
                to = Some(json!(65535));
            }
        }
    } else if let Some(c) = cidr {
        values.insert("cidr".into(), json!(c));
    }
    match (&proto_str, &from, &to) {
        (Some(p), Some(f), Some(t)) => {
            let (Some(f), Some(t)) = (int_of(f), int_of(t)) else {
                let reason = if upper == "ICMP" {
                    "Type and Code must be integers for ICMP protocol type"
                } else {
                    "To and From ports must be integers"
                };
                return Err(Fault::bad_request(format!(
                    "Invalid input received: {reason}"
                )));
            };
            if !matches!(upper.as_str(), "TCP" | "UDP" | "ICMP") {
                return Err(Fault::bad_request(format!("Invalid IP protocol {p}.")));
            }
            let range =
                |msg: &str| Fault::bad_request(format!("Invalid port range {f}:{t}. {msg}"));
            if (upper == "TCP" || upper == "UDP") && f > t {
                return Err(range("Former value cannot be greater than the later"));
            }
            if (upper == "TCP" || upper == "UDP") && (f < 1 || t > 65535) {
                return Err(range(&format!(
                    "Valid {upper} ports should be between 1-65535"
                )));
            }
            if upper == "ICMP" && (!(-1..=255).contains(&f) || !(-1..=255).contains(&t)) {
                return Err(range("For ICMP, the type:code must be valid"));
            }
            values.insert("protocol".into(), json!(p));
            values.insert("from_port".into(), json!(f));
            values.insert("to_port".into(), json!(t));
        }
        _ => {
            if cidr.is_some() && group_id.is_none() {
                return Ok(None);
            }
        }
    }
    Ok(Some(values))
}

/// `security_group_api.parse_cidr`: a CIDR with its prefix length, `0.0.0.0/0` if none.
fn parse_cidr(cidr: Option<&Value>) -> Result<String, Fault> {
    let text = match cidr {
        None | Some(Value::Null) => return Ok("0.0.0.0/0".into()),
        Some(Value::String(s)) if s.is_empty() => return Ok("0.0.0.0/0".into()),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let decoded = text.replace("%2F", "/").replace("%2f", "/");
    let valid = decoded
        .split_once('/')
        .is_some_and(|(_, len)| !len.is_empty())
        && parse_prefix(&decoded).is_some();
    if !valid {
        return Err(Fault::bad_request(format!(
            "{text} is not a valid IP network."
        )));
    }
    Ok(decoded)
}

/// `_rule_exists`: the keys Nova compares.
fn rule_exists(group: &Value, new_rule: &Map<String, Value>) -> bool {
    group["rules"].as_array().into_iter().flatten().any(|r| {
        ["group_id", "cidr", "from_port", "to_port", "protocol"]
            .iter()
            .all(|k| {
                let a = r.get(*k).cloned().unwrap_or(Value::Null);
                let b = new_rule.get(*k).cloned().unwrap_or(Value::Null);
                a == b
            })
    })
}

fn create_rule(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let v = body(req)?;
    let sg_rule = from_body(&v, "security_group_rule")?;
    let ctx = net_ctx(&call);
    let rule = svc.write(|c| {
        let parent_id = validate_id(sg_rule.get("parent_group_id"))?;
        let parent = nova_group(&group_by_id(c, &ctx, &parent_id)?);
        let group_id = match present(sg_rule.get("group_id")) {
            Some(g) => {
                let g = validate_id(Some(g))?;
                group_by_id(c, &ctx, &g)?;
                Some(g)
            }
            None => None,
        };
        let cidr = match group_id {
            Some(_) => None,
            None => Some(parse_cidr(sg_rule.get("cidr"))?),
        };
        let new_rule = new_ingress_rule(
            sg_rule.get("ip_protocol"),
            sg_rule.get("from_port"),
            sg_rule.get("to_port"),
            group_id.as_deref(),
            cidr.as_deref(),
        )?;
        let Some(mut new_rule) = new_rule else {
            return Err(Fault::bad_request("Not enough parameters to build a valid rule.").into());
        };
        new_rule.insert("parent_group_id".into(), json!(parent_id));
        if let Some(c) = new_rule.get("cidr").and_then(Value::as_str) {
            if let Some((net, len)) = c.split_once('/') {
                if net != "0.0.0.0" && net != "::" && len == "0" {
                    return Err(
                        Fault::bad_request(format!("Bad prefix for network in cidr {c}")).into(),
                    );
                }
            }
        }
        let group_data = match &group_id {
            Some(g) => {
                let source = group_by_id(c, &ctx, g)?;
                Some(json!({"name": source["name"], "tenant_id": source["tenant_id"]}))
            }
            None => None,
        };
        if rule_exists(&parent, &new_rule) {
            return Err(Fault::bad_request(format!(
                "This rule already exists in group {parent_id}"
            ))
            .into());
        }
        // `_make_neutron_security_group_rules_list`
        let cidr = new_rule.get("cidr").and_then(Value::as_str);
        let ethertype = match cidr {
            Some(c) if c.contains(':') => "IPv6",
            _ => "IPv4",
        };
        let mut input = object_of(json!({
            "direction": "ingress",
            "protocol": new_rule.get("protocol").cloned().unwrap_or(Value::Null),
            "ethertype": ethertype,
            "remote_ip_prefix": cidr,
            "security_group_id": parent_id,
            "remote_group_id": new_rule.get("group_id").cloned().unwrap_or(Value::Null),
        }));
        if let Some(f) = new_rule.get("from_port").filter(|f| **f != json!(-1)) {
            input.insert("port_range_min".into(), f.clone());
        }
        if let Some(t) = new_rule.get("to_port").filter(|t| **t != json!(-1)) {
            input.insert("port_range_max".into(), t.clone());
        }
        let doc = mapped(SecurityGroupRule::create(&svc.net, c, &ctx, input), |s| {
            Some(match s {
                404 => 404,
                409 => 403,
                400 => 400,
                other => other,
            })
        })?;
        Ok(format_rule(c, &ctx, &nova_rule(&doc), group_data).unwrap_or(Value::Null))
    })?;
    reply(resp, &call, 200, &json!({ "security_group_rule": rule }))
}

fn delete_rule(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = validate_id(Some(&json!(param(req, "security_group_rule_id")?)))?;
    let ctx = net_ctx(&call);
    svc.write(|c| {
        let rule = match store::fetch(c, "security_group_rule", &id)? {
            Some(r) if SecurityGroupRule::visible(&ctx, &r) => r,
            _ => {
                return Err(Fault::not_found(format!(
                    "Security group rule {id} could not be found."
                ))
                .into())
            }
        };
        let parent = rule["security_group_id"].as_str().unwrap_or_default();
        group_by_id(c, &ctx, parent)?;
        mapped(SecurityGroupRule::delete(&svc.net, c, &ctx, &rule), |s| {
            Some(if s == 409 { 400 } else { s })
        })
    })?;
    reply_empty(resp, &call, 202)
}

// ------------------------------------------------------------------ a server's groups

fn server_groups(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    // Not a proxy API: `ServerSecurityGroupController.index` has no version limit.
    let call = Call::of(req)?;
    let ctx = net_ctx(&call);
    let groups = svc.read(|c| {
        let s = super::servers::routes::target(&call, req, c)?;
        let mut out = Vec::new();
        // `get_instances_security_groups_bindings(detailed=True)`: per port, per group.
        for port in store::all(c, "port", Scope::Device(&s.id))? {
            for gid in port["security_groups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if let Some(g) = store::fetch(c, "security_group", gid)?
                    .filter(|g| SecurityGroup::visible(&ctx, g))
                {
                    out.push(format_group(c, &ctx, &g));
                }
            }
        }
        Ok(out)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({ "security_groups": sorted_groups(groups) }),
    )
}

// ------------------------------------------------------------------ floating IPs

/// `_translate_floating_ip_view`.
fn fip_view(c: &dyn Tx, fip: &Value) -> super::Result<Value> {
    let network_id = fip["floating_network_id"].as_str().unwrap_or_default();
    let pool = match store::fetch(c, "network", network_id)? {
        Some(n) if n["name"].as_str().is_some_and(|s| !s.is_empty()) => n["name"].clone(),
        _ => json!(network_id),
    };
    let instance_id = match fip["port_details"].as_object() {
        Some(d) => d.get("device_id").cloned().unwrap_or(Value::Null),
        None => Value::Null,
    };
    Ok(json!({
        "id": fip["id"],
        "ip": fip["floating_ip_address"],
        "pool": pool,
        "fixed_ip": fip["fixed_ip_address"],
        "instance_id": instance_id,
    }))
}

fn fip_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Floating IP not found for ID {id}"))
}

/// Neutron's show of a floating IP as the caller.
fn fip_by_id(c: &dyn Tx, ctx: &Ctx, id: &str) -> super::Result<Value> {
    match store::fetch(c, "floatingip", id)? {
        Some(f) if FloatingIp::visible(ctx, &f) => Ok(f),
        _ => Err(fip_not_found(id).into()),
    }
}

/// `_get_floating_ip_by_address`: the one floating IP the caller sees with `address`.
fn fip_by_address(c: &dyn Tx, ctx: &Ctx, address: &str) -> super::Result<Value> {
    let mut found: Vec<Value> = store::all(c, "floatingip", Scope::All)?
        .into_iter()
        .filter(|f| FloatingIp::visible(ctx, f) && f["floating_ip_address"] == json!(address))
        .collect();
    match found.len() {
        0 => Err(Fault::not_found(format!("Floating IP not found for address {address}.")).into()),
        1 => Ok(found.remove(0)),
        _ => Err(Fault::conflict(format!(
            "Multiple floating IPs are found for address {address}."
        ))
        .into()),
    }
}

fn list_fips(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let out = svc.read(|c| {
        store::all(c, "floatingip", Scope::Project(&call.project_id))?
            .iter()
            .map(|f| fip_view(c, f))
            .collect::<super::Result<Vec<_>>>()
    })?;
    reply(resp, &call, 200, &json!({ "floating_ips": out }))
}

fn show_fip(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "id")?.to_string();
    let ctx = net_ctx(&call);
    let out = svc.read(|c| fip_view(c, &fip_by_id(c, &ctx, &id)?))?;
    reply(resp, &call, 200, &json!({ "floating_ip": out }))
}

/// `_get_floating_ip_pool_id_by_name_or_id`: an external network by id or name.
fn pool_id(c: &dyn Tx, name_or_id: &str) -> super::Result<Option<String>> {
    let by_id = is_uuid_like(name_or_id);
    let nets: Vec<Value> = store::all(c, "network", Scope::All)?
        .into_iter()
        .filter(|n| n["router:external"] == json!(true))
        .filter(|n| {
            if by_id {
                n["id"] == json!(name_or_id)
            } else {
                n["name"] == json!(name_or_id)
            }
        })
        .collect();
    match nets.len() {
        0 => Ok(None),
        1 => Ok(nets[0]["id"].as_str().map(str::to_string)),
        _ => Err(Fault::internal(format!(
            "Multiple floating IP pools matches found for name '{name_or_id}'"
        ))
        .into()),
    }
}

fn create_fip(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let v: Value = if req.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|_| Fault::bad_request("Malformed request body"))?
    };
    let pool = match v.get("pool") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let ctx = net_ctx(&call);
    let out = svc.write(|c| {
        let network_id = match &pool {
            Some(p) => pool_id(c, p)?,
            // No pool: `default_floating_pool`, or the cloud's one external network.
            None => match pool_id(c, DEFAULT_POOL)? {
                Some(id) => Some(id),
                None => {
                    let ext: Vec<Value> = store::all(c, "network", Scope::All)?
                        .into_iter()
                        .filter(|n| n["router:external"] == json!(true))
                        .collect();
                    if ext.len() == 1 {
                        ext[0]["id"].as_str().map(str::to_string)
                    } else {
                        None
                    }
                }
            },
        };
        let Some(network_id) = network_id else {
            return Err(Fault::not_found("Floating IP pool not found.").into());
        };
        let input = object_of(json!({ "floating_network_id": network_id }));
        let doc = FloatingIp::create(&svc.net, c, &ctx, input).map_err(|e| match e {
            Failure::Fault(f) => {
                let kind = f.kind.clone().unwrap_or_default();
                let f = if kind == "ExternalIpAddressExhausted"
                    || kind == "IpAddressGenerationFailure"
                {
                    Fault::not_found(match &pool {
                        Some(p) => format!("No more floating IPs in pool {p}."),
                        None => "No more floating IPs available.".to_string(),
                    })
                } else if kind == "OverQuota" {
                    Fault::forbidden(match &pool {
                        Some(p) => format!("IP allocation over quota in pool {p}."),
                        None => "IP allocation over quota.".to_string(),
                    })
                } else if f.status == 400 {
                    as_nova(f, 400)
                } else {
                    f
                };
                Failure::Fault(f)
            }
            other => other,
        })?;
        fip_view(c, &doc)
    })?;
    reply(resp, &call, 200, &json!({ "floating_ip": out }))
}

fn delete_fip(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "id")?.to_string();
    let ctx = net_ctx(&call);
    svc.write(|c| {
        let fip = fip_by_id(c, &ctx, &id)?;
        mapped(FloatingIp::delete(&svc.net, c, &ctx, &fip), |s| {
            Some(if s == 404 { 404 } else { s })
        })
    })?;
    reply_empty(resp, &call, 202)
}

fn list_pools(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let out = svc.read(|c| {
        Ok(store::all(c, "network", Scope::All)?
            .into_iter()
            .filter(|n| n["router:external"] == json!(true))
            .map(|n| {
                let name = match n["name"].as_str() {
                    Some(s) if !s.is_empty() => json!(s),
                    _ => n["id"].clone(),
                };
                json!({ "name": name })
            })
            .collect::<Vec<_>>())
    })?;
    reply(resp, &call, 200, &json!({ "floating_ip_pools": out }))
}

// ------------------------------------------------------------------ server actions

fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

fn is_v4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// The action's body after Nova's schema: an object with a required IP `address` and
/// only the keys allowed.
fn action_args<'a>(
    action: &str,
    args: &'a Value,
    allowed: &[&str],
) -> Result<&'a Map<String, Value>, Fault> {
    let m = args.as_object().ok_or_else(|| {
        super::servers::routes::invalid(action, args, &format!("{args} is not of type 'object'"))
    })?;
    if let Some(extra) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {action}. Value: {args}. Additional properties are not allowed ('{extra}' was unexpected)"
        )));
    }
    let first = allowed[0];
    if !m.contains_key(first) {
        return Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {action}. Value: {args}. '{first}' is a required property"
        )));
    }
    for k in allowed {
        if let Some(v) = m.get(*k) {
            if !v.as_str().is_some_and(is_ip) {
                return Err(super::servers::routes::invalid(
                    k,
                    v,
                    &format!("{v} is not valid under any of the given schemas"),
                ));
            }
        }
    }
    Ok(m)
}

/// addFloatingIp / removeFloatingIp (up to 2.43), and addFixedIp / removeFixedIp.
pub fn server_action(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    s: &Server,
    name: &str,
    args: &Value,
) -> super::Result<()> {
    let ctx = net_ctx(call);
    match name {
        "addFloatingIp" => add_floating_ip(svc, c, &ctx, s, args),
        "removeFloatingIp" => remove_floating_ip(svc, c, call, &ctx, s, args),
        "addFixedIp" => add_fixed_ip(svc, c, &ctx, s, args),
        _ => remove_fixed_ip(svc, c, &ctx, s, args),
    }
}

fn add_floating_ip(
    svc: &Compute,
    c: &dyn Tx,
    ctx: &Ctx,
    s: &Server,
    args: &Value,
) -> super::Result<()> {
    let m = action_args("addFloatingIp", args, &["address", "fixed_address"])?;
    let address = m["address"].as_str().unwrap_or_default().to_string();
    let ports = store::all(c, "port", Scope::Device(&s.id))?;
    if ports.is_empty() {
        return Err(Fault::bad_request("Instance network is not ready yet").into());
    }
    let fixed: Vec<(String, String)> = ports
        .iter()
        .flat_map(|p| {
            let pid = p["id"].as_str().unwrap_or_default().to_string();
            p["fixed_ips"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["ip_address"].as_str())
                .map(move |ip| (pid.clone(), ip.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    if fixed.is_empty() {
        return Err(Fault::bad_request("No fixed IPs associated to instance").into());
    }
    let fixed_address = match m.get("fixed_address").and_then(Value::as_str) {
        Some(want) => {
            if !fixed.iter().any(|(_, ip)| ip == want) {
                return Err(Fault::bad_request(
                    "Specified fixed address not assigned to instance",
                )
                .into());
            }
            want.to_string()
        }
        None => match fixed.iter().find(|(_, ip)| is_v4(ip)) {
            Some((_, ip)) => ip.clone(),
            None => {
                return Err(Fault::bad_request(format!(
                    "Unable to associate floating IP {address} to any fixed IPs for instance {}. Instance has no fixed IPv4 addresses to associate.",
                    s.id
                ))
                .into())
            }
        },
    };
    let port_id = fixed
        .iter()
        .find(|(_, ip)| *ip == fixed_address)
        .map(|(p, _)| p.clone())
        .unwrap_or_default();
    let mut fip = match fip_by_address(c, ctx, &address) {
        Ok(f) => f,
        Err(Failure::Fault(f)) if f.status == 404 => {
            return Err(Fault::not_found("floating IP not found").into())
        }
        Err(e) => return Err(e),
    };
    let input = object_of(json!({"port_id": port_id, "fixed_ip_address": fixed_address}));
    let done = FloatingIp::update(&svc.net, c, ctx, &mut fip, &input)
        .and_then(|()| store::save(c, "floatingip", &mut fip));
    match done {
        Ok(()) => Ok(()),
        Err(Failure::Fault(f)) if f.status == 409 => Err(as_nova(f, 400).into()),
        Err(Failure::Fault(f)) if f.status == 403 => Err(as_nova(f, 403).into()),
        Err(Failure::Fault(f)) => Err(Fault::bad_request(format!(
            "Unable to associate floating IP {address} to fixed IP {fixed_address} for instance {}. Error: {}",
            s.id, f.message
        ))
        .into()),
        Err(e) => Err(e),
    }
}

fn remove_floating_ip(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    ctx: &Ctx,
    s: &Server,
    args: &Value,
) -> super::Result<()> {
    let m = action_args("removeFloatingIp", args, &["address"])?;
    let address = m["address"].as_str().unwrap_or_default().to_string();
    let mut fip = fip_by_address(c, ctx, &address)?;
    // `get_instance_id_by_floating_address`: the device of the port it points at.
    let instance_id = match fip["port_id"].as_str() {
        Some(p) => store::fetch(c, "port", p)?
            .and_then(|p| p["device_id"].as_str().map(str::to_string))
            .filter(|d| !d.is_empty()),
        None => None,
    };
    let instance = match &instance_id {
        Some(id) => Some(model::visible(c, id, &call.project_id, call.is_admin())?),
        None => None,
    };
    if instance.is_some_and(|i| i.id == s.id) && !fip["port_id"].is_null() {
        let input = object_of(json!({"port_id": null}));
        FloatingIp::update(&svc.net, c, ctx, &mut fip, &input)?;
        store::save(c, "floatingip", &mut fip)?;
        return Ok(());
    }
    Err(Fault::conflict(format!(
        "Floating IP {address} is not associated with instance {}.",
        s.id
    ))
    .into())
}

/// addFixedIp (`add_fixed_ip_to_instance`): one more address, from the network's first
/// subnet, on the server's port there. Nova casts this to the compute host, so a failure
/// after the checks is not the caller's to see.
fn add_fixed_ip(
    svc: &Compute,
    c: &dyn Tx,
    ctx: &Ctx,
    s: &Server,
    args: &Value,
) -> super::Result<()> {
    let network_id = match args.get("networkId") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(Fault::bad_request(format!(
                "Invalid input for field/attribute addFixedIp. Value: {args}. 'networkId' is a required property"
            ))
            .into())
        }
    };
    let subnets = store::all(c, "subnet", Scope::Network(&network_id))?;
    for mut p in store::all(c, "port", Scope::Device(&s.id))? {
        if p["network_id"] != json!(network_id) {
            continue;
        }
        for sub in &subnets {
            let mut ips: Vec<Value> = p["fixed_ips"].as_array().cloned().unwrap_or_default();
            ips.push(json!({"subnet_id": sub["id"]}));
            let input = object_of(json!({ "fixed_ips": ips }));
            use crate::network::resources::ports::Port;
            if Port::update(&svc.net, c, ctx, &mut p, &input).is_ok() {
                store::save(c, "port", &mut p)?;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// removeFixedIp: the address goes from the server's port that has it; 400 if none does.
fn remove_fixed_ip(
    svc: &Compute,
    c: &dyn Tx,
    ctx: &Ctx,
    s: &Server,
    args: &Value,
) -> super::Result<()> {
    let m = action_args("removeFixedIp", args, &["address"])?;
    let address = m["address"].as_str().unwrap_or_default();
    for mut p in store::all(c, "port", Scope::Device(&s.id))? {
        let ips: Vec<Value> = p["fixed_ips"].as_array().cloned().unwrap_or_default();
        if !ips.iter().any(|f| f["ip_address"] == json!(address)) {
            continue;
        }
        let kept: Vec<Value> = ips
            .into_iter()
            .filter(|f| f["ip_address"] != json!(address))
            .collect();
        let input = object_of(json!({ "fixed_ips": kept }));
        use crate::network::resources::ports::Port;
        Port::update(&svc.net, c, ctx, &mut p, &input)?;
        store::save(c, "port", &mut p)?;
        return Ok(());
    }
    Err(Fault::bad_request(format!(
        "Instance {} doesn't have fixed IP '{address}'.",
        s.id
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutron_rules_read_as_nova_ones() {
        let r = nova_rule(
            &json!({"id": "r", "security_group_id": "g", "protocol": "tcp",
            "port_range_min": null, "port_range_max": null, "remote_group_id": null,
            "remote_ip_prefix": null}),
        );
        assert_eq!(
            (r["from_port"].clone(), r["to_port"].clone()),
            (json!(1), json!(65535))
        );
        assert_eq!(r["cidr"], "0.0.0.0/0");
        let r = nova_rule(
            &json!({"id": "r", "security_group_id": "g", "protocol": "icmp",
            "port_range_min": null, "port_range_max": null, "remote_group_id": null,
            "remote_ip_prefix": "10.0.0.0/8"}),
        );
        assert_eq!(r["from_port"], json!(-1));
        let r = nova_rule(
            &json!({"id": "r", "security_group_id": "g", "protocol": null,
            "port_range_min": null, "port_range_max": null, "remote_group_id": "g",
            "remote_ip_prefix": null}),
        );
        assert_eq!(r["from_port"], Value::Null);
    }

    #[test]
    fn ingress_rules_are_checked_as_nova() {
        let cidr = Some("0.0.0.0/0");
        let f = new_ingress_rule(
            Some(&json!("tcp")),
            Some(&json!(22)),
            Some(&json!(21)),
            None,
            cidr,
        )
        .unwrap_err();
        assert!(f.message.contains("Former value cannot be greater"));
        let f = new_ingress_rule(
            Some(&json!("gre")),
            Some(&json!(1)),
            Some(&json!(2)),
            None,
            cidr,
        )
        .unwrap_err();
        assert_eq!(f.message, "Invalid IP protocol gre.");
        let f = new_ingress_rule(
            Some(&json!("tcp")),
            Some(&json!("#$%")),
            Some(&json!(2)),
            None,
            cidr,
        )
        .unwrap_err();
        assert!(f.message.contains("must be integers"));
        assert!(
            new_ingress_rule(Some(&json!("tcp")), None, None, None, cidr)
                .unwrap()
                .is_none()
        );
        let r = new_ingress_rule(Some(&json!("tcp")), None, None, Some("g"), None)
            .unwrap()
            .unwrap();
        assert_eq!(r["from_port"], json!(1));
        assert!(parse_cidr(Some(&json!("10.0.0.0"))).is_err());
        assert!(parse_cidr(Some(&json!("10.0.0.0/33"))).is_err());
        assert_eq!(parse_cidr(None).unwrap(), "0.0.0.0/0");
    }
}
