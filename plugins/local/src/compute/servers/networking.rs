//! A server's networking is Neutron's: its ports (device_id = the server) on this cloud's
//! networks. The server row keeps a copy of what its ports say (`addresses`, and the
//! security groups' names in `extra`), refreshed by the network store on every write to a
//! port, floating IP or network, so that listing servers reads no port.

use serde_json::{json, Map, Value};

use crate::compute::{Call, Compute, Result};
use crate::network::api::Kind;
use crate::network::resources::{ports, subnets::Subnet};
use crate::network::store::{self, Scope};
use crate::network::{Ctx, Net};
use crate::store::Tx;
use jumpgate_plugin_api::Fault;

/// Nova's device owner for the ports it makes.
pub const OWNER: &str = "compute:nova";

/// What a create body's `networks` asks for.
pub enum Networks {
    /// Below 2.37 with no `networks`: the one network the project can use, or none.
    Default,
    /// `auto` (2.37): that network, or one allocated for the project.
    Auto,
    None,
    List(Vec<Requested>),
}

/// One entry of `networks`: a network (optionally with an address) or a port.
pub struct Requested {
    pub network_id: Option<String>,
    pub port_id: Option<String>,
    pub fixed_ip: Option<String>,
}

/// The caller as Neutron's handlers see them.
pub fn net_ctx(call: &Call) -> Ctx {
    Ctx {
        caller: call.caller.clone(),
        project_id: call.project_id.clone(),
        admin: call.is_admin(),
    }
}

/// Networks a project may put a server on (`_get_available_networks` with no ids): its
/// own and shared ones, external ones included, as Nova lists them. An admin chooses
/// among their own project's too, as Nova does: seeing every network does not make
/// another project's network theirs.
fn candidates(c: &dyn Tx, ctx: &Ctx) -> Result<Vec<Value>> {
    Ok(store::all(c, "network", Scope::All)?
        .into_iter()
        .filter(|n| n["project_id"] == json!(ctx.project_id) || n["shared"] == json!(true))
        .collect())
}

/// The network `auto` and the pre-2.37 default choose: the only candidate; several are
/// ambiguous (409, as Nova). With none, `auto` allocates a network and subnet for the
/// project (get-me-a-network); the default boots without networking.
fn chosen(net: &Net, c: &dyn Tx, ctx: &Ctx, allocate: bool) -> Result<Option<String>> {
    let found = candidates(c, ctx)?;
    match found.len() {
        1 => Ok(found[0]["id"].as_str().map(str::to_string)),
        0 if allocate => {
            let network = <crate::network::resources::networks::Network as Kind>::create(
                net,
                c,
                ctx,
                serde_json::from_value(json!({"name": "auto_allocated_network"}))
                    .unwrap_or_default(),
            )?;
            let id = network["id"].as_str().unwrap_or_default().to_string();
            let subnet: Map<String, Value> = serde_json::from_value(json!({
                "name": "auto_allocated_subnet_v4", "network_id": id, "ip_version": 4, "cidr": "10.0.0.0/24",
            }))
            .unwrap_or_default();
            Subnet::create(net, c, ctx, subnet)?;
            Ok(Some(id))
        }
        0 => Ok(None),
        _ => Err(Fault::conflict(
            "Multiple possible networks found, use a Network ID to be more specific.",
        )
        .into()),
    }
}

