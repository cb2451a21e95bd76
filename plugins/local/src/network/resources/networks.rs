//! Networks: admin_state_up, shared, `router:external`, mtu, provider attributes for
//! admins. A project sees its own networks, shared ones and external ones.

use jumpgate_plugin_api::Fault;
use serde_json::{json, Map, Value};

use crate::network::api::Kind;
use crate::network::resources::{rbac, security_groups, subnets};
use crate::network::store::{self, Scope};
use crate::network::{bad_value, denied, in_use, Ctx, Net, Result};
use crate::store::Tx;

pub struct Network;

/// The MTU of every network here (no tunnel overhead: there is no data plane).
pub const MTU: i64 = 1500;

/// A boolean attribute of a body, or its default.
pub fn flag(input: &Map<String, Value>, key: &str, default: bool) -> Result<bool> {
    match input.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(bad_value(key, v, "is not a valid boolean value").into()),
    }
}

/// A name or description: a string of at most `max` characters.
pub fn text(input: &Map<String, Value>, key: &str, max: usize) -> Result<()> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(()),
        Some(v @ Value::String(_)) => {
            Err(bad_value(key, v, &format!("exceeds maximum length of {max}")).into())
        }
        Some(v) => Err(bad_value(key, v, "is not a valid string").into()),
    }
}

/// What a network create may name (Neutron answers anything else 400).
const CREATE: &[&str] = &[
    "name",
    "description",
    "admin_state_up",
    "shared",
    "router:external",
    "mtu",
    "port_security_enabled",
    "availability_zone_hints",
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
    "project_id",
    "tenant_id",
    "is_default",
];

const PROVIDER: &[&str] = &[
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
];

impl Kind for Network {
    const SINGULAR: &'static str = "network";
    const COLLECTION: &'static str = "networks";
    const NAME: &'static str = "Network";
    const ADMIN_ONLY: &'static [&'static str] = PROVIDER;
    const MUTABLE: &'static [&'static str] = &[
        "name",
        "description",
        "admin_state_up",
        "shared",
        "router:external",
        "mtu",
        "port_security_enabled",
        "is_default",
    ];

    fn visible(ctx: &Ctx, doc: &Value) -> bool {
        ctx.sees(doc) || doc["shared"] == json!(true) || doc["router:external"] == json!(true)
    }

    /// Also networks an RBAC policy shares with the caller's project.
    fn visible_in(c: &dyn Tx, ctx: &Ctx, doc: &Value) -> Result<bool> {
        if Self::visible(ctx, doc) {
            return Ok(true);
        }
        let id = doc["id"].as_str().unwrap_or_default();
        Ok(rbac::shared_with(c, id, &ctx.project_id)?
            || rbac::external_for(c, id, &ctx.project_id)?)
    }

    fn create(_net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        if let Some(bad) = input.keys().find(|k| !CREATE.contains(&k.as_str())) {
            return Err(
                Fault::bad_request(format!("Unrecognized attribute(s) '{bad}'"))
                    .kind("HTTPBadRequest")
                    .into(),
            );
        }
        text(&input, "name", 255)?;
        text(&input, "description", 255)?;
        let shared = flag(&input, "shared", false)?;
        let external = flag(&input, "router:external", false)?;
        if (shared || external || PROVIDER.iter().any(|k| input.contains_key(*k))) && !ctx.admin {
            return Err(denied(if shared {
                "create_network:shared"
            } else if external {
                "create_network:router:external"
            } else {
                "create_network:provider:network_type"
            })
            .into());
        }
        let mtu = match input.get("mtu") {
            None => MTU,
            Some(v) => v
                .as_i64()
                .filter(|m| (68..=MTU).contains(m))
                .ok_or_else(|| bad_value("mtu", v, "is not a valid MTU (68 to 1500)"))?,
        };
        crate::network::resources::quotas::enforce(c, ctx, "network", 1)?;
        let mut doc = store::common(ctx, &input)?;
        let network_type = input
            .get("provider:network_type")
            .and_then(Value::as_str)
            .unwrap_or(if external { "flat" } else { "local" });
        for (k, v) in [
            (
                "admin_state_up",
                json!(flag(&input, "admin_state_up", true)?),
            ),
            ("status", json!("ACTIVE")),
            ("subnets", json!([])),
            ("shared", json!(shared)),
            ("router:external", json!(external)),
            ("mtu", json!(mtu)),
            (
                "port_security_enabled",
                json!(flag(&input, "port_security_enabled", true)?),
            ),
            (
                "availability_zone_hints",
                input
                    .get("availability_zone_hints")
                    .cloned()
                    .unwrap_or(json!([])),
            ),
            ("availability_zones", json!(["nova"])),
            ("ipv4_address_scope", Value::Null),
            ("ipv6_address_scope", Value::Null),
            ("l2_adjacency", json!(true)),
            ("is_default", json!(flag(&input, "is_default", false)?)),
            ("provider:network_type", json!(network_type)),
            (
                "provider:physical_network",
                input
                    .get("provider:physical_network")
                    .cloned()
                    .unwrap_or(if external {
                        json!("public")
                    } else {
                        Value::Null
                    }),
            ),
            (
                "provider:segmentation_id",
                input
                    .get("provider:segmentation_id")
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
        ] {
            doc.insert(k.into(), v);
        }
        let doc = Value::Object(doc);
        store::insert(c, "network", &doc)?;
        rbac::sync_network_flags(c, &doc)?;
        // Neutron makes the project's default security group with its first network.
        security_groups::ensure_default(c, doc["project_id"].as_str().unwrap_or_default())?;
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
        for key in [
            "admin_state_up",
            "shared",
            "router:external",
            "port_security_enabled",
            "is_default",
        ] {
            if input.contains_key(key) {
                let v = flag(input, key, false)?;
                if matches!(key, "shared" | "router:external" | "is_default") && !ctx.admin {
                    return Err(denied(&format!("update_network:{key}")).into());
                }
                doc[key] = json!(v);
            }
        }
        for key in ["name", "description"] {
            if let Some(v) = input.get(key) {
                doc[key] = json!(v.as_str().unwrap_or(""));
            }
        }
        if input.contains_key("shared") || input.contains_key("router:external") {
            rbac::sync_network_flags(c, doc)?;
            subnets::sync_network(c, doc)?;
        }
        if let Some(v) = input.get("mtu") {
            doc["mtu"] = json!(v
                .as_i64()
                .filter(|m| (68..=MTU).contains(m))
                .ok_or_else(|| bad_value("mtu", v, "is not a valid MTU (68 to 1500)"))?);
        }
        Ok(())
    }

    fn delete(net: &Net, c: &dyn Tx, ctx: &Ctx, doc: &Value) -> Result<()> {
        let id = doc["id"].as_str().unwrap_or_default();
        // An external network's floating IPs go with it (their ports would block it).
        crate::network::resources::floatingips::network_deleted(c, id)?;
        // Ports the network itself owns (DHCP) go with it; any other port blocks it.
        let ports = store::all(c, "port", Scope::Network(id))?;
        if ports.iter().any(|p| {
            !p["device_owner"]
                .as_str()
                .unwrap_or("")
                .starts_with("network:dhcp")
        }) {
            return Err(in_use("Network", format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network.")).into());
        }
        for p in &ports {
            crate::network::resources::ports::release(c, p)?;
            store::remove(c, "port", p["id"].as_str().unwrap_or_default())?;
        }
        for s in store::all(c, "subnet", Scope::Network(id))? {
            crate::network::resources::subnets::remove(net, c, ctx, &s)?;
        }
        rbac::remove_for_object(c, id)?;
        store::remove(c, "network", id)
    }
}
