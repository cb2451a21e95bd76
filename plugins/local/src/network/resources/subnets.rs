//! Subnets: a CIDR of a network, its gateway, allocation pools, DNS servers, host routes
//! and IPv6 modes, validated as Neutron's `_validate_subnet`; or a CIDR allocated from a
//! subnet pool. A project sees its own subnets and those of shared and external networks.

use jumpgate_plugin_api::prelude::*;

use serde_json::{json, Map, Value};

use super::ipam::{self, fault, Cidr};
use super::networks::{flag, text, Network};
use super::subnetpools;
use crate::network::api::{self, serve, Kind};
use crate::network::store::{self, Scope};
use crate::network::{bad, bad_value, denied, Ctx, Net, Result, Svc};
use crate::store::Tx;

pub struct Subnet;

/// Neutron's defaults for `max_dns_nameservers` and `max_subnet_host_routes`.
const MAX_DNS: usize = 5;
const MAX_ROUTES: usize = 20;

const IPV6_MODES: &[&str] = &["dhcpv6-stateful", "dhcpv6-stateless", "slaac"];

/// Ports the network itself owns: their addresses do not keep a subnet in use.
pub const AUTO_DELETE_OWNERS: &[&str] = &[
    "network:dhcp",
    "network:router_ha_interface",
    "network:ha_router_replicated_interface",
];

/// Ports that are a router's interfaces.
pub const ROUTER_INTERFACE_OWNERS: &[&str] = &[
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
];

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    serve::<Subnet>(disp, svc, "v2_subnets", "v2_subnet")
}

/// Neutron's 400 for a missing required attribute.
pub fn required(attr: &str) -> Fault {
    fault(
        400,
        "HTTPBadRequest",
        format!("Failed to parse request. Required attribute '{attr}' not specified"),
    )
}

/// Neutron's 400 from `exc.BadRequest(resource='subnets', msg=...)`.
fn bad_request(msg: &str) -> Fault {
    fault(400, "BadRequest", format!("Bad subnets request: {msg}."))
}

/// `ip_version`: 4 or 6 (Neutron converts strings).
fn ip_version(v: &Value) -> Result<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    match n {
        Some(n @ (4 | 6)) => Ok(n),
        _ => Err(bad_value("ip_version", v, "is not in [4, 6]:").into()),
    }
}

/// Parses a `cidr` attribute as Neutron's validator does: an address and a prefix length
/// (an IPv4 address spelled canonically), host bits allowed and cleared.
pub fn cidr_attr(v: &Value) -> Result<Cidr> {
    let s = v.as_str().unwrap_or_default();
    match ipam::parse_cidr(s) {
        Some(c) => {
            let (addr, _) = s.split_once('/').unwrap_or_default();
            if !c.v6
                && ipam::parse_ip(addr)
                    .map(|(n, _)| ipam::show(n, false))
                    .as_deref()
                    != Some(addr)
            {
                return Err(recommend(s, &c));
            }
            Ok(c)
        }
        None => match ipam::parse_ip(s) {
            Some((n, v6)) => Err(recommend(
                s,
                &Cidr {
                    first: n,
                    prefix: if v6 { 128 } else { 32 },
                    v6,
                },
            )),
            None => Err(fault(
                400,
                "HTTPBadRequest",
                format!("Invalid input for cidr. Reason: '{s}' is not a valid IP subnet."),
            )
            .into()),
        },
    }
}

fn recommend(s: &str, c: &Cidr) -> crate::network::Error {
    fault(
        400,
        "HTTPBadRequest",
        format!("Invalid input for cidr. Reason: '{s}' isn't a recognized IP subnet cidr, '{c}' is recommended."),
    )
    .into()
}

fn mode(input: &Map<String, Value>, key: &str) -> Result<Value> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) if IPV6_MODES.contains(&s.as_str()) => Ok(json!(s)),
        Some(v) => Err(bad_value(
            key,
            v,
            "is not in ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac']:",
        )
        .into()),
    }
}

