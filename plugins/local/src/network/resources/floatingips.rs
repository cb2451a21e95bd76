//! Floating IPs (`router`, `fip-port-details`, `floatingip-pools`): an address of an
//! external network, held by a port of no project (`network:floatingip`, its `device_id`
//! the floating IP), optionally associated with a fixed address of a port that a router
//! connects to that external network. Also the external network `public` a new cloud
//! starts with, as devstack makes it.

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use crate::network::api::{self, Kind};
use crate::network::resources::networks::{text, Network};
use crate::network::resources::routers::{
    bad_request, elevated, in_cidr, parse_ip, pin_to_subnet, router_for, visible_port,
};
use crate::network::resources::{ports, quotas, subnets};
use crate::network::store::{self, Scope};
use crate::network::{bad_value, denied, Ctx, Net, Result, Svc};
use crate::store::Tx;

pub struct FloatingIp;

/// The `device_owner` of a floating IP's port.
pub const OWNER: &str = "network:floatingip";

fn id_of(doc: &Value) -> &str {
    doc["id"].as_str().unwrap_or_default()
}

fn is_v4(ip: &str) -> bool {
    matches!(parse_ip(ip), Some(std::net::IpAddr::V4(_)))
}

/// What an association resolves to.
struct Assoc {
    port: Value,
    fixed_ip: String,
    router_id: String,
}

/// Neutron's `_get_assoc_data`: the port's fixed address to use and the router that
/// reaches the floating IP's network from it.
fn association(
    c: &dyn Tx,
    ctx: &Ctx,
    fip: &Value,
    port_id: &str,
    fixed_ip: Option<&str>,
) -> Result<Assoc> {
    let port = visible_port(c, ctx, port_id)?;
    if !ctx.admin && port["project_id"] != fip["project_id"] {
        return Err(bad_request("floatingip", format!("Cannot process floating IP association with Port {port_id}, since that port is owned by a different tenant")).into());
    }
    if port["device_owner"]
        .as_str()
        .is_some_and(|o| o.starts_with("network:"))
    {
        return Err(bad_request(
            "floatingip",
            format!("Port {port_id} is unable to be assigned a floating IP"),
        )
        .into());
    }
    let ips: Vec<(String, String)> = port["fixed_ips"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["subnet_id"].as_str().unwrap_or("").to_string(),
                f["ip_address"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let (subnet_id, address) = match fixed_ip {
        Some(want) => {
            if !is_v4(want) {
                return Err(bad_request("floatingip", format!("Cannot process floating IP association with {want}, since that is not an IPv4 address")).into());
            }
            ips.into_iter().find(|(_, ip)| ip == want).ok_or_else(|| {
                bad_request(
                    "floatingip",
                    format!("Port {port_id} does not have fixed ip {want}"),
                )
            })?
        }
        None => {
            let mut v4: Vec<(String, String)> =
                ips.into_iter().filter(|(_, ip)| is_v4(ip)).collect();
            match v4.len() {
                0 => return Err(bad_request("floatingip", format!("Cannot add floating IP to port {port_id} that has no fixed IPv4 addresses")).into()),
                1 => v4.remove(0),
                _ => return Err(bad_request("floatingip", format!("Port {port_id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP")).into()),
            }
        }
    };
    let external = fip["floating_network_id"].as_str().unwrap_or("");
    let network_id = port["network_id"].as_str().unwrap_or("");
    let Some(router_id) = router_for(c, network_id, &subnet_id, external)? else {
        return Err(Fault::not_found(format!("External network {external} is not reachable from subnet {subnet_id}.  Therefore, cannot associate Port {port_id} with a Floating IP.")).kind("ExternalGatewayForFloatingIPNotFound").into());
    };
    if fip["port_id"].as_str() != Some(port_id) {
        let taken = store::all(c, "floatingip", Scope::All)?
            .into_iter()
            .any(|f| {
                f["id"] != fip["id"]
                    && f["port_id"].as_str() == Some(port_id)
                    && f["floating_network_id"] == fip["floating_network_id"]
                    && f["fixed_ip_address"].as_str() == Some(address.as_str())
            });
        if taken {
            return Err(Fault::conflict(format!(
                "Cannot associate floating IP {} ({}) with port {port_id} using fixed IP {address}, as that fixed IP already has a floating IP on external network {external}.",
                fip["floating_ip_address"].as_str().unwrap_or("None"),
                id_of(fip)
            ))
            .kind("FloatingIPPortAlreadyAssociated")
            .into());
        }
    }
    Ok(Assoc {
        port,
        fixed_ip: address,
        router_id,
    })
}

/// `fip-port-details`: what a floating IP shows of its port.
fn port_details(port: &Value) -> Value {
    json!({
        "name": port["name"],
        "network_id": port["network_id"],
        "mac_address": port["mac_address"],
        "admin_state_up": port["admin_state_up"],
        "status": port["status"],
        "device_id": port["device_id"],
        "device_owner": port["device_owner"],
    })
}

/// Sets (or clears) a floating IP's association.
fn apply(doc: &mut Value, assoc: Option<Assoc>) {
    match assoc {
        Some(a) => {
            doc["port_id"] = a.port["id"].clone();
            doc["fixed_ip_address"] = json!(a.fixed_ip);
            doc["router_id"] = json!(a.router_id);
            doc["status"] = json!("ACTIVE");
            doc["port_details"] = port_details(&a.port);
        }
        None => {
            for k in ["port_id", "fixed_ip_address", "router_id", "port_details"] {
                doc[k] = Value::Null;
            }
            doc["status"] = json!("DOWN");
        }
    }
}

fn optional_str<'a>(input: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(bad_value(key, v, "is not a valid string").into()),
    }
}