/// Gives a new server its ports; returns the ids of the ports made for it (deleted with
/// it), as opposed to ports the user passed in (only unbound on delete).
pub fn attach(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    server_id: &str,
    wanted: &Networks,
) -> Result<Vec<String>> {
    let ctx = net_ctx(call);
    let net = &svc.net;
    let mut made = Vec::new();
    let list: Vec<Requested> = match wanted {
        Networks::None => vec![],
        Networks::Default | Networks::Auto => {
            match chosen(net, c, &ctx, matches!(wanted, Networks::Auto))? {
                Some(id) => vec![Requested {
                    network_id: Some(id),
                    port_id: None,
                    fixed_ip: None,
                }],
                None => vec![],
            }
        }
        Networks::List(l) => l
            .iter()
            .map(|r| Requested {
                network_id: r.network_id.clone(),
                port_id: r.port_id.clone(),
                fixed_ip: r.fixed_ip.clone(),
            })
            .collect(),
    };
    for r in list {
        if let Some(port_id) = &r.port_id {
            let mut port = store::fetch(c, "port", port_id)?
                .filter(|p| ctx.owns(p))
                .ok_or_else(|| {
                    Fault::bad_request(format!("Port id {port_id} could not be found."))
                })?;
            if port["device_id"].as_str().is_some_and(|d| !d.is_empty()) {
                return Err(Fault::conflict(format!("Port {port_id} is still in use.")).into());
            }
            port["device_id"] = json!(server_id);
            port["device_owner"] = json!(OWNER);
            port["status"] = json!("ACTIVE");
            store::save(c, "port", &mut port)?;
            continue;
        }
        let network_id = r.network_id.clone().unwrap_or_default();
        let network = store::fetch(c, "network", &network_id)?
            .filter(|n| <crate::network::resources::networks::Network as Kind>::visible(&ctx, n))
            .ok_or_else(|| {
                Fault::bad_request(format!("Network {network_id} could not be found."))
            })?;
        if network["subnets"].as_array().is_none_or(|s| s.is_empty()) {
            return Err(Fault::bad_request(format!(
                "Network {network_id} requires a subnet in order to boot instances on."
            ))
            .into());
        }
        let port = ports::create_for(
            net,
            c,
            &ctx,
            &network_id,
            r.fixed_ip.as_deref(),
            server_id,
            OWNER,
        )
        .map_err(|e| match e {
            // Nova answers Neutron's conflicts about addresses as 400s of its own.
            crate::store::Failure::Fault(f) if f.status == 409 => {
                Fault::bad_request(f.message).into()
            }
            other => other,
        })?;
        made.push(port["id"].as_str().unwrap_or_default().to_string());
    }
    Ok(made)
}