fn dns_nameservers(v: &Value, cidr: &Cidr, id: &str) -> Result<Value> {
    let Some(list) = v.as_array() else {
        return Err(bad_value("dns_nameservers", v, "is not a list").into());
    };
    if list.len() > MAX_DNS {
        return Err(fault(400, "DNSNameServersExhausted", format!("Unable to complete operation for {id}. The number of DNS nameservers exceeds the limit {MAX_DNS}.")).into());
    }
    let mut seen = Vec::new();
    for d in list {
        let s = d.as_str().unwrap_or_default();
        if ipam::parse_ip(s).is_none() {
            return Err(bad_value("dns_nameservers", d, "is not a valid nameserver.").into());
        }
        if seen.contains(&s) {
            return Err(fault(
                400,
                "HTTPBadRequest",
                format!("Invalid input for dns_nameservers. Reason: Duplicate nameserver '{s}'."),
            )
            .into());
        }
        ipam::ip_attr("dns_nameserver", d, cidr.v6, cidr.version())?;
        seen.push(s);
    }
    Ok(v.clone())
}

fn host_routes(v: &Value, cidr: &Cidr, id: &str) -> Result<Value> {
    let Some(list) = v.as_array() else {
        return Err(bad_value("host_routes", v, "is not a list").into());
    };
    if list.len() > MAX_ROUTES {
        return Err(fault(400, "HostRoutesExhausted", format!("Unable to complete operation for {id}. The number of host routes exceeds the limit {MAX_ROUTES}.")).into());
    }
    let mut out = Vec::new();
    for r in list {
        let dest = r.get("destination").and_then(Value::as_str);
        let hop = r.get("nexthop").and_then(Value::as_str);
        let (Some(dest), Some(hop)) = (dest, hop) else {
            return Err(bad_value(
                "host_routes",
                r,
                "Validation of dictionary's keys failed. Expected keys: {'destination', 'nexthop'}",
            )
            .into());
        };
        let (Some(d), Some((_, hop6))) = (ipam::parse_cidr(dest), ipam::parse_ip(hop)) else {
            return Err(bad(format!("Invalid route: {r}")).into());
        };
        let ver = cidr.version();
        if hop6 != cidr.v6 {
            return Err(bad(format!(
                "nexthop '{hop}' does not match the ip_version '{ver}'"
            ))
            .into());
        }
        if d.v6 != cidr.v6 {
            return Err(bad(format!(
                "destination '{dest}' does not match the ip_version '{ver}'"
            ))
            .into());
        }
        out.push(json!({"destination": dest, "nexthop": hop}));
    }
    Ok(Value::Array(out))
}

/// Neutron's checks of a subnet that enables DHCP.
fn dhcp_allowed(cidr: &Cidr) -> Result<()> {
    if (!cidr.v6 && cidr.prefix > 30) || (cidr.v6 && cidr.prefix > 126) {
        return Err(bad(
            "Subnet has a prefix length that is incompatible with DHCP service enabled",
        )
        .into());
    }
    let multicast = if cidr.v6 {
        cidr.first >> 120 == 0xff
    } else {
        cidr.first >> 28 == 0xe
    };
    if multicast {
        return Err(bad("Multicast IP subnet is not supported if enable_dhcp is True").into());
    }
    let loopback = if cidr.v6 {
        cidr.first == 1 && cidr.prefix == 128
    } else {
        cidr.first >> 24 == 127
    };
    if loopback {
        return Err(bad("Loopback IP subnet is not supported if enable_dhcp is True").into());
    }
    if !cidr.v6 && cidr.first == 0 {
        return Err(
            bad("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.").into(),
        );
    }
    Ok(())
}

