//! Ports: a MAC and fixed IPs on a network, the device that uses them, security groups,
//! allowed address pairs, extra DHCP options and (for admins) the binding. Addresses come
//! from `ipam`: one IPv4 and one stateful IPv6 address by default plus the EUI-64 address
//! of every SLAAC subnet, as Neutron.

use jumpgate_plugin_api::prelude::*;

use serde_json::{json, Map, Value};

use super::ipam::{self, fault};
use super::networks::{flag, text, Network};
use super::subnets::{required, router_port, ROUTER_INTERFACE_OWNERS};
use crate::network::api::{self, serve, Kind};
use crate::network::store::{self, Scope};
use crate::network::{bad, bad_value, denied, Ctx, Net, Result, Svc};
use crate::store::Tx;

pub struct Port;

/// Neutron's default `max_allowed_address_pair`.
const MAX_PAIRS: usize = 10;

const VNIC_TYPES: &[&str] = &[
    "normal",
    "direct",
    "macvtap",
    "baremetal",
    "direct-physical",
    "virtio-forwarder",
    "smart-nic",
    "vdpa",
    "remote-managed",
    "accelerator-direct",
    "accelerator-direct-physical",
];

/// Binding attributes only admins set and see (Neutron's policy; vnic_type is the
/// owner's).
const BINDING_ADMIN: &[&str] = &[
    "binding:host_id",
    "binding:profile",
    "binding:vif_type",
    "binding:vif_details",
];

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    serve::<Port>(disp, svc, "v2_ports", "v2_port")
}

/// The security groups of a port that names none: its project's default group.
fn default_security_groups(c: &dyn Tx, project_id: &str) -> Result<Vec<String>> {
    Ok(vec![
        crate::network::resources::security_groups::ensure_default(c, project_id)?,
    ])
}

/// A MAC in Neutron's spelling (lower case, colons), or None.
fn mac(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6
        || parts
            .iter()
            .any(|p| p.len() != 2 || u8::from_str_radix(p, 16).is_err())
    {
        return None;
    }
    Some(parts.join(":").to_ascii_lowercase())
}

fn mac_attr(attr: &str, v: &Value) -> Result<String> {
    v.as_str()
        .and_then(mac)
        .ok_or_else(|| bad_value(attr, v, "is not a valid MAC address").into())
}

/// Whether another port of the network has `mac` (an indexed lookup: schema 9 indexes
/// ports' MACs per network).
fn mac_taken(c: &dyn Tx, network_id: &str, mac: &str, except: &str) -> Result<bool> {
    Ok(c.mac_in_use(network_id, mac, except)?)
}

/// A free OpenStack MAC (fa:16:3e:xx:xx:xx) on the network.
fn new_mac(c: &dyn Tx, network_id: &str) -> Result<String> {
    for _ in 0..64 {
        let mut b = [0u8; 3];
        getrandom::getrandom(&mut b).map_err(|e| Fault::internal(format!("random: {e}")))?;
        let m = format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2]);
        if !mac_taken(c, network_id, &m, "")? {
            return Ok(m);
        }
    }
    Err(fault(
        409,
        "MacAddressGenerationFailure",
        format!("Unable to generate unique mac on network {network_id}."),
    )
    .into())
}

fn mac_in_use(network_id: &str, m: &str) -> crate::network::Error {
    fault(
        409,
        "MacAddressInUse",
        format!(
            "Unable to complete operation for network {network_id}. The mac address {m} is in use."
        ),
    )
    .into()
}

/// One entry of a request's `fixed_ips`.
#[derive(Clone, Debug, PartialEq)]
struct Want {
    subnet_id: Option<String>,
    ip: Option<String>,
}

fn fixed_ips_attr(v: &Value) -> Result<Vec<Want>> {
    let bad_fixed = |why: String| -> crate::network::Error {
        fault(
            400,
            "HTTPBadRequest",
            format!("Invalid input for fixed_ips. Reason: {why}."),
        )
        .into()
    };
    let Some(list) = v.as_array() else {
        return Err(bad_fixed(format!(
            "Invalid data format for fixed IP: '{v}'"
        )));
    };
    let mut out: Vec<Want> = Vec::new();
    for f in list {
        let Some(m) = f.as_object() else {
            return Err(bad_fixed(format!(
                "Invalid data format for fixed IP: '{f}'"
            )));
        };
        let subnet_id = match m.get("subnet_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => Some(s.clone()),
            Some(s) => {
                return Err(bad_fixed(format!(
                    "'{}' is not a valid UUID",
                    s.as_str().unwrap_or(&s.to_string())
                )))
            }
        };
        let ip = match m.get("ip_address") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match ipam::parse_ip(s) {
                Some((n, v6)) => Some(ipam::show(n, v6)),
                None => return Err(bad_fixed(format!("'{s}' is not a valid IP address"))),
            },
            Some(s) => return Err(bad_fixed(format!("'{s}' is not a valid IP address"))),
        };
        if let Some(ip) = &ip {
            if out.iter().any(|w| w.ip.as_ref() == Some(ip)) {
                return Err(bad_fixed(format!("Duplicate IP address '{ip}'")));
            }
        }
        out.push(Want { subnet_id, ip });
    }
    Ok(out)
}

