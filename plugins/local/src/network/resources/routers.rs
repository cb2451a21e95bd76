//! Routers (`router`, `ext-gw-mode`, `extraroute`, `extraroute-atomic`): a router is a
//! document; its interfaces and its gateway are ports whose `device_id` is the router
//! (`network:router_interface` on a tenant subnet, `network:router_gateway` on an external
//! network, owned by no project). There is no data plane: a router only decides what
//! floating IPs can reach.

use std::net::IpAddr;

use jumpgate_plugin_api::prelude::*;

use serde_json::{json, Map, Value};

use crate::network::api::{self, Kind};
use crate::network::resources::networks::{flag, text};
use crate::network::resources::{floatingips, ipam, ports, quotas};
use crate::network::store::{self, Scope};
use crate::network::{bad_value, denied, Ctx, Net, Result, Svc};
use crate::store::Tx;

pub struct Router;

/// The `device_owner` of a router's interface port.
pub const INTERFACE: &str = "network:router_interface";
/// The `device_owner` of a router's gateway port.
pub const GATEWAY: &str = "network:router_gateway";
/// Neutron's `max_routes`.
pub const MAX_ROUTES: usize = 30;

/// Neutron's 400 for a request a resource cannot take (`n_exc.BadRequest(resource, msg)`).
pub fn bad_request(resource: &str, msg: impl Into<String>) -> Fault {
    Fault::bad_request(format!(
        "Bad {resource} request: {}.",
        msg.into().trim_end_matches('.')
    ))
    .kind("BadRequest")
}

fn unrecognized(input: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    let mut odd: Vec<&str> = input
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if odd.is_empty() {
        return Ok(());
    }
    odd.sort_unstable();
    Err(
        Fault::bad_request(format!("Unrecognized attribute(s) '{}'", odd.join(", ")))
            .kind("HTTPBadRequest")
            .into(),
    )
}

// ------------------------------------------------------------------ addresses

/// An address as a number and its width in bits.
fn number(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(a) => (u32::from(a) as u128, 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// A CIDR as its network number, prefix length and width.
fn parse_cidr(s: &str) -> Option<(u128, u8, u8)> {
    let (ip, len) = s.split_once('/')?;
    let (n, bits) = number(parse_ip(ip)?);
    let len: u8 = len.parse().ok()?;
    if len > bits {
        return None;
    }
    Some((n & mask(len, bits), len, bits))
}

fn mask(len: u8, bits: u8) -> u128 {
    let all = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    if len == 0 {
        0
    } else {
        all & !((1u128 << (bits - len)) - 1)
    }
}

/// Whether `ip` is inside `cidr`.
pub fn in_cidr(ip: &str, cidr: &str) -> bool {
    match (parse_ip(ip), parse_cidr(cidr)) {
        (Some(ip), Some((net, len, bits))) => {
            let (n, b) = number(ip);
            b == bits && n & mask(len, bits) == net
        }
        _ => false,
    }
}

/// Whether two CIDRs share an address.
fn overlaps(a: &str, b: &str) -> bool {
    match (parse_cidr(a), parse_cidr(b)) {
        (Some((na, la, ba)), Some((nb, lb, bb))) if ba == bb => {
            let l = la.min(lb);
            na & mask(l, ba) == nb & mask(l, ba)
        }
        _ => false,
    }
}

// ------------------------------------------------------------------ lookups

fn port_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Port {id} could not be found.")).kind("PortNotFound")
}

fn subnet_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Subnet {id} could not be found.")).kind("SubnetNotFound")
}

fn network_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Network {id} could not be found.")).kind("NetworkNotFound")
}

/// A port the caller may see (its owner, or an admin), or 404.
pub fn visible_port(c: &dyn Tx, ctx: &Ctx, id: &str) -> Result<Value> {
    match store::fetch(c, "port", id)? {
        Some(p) if ctx.owns(&p) => Ok(p),
        _ => Err(port_not_found(id).into()),
    }
}

/// A network the caller may see, or 404.
pub fn visible_network(c: &dyn Tx, ctx: &Ctx, id: &str) -> Result<Value> {
    match store::fetch(c, "network", id)? {
        Some(n)
            if ctx.owns(&n)
                || n["shared"] == json!(true)
                || n["router:external"] == json!(true) =>
        {
            Ok(n)
        }
        _ => Err(network_not_found(id).into()),
    }
}

/// A subnet the caller may see (theirs, or on a network they may use), or 404.
fn visible_subnet(c: &dyn Tx, ctx: &Ctx, id: &str) -> Result<Value> {
    if let Some(s) = store::fetch(c, "subnet", id)? {
        if ctx.owns(&s) {
            return Ok(s);
        }
        if let Some(n) = store::fetch(c, "network", s["network_id"].as_str().unwrap_or(""))? {
            if n["shared"] == json!(true) || n["router:external"] == json!(true) {
                return Ok(s);
            }
        }
    }
    Err(subnet_not_found(id).into())
}

fn subnet(c: &dyn Tx, id: &str) -> Result<Value> {
    store::fetch(c, "subnet", id)?.ok_or_else(|| subnet_not_found(id).into())
}

fn id_of(doc: &Value) -> &str {
    doc["id"].as_str().unwrap_or_default()
}