/// A gateway attribute: None for null, checked as Neutron's
/// `check_gateway_invalid_in_subnet` (an address outside the CIDR is allowed, as there).
fn gateway_attr(v: &Value, cidr: &Cidr) -> Result<Option<u128>> {
    if v.is_null() {
        return Ok(None);
    }
    let g = ipam::ip_attr("gateway_ip", v, cidr.v6, cidr.version())?;
    if cidr.contains(g) && !cidr.v6 && (g == cidr.first || g == cidr.last()) {
        return Err(bad("Gateway is not valid on subnet").into());
    }
    Ok(Some(g))
}

fn ipv6_modes(ra: &Value, addr: &Value, cidr: &Cidr, dhcp: bool) -> Result<()> {
    if !cidr.v6 {
        if !ra.is_null() {
            return Err(bad("ipv6_ra_mode is not valid when ip_version is 4").into());
        }
        if !addr.is_null() {
            return Err(bad("ipv6_address_mode is not valid when ip_version is 4").into());
        }
        return Ok(());
    }
    if (!ra.is_null() || !addr.is_null()) && !dhcp {
        return Err(bad(
            "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False",
        )
        .into());
    }
    if !ra.is_null() && !addr.is_null() && ra != addr {
        return Err(bad(format!("ipv6_ra_mode set to '{}' with ipv6_address_mode set to '{}' is not valid. If both attributes are set, they must be the same value", ra.as_str().unwrap_or(""), addr.as_str().unwrap_or(""))).into());
    }
    let probe = json!({"ipv6_ra_mode": ra, "ipv6_address_mode": addr});
    if ipam::auto_address(&probe) && cidr.prefix != 64 {
        return Err(bad(format!("Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64")).into());
    }
    Ok(())
}

/// Whether a port's device owner makes it a router's.
pub fn router_port(owner: &str) -> bool {
    ROUTER_INTERFACE_OWNERS.contains(&owner) || owner == "network:router_gateway"
}

/// Copies the network's sharing onto its subnets, which is what decides who sees them.
/// Call after a network's `shared` or `router:external` changes.
pub fn sync_network(c: &dyn Tx, network: &Value) -> Result<()> {
    let id = network["id"].as_str().unwrap_or_default();
    for mut s in store::all(c, "subnet", Scope::Network(id))? {
        let shared = json!(network["shared"] == json!(true));
        let external = json!(network["router:external"] == json!(true));
        if s["shared"] != shared || s["router:external"] != external {
            s["shared"] = shared;
            s["router:external"] = external;
            store::save(c, "subnet", &mut s)?;
        }
    }
    Ok(())
}

fn set_network_subnets(
    c: &dyn Tx,
    network_id: &str,
    add: Option<&str>,
    drop: Option<&str>,
) -> Result<()> {
    if let Some(mut n) = store::fetch(c, "network", network_id)? {
        let mut ids: Vec<Value> = n["subnets"].as_array().cloned().unwrap_or_default();
        if let Some(d) = drop {
            ids.retain(|i| i.as_str() != Some(d));
        }
        if let Some(a) = add {
            ids.push(json!(a));
        }
        n["subnets"] = Value::Array(ids);
        store::save(c, "network", &mut n)?;
    }
    Ok(())
}

/// Gives each port on the network that is not a router's its EUI-64 address on a new
/// SLAAC or DHCPv6-stateless subnet, as Neutron does.
fn add_auto_addresses(c: &dyn Tx, subnet: &Value) -> Result<()> {
    let (Some(cidr), Some(sid)) = (ipam::cidr_of(subnet), subnet["id"].as_str()) else {
        return Ok(());
    };
    let net = subnet["network_id"].as_str().unwrap_or_default();
    for mut p in store::all(c, "port", Scope::Network(net))? {
        if router_port(p["device_owner"].as_str().unwrap_or("")) {
            continue;
        }
        let pid = p["id"].as_str().unwrap_or_default().to_string();
        let Some(n) = ipam::eui64(&cidr, p["mac_address"].as_str().unwrap_or("")) else {
            continue;
        };
        let ip = ipam::allocate_ip(c, subnet, &ipam::show(n, true), &pid, false)?;
        if let Some(l) = p["fixed_ips"].as_array_mut() {
            l.push(json!({"subnet_id": sid, "ip_address": ip}));
        }
        store::save(c, "port", &mut p)?;
    }
    Ok(())
}