fn check_ip(key: &str, v: Option<&str>) -> Result<()> {
    match v {
        Some(ip) if parse_ip(ip).is_none() => {
            Err(bad_value(key, &json!(ip), "is not a valid IP address").into())
        }
        _ => Ok(()),
    }
}

fn without_port() -> Fault {
    bad_request(
        "floatingip",
        "fixed_ip_address cannot be specified without a port_id",
    )
}

const CREATE_ATTRS: &[&str] = &[
    "floating_network_id",
    "floating_ip_address",
    "subnet_id",
    "port_id",
    "fixed_ip_address",
    "project_id",
    "tenant_id",
    "description",
    "tags",
];

impl Kind for FloatingIp {
    const SINGULAR: &'static str = "floatingip";
    const COLLECTION: &'static str = "floatingips";
    const NAME: &'static str = "Floating IP";
    const MUTABLE: &'static [&'static str] = &["port_id", "fixed_ip_address", "description"];

    fn create(net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        let mut odd: Vec<&str> = input
            .keys()
            .map(String::as_str)
            .filter(|k| !CREATE_ATTRS.contains(k))
            .collect();
        if !odd.is_empty() {
            odd.sort_unstable();
            return Err(Fault::bad_request(format!(
                "Unrecognized attribute(s) '{}'",
                odd.join(", ")
            ))
            .kind("HTTPBadRequest")
            .into());
        }
        text(&input, "description", 255)?;
        let Some(network_id) = optional_str(&input, "floating_network_id")? else {
            return Err(Fault::bad_request(
                "Failed to parse request. Required attribute 'floating_network_id' not specified",
            )
            .kind("HTTPBadRequest")
            .into());
        };
        let address = optional_str(&input, "floating_ip_address")?;
        let subnet_id = optional_str(&input, "subnet_id")?;
        let port_id = optional_str(&input, "port_id")?;
        let fixed_ip = optional_str(&input, "fixed_ip_address")?;
        check_ip("floating_ip_address", address)?;
        check_ip("fixed_ip_address", fixed_ip)?;
        if address.is_some() && !ctx.admin {
            return Err(denied("create_floatingip:floating_ip_address").into());
        }
        let network = store::fetch(c, "network", network_id)?.ok_or_else(|| {
            Fault::not_found(format!("Network {network_id} could not be found."))
                .kind("NetworkNotFound")
        })?;
        if network["router:external"] != json!(true) {
            return Err(bad_request(
                "floatingip",
                format!("Network {network_id} is not a valid external network"),
            )
            .into());
        }
        let subs = store::all(c, "subnet", Scope::Network(network_id))?;
        if !subs.iter().any(|s| s["ip_version"] == json!(4)) {
            return Err(bad_request(
                "floatingip",
                format!("Network {network_id} does not contain any IPv4 subnet"),
            )
            .into());
        }
        if let Some(s) = subnet_id {
            let Some(sub) = subs.iter().find(|x| id_of(x) == s) else {
                return Err(crate::network::bad(format!("Failed to create port on network {network_id}, because fixed_ips included invalid subnet {s}")).into());
            };
            if let Some(ip) = address {
                if !in_cidr(ip, sub["cidr"].as_str().unwrap_or("")) {
                    return Err(Fault::bad_request(format!(
                        "IP address {ip} is not a valid IP for the specified subnet."
                    ))
                    .kind("InvalidIpForSubnet")
                    .into());
                }
            }
        }
        if fixed_ip.is_some() && port_id.is_none() {
            return Err(without_port().into());
        }
        quotas::enforce(c, ctx, "floatingip", 1)?;
        let mut doc = Value::Object(store::common(ctx, &input)?);
        if let Some(m) = doc.as_object_mut() {
            m.remove("name");
        }
        if let Some(Value::Array(tags)) = input.get("tags") {
            doc["tags"] = Value::Array(tags.clone());
        }
        doc["floating_network_id"] = json!(network_id);
        doc["floating_ip_address"] = Value::Null;
        apply(&mut doc, None);
        let assoc = match port_id {
            Some(p) => Some(association(c, ctx, &doc, p, fixed_ip)?),
            None => None,
        };
        let mut port = ports::create_for(
            net,
            c,
            &elevated(ctx),
            network_id,
            address,
            id_of(&doc),
            OWNER,
        )?;
        if let (Some(s), None) = (subnet_id, address) {
            if let Some(sub) = subs.iter().find(|x| id_of(x) == s) {
                pin_to_subnet(c, &mut port, sub)?;
            }
        }
        port["project_id"] = json!("");
        port["tenant_id"] = json!("");
        port["status"] = json!("N/A");
        store::save(c, "port", &mut port)?;
        let floating = port["fixed_ips"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| subnet_id.is_none_or(|s| f["subnet_id"].as_str() == Some(s)))
            .filter_map(|f| f["ip_address"].as_str())
            .find(|ip| is_v4(ip))
            .map(str::to_string)
            .ok_or_else(|| {
                Fault::bad_request(format!(
                    "Unable to find any IP address on external network {network_id}."
                ))
                .kind("ExternalIpAddressExhausted")
            })?;
        doc["floating_ip_address"] = json!(floating);
        apply(&mut doc, assoc);
        store::insert(c, "floatingip", &doc)?;
        Ok(doc)
    }

    fn update(
        _net: &Net,
        c: &dyn Tx,
        ctx: &Ctx,
        doc: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<()> {
        text(input, "description", 255)?;
        let fixed_ip = optional_str(input, "fixed_ip_address")?;
        check_ip("fixed_ip_address", fixed_ip)?;
        let port_id = match input.get("port_id") {
            Some(_) => optional_str(input, "port_id")?.map(str::to_string),
            None => doc["port_id"].as_str().map(str::to_string),
        };
        if fixed_ip.is_some() && port_id.is_none() {
            return Err(without_port().into());
        }
        if input.contains_key("port_id") || fixed_ip.is_some() {
            let assoc = match &port_id {
                Some(p) => Some(association(c, ctx, doc, p, fixed_ip)?),
                None => None,
            };
            apply(doc, assoc);
        }
        if let Some(d) = input.get("description") {
            doc["description"] = json!(d.as_str().unwrap_or(""));
        }
        Ok(())
    }

    fn delete(_net: &Net, c: &dyn Tx, _ctx: &Ctx, doc: &Value) -> Result<()> {
        remove(c, doc)
    }
}

