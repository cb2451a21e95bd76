//! The nova-network era proxies (up to 2.35; 404 after): os-networks and
//! os-tenant-networks, answered from this cloud's Neutron networks as Nova answers them
//! from Neutron: the network's id and name, every other nova-network field null (and, in
//! os-tenant-networks, a `cidr` of "None"). A caller sees the networks Neutron would list
//! for them: their project's, shared and external ones; an admin sees all.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::{param, reply, Call, Compute};
use crate::network::repo::Scope;

type Svc = Arc<Compute>;

/// `nova.api.openstack.api_version_request.MAX_PROXY_API_SUPPORT_VERSION`.
const MAX_PROXY: u16 = 35;

const FIELDS: [&str; 11] = [
    "id",
    "cidr",
    "netmask",
    "gateway",
    "broadcast",
    "dns1",
    "dns2",
    "cidr_v6",
    "gateway_v6",
    "label",
    "netmask_v6",
];

const ADMIN_FIELDS: [&str; 21] = [
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "injected",
    "bridge",
    "vlan",
    "vpn_public_address",
    "vpn_public_port",
    "vpn_private_address",
    "dhcp_start",
    "project_id",
    "host",
    "bridge_interface",
    "multi_host",
    "priority",
    "rxtx_base",
    "mtu",
    "dhcp_server",
    "enable_dhcp",
    "share_address",
];

/// Whether `doc` is a network the caller may see.
fn visible(doc: &Value, call: &Call) -> bool {
    call.is_admin()
        || doc["project_id"].as_str() == Some(call.project_id.as_str())
        || doc["shared"].as_bool() == Some(true)
        || doc["router:external"].as_bool() == Some(true)
}

/// os-networks' `network_dict` over a Neutron network.
fn network_view(doc: &Value, admin: bool) -> Value {
    let mut m = Map::new();
    let extra: &[&str] = if admin { &ADMIN_FIELDS } else { &[] };
    for f in FIELDS.iter().chain(extra) {
        let v = match *f {
            "id" => doc["id"].clone(),
            "label" => doc["name"].clone(),
            _ => Value::Null,
        };
        m.insert(f.to_string(), v);
    }
    Value::Object(m)
}

/// os-tenant-networks' `network_dict`.
fn tenant_view(doc: &Value) -> Value {
    json!({"id": doc["id"], "cidr": "None", "label": doc["name"]})
}

fn call_of(req: &Request) -> Result<Call, Fault> {
    let call = Call::of(req)?;
    if call.version.at_least(MAX_PROXY + 1) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    Ok(call)
}

fn gone() -> Fault {
    Fault::new(
        410,
        "There is no longer any content at the requested resource.",
    )
}

endpoint!(Svc; Networks { on_get => list, on_post => removed });
endpoint!(Svc; NetworkItem { on_get => show, on_delete => removed });
endpoint!(Svc; TenantNetworks { on_get => tenant_list, on_post => removed_tenant });
endpoint!(Svc; TenantNetworkItem { on_get => tenant_show, on_delete => removed_tenant });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_networks" => Networks,
        "v2_os_network" => NetworkItem,
        "v2_os_tenant_networks" => TenantNetworks,
        "v2_os_tenant_network" => TenantNetworkItem,
    }
    Ok(())
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let all = svc.read(|c| Ok(c.docs("network", Scope::All)?))?;
    let shown: Vec<Value> = all
        .iter()
        .filter(|n| visible(n, &call))
        .map(|n| network_view(n, call.is_admin()))
        .collect();
    reply(resp, &call, 200, &json!({ "networks": shown }))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "network_id")?.to_string();
    let doc = svc
        .read(|c| Ok(c.doc("network", &id)?))?
        .filter(|n| visible(n, &call))
        .ok_or_else(|| Fault::not_found("Network not found"))?;
    reply(
        resp,
        &call,
        200,
        &json!({ "network": network_view(&doc, call.is_admin()) }),
    )
}

/// Creating, deleting and associating nova-network networks is gone (410).
fn removed(_svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    call_of(req)?;
    Err(gone())
}

/// os-tenant-networks create and delete: gone with nova-network (410).
fn removed_tenant(_svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    call_of(req)?;
    Err(gone())
}

fn tenant_list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let all = svc.read(|c| Ok(c.docs("network", Scope::All)?))?;
    let shown: Vec<Value> = all
        .iter()
        .filter(|n| visible(n, &call))
        .map(tenant_view)
        .collect();
    reply(resp, &call, 200, &json!({ "networks": shown }))
}

fn tenant_show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let id = param(req, "network_id")?.to_string();
    let doc = svc
        .read(|c| Ok(c.doc("network", &id)?))?
        .filter(|n| visible(n, &call))
        .ok_or_else(|| Fault::not_found("Network not found"))?;
    reply(resp, &call, 200, &json!({ "network": tenant_view(&doc) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_as_nova_over_neutron() {
        let doc = json!({"id": "n1", "name": "private", "project_id": "p", "shared": false});
        let v = network_view(&doc, false);
        assert_eq!(v["label"], "private");
        assert_eq!(v["cidr"], Value::Null);
        assert_eq!(v.as_object().unwrap().len(), 11);
        assert_eq!(network_view(&doc, true).as_object().unwrap().len(), 32);
        assert_eq!(
            tenant_view(&doc),
            json!({"id": "n1", "cidr": "None", "label": "private"})
        );
    }
}