/// The project's security groups named (or with the ids) in `names`; `default` is made
/// on first use, as Neutron does.
fn groups_named(c: &dyn Tx, project_id: &str, names: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let groups = store::all(c, "security_group", Scope::Project(project_id))?;
    for name in names {
        let id = match groups
            .iter()
            .find(|g| g["name"] == json!(name) || g["id"] == json!(name))
        {
            Some(g) => g["id"].as_str().unwrap_or_default().to_string(),
            None if name == "default" => {
                crate::network::resources::security_groups::ensure_default(c, project_id)?
            }
            None => {
                return Err(Fault::bad_request(format!(
                    "Security group {name} not found for project {project_id}."
                ))
                .into())
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Puts a new server's ports in the security groups its create asked for.
pub fn set_security_groups(
    c: &dyn Tx,
    call: &Call,
    server_id: &str,
    names: &[String],
) -> Result<()> {
    let ids = groups_named(c, &call.project_id, names)?;
    for mut p in store::all(c, "port", Scope::Device(server_id))? {
        p["security_groups"] = json!(ids);
        store::save(c, "port", &mut p)?;
    }
    Ok(())
}

/// addSecurityGroup / removeSecurityGroup: on every port of the server, as Nova does.
pub fn change_security_group(
    c: &dyn Tx,
    project_id: &str,
    server_id: &str,
    name: &str,
    add: bool,
) -> Result<()> {
    let groups = store::all(c, "security_group", Scope::Project(project_id))?;
    let Some(group) = groups
        .iter()
        .find(|g| g["name"] == json!(name) || g["id"] == json!(name))
    else {
        if name == "default" && add {
            let id = crate::network::resources::security_groups::ensure_default(c, project_id)?;
            return change_security_group(c, project_id, server_id, &id, add);
        }
        return Err(Fault::not_found(format!(
            "Security group {name} not found for project {project_id}."
        ))
        .into());
    };
    let id = group["id"].clone();
    let ports = store::all(c, "port", Scope::Device(server_id))?;
    if ports.is_empty() {
        return Err(Fault::bad_request(format!(
            "Security group {name} cannot be applied: instance {server_id} has no ports."
        ))
        .into());
    }
    for mut p in ports {
        let mut list: Vec<Value> = p["security_groups"].as_array().cloned().unwrap_or_default();
        let has = list.contains(&id);
        match (add, has) {
            (true, true) => {
                return Err(Fault::bad_request(format!(
                    "Security group {name} is already associated with the instance {server_id}"
                ))
                .into())
            }
            (false, false) => {
                return Err(Fault::bad_request(format!(
                    "Security group {name} not associated with the instance {server_id}"
                ))
                .into())
            }
            (true, false) => list.push(id.clone()),
            (false, true) => list.retain(|x| *x != id),
        }
        p["security_groups"] = Value::Array(list);
        store::save(c, "port", &mut p)?;
    }
    Ok(())
}

/// On delete: the ports made for the server go; ports the user passed in are unbound.
pub fn detach_all(c: &dyn Tx, server_id: &str, made: &[String]) -> Result<()> {
    for mut p in store::all(c, "port", Scope::Device(server_id))? {
        let id = p["id"].as_str().unwrap_or_default().to_string();
        if made.contains(&id) {
            ports::release(c, &p)?;
            crate::network::resources::floatingips::port_deleted(c, &id)?;
            store::remove(c, "port", &id)?;
        } else {
            p["device_id"] = json!("");
            p["device_owner"] = json!("");
            p["status"] = json!("DOWN");
            store::save(c, "port", &mut p)?;
        }
    }
    Ok(())
}

/// Recomputes a server's copy of its addresses (in the form Nova's detail view shows them)
/// and security groups from its ports and their floating IPs. A no-op for devices that
/// are not servers.
pub fn refresh(c: &dyn Tx, server_id: &str) -> Result<()> {
    if server_id.is_empty() {
        return Ok(());
    }
    let mut addresses = Map::new();
    let mut groups: Vec<String> = Vec::new();
    for port in store::all(c, "port", Scope::Device(server_id))? {
        let network_id = port["network_id"].as_str().unwrap_or_default();
        let label = store::fetch(c, "network", network_id)?
            .and_then(|n| n["name"].as_str().map(str::to_string))
            .unwrap_or_else(|| network_id.to_string());
        let mac = port["mac_address"].clone();
        let entry = addresses.entry(label).or_insert_with(|| json!([]));
        for ip in port["fixed_ips"].as_array().into_iter().flatten() {
            let addr = ip["ip_address"].as_str().unwrap_or_default();
            let version = if addr.contains(':') { 6 } else { 4 };
            entry
                .as_array_mut()
                .expect("array")
                .push(json!({"version": version, "addr": addr, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": mac}));
        }
        for f in c.floating_ips_of_port(port["id"].as_str().unwrap_or_default())? {
            let addr = f["floating_ip_address"].as_str().unwrap_or_default();
            entry
                .as_array_mut()
                .expect("array")
                .push(json!({"version": 4, "addr": addr, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": mac}));
        }
        for sg in port["security_groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let name = store::fetch(c, "security_group", sg)?
                .and_then(|g| g["name"].as_str().map(str::to_string))
                .unwrap_or_else(|| sg.to_string());
            if !groups.contains(&name) {
                groups.push(name);
            }
        }
    }
    Ok(c.set_server_networking(server_id, &addresses, &groups)?)
}

/// The servers a network document's change may show on: its own device, or the device of
/// the port a floating IP points at, or every device on a renamed network.
pub fn devices_of(c: &dyn Tx, kind: &str, doc: &Value) -> Result<Vec<String>> {
    let device = |p: &Value| {
        p["device_owner"]
            .as_str()
            .filter(|o| o.starts_with("compute:"))
            .and(p["device_id"].as_str())
            .filter(|d| !d.is_empty())
            .map(str::to_string)
    };
    Ok(match kind {
        "port" => device(doc).into_iter().collect(),
        "floatingip" => match doc["port_id"].as_str() {
            Some(p) => store::fetch(c, "port", p)?
                .as_ref()
                .and_then(device)
                .into_iter()
                .collect(),
            None => vec![],
        },
        "network" | "security_group" => {
            let ports = if kind == "network" {
                store::all(
                    c,
                    "port",
                    Scope::Network(doc["id"].as_str().unwrap_or_default()),
                )?
            } else {
                vec![]
            };
            ports.iter().filter_map(device).collect()
        }
        _ => vec![],
    })
}