impl Kind for Subnet {
    const SINGULAR: &'static str = "subnet";
    const COLLECTION: &'static str = "subnets";
    const NAME: &'static str = "Subnet";
    /// `shared` only says who may see the subnet (its network's sharing).
    const ADMIN_ONLY: &'static [&'static str] = &["shared"];
    const MUTABLE: &'static [&'static str] = &[
        "name",
        "description",
        "gateway_ip",
        "allocation_pools",
        "dns_nameservers",
        "host_routes",
        "enable_dhcp",
        "service_types",
        "segment_id",
    ];

    fn visible(ctx: &Ctx, doc: &Value) -> bool {
        ctx.sees(doc) || doc["shared"] == json!(true) || doc["router:external"] == json!(true)
    }

    fn create(_net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        text(&input, "name", 255)?;
        text(&input, "description", 255)?;
        let network_id = input
            .get("network_id")
            .and_then(Value::as_str)
            .ok_or_else(|| required("network_id"))?;
        let network = api::get::<Network>(c, ctx, network_id)?;
        if !ctx.owns(&network) {
            return Err(denied("create_subnet").into());
        }
        let has_cidr = input.get("cidr").is_some_and(|v| !v.is_null());
        let has_prefixlen = input.get("prefixlen").is_some_and(|v| !v.is_null());
        if has_cidr && has_prefixlen {
            return Err(bad_request("cidr and prefixlen must not be supplied together").into());
        }
        let mut version = input.get("ip_version").map(ip_version).transpose()?;
        let mut cidr = input
            .get("cidr")
            .filter(|v| !v.is_null())
            .map(cidr_attr)
            .transpose()?;
        // A pool named, or the default one of the family.
        let use_default = flag(&input, "use_default_subnetpool", false)?;
        let mut pool_id = input
            .get("subnetpool_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        if use_default && pool_id.is_some() {
            return Err(bad_request(
                "subnetpool_id and use_default_subnetpool cannot both be specified",
            )
            .into());
        }
        if use_default {
            let v = match (&cidr, version) {
                (Some(c), _) => c.version(),
                (None, Some(v)) => v,
                (None, None) => {
                    return Err(bad_request(
                        "ip_version must be specified in the absence of cidr and subnetpool_id",
                    )
                    .into())
                }
            };
            pool_id =
                Some(subnetpools::default_pool(c, ctx, v)?.ok_or_else(|| {
                    bad_request(&format!("No default subnetpool found for IPv{v}"))
                })?);
        }
        let pool = match &pool_id {
            Some(id) => Some(api::get::<subnetpools::SubnetPool>(c, ctx, id)?),
            None => None,
        };
        if let Some(p) = &pool {
            let pv = p["ip_version"].as_i64().unwrap_or(4);
            if version.is_some_and(|v| v != pv) {
                return Err(bad(format!(
                    "Cannot allocate IPv{} subnet from IPv{pv} subnet pool",
                    version.unwrap_or(4)
                ))
                .into());
            }
            version = Some(pv);
            let prefixlen = match input.get("prefixlen").filter(|v| !v.is_null()) {
                None => None,
                Some(v) => Some(
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| bad_value("prefixlen", v, "is not an integer"))?,
                ),
            };
            cidr = Some(subnetpools::allocate(c, p, cidr, prefixlen)?);
        }
        let Some(cidr) = cidr else {
            return Err(if version.is_none() {
                required("ip_version")
            } else {
                bad_request("a subnetpool must be specified in the absence of a cidr")
            }
            .into());
        };
        let version = version.ok_or_else(|| required("ip_version"))?;
        if cidr.version() != version {
            return Err(bad(format!(
                "cidr '{cidr}' does not match the ip_version '{version}'"
            ))
            .into());
        }
        if cidr.prefix == 0 {
            return Err(bad("0 is not allowed as CIDR prefix length").into());
        }
        let dhcp = flag(&input, "enable_dhcp", true)?;
        if dhcp {
            dhcp_allowed(&cidr)?;
        }
        let gateway = match input.get("gateway_ip") {
            None => (cidr.size() > 1).then_some(cidr.first + 1),
            Some(v) => gateway_attr(v, &cidr)?,
        };
        let new = "new subnet";
        let dns = match input.get("dns_nameservers") {
            None | Some(Value::Null) => json!([]),
            Some(v) => dns_nameservers(v, &cidr, new)?,
        };
        let routes = match input.get("host_routes") {
            None | Some(Value::Null) => json!([]),
            Some(v) => host_routes(v, &cidr, new)?,
        };
        let (ra, addr) = (
            mode(&input, "ipv6_ra_mode")?,
            mode(&input, "ipv6_address_mode")?,
        );
        ipv6_modes(&ra, &addr, &cidr, dhcp)?;
        let pools = match input.get("allocation_pools") {
            None | Some(Value::Null) => ipam::default_pools(&cidr, gateway),
            Some(v) => ipam::parse_pools(v, &cidr, gateway)?,
        };
        for other in store::all(c, "subnet", Scope::Network(network_id))? {
            if ipam::cidr_of(&other).is_some_and(|o| o.overlaps(&cidr)) {
                return Err(bad(format!("Requested subnet with cidr: {cidr} for network: {network_id} overlaps with another subnet")).into());
            }
        }
        crate::network::resources::quotas::enforce(c, ctx, "subnet", 1)?;
        let mut doc = store::common(ctx, &input)?;
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        for (k, v) in [
            ("network_id", json!(network_id)),
            ("ip_version", json!(version)),
            ("cidr", json!(cidr.to_string())),
            (
                "gateway_ip",
                gateway.map_or(Value::Null, |g| json!(ipam::show(g, cidr.v6))),
            ),
            (
                "allocation_pools",
                Value::Array(pools.iter().map(|p| p.json(cidr.v6)).collect()),
            ),
            ("dns_nameservers", dns),
            ("host_routes", routes),
            ("enable_dhcp", json!(dhcp)),
            ("ipv6_ra_mode", ra),
            ("ipv6_address_mode", addr),
            ("subnetpool_id", pool_id.map_or(Value::Null, Value::String)),
            ("segment_id", Value::Null),
            (
                "service_types",
                input
                    .get("service_types")
                    .cloned()
                    .filter(Value::is_array)
                    .unwrap_or(json!([])),
            ),
            (
                "router:external",
                json!(network["router:external"] == json!(true)),
            ),
            ("shared", json!(network["shared"] == json!(true))),
        ] {
            doc.insert(k.into(), v);
        }
        let doc = Value::Object(doc);
        store::insert(c, "subnet", &doc)?;
        set_network_subnets(c, network_id, Some(&id), None)?;
        if ipam::auto_address(&doc) {
            add_auto_addresses(c, &doc)?;
        }
        Ok(doc)
    }

    fn update(
        _net: &Net,
        _c: &dyn Tx,
        _ctx: &Ctx,
        doc: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<()> {
        text(input, "name", 255)?;
        text(input, "description", 255)?;
        let cidr = ipam::cidr_of(doc).ok_or_else(|| Fault::internal("subnet without a CIDR"))?;
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        if input.contains_key("enable_dhcp") {
            let dhcp = flag(input, "enable_dhcp", true)?;
            if dhcp && doc["enable_dhcp"] != json!(true) {
                dhcp_allowed(&cidr)?;
            }
            if !dhcp
                && cidr.v6
                && (!doc["ipv6_ra_mode"].is_null() || !doc["ipv6_address_mode"].is_null())
            {
                return Err(bad("Cannot disable enable_dhcp with ipv6 attributes set").into());
            }
            doc["enable_dhcp"] = json!(dhcp);
        }
        let old_gateway = doc["gateway_ip"]
            .as_str()
            .and_then(ipam::parse_ip)
            .map(|(n, _)| n);
        let gateway = match input.get("gateway_ip") {
            None => old_gateway,
            Some(v) => gateway_attr(v, &cidr)?,
        };
        let pools = match input.get("allocation_pools") {
            None | Some(Value::Null) => None,
            Some(v) => Some(ipam::parse_pools(v, &cidr, None)?),
        };
        if gateway != old_gateway || pools.is_some() {
            if let Some(g) = gateway {
                let current = ipam::pools_of(doc);
                ipam::gateway_out_of_pools(g, pools.as_deref().unwrap_or(&current), cidr.v6)?;
            }
        }
        if let Some(p) = pools {
            doc["allocation_pools"] = Value::Array(p.iter().map(|r| r.json(cidr.v6)).collect());
        }
        if input.contains_key("gateway_ip") {
            doc["gateway_ip"] = gateway.map_or(Value::Null, |g| json!(ipam::show(g, cidr.v6)));
        }
        if let Some(v) = input.get("dns_nameservers") {
            doc["dns_nameservers"] = if v.is_null() {
                json!([])
            } else {
                dns_nameservers(v, &cidr, &id)?
            };
        }
        if let Some(v) = input.get("host_routes") {
            doc["host_routes"] = if v.is_null() {
                json!([])
            } else {
                host_routes(v, &cidr, &id)?
            };
        }
        for key in ["name", "description"] {
            if let Some(v) = input.get(key) {
                doc[key] = json!(v.as_str().unwrap_or(""));
            }
        }
        if let Some(v) = input.get("service_types") {
            doc["service_types"] = if v.is_array() {
                v.clone()
            } else {
                return Err(bad_value("service_types", v, "is not a list").into());
            };
        }
        if let Some(v) = input.get("segment_id") {
            if !v.is_null() {
                return Err(bad(
                    "Segment ID is not supported by this cloud: there are no segments",
                )
                .into());
            }
        }
        Ok(())
    }

    fn delete(net: &Net, c: &dyn Tx, ctx: &Ctx, doc: &Value) -> Result<()> {
        let id = doc["id"].as_str().unwrap_or_default();
        let network_id = doc["network_id"].as_str().unwrap_or_default();
        let auto = ipam::auto_address(doc);
        let ports: Vec<Value> = store::all(c, "port", Scope::Network(network_id))?
            .into_iter()
            .filter(|p| {
                p["fixed_ips"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|f| f["subnet_id"].as_str() == Some(id)))
            })
            .collect();
        let in_use = || {
            crate::network::in_use("Subnet", format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."))
        };
        for p in &ports {
            let owner = p["device_owner"].as_str().unwrap_or("");
            // A router's interface always holds it; other ports do unless their address
            // was automatic (SLAAC) or the network owns them (DHCP).
            if ROUTER_INTERFACE_OWNERS.contains(&owner)
                || (!auto && !AUTO_DELETE_OWNERS.contains(&owner))
            {
                return Err(in_use().into());
            }
        }
        for mut p in ports {
            if let Some(l) = p["fixed_ips"].as_array_mut() {
                l.retain(|f| f["subnet_id"].as_str() != Some(id));
            }
            store::save(c, "port", &mut p)?;
        }
        remove(net, c, ctx, doc)?;
        set_network_subnets(c, network_id, None, Some(id))
    }
}

/// Removes a subnet with its addresses (its network is being deleted).
pub fn remove(
    _net: &crate::network::Net,
    c: &dyn Tx,
    _ctx: &crate::network::Ctx,
    doc: &serde_json::Value,
) -> crate::network::Result<()> {
    let id = doc["id"].as_str().unwrap_or_default();
    c.release_subnet_ips(id)?;
    crate::network::store::remove(c, "subnet", id)
}