fn fixed_ips(port: &Value) -> Vec<(String, String)> {
    port["fixed_ips"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|f| {
                    (
                        f["subnet_id"].as_str().unwrap_or("").to_string(),
                        f["ip_address"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every port of a router: interfaces and gateway.
pub fn router_ports(c: &dyn Tx, router_id: &str) -> Result<Vec<Value>> {
    Ok(store::all(c, "port", Scope::Device(router_id))?
        .into_iter()
        .filter(|p| matches!(p["device_owner"].as_str(), Some(INTERFACE | GATEWAY)))
        .collect())
}

fn interfaces(c: &dyn Tx, router_id: &str) -> Result<Vec<Value>> {
    Ok(router_ports(c, router_id)?
        .into_iter()
        .filter(|p| p["device_owner"] == INTERFACE)
        .collect())
}

fn gateway_port(c: &dyn Tx, router_id: &str) -> Result<Option<Value>> {
    Ok(router_ports(c, router_id)?
        .into_iter()
        .find(|p| p["device_owner"] == GATEWAY))
}

/// Deletes a port this module made or took over, with its addresses.
fn drop_port(c: &dyn Tx, port: &Value) -> Result<()> {
    ports::release(c, port)?;
    store::remove(c, "port", id_of(port))
}

/// The caller as an admin of no project: gateway and floating IP ports belong to no one.
pub fn elevated(ctx: &Ctx) -> Ctx {
    Ctx {
        caller: ctx.caller.clone(),
        project_id: String::new(),
        admin: true,
    }
}

/// Makes a port `create_for` gave this module belong to `project` and be up.
fn adopt(c: &dyn Tx, port: &mut Value, project: &str, status: &str) -> Result<()> {
    port["project_id"] = json!(project);
    port["tenant_id"] = json!(project);
    port["status"] = json!(status);
    store::save(c, "port", port)
}

/// Moves a new port's addresses to one subnet (a request named the subnet, not the
/// address): its first free address there.
pub fn pin_to_subnet(c: &dyn Tx, port: &mut Value, subnet: &Value) -> Result<()> {
    let subnet_id = id_of(subnet).to_string();
    let ips = fixed_ips(port);
    if ips.len() == 1 && ips[0].0 == subnet_id {
        return Ok(());
    }
    ports::release(c, port)?;
    let Some(ip) = ipam::allocate_any(c, subnet, id_of(port))? else {
        return Err(Fault::conflict(format!(
            "No more IP addresses available for subnet {subnet_id}."
        ))
        .kind("IpAddressGenerationFailure")
        .into());
    };
    port["fixed_ips"] = json!([{"subnet_id": subnet_id, "ip_address": ip}]);
    store::save(c, "port", port)
}

/// The router that links a port's subnet to an external network: one with an interface
/// on the subnet and its gateway on that network, the one whose interface is the subnet's
/// gateway first.
pub fn router_for(
    c: &dyn Tx,
    network_id: &str,
    subnet_id: &str,
    external_network_id: &str,
) -> Result<Option<String>> {
    let gateway_ip = store::fetch(c, "subnet", subnet_id)?
        .and_then(|s| s["gateway_ip"].as_str().map(str::to_string));
    let mut first = None;
    for p in store::all(c, "port", Scope::Network(network_id))? {
        if p["device_owner"] != INTERFACE {
            continue;
        }
        let Some((_, ip)) = fixed_ips(&p).into_iter().find(|(s, _)| s == subnet_id) else {
            continue;
        };
        let router_id = p["device_id"].as_str().unwrap_or("").to_string();
        let reaches = gateway_port(c, &router_id)?
            .is_some_and(|g| g["network_id"].as_str() == Some(external_network_id));
        if !reaches {
            continue;
        }
        if gateway_ip.as_deref() == Some(ip.as_str()) {
            return Ok(Some(router_id));
        }
        first.get_or_insert(router_id);
    }
    Ok(first)
}

// ------------------------------------------------------------------ gateway

/// The gateway a body asks for: `None` to have none.
struct GatewayRequest {
    network_id: String,
    enable_snat: Option<bool>,
    fixed_ips: Option<Vec<(Option<String>, Option<String>)>>,
}

fn gateway_request(ctx: &Ctx, action: &str, v: &Value) -> Result<Option<GatewayRequest>> {
    let m = match v {
        Value::Null => return Ok(None),
        Value::Object(m) if m.is_empty() => return Ok(None),
        Value::Object(m) => m,
        other => {
            return Err(bad_value(
                "external_gateway_info",
                other,
                "is not a dictionary or None",
            )
            .into())
        }
    };
    let network_id = match m.get("network_id") {
        Some(Value::String(n)) => n.clone(),
        _ => {
            let keys: Vec<&str> = m.keys().map(String::as_str).collect();
            return Err(Fault::bad_request(format!(
                "Invalid input for external_gateway_info. Reason: Validation of dictionary's keys failed. Expected keys: {{'network_id'}} Provided keys: {{'{}'}}.",
                keys.join("', '")
            ))
            .kind("HTTPBadRequest")
            .into());
        }
    };
    if let Some(bad) = m.keys().find(|k| {
        !matches!(
            k.as_str(),
            "network_id" | "enable_snat" | "external_fixed_ips"
        )
    }) {
        return Err(bad_value("external_gateway_info", &json!(bad), "Unrecognized key").into());
    }
    let enable_snat = match m.get("enable_snat") {
        None | Some(Value::Null) => None,
        Some(_) => Some(flag(m, "enable_snat", true)?),
    };
    if enable_snat.is_some() && !ctx.admin {
        return Err(denied(&format!("{action}:external_gateway_info:enable_snat")).into());
    }
    let fixed_ips = match m.get("external_fixed_ips") {
        None | Some(Value::Null) => None,
        Some(Value::Array(l)) => {
            if !ctx.admin {
                return Err(denied(&format!(
                    "{action}:external_gateway_info:external_fixed_ips"
                ))
                .into());
            }
            let mut out = Vec::new();
            for f in l {
                let subnet = f
                    .get("subnet_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let ip = f
                    .get("ip_address")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if subnet.is_none() && ip.is_none() {
                    return Err(bad_value(
                        "external_fixed_ips",
                        f,
                        "Invalid data format for fixed IP",
                    )
                    .into());
                }
                out.push((subnet, ip));
            }
            Some(out)
        }
        Some(other) => {
            return Err(bad_value(
                "external_fixed_ips",
                other,
                "Invalid data format for fixed IP",
            )
            .into())
        }
    };
    if let Some(l) = &fixed_ips {
        for (_, ip) in l {
            if let Some(ip) = ip {
                if parse_ip(ip).is_none() {
                    return Err(bad_value(
                        "external_fixed_ips",
                        &json!(ip),
                        "is not a valid IP address",
                    )
                    .into());
                }
            }
        }
    }
    Ok(Some(GatewayRequest {
        network_id,
        enable_snat,
        fixed_ips,
    }))
}

/// Floating IPs that go out through a router.
fn router_floating_ips(c: &dyn Tx, router_id: &str) -> Result<Vec<Value>> {
    Ok(store::all(c, "floatingip", Scope::All)?
        .into_iter()
        .filter(|f| f["router_id"].as_str() == Some(router_id))
        .collect())
}

fn gateway_in_use(router_id: &str, net_id: &str) -> Fault {
    Fault::conflict(format!("Gateway cannot be updated for router {router_id}, since a gateway to external network {net_id} is required by one or more floating IPs.")).kind("RouterExternalGatewayInUseByFloatingIp")
}

/// Gives a router the gateway a body asks for (or none), making, keeping or dropping its
/// gateway port.
fn set_gateway(
    net: &Net,
    c: &dyn Tx,
    ctx: &Ctx,
    router: &mut Value,
    want: Option<GatewayRequest>,
) -> Result<()> {
    let router_id = id_of(router).to_string();
    let current = gateway_port(c, &router_id)?;
    let Some(want) = want else {
        if let Some(port) = current {
            if !router_floating_ips(c, &router_id)?.is_empty() {
                return Err(
                    gateway_in_use(&router_id, port["network_id"].as_str().unwrap_or("")).into(),
                );
            }
            drop_port(c, &port)?;
        }
        router["external_gateway_info"] = Value::Null;
        return Ok(());
    };
    let network = visible_network(c, ctx, &want.network_id)?;
    if network["router:external"] != json!(true) {
        return Err(bad_request(
            "router",
            format!("Network {} is not an external network", want.network_id),
        )
        .into());
    }
    let enable_snat = want.enable_snat.unwrap_or_else(|| {
        router["external_gateway_info"]["enable_snat"]
            .as_bool()
            .filter(|_| {
                current
                    .as_ref()
                    .is_some_and(|p| p["network_id"].as_str() == Some(want.network_id.as_str()))
            })
            .unwrap_or(true)
    });
    // Keep the port when the network and (if asked) its addresses stay.
    let keep = current.as_ref().is_some_and(|p| {
        p["network_id"].as_str() == Some(want.network_id.as_str())
            && want.fixed_ips.as_ref().is_none_or(|l| {
                let have = fixed_ips(p);
                l.len() == have.len()
                    && l.iter().all(|(s, ip)| {
                        have.iter().any(|(hs, hip)| {
                            s.as_ref().is_none_or(|s| s == hs)
                                && ip.as_ref().is_none_or(|ip| ip == hip)
                        })
                    })
            })
    });
    let port = if keep {
        current.expect("kept port")
    } else {
        if let Some(old) = &current {
            if old["network_id"].as_str() != Some(want.network_id.as_str())
                && !router_floating_ips(c, &router_id)?.is_empty()
            {
                return Err(
                    gateway_in_use(&router_id, old["network_id"].as_str().unwrap_or("")).into(),
                );
            }
            drop_port(c, old)?;
        }
        gateway_port_for(net, c, ctx, &router_id, &want)?
    };
    let ips: Vec<Value> = fixed_ips(&port)
        .into_iter()
        .map(|(s, ip)| json!({"subnet_id": s, "ip_address": ip}))
        .collect();
    router["external_gateway_info"] = json!({
        "network_id": want.network_id,
        "enable_snat": enable_snat,
        "external_fixed_ips": ips,
    });
    Ok(())
}

/// A new gateway port on the external network, with the addresses asked for.
fn gateway_port_for(
    net: &Net,
    c: &dyn Tx,
    ctx: &Ctx,
    router_id: &str,
    want: &GatewayRequest,
) -> Result<Value> {
    let admin = elevated(ctx);
    let mut addresses: Vec<Option<String>> = Vec::new();
    for (s, ip) in want.fixed_ips.iter().flatten() {
        if let Some(s) = s {
            let sub = subnet(c, s)?;
            if sub["network_id"].as_str() != Some(want.network_id.as_str()) {
                return Err(crate::network::bad(format!(
                    "Failed to create port on network {}, because fixed_ips included invalid subnet {s}",
                    want.network_id
                ))
                .into());
            }
            if let Some(ip) = ip {
                if !in_cidr(ip, sub["cidr"].as_str().unwrap_or("")) {
                    return Err(Fault::bad_request(format!(
                        "IP address {ip} is not a valid IP for the specified subnet."
                    ))
                    .kind("InvalidIpForSubnet")
                    .into());
                }
            }
        }
        addresses.push(ip.clone());
    }
    let first = addresses.first().cloned().flatten();
    let mut port = ports::create_for(
        net,
        c,
        &admin,
        &want.network_id,
        first.as_deref(),
        router_id,
        GATEWAY,
    )?;
    if let Some((Some(s), None)) = want.fixed_ips.as_ref().and_then(|l| l.first()) {
        pin_to_subnet(c, &mut port, &subnet(c, s)?)?;
    }
    adopt(c, &mut port, "", "ACTIVE")?;
    Ok(port)
}

// ------------------------------------------------------------------ routes

fn route_text(r: &Value) -> String {
    format!(
        "{{'destination': '{}', 'nexthop': '{}'}}",
        r["destination"].as_str().unwrap_or(""),
        r["nexthop"].as_str().unwrap_or("")
    )
}

fn invalid_routes(r: &Value, reason: &str) -> Fault {
    Fault::bad_request(format!(
        "Invalid format for routes: {}, {reason}.",
        route_text(r)
    ))
    .kind("InvalidRoutes")
}

/// A `routes` value as a list of `{destination, nexthop}`, in Neutron's form.
fn parse_routes(v: &Value) -> Result<Vec<Value>> {
    let list = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(l) => l,
        other => {
            return Err(bad_value("routes", other, "Invalid data format for hostroute").into())
        }
    };
    let mut out: Vec<Value> = Vec::new();
    for r in list {
        let ok = r.as_object().is_some_and(|m| {
            m.len() == 2
                && m.get("destination")
                    .and_then(Value::as_str)
                    .and_then(parse_cidr)
                    .is_some()
                && m.get("nexthop")
                    .and_then(Value::as_str)
                    .and_then(parse_ip)
                    .is_some()
        });
        if !ok {
            return Err(Fault::bad_request(format!(
                "Invalid input for routes. Reason: Invalid data format for hostroute: '{r}'."
            ))
            .kind("HTTPBadRequest")
            .into());
        }
        let route = json!({"destination": r["destination"], "nexthop": r["nexthop"]});
        if out.contains(&route) {
            return Err(Fault::bad_request(format!(
                "Invalid input for routes. Reason: Duplicate hostroute '{r}'."
            ))
            .kind("HTTPBadRequest")
            .into());
        }
        out.push(route);
    }
    Ok(out)
}

/// Neutron's rules for a router's routes: at most `max_routes`, each next hop on a subnet
/// the router is connected to and not one of the router's own addresses.
fn check_routes(c: &dyn Tx, router_id: &str, routes: &[Value]) -> Result<()> {
    if routes.len() > MAX_ROUTES {
        return Err(Fault::bad_request(format!("Unable to complete operation for {router_id}. The number of routes exceeds the maximum {MAX_ROUTES}.")).kind("RoutesExhausted").into());
    }
    let mut cidrs = Vec::new();
    let mut own = Vec::new();
    for p in router_ports(c, router_id)? {
        for (s, ip) in fixed_ips(&p) {
            if let Some(sub) = store::fetch(c, "subnet", &s)? {
                cidrs.push(sub["cidr"].as_str().unwrap_or("").to_string());
            }
            own.push(ip);
        }
    }
    for r in routes {
        let hop = r["nexthop"].as_str().unwrap_or("");
        if !cidrs.iter().any(|cidr| in_cidr(hop, cidr)) {
            return Err(invalid_routes(r, "the nexthop is not connected with router").into());
        }
        if own.iter().any(|ip| ip == hop) {
            return Err(invalid_routes(r, "the nexthop is used by router").into());
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ the kind

const CREATE_ATTRS: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "external_gateway_info",
    "project_id",
    "tenant_id",
    "distributed",
    "ha",
    "availability_zone_hints",
    "flavor_id",
    "tags",
];

fn az_hints(input: &Map<String, Value>) -> Result<Value> {
    match input.get("availability_zone_hints") {
        None | Some(Value::Null) => Ok(json!([])),
        Some(Value::Array(l)) if l.iter().all(|z| z.as_str().is_some_and(|z| z == "nova")) => {
            Ok(Value::Array(l.clone()))
        }
        Some(Value::Array(l)) => {
            let bad = l
                .iter()
                .find(|z| z.as_str() != Some("nova"))
                .cloned()
                .unwrap_or(Value::Null);
            let name = bad.as_str().map(str::to_string).unwrap_or(bad.to_string());
            Err(
                Fault::not_found(format!("AvailabilityZone {name} could not be found."))
                    .kind("AvailabilityZoneNotFound")
                    .into(),
            )
        }
        Some(other) => Err(bad_value("availability_zone_hints", other, "is not a list").into()),
    }
}

impl Kind for Router {
    const SINGULAR: &'static str = "router";
    const COLLECTION: &'static str = "routers";
    const NAME: &'static str = "Router";
    const ADMIN_ONLY: &'static [&'static str] = &["distributed", "ha"];
    const MUTABLE: &'static [&'static str] = &[
        "name",
        "description",
        "admin_state_up",
        "external_gateway_info",
        "routes",
        "distributed",
        "ha",
    ];

    fn create(net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        if input.contains_key("routes") {
            return Err(Fault::bad_request("Attribute 'routes' not allowed in POST")
                .kind("HTTPBadRequest")
                .into());
        }
        unrecognized(&input, CREATE_ATTRS)?;
        text(&input, "name", 255)?;
        text(&input, "description", 255)?;
        for key in ["distributed", "ha"] {
            if input.contains_key(key) && !ctx.admin {
                return Err(denied(&format!("create_router:{key}")).into());
            }
        }
        let gateway = match input.get("external_gateway_info") {
            None => None,
            Some(v) => gateway_request(ctx, "create_router", v)?,
        };
        let hints = az_hints(&input)?;
        quotas::enforce(c, ctx, "router", 1)?;
        let mut doc = store::common(ctx, &input)?;
        if let Some(Value::Array(tags)) = input.get("tags") {
            doc.insert("tags".into(), Value::Array(tags.clone()));
        }
        for (k, v) in [
            (
                "admin_state_up",
                json!(flag(&input, "admin_state_up", true)?),
            ),
            ("status", json!("ACTIVE")),
            ("external_gateway_info", Value::Null),
            ("routes", json!([])),
            ("distributed", json!(flag(&input, "distributed", false)?)),
            ("ha", json!(flag(&input, "ha", false)?)),
            ("availability_zone_hints", hints),
            ("availability_zones", json!(["nova"])),
            (
                "flavor_id",
                input.get("flavor_id").cloned().unwrap_or(Value::Null),
            ),
        ] {
            doc.insert(k.into(), v);
        }
        let mut doc = Value::Object(doc);
        if gateway.is_some() {
            set_gateway(net, c, ctx, &mut doc, gateway)?;
        }
        store::insert(c, "router", &doc)?;
        Ok(doc)
    }

    fn update(
        net: &Net,
        c: &dyn Tx,
        ctx: &Ctx,
        doc: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<()> {
        text(input, "name", 255)?;
        text(input, "description", 255)?;
        for key in ["distributed", "ha"] {
            if input.contains_key(key) {
                if !ctx.admin {
                    return Err(denied(&format!("update_router:{key}")).into());
                }
                doc[key] = json!(flag(input, key, false)?);
            }
        }
        if input.contains_key("admin_state_up") {
            doc["admin_state_up"] = json!(flag(input, "admin_state_up", true)?);
        }
        for key in ["name", "description"] {
            if let Some(v) = input.get(key) {
                doc[key] = json!(v.as_str().unwrap_or(""));
            }
        }
        if let Some(v) = input.get("external_gateway_info") {
            let want = gateway_request(ctx, "update_router", v)?;
            set_gateway(net, c, ctx, doc, want)?;
        }
        if let Some(v) = input.get("routes") {
            let routes = parse_routes(v)?;
            check_routes(c, id_of(doc), &routes)?;
            doc["routes"] = Value::Array(routes);
        } else if input.contains_key("external_gateway_info") {
            let routes: Vec<Value> = doc["routes"].as_array().cloned().unwrap_or_default();
            check_routes(c, id_of(doc), &routes)?;
        }
        Ok(())
    }

    fn delete(_net: &Net, c: &dyn Tx, _ctx: &Ctx, doc: &Value) -> Result<()> {
        let id = id_of(doc);
        if !interfaces(c, id)?.is_empty() {
            return Err(Fault::conflict(format!("Router {id} still has ports"))
                .kind("RouterInUse")
                .into());
        }
        if let Some(gw) = gateway_port(c, id)? {
            if !router_floating_ips(c, id)?.is_empty() {
                return Err(gateway_in_use(id, gw["network_id"].as_str().unwrap_or("")).into());
            }
            drop_port(c, &gw)?;
        }
        store::remove(c, "router", id)
    }
}

// ------------------------------------------------------------------ interfaces

/// What add/remove_router_interface answer.
fn interface_info(router_id: &str, port: &Value, subnet_ids: &[String], last: bool) -> Value {
    let subnet_id = if last {
        subnet_ids.last()
    } else {
        subnet_ids.first()
    };
    json!({
        "id": router_id,
        "tenant_id": port["tenant_id"],
        "project_id": port["project_id"],
        "port_id": port["id"],
        "network_id": port["network_id"],
        "subnet_id": subnet_id,
        "subnet_ids": subnet_ids,
    })
}

/// `port_id`/`subnet_id` of an interface body, checked as Neutron does.
fn interface_body(
    body: &Map<String, Value>,
    removal: bool,
) -> Result<(Option<String>, Option<String>)> {
    let mut ids = [None, None];
    for (i, key) in ["port_id", "subnet_id"].iter().enumerate() {
        if let Some(v) = body.get(*key) {
            match v.as_str() {
                Some(s) if uuid::Uuid::parse_str(s).is_ok() => ids[i] = Some(s.to_string()),
                _ => {
                    let shown = v.as_str().map(str::to_string).unwrap_or(v.to_string());
                    return Err(
                        bad_request("router", format!("'{shown}' is not a valid UUID")).into(),
                    );
                }
            }
        }
    }
    let [port_id, subnet_id] = ids;
    if port_id.is_none() && subnet_id.is_none() {
        return Err(bad_request("router", "Either subnet_id or port_id must be specified").into());
    }
    if !removal && port_id.is_some() && subnet_id.is_some() {
        return Err(bad_request("router", "Cannot specify both subnet-id and port-id").into());
    }
    Ok((port_id, subnet_id))
}

/// Neutron's `_check_for_dup_router_subnets`: a subnet the router already has, or one that
/// overlaps one of its interfaces' subnets, is refused.
fn check_dup_subnets(c: &dyn Tx, router_id: &str, new: &[Value]) -> Result<()> {
    let mut attached = Vec::new();
    for p in router_ports(c, router_id)? {
        for (s, _) in fixed_ips(&p) {
            if new.iter().any(|n| id_of(n) == s) {
                return Err(bad_request(
                    "router",
                    format!("Router already has a port on subnet {s}"),
                )
                .into());
            }
            if p["device_owner"] == INTERFACE {
                attached.push(s);
            }
        }
    }
    for s in attached {
        let Some(sub) = store::fetch(c, "subnet", &s)? else {
            continue;
        };
        let cidr = sub["cidr"].as_str().unwrap_or("");
        for n in new {
            let new_cidr = n["cidr"].as_str().unwrap_or("");
            if overlaps(cidr, new_cidr) {
                return Err(bad_request(
                    "router",
                    format!(
                        "Cidr {new_cidr} of subnet {} overlaps with cidr {cidr} of subnet {s}",
                        id_of(n)
                    ),
                )
                .into());
            }
        }
    }
    Ok(())
}

/// The router of an interface request, which the caller must own.
fn owned_router(c: &dyn Tx, ctx: &Ctx, router_id: &str, action: &str) -> Result<Value> {
    let router = api::get::<Router>(c, ctx, router_id)?;
    if !ctx.owns(&router) {
        return Err(denied(action).into());
    }
    Ok(router)
}

/// `PUT /routers/{id}/add_router_interface`.
pub fn add_interface(
    net: &Net,
    c: &dyn Tx,
    ctx: &Ctx,
    router_id: &str,
    body: &Map<String, Value>,
) -> Result<Value> {
    let mut router = owned_router(c, ctx, router_id, "add_router_interface")?;
    let (port_id, subnet_id) = interface_body(body, false)?;
    let (port, subnet_ids) = if let Some(port_id) = port_id {
        let mut port = visible_port(c, ctx, &port_id)?;
        let device = port["device_id"].as_str().unwrap_or("");
        if !device.is_empty() {
            return Err(Fault::conflict(format!(
                "Unable to complete operation on port {port_id} for network {}. Port already has an attached device {device}.",
                port["network_id"].as_str().unwrap_or("")
            ))
            .kind("PortInUse")
            .into());
        }
        let ips = fixed_ips(&port);
        if ips.is_empty() {
            return Err(
                bad_request("router", "Router port must have at least one fixed IP").into(),
            );
        }
        let mut subnets: Vec<Value> = Vec::new();
        for (s, _) in &ips {
            if !subnets.iter().any(|x| id_of(x) == s) {
                subnets.push(subnet(c, s)?);
            }
        }
        check_dup_subnets(c, router_id, &subnets)?;
        if subnets
            .iter()
            .filter(|s| s["ip_version"] == json!(4))
            .count()
            > 1
        {
            return Err(
                bad_request("router", "Cannot have multiple IPv4 subnets on router port").into(),
            );
        }
        port["device_id"] = json!(router_id);
        port["device_owner"] = json!(INTERFACE);
        port["status"] = json!("ACTIVE");
        store::save(c, "port", &mut port)?;
        let ids: Vec<String> = subnets.iter().map(|s| id_of(s).to_string()).collect();
        (port, ids)
    } else {
        let subnet_id = subnet_id.expect("checked");
        let sub = visible_subnet(c, ctx, &subnet_id)?;
        let gateway_ip = match sub["gateway_ip"].as_str() {
            Some(g) if !g.is_empty() => g.to_string(),
            _ => {
                return Err(bad_request(
                    "router",
                    "Subnet for router interface must have a gateway IP",
                )
                .into())
            }
        };
        if !ctx.admin && sub["project_id"].as_str() != Some(ctx.project_id.as_str()) {
            return Err(bad_request("router", format!("Cannot add interface to router because subnet {subnet_id} is not owned by project making the request")).into());
        }
        check_dup_subnets(c, router_id, std::slice::from_ref(&sub))?;
        let owner = Ctx {
            project_id: router["project_id"].as_str().unwrap_or("").to_string(),
            ..ctx.clone()
        };
        let mut port = ports::create_for(
            net,
            c,
            &owner,
            sub["network_id"].as_str().unwrap_or(""),
            Some(&gateway_ip),
            router_id,
            INTERFACE,
        )?;
        adopt(c, &mut port, &owner.project_id, "ACTIVE")?;
        (port, vec![subnet_id])
    };
    store::save(c, "router", &mut router)?;
    Ok(interface_info(router_id, &port, &subnet_ids, true))
}

/// Refuses to take away a subnet a floating IP or a route of the router needs.
fn check_interface_unused(c: &dyn Tx, router: &Value, subnet_id: &str) -> Result<()> {
    let router_id = id_of(router);
    let sub = subnet(c, subnet_id)?;
    let cidr = sub["cidr"].as_str().unwrap_or("");
    for f in router_floating_ips(c, router_id)? {
        if f["fixed_ip_address"]
            .as_str()
            .is_some_and(|ip| in_cidr(ip, cidr))
        {
            return Err(Fault::conflict(format!("Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, as it is required by one or more floating IPs.")).kind("RouterInterfaceInUseByFloatingIP").into());
        }
    }
    for r in router["routes"].as_array().into_iter().flatten() {
        if r["nexthop"].as_str().is_some_and(|ip| in_cidr(ip, cidr)) {
            return Err(Fault::conflict(format!("Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, as it is required by one or more routes.")).kind("RouterInterfaceInUseByRoute").into());
        }
    }
    Ok(())
}

/// `PUT /routers/{id}/remove_router_interface`.
pub fn remove_interface(
    c: &dyn Tx,
    ctx: &Ctx,
    router_id: &str,
    body: &Map<String, Value>,
) -> Result<Value> {
    let mut router = owned_router(c, ctx, router_id, "remove_router_interface")?;
    let (port_id, subnet_id) = interface_body(body, true)?;
    let (port, subnet_ids) = if let Some(port_id) = port_id {
        let Some(port) = interfaces(c, router_id)?
            .into_iter()
            .find(|p| id_of(p) == port_id)
        else {
            return Err(Fault::not_found(format!(
                "Router {router_id} does not have an interface with id {port_id}"
            ))
            .kind("RouterInterfaceNotFound")
            .into());
        };
        let mut ids: Vec<String> = Vec::new();
        for (s, _) in fixed_ips(&port) {
            if !ids.contains(&s) {
                ids.push(s);
            }
        }
        if let Some(s) = &subnet_id {
            if !ids.contains(s) {
                return Err(Fault::bad_request(format!(
                    "Subnet on port {port_id} does not match the requested subnet {s}."
                ))
                .kind("SubnetMismatchForPort")
                .into());
            }
        }
        for s in &ids {
            check_interface_unused(c, &router, s)?;
        }
        drop_port(c, &port)?;
        (port, ids)
    } else {
        let subnet_id = subnet_id.expect("checked");
        check_interface_unused(c, &router, &subnet_id)?;
        let found = interfaces(c, router_id)?
            .into_iter()
            .find(|p| fixed_ips(p).iter().any(|(s, _)| *s == subnet_id));
        let Some(mut port) = found else {
            return Err(Fault::not_found(format!(
                "Router {router_id} has no interface on subnet {subnet_id}"
            ))
            .kind("RouterInterfaceNotFoundForSubnet")
            .into());
        };
        let others: Vec<Value> = port["fixed_ips"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["subnet_id"].as_str() != Some(subnet_id.as_str()))
            .cloned()
            .collect();
        if others.is_empty() {
            drop_port(c, &port)?;
        } else {
            // A port with addresses on other subnets keeps them.
            c.release_port_ips(id_of(&port), Some(&subnet_id))?;
            port["fixed_ips"] = Value::Array(others);
            store::save(c, "port", &mut port)?;
        }
        (port, vec![subnet_id])
    };
    store::save(c, "router", &mut router)?;
    Ok(interface_info(router_id, &port, &subnet_ids, false))
}

// ------------------------------------------------------------------ extra routes

/// `PUT /routers/{id}/add_extraroutes` (or `remove_extraroutes`): the router with the
/// routes of the body added to (taken from) its own, at once.
pub fn change_routes(
    c: &dyn Tx,
    ctx: &Ctx,
    router_id: &str,
    body: &Map<String, Value>,
    add: bool,
) -> Result<Value> {
    let action = if add {
        "add_extraroutes"
    } else {
        "remove_extraroutes"
    };
    let mut router = owned_router(c, ctx, router_id, action)?;
    if let Some(bad) = body.keys().find(|k| *k != "routes") {
        return Err(
            Fault::bad_request(format!("Unrecognized attribute(s) '{bad}'"))
                .kind("HTTPBadRequest")
                .into(),
        );
    }
    let asked = parse_routes(body.get("routes").unwrap_or(&Value::Null))?;
    let mut routes: Vec<Value> = router["routes"].as_array().cloned().unwrap_or_default();
    if add {
        for r in asked {
            if !routes.contains(&r) {
                routes.push(r);
            }
        }
        check_routes(c, router_id, &routes)?;
    } else {
        routes.retain(|r| !asked.contains(r));
    }
    router["routes"] = Value::Array(routes);
    store::save(c, "router", &mut router)?;
    Ok(router)
}

// ------------------------------------------------------------------ l3 ports elsewhere

/// The ports API may not delete a router's or a floating IP's port (409 ServicePortInUse):
/// for the ports kind to call before deleting one.
#[allow(dead_code)] // until the ports kind calls it
pub fn prevent_l3_port_deletion(c: &dyn Tx, port: &Value) -> Result<()> {
    let owner = port["device_owner"].as_str().unwrap_or("");
    let device = port["device_id"].as_str().unwrap_or("");
    let exists = match owner {
        INTERFACE | GATEWAY => store::fetch(c, "router", device)?.is_some(),
        floatingips::OWNER => store::fetch(c, "floatingip", device)?.is_some(),
        _ => false,
    };
    if exists {
        return Err(Fault::conflict(format!(
            "Port {} cannot be deleted directly via the port API: has device owner {owner}.",
            id_of(port)
        ))
        .kind("ServicePortInUse")
        .into());
    }
    Ok(())
}

// ------------------------------------------------------------------ HTTP

/// An action's body: a JSON object (`{"subnet_id": ...}`), or `{"router": {...}}` for the
/// extra route actions.
fn action_body(req: &Request, wrapped: bool) -> std::result::Result<Map<String, Value>, Fault> {
    if wrapped {
        return crate::network::object_body(req, "router");
    }
    if req.body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Fault::bad_request("Malformed JSON in request body.").kind("HTTPBadRequest")),
    }
}

fn router_param(req: &Request) -> std::result::Result<String, Fault> {
    req.param("router_id")
        .map(str::to_string)
        .ok_or_else(|| Fault::internal("route without a router id"))
}

fn on_add_interface(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let id = router_param(req)?;
    let body = action_body(req, false)?;
    let out = svc.write(|c| add_interface(svc, c, &ctx, &id, &body))?;
    resp.set_status(200);
    resp.json(&out);
    Ok(())
}

fn on_remove_interface(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let id = router_param(req)?;
    let body = action_body(req, false)?;
    let out = svc.write(|c| remove_interface(c, &ctx, &id, &body))?;
    resp.set_status(200);
    resp.json(&out);
    Ok(())
}

fn routes_action(svc: &Svc, req: &mut Request, resp: &mut Response, add: bool) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let id = router_param(req)?;
    let body = action_body(req, true)?;
    let doc = svc.write(|c| change_routes(c, &ctx, &id, &body, add))?;
    resp.set_status(200);
    resp.json(&json!({"router": api::view::<Router>(&ctx, doc, &[])}));
    Ok(())
}

fn on_add_routes(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    routes_action(svc, req, resp, true)
}

fn on_remove_routes(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    routes_action(svc, req, resp, false)
}

endpoint!(Svc; AddInterface { on_put => on_add_interface });
endpoint!(Svc; RemoveInterface { on_put => on_remove_interface });
endpoint!(Svc; AddRoutes { on_put => on_add_routes });
endpoint!(Svc; RemoveRoutes { on_put => on_remove_routes });

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    api::serve::<Router>(disp, svc, "v2_routers", "v2_router")?;
    routes! {
        disp, svc;
        "v2_router_add_router_interface" => AddInterface,
        "v2_router_remove_router_interface" => RemoveInterface,
        "v2_router_add_extraroutes" => AddRoutes,
        "v2_router_remove_extraroutes" => RemoveRoutes,
    }
    Ok(())
}

/// A `Net` over an in-memory store, for tests: its `App` answers nothing.
#[cfg(test)]
pub(crate) mod testing {
    use std::cell::RefCell;
    use std::sync::Arc;

    use abi_stable::sabi_trait::TD_Opaque;
    use abi_stable::std_types::{RArc, ROption, RResult, RSlice, RStr, RString, RVec};
    use jumpgate_plugin_api::abi::{
        self, App_TO, DispatcherBox, Dispatcher_TO, HookBox, LogLevel, Pair, ResponderBox,
        TokenValidatorBox,
    };
    use jumpgate_plugin_api::{App, Dispatcher, Error};

    use crate::network::Net;
    use crate::store::Store;

    #[derive(Clone)]
    struct NoApp;

    impl abi::App for NoApp {
        fn host_version(&self) -> RString {
            "test".into()
        }
        fn config(&self, _: RStr<'_>, _: RStr<'_>) -> ROption<RString> {
            ROption::RNone
        }
        fn config_items(&self, _: RStr<'_>) -> RVec<Pair> {
            RVec::new()
        }
        fn enabled_services(&self) -> RVec<RString> {
            RVec::new()
        }
        fn get_dispatcher(&self, _: RStr<'_>) -> ROption<DispatcherBox> {
            ROption::RNone
        }
        fn log(&self, _: LogLevel, _: RStr<'_>, _: RStr<'_>) {}
        fn set_token_validator(&self, _: TokenValidatorBox) -> RResult<(), RString> {
            RResult::ROk(())
        }
        fn add_hook(&self, _: RStr<'_>, _: HookBox) -> RResult<(), RString> {
            RResult::ROk(())
        }
    }

    #[derive(Clone)]
    struct NoDispatcher;

    impl abi::Dispatcher for NoDispatcher {
        fn service(&self) -> RString {
            "network".into()
        }
        fn mount(&self) -> RString {
            "/network".into()
        }
        fn set_handler(&self, _: RStr<'_>, _: ResponderBox) -> RResult<(), RString> {
            RResult::ROk(())
        }
        fn get_endpoint_path(
            &self,
            _: &abi::Request,
            _: RStr<'_>,
            _: RSlice<'_, Pair>,
        ) -> RResult<RString, RString> {
            RResult::ROk(RString::new())
        }
        fn get_endpoint_url(
            &self,
            _: &abi::Request,
            _: RStr<'_>,
            _: RSlice<'_, Pair>,
        ) -> RResult<RString, RString> {
            RResult::ROk(RString::new())
        }
        fn get_unused_endpoints(&self) -> RVec<RString> {
            RVec::new()
        }
        fn endpoints(&self) -> RVec<Pair> {
            RVec::new()
        }
    }

    thread_local! {
        static APP: RefCell<Option<App>> = const { RefCell::new(None) };
    }

    fn keep(app: &App, _: &Dispatcher) -> Result<(), Error> {
        APP.with(|a| *a.borrow_mut() = Some(app.clone()));
        Ok(())
    }

    pub fn net() -> Net {
        let _ = jumpgate_plugin_api::driver::run_setup_routes(
            "local",
            App_TO::from_ptr(RArc::new(NoApp), TD_Opaque),
            Dispatcher_TO::from_ptr(RArc::new(NoDispatcher), TD_Opaque),
            keep,
        );
        let app = APP.with(|a| a.borrow().clone()).expect("app");
        Net {
            app,
            store: Arc::new(Store::memory()),
        }
    }
}

#[cfg(test)]
mod tests {
    use jumpgate_plugin_api::AuthContext;

    use super::*;
    use crate::network::resources::floatingips::FloatingIp;

    pub(crate) fn ctx(project: &str, admin: bool) -> Ctx {
        Ctx {
            caller: AuthContext {
                user_id: format!("user-{project}"),
                project_id: Some(project.into()),
                roles: vec![if admin { "admin" } else { "member" }.into()],
                is_admin: admin,
                ..Default::default()
            },
            project_id: project.into(),
            admin,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    fn network(c: &dyn Tx, project: &str, external: bool) -> String {
        let id = crate::network::new_id();
        let doc = json!({"id": id, "project_id": project, "tenant_id": project, "name": "n",
            "router:external": external, "shared": false, "subnets": [], "status": "ACTIVE",
            "admin_state_up": true});
        store::insert(c, "network", &doc).unwrap();
        id
    }

    fn subnet_on(
        c: &dyn Tx,
        project: &str,
        network_id: &str,
        cidr: &str,
        gw: Option<&str>,
    ) -> String {
        let id = crate::network::new_id();
        let (base, _) = cidr.split_once('/').unwrap();
        let prefix = base.rsplit_once('.').unwrap().0;
        let doc = json!({"id": id, "project_id": project, "tenant_id": project, "name": "s",
            "network_id": network_id, "cidr": cidr, "ip_version": 4, "gateway_ip": gw,
            "enable_dhcp": false,
            "allocation_pools": [{"start": format!("{prefix}.2"), "end": format!("{prefix}.254")}]});
        store::insert(c, "subnet", &doc).unwrap();
        let mut n = store::fetch(c, "network", network_id).unwrap().unwrap();
        n["subnets"].as_array_mut().unwrap().push(json!(id));
        store::save(c, "network", &mut n).unwrap();
        id
    }

    fn status(r: Result<Value>) -> (u16, String) {
        match r {
            Ok(v) => panic!("expected a fault, got {v}"),
            Err(crate::network::Error::Fault(f)) => (f.status, f.kind.unwrap_or_default()),
            Err(e) => panic!("store failure {e:?}"),
        }
    }

    fn router(net: &Net, c: &dyn Tx, ctx: &Ctx, body: Value) -> Value {
        Router::create(net, c, ctx, obj(body)).unwrap()
    }

    #[test]
    fn interfaces_by_subnet_follow_neutron_rules() {
        let net = testing::net();
        let t = ctx("p1", false);
        net.store
            .write(|c| -> Result<()> {
                let n1 = network(c, "p1", false);
                let s1 = subnet_on(c, "p1", &n1, "10.1.0.0/24", Some("10.1.0.1"));
                let n2 = network(c, "p1", false);
                let s2 = subnet_on(c, "p1", &n2, "10.1.0.0/24", Some("10.1.0.1"));
                let s3 = subnet_on(c, "p1", &n2, "10.3.0.0/24", None);
                let r = router(&net, c, &t, json!({"name": "r"}));
                let rid = id_of(&r).to_string();
                let info =
                    add_interface(&net, c, &t, &rid, &obj(json!({"subnet_id": s1}))).unwrap();
                assert_eq!(info["subnet_id"], json!(s1));
                assert_eq!(info["subnet_ids"], json!([s1]));
                assert_eq!(info["network_id"], json!(n1));
                let port = store::fetch(c, "port", info["port_id"].as_str().unwrap())?.unwrap();
                assert_eq!(port["device_id"], json!(rid));
                assert_eq!(port["device_owner"], json!(INTERFACE));
                assert_eq!(port["fixed_ips"][0]["ip_address"], json!("10.1.0.1"));
                assert_eq!(port["project_id"], json!("p1"));
                // Again, an overlapping subnet, a subnet without a gateway: 400.
                let again = add_interface(&net, c, &t, &rid, &obj(json!({"subnet_id": s1})));
                assert_eq!(status(again), (400, "BadRequest".into()));
                let overlap = add_interface(&net, c, &t, &rid, &obj(json!({"subnet_id": s2})));
                assert_eq!(status(overlap), (400, "BadRequest".into()));
                let no_gw = add_interface(&net, c, &t, &rid, &obj(json!({"subnet_id": s3})));
                assert_eq!(status(no_gw), (400, "BadRequest".into()));
                let both = add_interface(
                    &net,
                    c,
                    &t,
                    &rid,
                    &obj(json!({"subnet_id": s3, "port_id": s3})),
                );
                assert_eq!(status(both), (400, "BadRequest".into()));
                // A router with an interface stays.
                let del = Router::delete(&net, c, &t, &r).map(|_| Value::Null);
                assert_eq!(status(del), (409, "RouterInUse".into()));
                // Routes: the next hop must be on a connected subnet.
                let mut doc = api::get::<Router>(c, &t, &rid)?;
                let bad = Router::update(
                    &net,
                    c,
                    &t,
                    &mut doc,
                    &obj(
                        json!({"routes": [{"destination": "10.9.0.0/24", "nexthop": "10.2.0.5"}]}),
                    ),
                )
                .map(|_| Value::Null);
                assert_eq!(status(bad), (400, "InvalidRoutes".into()));
                let own = Router::update(
                    &net,
                    c,
                    &t,
                    &mut doc,
                    &obj(
                        json!({"routes": [{"destination": "10.9.0.0/24", "nexthop": "10.1.0.1"}]}),
                    ),
                )
                .map(|_| Value::Null);
                assert_eq!(status(own), (400, "InvalidRoutes".into()));
                Router::update(
                    &net,
                    c,
                    &t,
                    &mut doc,
                    &obj(
                        json!({"routes": [{"destination": "10.9.0.0/24", "nexthop": "10.1.0.5"}]}),
                    ),
                )?;
                store::save(c, "router", &mut doc)?;
                let needed = remove_interface(c, &t, &rid, &obj(json!({"subnet_id": s1})));
                assert_eq!(status(needed), (409, "RouterInterfaceInUseByRoute".into()));
                let cleared = change_routes(
                    c,
                    &t,
                    &rid,
                    &obj(
                        json!({"routes": [{"destination": "10.9.0.0/24", "nexthop": "10.1.0.5"}]}),
                    ),
                    false,
                )?;
                assert_eq!(cleared["routes"], json!([]));
                // Removal by subnet, then again: 404.
                let out = remove_interface(c, &t, &rid, &obj(json!({"subnet_id": s1})))?;
                assert_eq!(out["port_id"], info["port_id"]);
                assert!(store::fetch(c, "port", info["port_id"].as_str().unwrap())?.is_none());
                let gone = remove_interface(c, &t, &rid, &obj(json!({"subnet_id": s1})));
                assert_eq!(
                    status(gone),
                    (404, "RouterInterfaceNotFoundForSubnet".into())
                );
                let gone = remove_interface(c, &t, &rid, &obj(json!({"port_id": info["port_id"]})));
                assert_eq!(status(gone), (404, "RouterInterfaceNotFound".into()));
                Router::delete(&net, c, &t, &r)?;
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn interfaces_by_port_take_a_free_port() {
        let net = testing::net();
        let t = ctx("p1", false);
        net.store
            .write(|c| -> Result<()> {
                let n1 = network(c, "p1", false);
                let s1 = subnet_on(c, "p1", &n1, "10.1.0.0/24", Some("10.1.0.1"));
                let r = router(&net, c, &t, json!({}));
                let rid = id_of(&r).to_string();
                let port = ports::create_for(&net, c, &t, &n1, None, "", "")?;
                let pid = id_of(&port).to_string();
                let info = add_interface(&net, c, &t, &rid, &obj(json!({"port_id": pid})))?;
                assert_eq!(info["subnet_id"], json!(s1));
                assert_eq!(info["port_id"], json!(pid));
                let port = store::fetch(c, "port", &pid)?.unwrap();
                assert_eq!(port["device_id"], json!(rid));
                let r2 = router(&net, c, &t, json!({}));
                let busy = add_interface(&net, c, &t, id_of(&r2), &obj(json!({"port_id": pid})));
                assert_eq!(status(busy), (409, "PortInUse".into()));
                let mismatch = remove_interface(
                    c,
                    &t,
                    &rid,
                    &obj(json!({"port_id": pid, "subnet_id": crate::network::new_id()})),
                );
                assert_eq!(status(mismatch), (400, "SubnetMismatchForPort".into()));
                remove_interface(c, &t, &rid, &obj(json!({"port_id": pid, "subnet_id": s1})))?;
                assert!(store::fetch(c, "port", &pid)?.is_none());
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn gateways_need_external_networks() {
        let net = testing::net();
        let t = ctx("p1", false);
        let admin = ctx("admin", true);
        net.store
            .write(|c| -> Result<()> {
                let ext = network(c, "admin", true);
                let es = subnet_on(c, "admin", &ext, "172.24.4.0/24", Some("172.24.4.1"));
                let private = network(c, "p1", false);
                let bad = Router::create(
                    &net,
                    c,
                    &t,
                    obj(json!({"external_gateway_info": {"network_id": private}})),
                );
                assert_eq!(status(bad), (400, "BadRequest".into()));
                let missing = Router::create(
                    &net,
                    c,
                    &t,
                    obj(json!({"external_gateway_info": {"network_id": crate::network::new_id()}})),
                );
                assert_eq!(status(missing), (404, "NetworkNotFound".into()));
                let snat = Router::create(
                    &net,
                    c,
                    &t,
                    obj(
                        json!({"external_gateway_info": {"network_id": ext, "enable_snat": false}}),
                    ),
                );
                assert_eq!(status(snat), (403, "PolicyNotAuthorized".into()));
                let r = router(
                    &net,
                    c,
                    &t,
                    json!({"external_gateway_info": {"network_id": ext}}),
                );
                let gw = &r["external_gateway_info"];
                assert_eq!(gw["network_id"], json!(ext));
                assert_eq!(gw["enable_snat"], json!(true));
                assert_eq!(gw["external_fixed_ips"][0]["subnet_id"], json!(es));
                let gp = gateway_port(c, id_of(&r))?.unwrap();
                assert_eq!(gp["project_id"], json!(""));
                assert_eq!(gp["network_id"], json!(ext));
                // An admin picks the address; a used one is 409.
                let r2 = router(
                    &net,
                    c,
                    &admin,
                    json!({"external_gateway_info": {"network_id": ext, "enable_snat": false,
                    "external_fixed_ips": [{"subnet_id": es, "ip_address": "172.24.4.100"}]}}),
                );
                assert_eq!(
                    r2["external_gateway_info"]["external_fixed_ips"][0]["ip_address"],
                    json!("172.24.4.100")
                );
                assert_eq!(r2["external_gateway_info"]["enable_snat"], json!(false));
                let used = Router::create(
                    &net,
                    c,
                    &admin,
                    obj(json!({"external_gateway_info": {"network_id": ext,
                    "external_fixed_ips": [{"subnet_id": es, "ip_address": "172.24.4.100"}]}})),
                );
                assert_eq!(status(used).0, 409);
                // Clearing the gateway drops the port; delete drops a gateway port too.
                let mut doc = api::get::<Router>(c, &t, id_of(&r))?;
                Router::update(
                    &net,
                    c,
                    &t,
                    &mut doc,
                    &obj(json!({"external_gateway_info": {}})),
                )?;
                assert_eq!(doc["external_gateway_info"], Value::Null);
                assert!(gateway_port(c, id_of(&r))?.is_none());
                Router::delete(&net, c, &admin, &r2)?;
                assert!(gateway_port(c, id_of(&r2))?.is_none());
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn floating_ips_associate_through_a_router() {
        let net = testing::net();
        let t = ctx("p1", false);
        net.store
            .write(|c| -> Result<()> {
                let ext = network(c, "admin", true);
                let ext_subnet = subnet_on(c, "admin", &ext, "172.24.4.0/24", Some("172.24.4.1"));
                let n1 = network(c, "p1", false);
                let s1 = subnet_on(c, "p1", &n1, "10.1.0.0/24", Some("10.1.0.1"));
                let port = ports::create_for(&net, c, &t, &n1, None, "", "")?;
                let pid = id_of(&port).to_string();
                // Private network: 400. No router yet: 404.
                let private =
                    FloatingIp::create(&net, c, &t, obj(json!({"floating_network_id": n1})));
                assert_eq!(status(private), (400, "BadRequest".into()));
                let unreachable = FloatingIp::create(
                    &net,
                    c,
                    &t,
                    obj(json!({"floating_network_id": ext, "port_id": pid})),
                );
                assert_eq!(
                    status(unreachable),
                    (404, "ExternalGatewayForFloatingIPNotFound".into())
                );
                let r = router(
                    &net,
                    c,
                    &t,
                    json!({"external_gateway_info": {"network_id": ext}}),
                );
                let rid = id_of(&r).to_string();
                add_interface(&net, c, &t, &rid, &obj(json!({"subnet_id": s1})))?;
                let fip = FloatingIp::create(
                    &net,
                    c,
                    &t,
                    obj(json!({"floating_network_id": ext, "port_id": pid})),
                )?;
                assert_eq!(fip["router_id"], json!(rid));
                assert_eq!(fip["status"], json!("ACTIVE"));
                assert_eq!(fip["fixed_ip_address"], port["fixed_ips"][0]["ip_address"]);
                assert_eq!(fip["port_details"]["network_id"], json!(n1));
                assert!(in_cidr(
                    fip["floating_ip_address"].as_str().unwrap(),
                    "172.24.4.0/24"
                ));
                assert!(fip.get("name").is_none());
                let twice = FloatingIp::create(
                    &net,
                    c,
                    &t,
                    obj(json!({"floating_network_id": ext, "port_id": pid})),
                );
                assert_eq!(
                    status(twice),
                    (409, "FloatingIPPortAlreadyAssociated".into())
                );
                // The interface and the gateway are needed while it is associated.
                let needed = remove_interface(c, &t, &rid, &obj(json!({"subnet_id": s1})));
                assert_eq!(
                    status(needed),
                    (409, "RouterInterfaceInUseByFloatingIP".into())
                );
                let mut doc = api::get::<Router>(c, &t, &rid)?;
                let gw = Router::update(
                    &net,
                    c,
                    &t,
                    &mut doc,
                    &obj(json!({"external_gateway_info": null})),
                )
                .map(|_| Value::Null);
                assert_eq!(
                    status(gw),
                    (409, "RouterExternalGatewayInUseByFloatingIp".into())
                );
                // Disassociate, then the interface goes.
                let mut f = api::get::<FloatingIp>(c, &t, id_of(&fip))?;
                FloatingIp::update(&net, c, &t, &mut f, &obj(json!({"port_id": null})))?;
                assert_eq!(f["port_id"], Value::Null);
                assert_eq!(f["router_id"], Value::Null);
                assert_eq!(f["fixed_ip_address"], Value::Null);
                assert_eq!(f["status"], json!("DOWN"));
                store::save(c, "floatingip", &mut f)?;
                // Reassociate; the port's deletion lets go of it.
                FloatingIp::update(&net, c, &t, &mut f, &obj(json!({"port_id": pid})))?;
                store::save(c, "floatingip", &mut f)?;
                assert_eq!(f["router_id"], json!(rid));
                floatingips::port_deleted(c, &pid)?;
                let f = api::get::<FloatingIp>(c, &t, id_of(&fip))?;
                assert_eq!(f["port_id"], Value::Null);
                remove_interface(c, &t, &rid, &obj(json!({"subnet_id": s1})))?;
                // Deletion frees the address and the port.
                let held = c.ips_held(&ext_subnet)?;
                FloatingIp::delete(&net, c, &t, &f)?;
                assert_eq!(c.ips_held(&ext_subnet)?, held - 1);
                assert!(store::all(c, "port", Scope::Device(id_of(&f)))?.is_empty());
                Ok(())
            })
            .unwrap();
    }
}