/// Removes a floating IP with its port and address.
fn remove(c: &dyn Tx, doc: &Value) -> Result<()> {
    for p in store::all(c, "port", Scope::Device(id_of(doc)))? {
        if p["device_owner"] == OWNER {
            ports::release(c, &p)?;
            store::remove(c, "port", id_of(&p))?;
        }
    }
    store::remove(c, "floatingip", id_of(doc))
}

// ------------------------------------------------------------------ hooks for other kinds

/// A port is being deleted: floating IPs associated with it let go (for the ports kind to
/// call).
pub fn port_deleted(c: &dyn Tx, port_id: &str) -> Result<()> {
    for mut f in store::all(c, "floatingip", Scope::All)? {
        if f["port_id"].as_str() == Some(port_id) {
            apply(&mut f, None);
            store::save(c, "floatingip", &mut f)?;
        }
    }
    Ok(())
}

/// An external network is being deleted: its floating IPs (and their ports) go first (for
/// the networks kind to call before it looks for ports in use).
pub fn network_deleted(c: &dyn Tx, network_id: &str) -> Result<()> {
    for f in store::all(c, "floatingip", Scope::All)? {
        if f["floating_network_id"].as_str() == Some(network_id) {
            remove(c, &f)?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ pools

/// `GET /floatingip_pools`: the IPv4 subnets of external networks.
fn pools(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    // get_floatingip_pool is ADMIN_OR_PROJECT_READER: none for a token without a reader role.
    let reads = Ctx::of(req)?.reads();
    let out = svc.read(|c| {
        let mut out = Vec::new();
        for n in store::all(c, "network", Scope::All)?
            .into_iter()
            .filter(|_| reads)
        {
            if n["router:external"] != json!(true) {
                continue;
            }
            for s in store::all(c, "subnet", Scope::Network(id_of(&n)))? {
                if s["ip_version"] != json!(4) {
                    continue;
                }
                out.push(json!({
                    "subnet_id": s["id"],
                    "subnet_name": s["name"],
                    "cidr": s["cidr"],
                    "network_id": n["id"],
                    "project_id": s["project_id"],
                    "tenant_id": s["project_id"],
                }));
            }
        }
        Ok(out)
    })?;
    resp.set_status(200);
    resp.json(&json!({ "floatingip_pools": out }));
    Ok(())
}

endpoint!(Svc; Pools { on_get => pools });

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    api::serve::<FloatingIp>(disp, svc, "v2_floatingips", "v2_floatingip")?;
    routes! {
        disp, svc;
        "v2_floatingip_pools" => Pools,
    }
    Ok(())
}

// ------------------------------------------------------------------ bootstrap

/// The external network a new cloud starts with, as devstack makes it: `public`, external
/// and not shared, owned by the `admin` project, with `public-subnet` 172.24.4.0/24
/// (gateway .1, pool .2–.254, no DHCP). Nothing happens when a network named `public`
/// exists.
pub fn bootstrap(net: &Net) -> Result<()> {
    net.store.write(|c| bootstrap_in(net, c))
}

fn bootstrap_in(net: &Net, c: &dyn Tx) -> Result<()> {
    let exists = store::all(c, "network", Scope::All)?
        .iter()
        .any(|n| n["name"] == "public");
    if exists {
        return Ok(());
    }
    // The `admin` project owns the public network: the default domain's, if several.
    let project = crate::identity::repo::IdentityRepo::projects(c)?
        .into_iter()
        .filter(|p| p.name == "admin")
        .min_by_key(|p| {
            (
                p.domain_id != crate::identity::model::DEFAULT_DOMAIN,
                p.id.clone(),
            )
        })
        .map(|p| p.id)
        .unwrap_or_default();
    let ctx = Ctx {
        caller: AuthContext {
            user_id: "jumpgate".into(),
            project_id: Some(project.clone()),
            roles: vec!["admin".into()],
            is_admin: true,
            ..Default::default()
        },
        project_id: project,
        admin: true,
    };
    let network = Network::create(
        net,
        c,
        &ctx,
        json!({
            "name": "public",
            "router:external": true,
            "shared": false,
            "admin_state_up": true,
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )?;
    subnets::Subnet::create(
        net,
        c,
        &ctx,
        json!({
            "name": "public-subnet",
            "network_id": network["id"],
            "ip_version": 4,
            "cidr": "172.24.4.0/24",
            "gateway_ip": "172.24.4.1",
            "allocation_pools": [{"start": "172.24.4.2", "end": "172.24.4.254"}],
            "enable_dhcp": false,
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )?;
    Ok(())
}