/// The subnet a fixed IP request is for, checked as Neutron's `_get_subnet_for_fixed_ip`.
fn subnet_for<'s>(
    c: &dyn Tx,
    network_id: &str,
    subnets: &'s [Value],
    w: &Want,
    owner: &str,
) -> Result<&'s Value> {
    if subnets.is_empty() {
        return Err(bad("IP allocation requires subnets for network").into());
    }
    let router = router_port(owner);
    let subnet = if let Some(sid) = &w.subnet_id {
        let Some(s) = subnets.iter().find(|s| s["id"].as_str() == Some(sid)) else {
            return Err(match store::fetch(c, "subnet", sid)? {
                Some(_) => bad(format!("Failed to create port on network {network_id}, because fixed_ips included invalid subnet {sid}")),
                None => fault(404, "SubnetNotFound", format!("Subnet {sid} could not be found.")),
            }
            .into());
        };
        if let Some(ip) = &w.ip {
            let ok = ipam::cidr_of(s)
                .zip(ipam::parse_ip(ip))
                .is_some_and(|(c, (n, v6))| v6 == c.v6 && ipam::valid_for_subnet(&c, n, router));
            if !ok {
                return Err(fault(
                    400,
                    "InvalidIpForSubnet",
                    format!("IP address {ip} is not a valid IP for the specified subnet."),
                )
                .into());
            }
        }
        s
    } else if let Some(ip) = &w.ip {
        let (n, v6) = ipam::parse_ip(ip).unwrap_or_default();
        subnets
            .iter()
            .find(|s| ipam::cidr_of(s).is_some_and(|c| c.v6 == v6 && ipam::valid_for_subnet(&c, n, router)))
            .ok_or_else(|| fault(400, "InvalidIpForNetwork", format!("IP address {ip} is not a valid IP for any of the subnets on the specified network.")))?
    } else {
        return Err(bad("IP allocation requires subnet_id or ip_address").into());
    };
    if let Some(ip) = &w.ip {
        if ipam::auto_address(subnet) && !ROUTER_INTERFACE_OWNERS.contains(&owner) {
            return Err(fault(400, "AllocationOnAutoAddressSubnet", format!("IPv6 address {ip} cannot be directly assigned to a port on subnet {} as the subnet is configured for automatic addresses", subnet["id"].as_str().unwrap_or(""))).into());
        }
    }
    Ok(subnet)
}

fn fixed(subnet: &Value, ip: &str) -> Value {
    json!({"subnet_id": subnet["id"], "ip_address": ip})
}

/// Allocates one address of a subnet to a port: the one asked for, the EUI-64 one on an
/// automatic subnet, or the first free one of its pools.
fn allocate_on(
    c: &dyn Tx,
    port_id: &str,
    mac: &str,
    owner: &str,
    subnet: &Value,
    ip: Option<&str>,
) -> Result<Option<Value>> {
    let router = router_port(owner);
    if let Some(ip) = ip {
        return Ok(Some(fixed(
            subnet,
            &ipam::allocate_ip(c, subnet, ip, port_id, router)?,
        )));
    }
    if ipam::auto_address(subnet) && !router {
        if let Some(n) = ipam::cidr_of(subnet).and_then(|cidr| ipam::eui64(&cidr, mac)) {
            return Ok(Some(fixed(
                subnet,
                &ipam::allocate_ip(c, subnet, &ipam::show(n, true), port_id, false)?,
            )));
        }
    }
    Ok(ipam::allocate_any(c, subnet, port_id)?.map(|ip| fixed(subnet, &ip)))
}

/// The addresses of a new port: those asked for, or Neutron's defaults; and on every
/// automatic subnet its EUI-64 address (not for router ports).
fn allocate_new(
    c: &dyn Tx,
    network_id: &str,
    port_id: &str,
    mac: &str,
    owner: &str,
    wants: Option<Vec<Want>>,
) -> Result<Vec<Value>> {
    let subnets = store::all(c, "subnet", Scope::Network(network_id))?;
    let router = router_port(owner);
    let mut out = Vec::new();
    match wants {
        Some(wants) => {
            for w in &wants {
                let s = subnet_for(c, network_id, &subnets, w, owner)?;
                // Automatic subnets named without an address are covered below.
                if w.ip.is_none() && ipam::auto_address(s) && !router {
                    continue;
                }
                match allocate_on(c, port_id, mac, owner, s, w.ip.as_deref())? {
                    Some(f) => out.push(f),
                    None => return Err(ipam::exhausted(network_id).into()),
                }
            }
        }
        None => {
            let v4: Vec<&Value> = subnets
                .iter()
                .filter(|s| s["ip_version"] == json!(4))
                .collect();
            let v6: Vec<&Value> = subnets
                .iter()
                .filter(|s| s["ip_version"] == json!(6) && (router || !ipam::auto_address(s)))
                .collect();
            for group in [v4, v6] {
                if group.is_empty() {
                    continue;
                }
                let mut got = None;
                for s in group {
                    got = allocate_on(c, port_id, mac, owner, s, None)?;
                    if got.is_some() {
                        break;
                    }
                }
                out.push(got.ok_or_else(|| ipam::exhausted(network_id))?);
            }
        }
    }
    if !router {
        for s in subnets.iter().filter(|s| ipam::auto_address(s)) {
            if out.iter().any(|f| f["subnet_id"] == s["id"]) {
                continue;
            }
            if let Some(f) = allocate_on(c, port_id, mac, owner, s, None)? {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// New `fixed_ips` for a port, as Neutron's `_get_changed_ips_for_port`: addresses named
/// again are kept, a subnet named without an address keeps the port's address there,
/// other addresses go unless they are automatic ones.
fn change_ips(c: &dyn Tx, port: &Value, wants: Vec<Want>) -> Result<Vec<Value>> {
    let network_id = port["network_id"].as_str().unwrap_or_default();
    let port_id = port["id"].as_str().unwrap_or_default();
    let mac = port["mac_address"].as_str().unwrap_or_default();
    let owner = port["device_owner"].as_str().unwrap_or_default();
    let subnets = store::all(c, "subnet", Scope::Network(network_id))?;
    let mut left: Vec<Value> = port["fixed_ips"].as_array().cloned().unwrap_or_default();
    let mut keep = Vec::new();
    let mut add: Vec<(&Value, Option<String>)> = Vec::new();
    for w in wants.iter().filter(|w| w.ip.is_some()) {
        let s = subnet_for(c, network_id, &subnets, w, owner)?;
        match left
            .iter()
            .position(|f| f["ip_address"].as_str() == w.ip.as_deref())
        {
            Some(at) => keep.push(left.remove(at)),
            None => add.push((s, w.ip.clone())),
        }
    }
    for w in wants.iter().filter(|w| w.ip.is_none()) {
        let s = subnet_for(c, network_id, &subnets, w, owner)?;
        match left.iter().rposition(|f| f["subnet_id"] == s["id"]) {
            Some(at) => keep.push(left.remove(at)),
            None => add.push((s, None)),
        }
    }
    for f in left {
        let sid = f["subnet_id"].as_str().unwrap_or_default();
        let auto = subnets
            .iter()
            .find(|s| s["id"].as_str() == Some(sid))
            .is_some_and(ipam::auto_address);
        if auto && !router_port(owner) {
            keep.push(f);
        } else {
            ipam::release_ip(
                c,
                sid,
                f["ip_address"].as_str().unwrap_or_default(),
                port_id,
            )?;
        }
    }
    for (s, ip) in add {
        match allocate_on(c, port_id, mac, owner, s, ip.as_deref())? {
            Some(f) => keep.push(f),
            None => return Err(ipam::exhausted(network_id).into()),
        }
    }
    Ok(keep)
}

fn security_groups_attr(c: &dyn Tx, ctx: &Ctx, v: &Value) -> Result<Vec<String>> {
    let Some(list) = v.as_array() else {
        return Err(bad_value("security_groups", v, "is not a list").into());
    };
    let mut out: Vec<String> = Vec::new();
    for g in list {
        let id = g.as_str().unwrap_or_default();
        match store::fetch(c, "security_group", id)? {
            Some(doc) if ctx.owns(&doc) => {}
            _ => {
                return Err(fault(
                    404,
                    "SecurityGroupNotFound",
                    format!("Security group {id} does not exist"),
                )
                .into())
            }
        }
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

fn address_pairs_attr(v: &Value, port_mac: &str) -> Result<Value> {
    let Some(list) = v.as_array() else {
        return Err(fault(400, "HTTPBadRequest", "Invalid input for allowed_address_pairs. Reason: Allowed address pairs must be a list.").into());
    };
    if list.len() > MAX_PAIRS {
        return Err(fault(
            400,
            "AllowedAddressPairExhausted",
            format!("The number of allowed address pair exceeds the maximum {MAX_PAIRS}."),
        )
        .into());
    }
    let mut out: Vec<Value> = Vec::new();
    for p in list {
        let Some(m) = p.as_object() else {
            return Err(bad_value("allowed_address_pairs", p, "is not a dictionary:").into());
        };
        if let Some(k) = m.keys().find(|k| *k != "ip_address" && *k != "mac_address") {
            return Err(fault(400, "HTTPBadRequest", format!("Invalid input for allowed_address_pairs. Reason: Unrecognized attribute(s) '{k}'.")).into());
        }
        let Some(ipv) = m.get("ip_address") else {
            return Err(fault(
                400,
                "AllowedAddressPairsMissingIP",
                "AllowedAddressPair must contain ip_address",
            )
            .into());
        };
        let ip = ipv.as_str().unwrap_or_default();
        if ipam::parse_ip(ip).is_none() && ipam::parse_cidr(ip).is_none() {
            return Err(fault(400, "HTTPBadRequest", format!("Invalid input for allowed_address_pairs. Reason: '{ip}' is not a valid IP address.")).into());
        }
        let m = match m.get("mac_address") {
            None | Some(Value::Null) => port_mac.to_string(),
            Some(v) => mac_attr("allowed_address_pairs", v)?,
        };
        let pair = json!({"ip_address": ip, "mac_address": m});
        if out.contains(&pair) {
            return Err(fault(
                400,
                "DuplicateAddressPairInRequest",
                format!(
                    "Request contains duplicate address pair: mac_address {m} ip_address {ip}."
                ),
            )
            .into());
        }
        out.push(pair);
    }
    Ok(Value::Array(out))
}

/// `extra_dhcp_opts` merged into `current` as Neutron does: an option (name and IP
/// version) given again is replaced, one given with a null value removed.
fn dhcp_opts(v: &Value, current: &[Value]) -> Result<Value> {
    let Some(list) = v.as_array() else {
        return Err(bad_value("extra_dhcp_opts", v, "is not a list").into());
    };
    let mut out = current.to_vec();
    for o in list {
        let name = o
            .get("opt_name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let Some(name) = name else {
            return Err(fault(400, "HTTPBadRequest", format!("Invalid input for extra_dhcp_opts. Reason: Invalid data format for extra-dhcp-opt: {o}.")).into());
        };
        let version = match o.get("ip_version") {
            None | Some(Value::Null) => 4,
            Some(v) => match v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            {
                Some(n @ (4 | 6)) => n,
                _ => return Err(bad_value("extra_dhcp_opts", v, "is not in [4, 6]:").into()),
            },
        };
        let value = o.get("opt_value").cloned().unwrap_or(Value::Null);
        if !value.is_null() && !value.is_string() {
            return Err(bad_value("extra_dhcp_opts", &value, "is not a valid string").into());
        }
        let at = out
            .iter()
            .position(|e| e["opt_name"] == json!(name) && e["ip_version"] == json!(version));
        match (at, value.is_null()) {
            (Some(i), true) => {
                out.remove(i);
            }
            (Some(i), false) => out[i]["opt_value"] = value,
            (None, true) => {}
            (None, false) => {
                out.push(json!({"opt_name": name, "opt_value": value, "ip_version": version}))
            }
        }
    }
    Ok(Value::Array(out))
}

fn vif(doc: &mut Value) {
    let bound = doc["binding:host_id"]
        .as_str()
        .is_some_and(|h| !h.is_empty());
    doc["binding:vif_type"] = json!(if bound { "ovs" } else { "unbound" });
    doc["binding:vif_details"] = if bound {
        json!({"port_filter": true, "connectivity": "l2", "ovs_hybrid_plug": false, "datapath_type": "system", "bridge_name": "br-int"})
    } else {
        json!({})
    };
    // No data plane: a port someone uses is up as soon as it is enabled.
    let used = doc["device_owner"].as_str().is_some_and(|o| !o.is_empty());
    doc["status"] = json!(if used && doc["admin_state_up"] == json!(true) {
        "ACTIVE"
    } else {
        "DOWN"
    });
}

fn binding_input(
    ctx: &Ctx,
    input: &Map<String, Value>,
    doc: &mut Value,
    action: &str,
) -> Result<()> {
    for key in BINDING_ADMIN {
        if input.contains_key(*key) && !ctx.admin {
            return Err(denied(&format!("{action}:{key}")).into());
        }
    }
    if let Some(v) = input.get("binding:host_id") {
        doc["binding:host_id"] = json!(v.as_str().unwrap_or(""));
    }
    if let Some(v) = input.get("binding:profile") {
        doc["binding:profile"] = match v {
            Value::Null => json!({}),
            Value::Object(_) => v.clone(),
            _ => return Err(bad_value("binding:profile", v, "is not a dictionary:").into()),
        };
    }
    if let Some(v) = input.get("binding:vnic_type") {
        match v.as_str() {
            Some(t) if VNIC_TYPES.contains(&t) => doc["binding:vnic_type"] = json!(t),
            _ => {
                return Err(bad_value(
                    "binding:vnic_type",
                    v,
                    &format!("is not in {VNIC_TYPES:?}:"),
                )
                .into())
            }
        }
    }
    Ok(())
}

/// Whether port security may be off with these security groups and address pairs.
fn check_port_security(doc: &Value, network_id: &str) -> Result<()> {
    if doc["port_security_enabled"] == json!(false) {
        if doc["security_groups"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
        {
            return Err(fault(409, "PortSecurityPortHasSecurityGroup", "Port has security group associated. Cannot disable port security or IP address until security group is removed").into());
        }
        if doc["allowed_address_pairs"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
        {
            let _ = network_id;
            return Err(fault(
                409,
                "AddressPairAndPortSecurityRequired",
                "Port Security must be enabled in order to have allowed address pairs on a port.",
            )
            .into());
        }
    }
    Ok(())
}

fn string_attr(input: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    text(input, key, 255)?;
    Ok(input.get(key).map(|v| v.as_str().unwrap_or("").to_string()))
}

impl Kind for Port {
    const SINGULAR: &'static str = "port";
    const COLLECTION: &'static str = "ports";
    const NAME: &'static str = "Port";
    const ADMIN_ONLY: &'static [&'static str] = BINDING_ADMIN;
    const MUTABLE: &'static [&'static str] = &[
        "name",
        "description",
        "admin_state_up",
        "device_id",
        "device_owner",
        "fixed_ips",
        "mac_address",
        "security_groups",
        "allowed_address_pairs",
        "extra_dhcp_opts",
        "port_security_enabled",
        "binding:host_id",
        "binding:profile",
        "binding:vnic_type",
        "dns_name",
        "propagate_uplink_status",
        "qos_policy_id",
    ];

    fn create(_net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        text(&input, "name", 255)?;
        text(&input, "description", 255)?;
        let network_id = input
            .get("network_id")
            .and_then(Value::as_str)
            .ok_or_else(|| required("network_id"))?
            .to_string();
        let network = api::get::<Network>(c, ctx, &network_id)?;
        // Neutron's policy: only the network's owner picks addresses and MACs on it.
        let network_owner = ctx.owns(&network);
        let device_id = string_attr(&input, "device_id")?.unwrap_or_default();
        let owner = string_attr(&input, "device_owner")?.unwrap_or_default();
        let mut doc = Value::Object(store::common(ctx, &input)?);
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        let mac = match input.get("mac_address") {
            None | Some(Value::Null) => new_mac(c, &network_id)?,
            Some(v) => {
                if !network_owner {
                    return Err(denied("create_port:mac_address").into());
                }
                let m = mac_attr("mac_address", v)?;
                if mac_taken(c, &network_id, &m, "")? {
                    return Err(mac_in_use(&network_id, &m));
                }
                m
            }
        };
        let wants = match input.get("fixed_ips") {
            None | Some(Value::Null) => None,
            Some(v) => Some(fixed_ips_attr(v)?),
        };
        if !network_owner
            && wants
                .as_ref()
                .is_some_and(|w| w.iter().any(|w| w.ip.is_some()))
        {
            return Err(denied("create_port:fixed_ips:ip_address").into());
        }
        let port_security = flag(
            &input,
            "port_security_enabled",
            network["port_security_enabled"] != json!(false),
        )?;
        let groups = match input.get("security_groups") {
            None | Some(Value::Null) if port_security => {
                default_security_groups(c, doc["project_id"].as_str().unwrap_or_default())?
            }
            None | Some(Value::Null) => Vec::new(),
            Some(v) => security_groups_attr(c, ctx, v)?,
        };
        let pairs = match input.get("allowed_address_pairs") {
            None | Some(Value::Null) => json!([]),
            Some(v) => address_pairs_attr(v, &mac)?,
        };
        let opts = match input.get("extra_dhcp_opts") {
            None | Some(Value::Null) => json!([]),
            Some(v) => dhcp_opts(v, &[])?,
        };
        crate::network::resources::quotas::enforce(c, ctx, "port", 1)?;
        let ips = allocate_new(c, &network_id, &id, &mac, &owner, wants)?;
        for (k, v) in [
            ("network_id", json!(network_id)),
            ("mac_address", json!(mac)),
            (
                "admin_state_up",
                json!(flag(&input, "admin_state_up", true)?),
            ),
            ("device_id", json!(device_id)),
            ("device_owner", json!(owner)),
            ("fixed_ips", Value::Array(ips)),
            ("security_groups", json!(groups)),
            ("port_security_enabled", json!(port_security)),
            ("allowed_address_pairs", pairs),
            ("extra_dhcp_opts", opts),
            ("binding:host_id", json!("")),
            ("binding:profile", json!({})),
            ("binding:vnic_type", json!("normal")),
            (
                "dns_name",
                json!(input.get("dns_name").and_then(Value::as_str).unwrap_or("")),
            ),
            (
                "propagate_uplink_status",
                json!(flag(&input, "propagate_uplink_status", false)?),
            ),
            ("ip_allocation", json!("immediate")),
            ("qos_policy_id", Value::Null),
            ("qos_network_policy_id", Value::Null),
            ("resource_request", Value::Null),
        ] {
            doc[k] = v;
        }
        if input.get("qos_policy_id").is_some_and(|v| !v.is_null()) {
            return Err(bad("QoS policies are not supported by this cloud").into());
        }
        binding_input(ctx, &input, &mut doc, "create_port")?;
        check_port_security(&doc, &network_id)?;
        vif(&mut doc);
        store::insert(c, "port", &doc)?;
        Ok(doc)
    }

    fn update(
        _net: &Net,
        c: &dyn Tx,
        ctx: &Ctx,
        doc: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<()> {
        text(input, "name", 255)?;
        text(input, "description", 255)?;
        let network_id = doc["network_id"].as_str().unwrap_or_default().to_string();
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        for key in [
            "name",
            "description",
            "device_id",
            "device_owner",
            "dns_name",
        ] {
            if let Some(v) = string_attr(input, key)? {
                doc[key] = json!(v);
            }
        }
        for key in [
            "admin_state_up",
            "port_security_enabled",
            "propagate_uplink_status",
        ] {
            if input.contains_key(key) {
                doc[key] = json!(flag(input, key, true)?);
            }
        }
        if let Some(v) = input.get("mac_address") {
            if !ctx.admin {
                return Err(denied("update_port:mac_address").into());
            }
            let m = mac_attr("mac_address", v)?;
            if mac_taken(c, &network_id, &m, &id)? {
                return Err(mac_in_use(&network_id, &m));
            }
            doc["mac_address"] = json!(m);
        }
        if let Some(v) = input.get("fixed_ips") {
            let wants = if v.is_null() {
                Vec::new()
            } else {
                fixed_ips_attr(v)?
            };
            let ips = change_ips(c, doc, wants)?;
            doc["fixed_ips"] = Value::Array(ips);
        }
        if let Some(v) = input.get("security_groups") {
            doc["security_groups"] = json!(if v.is_null() {
                Vec::new()
            } else {
                security_groups_attr(c, ctx, v)?
            });
        }
        if let Some(v) = input.get("allowed_address_pairs") {
            let m = doc["mac_address"].as_str().unwrap_or_default().to_string();
            doc["allowed_address_pairs"] = if v.is_null() {
                json!([])
            } else {
                address_pairs_attr(v, &m)?
            };
        }
        if let Some(v) = input.get("extra_dhcp_opts") {
            let current = doc["extra_dhcp_opts"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            doc["extra_dhcp_opts"] = if v.is_null() {
                json!([])
            } else {
                dhcp_opts(v, &current)?
            };
        }
        if input.get("qos_policy_id").is_some_and(|v| !v.is_null()) {
            return Err(bad("QoS policies are not supported by this cloud").into());
        }
        binding_input(ctx, input, doc, "update_port")?;
        check_port_security(doc, &network_id)?;
        vif(doc);
        Ok(())
    }

    fn delete(_net: &Net, c: &dyn Tx, _ctx: &Ctx, doc: &Value) -> Result<()> {
        let id = doc["id"].as_str().unwrap_or_default();
        // A live router's or floating IP's port goes only through their APIs.
        crate::network::resources::routers::prevent_l3_port_deletion(c, doc)?;
        crate::network::resources::floatingips::port_deleted(c, id)?;
        release(c, doc)?;
        store::remove(c, "port", id)
    }
}

/// Returns a port's addresses to their subnets' pools.
pub fn release(c: &dyn Tx, port: &serde_json::Value) -> crate::network::Result<()> {
    Ok(c.release_port_ips(port["id"].as_str().unwrap_or_default(), None)?)
}

/// A port for a compute server on a network (Nova's `compute:nova` ports), with the
/// given address or one allocated.
pub fn create_for(
    net: &Net,
    c: &dyn Tx,
    ctx: &Ctx,
    network_id: &str,
    fixed_ip: Option<&str>,
    device_id: &str,
    device_owner: &str,
) -> Result<Value> {
    let mut input = Map::new();
    input.insert("network_id".into(), json!(network_id));
    input.insert("device_id".into(), json!(device_id));
    input.insert("device_owner".into(), json!(device_owner));
    if let Some(ip) = fixed_ip {
        input.insert("fixed_ips".into(), json!([{"ip_address": ip}]));
    }
    Port::create(net, c, ctx, input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A network with one subnet made as `Subnet::create` would store it.
    fn network_with(c: &dyn Tx, cidr: &str, pools: Value, modes: Option<&str>) -> (String, String) {
        let net = crate::network::new_id();
        store::insert(
            c,
            "network",
            &json!({"id": net, "project_id": "p", "subnets": []}),
        )
        .unwrap();
        let sub = add_subnet(c, &net, cidr, pools, modes);
        (net, sub)
    }

    fn add_subnet(c: &dyn Tx, net: &str, cidr: &str, pools: Value, modes: Option<&str>) -> String {
        let id = crate::network::new_id();
        let v6 = cidr.contains(':');
        store::insert(
            c,
            "subnet",
            &json!({"id": id, "project_id": "p", "network_id": net, "cidr": cidr,
                "ip_version": if v6 { 6 } else { 4 }, "allocation_pools": pools,
                "ipv6_ra_mode": modes, "ipv6_address_mode": modes}),
        )
        .unwrap();
        id
    }

    fn status_kind(r: Result<Vec<Value>>) -> (u16, String, String) {
        match r {
            Err(crate::network::Error::Fault(f)) => {
                (f.status, f.kind.unwrap_or_default(), f.message)
            }
            Err(e) => panic!("store failure {e:?}"),
            Ok(v) => panic!("allocated {v:?}"),
        }
    }

    fn ips(v: &[Value]) -> Vec<&str> {
        v.iter()
            .map(|f| f["ip_address"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn no_two_ports_share_an_address_and_an_exhausted_network_says_so() {
        let store = Store::memory();
        store
            .write(|c| {
                let (net, sub) = network_with(
                    c,
                    "10.0.0.0/29",
                    json!([{"start": "10.0.0.2", "end": "10.0.0.6"}]),
                    None,
                );
                let mut seen = Vec::new();
                for i in 0..5 {
                    let got =
                        allocate_new(c, &net, &format!("p{i}"), "fa:16:3e:00:00:01", "", None)?;
                    assert_eq!(got.len(), 1);
                    assert_eq!(got[0]["subnet_id"], json!(sub));
                    seen.push(got[0]["ip_address"].as_str().unwrap().to_string());
                }
                assert_eq!(
                    seen,
                    ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
                );
                let (status, kind, msg) =
                    status_kind(allocate_new(c, &net, "p9", "fa:16:3e:00:00:09", "", None));
                assert_eq!((status, kind.as_str()), (409, "IpAddressGenerationFailure"));
                assert_eq!(
                    msg,
                    format!("No more IP addresses available on network {net}.")
                );
                // An address taken by hand is refused to another port, in or out of a pool.
                let want = |ip: &str| {
                    Some(vec![Want {
                        subnet_id: Some(sub.clone()),
                        ip: Some(ip.into()),
                    }])
                };
                let (status, kind, _) =
                    status_kind(allocate_new(c, &net, "p9", "m", "", want("10.0.0.4")));
                assert_eq!((status, kind.as_str()), (409, "IpAddressAlreadyAllocated"));
                let (status, kind, _) =
                    status_kind(allocate_new(c, &net, "p9", "m", "", want("10.0.0.7")));
                assert_eq!((status, kind.as_str()), (400, "InvalidIpForSubnet"));
                let (status, kind, _) =
                    status_kind(allocate_new(c, &net, "p9", "m", "", want("10.0.1.3")));
                assert_eq!((status, kind.as_str()), (400, "InvalidIpForSubnet"));
                // The store itself refuses a second holder.
                assert_eq!(
                    c.claim_ip(&sub, "10.0.0.3", ipam::n_of(0x0a00_0003), "x")?,
                    crate::store::Unique::Taken
                );
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }

    #[test]
    fn freed_addresses_come_back_first() {
        let store = Store::memory();
        store
            .write(|c| {
                let (net, _) = network_with(
                    c,
                    "192.168.0.0/24",
                    json!([{"start": "192.168.0.2", "end": "192.168.0.254"}]),
                    None,
                );
                for i in 0..4 {
                    allocate_new(c, &net, &format!("p{i}"), "m", "", None)?;
                }
                release(c, &json!({"id": "p1"}))?;
                let got = allocate_new(c, &net, "p5", "m", "", None)?;
                assert_eq!(ips(&got), ["192.168.0.3"]);
                let got = allocate_new(c, &net, "p6", "m", "", None)?;
                assert_eq!(ips(&got), ["192.168.0.6"]);
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }

    #[test]
    fn an_update_keeps_named_addresses_and_frees_the_rest() {
        let store = Store::memory();
        store
            .write(|c| {
                let (net, s1) = network_with(c, "10.1.0.0/28", json!([{"start": "10.1.0.2", "end": "10.1.0.14"}]), None);
                let s2 = add_subnet(c, &net, "10.2.0.0/28", json!([{"start": "10.2.0.2", "end": "10.2.0.14"}]), None);
                let both = vec![
                    Want { subnet_id: Some(s1.clone()), ip: None },
                    Want { subnet_id: Some(s2.clone()), ip: None },
                ];
                let got = allocate_new(c, &net, "p", "m", "", Some(both.clone()))?;
                assert_eq!(ips(&got), ["10.1.0.2", "10.2.0.2"]);
                let port = json!({"id": "p", "network_id": net, "mac_address": "m", "device_owner": "", "fixed_ips": got});
                let one = change_ips(c, &port, vec![Want { subnet_id: Some(s1.clone()), ip: None }])?;
                assert_eq!(ips(&one), ["10.1.0.2"]);
                // 10.2.0.2 is free again.
                let other = allocate_new(c, &net, "q", "m", "", Some(vec![Want { subnet_id: None, ip: Some("10.2.0.2".into()) }]))?;
                assert_eq!(other[0]["subnet_id"], json!(s2));
                let port = json!({"id": "p", "network_id": net, "mac_address": "m", "device_owner": "", "fixed_ips": one});
                let again = change_ips(c, &port, both)?;
                assert_eq!(ips(&again), ["10.1.0.2", "10.2.0.3"]);
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }

    #[test]
    fn ipv6_64_subnets_allocate_statefully_and_by_eui64() {
        let store = Store::memory();
        store
            .write(|c| {
                let pool = json!([{"start": "2001:db8::2", "end": "2001:db8::ffff:ffff:ffff:ffff"}]);
                let (net, _) = network_with(c, "2001:db8::/64", pool, None);
                let a = allocate_new(c, &net, "a", "fa:16:3e:00:00:01", "", None)?;
                let b = allocate_new(c, &net, "b", "fa:16:3e:00:00:02", "", None)?;
                assert_eq!(ips(&a), ["2001:db8::2"]);
                assert_eq!(ips(&b), ["2001:db8::3"]);
                // The top half of the low 64 bits (negative `n`) is reachable too.
                let top = Some(vec![Want { subnet_id: None, ip: Some("2001:db8::ffff:ffff:ffff:fffe".into()) }]);
                let t = allocate_new(c, &net, "t", "m", "", top)?;
                assert_eq!(ips(&t), ["2001:db8::ffff:ffff:ffff:fffe"]);
                let pool = json!([{"start": "2001:db8:0:1::1", "end": "2001:db8:0:1:ffff:ffff:ffff:ffff"}]);
                let slaac = add_subnet(c, &net, "2001:db8:0:1::/64", pool, Some("slaac"));
                let s = allocate_new(c, &net, "s", "fa:16:3e:12:34:56", "", None)?;
                assert_eq!(ips(&s), ["2001:db8::4", "2001:db8:0:1:f816:3eff:fe12:3456"]);
                assert_eq!(s[1]["subnet_id"], json!(slaac));
                let on_slaac = Some(vec![Want { subnet_id: Some(slaac.clone()), ip: Some("2001:db8:0:1::9".into()) }]);
                let (status, kind, _) = status_kind(allocate_new(c, &net, "x", "m", "", on_slaac));
                assert_eq!((status, kind.as_str()), (400, "AllocationOnAutoAddressSubnet"));
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }

    #[test]
    fn extra_dhcp_options_merge_as_neutron() {
        let cur = dhcp_opts(
            &json!([{"opt_name": "a", "opt_value": "1"}, {"opt_name": "b", "opt_value": "2"}]),
            &[],
        )
        .unwrap();
        let cur = cur.as_array().unwrap();
        let next = dhcp_opts(&json!([{"opt_name": "a", "opt_value": null}, {"opt_name": "b", "opt_value": "3"}, {"opt_name": "c", "opt_value": "4", "ip_version": 6}]), cur).unwrap();
        assert_eq!(
            next,
            json!([{"opt_name": "b", "opt_value": "3", "ip_version": 4}, {"opt_name": "c", "opt_value": "4", "ip_version": 6}])
        );
    }
}
