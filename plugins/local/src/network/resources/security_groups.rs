//! Security groups and their rules. A group's document carries copies of its rules
//! (`security_group_rules`, as Neutron shows them); each rule is also a document of its
//! own for the rules API. Rules never change after creation, so the copies cannot drift:
//! creating or deleting a rule rewrites the group's list (and bumps its revision, as
//! Neutron does). Every project has a group named `default`, made on first use.

use std::net::IpAddr;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use crate::network::api::{self, Kind};
use crate::network::resources::networks::{flag, text};
use crate::network::resources::quotas;
use crate::network::store::{self, Scope};
use crate::network::{bad, now, Ctx, Net, Result, Svc};
use crate::store::Tx;

pub struct SecurityGroup;
pub struct SecurityGroupRule;

/// The name no group may take but a project's own default one.
const DEFAULT: &str = "default";

/// Neutron's IP protocol names and numbers (neutron-lib `IP_PROTOCOL_MAP`), in its order:
/// the order shows in the "not supported" message.
const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];

/// Protocols whose rules take a port range.
const PORT_PROTOCOLS: &[u8] = &[6, 17, 136, 132, 33];

/// Protocols that exist only over IPv6 (an IPv4 rule for one is a conflict).
const IPV6_ONLY: &[u8] = &[41, 44, 58, 59, 60, 43];

fn protocol_number(p: &str) -> Option<u8> {
    PROTOCOLS
        .iter()
        .find(|(n, _)| *n == p)
        .map(|(_, v)| *v)
        .or_else(|| p.parse().ok())
}

/// Neutron's 404 for a group (its own wording, not the framework's).
fn group_not_found(id: &str) -> Fault {
    Fault::not_found(format!("Security group {id} does not exist")).kind("SecurityGroupNotFound")
}

fn invalid(kind: &str, message: impl Into<String>) -> Fault {
    Fault::bad_request(message).kind(kind)
}

fn conflict(kind: &str, message: impl Into<String>) -> Fault {
    Fault::conflict(message).kind(kind)
}

/// The id of a project's `default` group, made (with Neutron's four rules: egress to
/// anywhere and ingress from the group's own members, over IPv4 and IPv6) if the project
/// has none yet.
pub fn ensure_default(c: &dyn Tx, project_id: &str) -> Result<String> {
    if let Some(id) = default_id(c, project_id)? {
        return Ok(id);
    }
    let id = crate::network::new_id();
    let t = now();
    let mut rules = Vec::new();
    for ethertype in ["IPv4", "IPv6"] {
        for (direction, remote) in [("ingress", json!(id)), ("egress", Value::Null)] {
            let rule = json!({
                "id": crate::network::new_id(),
                "project_id": project_id,
                "tenant_id": project_id,
                "security_group_id": id,
                "ethertype": ethertype,
                "direction": direction,
                "protocol": null,
                "port_range_min": null,
                "port_range_max": null,
                "remote_ip_prefix": null,
                "remote_group_id": remote,
                "remote_address_group_id": null,
                "normalized_cidr": null,
                "belongs_to_default_sg": true,
                "description": "",
                "created_at": t,
                "updated_at": t,
                "revision_number": 0,
            });
            store::insert(c, "security_group_rule", &rule)?;
            rules.push(rule);
        }
    }
    let group = json!({
        "id": id,
        "project_id": project_id,
        "tenant_id": project_id,
        "name": DEFAULT,
        "description": "Default security group",
        "security_group_rules": rules,
        "stateful": true,
        "shared": false,
        "tags": [],
        "created_at": t,
        "updated_at": t,
        "revision_number": 0,
    });
    store::insert(c, "security_group", &group)?;
    Ok(id)
}

fn default_id(c: &dyn Tx, project_id: &str) -> Result<Option<String>> {
    Ok(store::all(c, "security_group", Scope::Project(project_id))?
        .into_iter()
        .find(|g| g["name"] == DEFAULT)
        .and_then(|g| g["id"].as_str().map(str::to_string)))
}

/// `name` may not be `default` (any case): that one is made by the cloud.
fn check_name(input: &Map<String, Value>) -> Result<()> {
    text(input, "name", 255)?;
    text(input, "description", 255)?;
    if input
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.eq_ignore_ascii_case(DEFAULT))
    {
        return Err(conflict(
            "SecurityGroupDefaultAlreadyExists",
            "Default security group already exists.",
        )
        .into());
    }
    Ok(())
}

/// Ports that name a group among their `security_groups`.
fn ports_using(c: &dyn Tx, group_id: &str) -> Result<bool> {
    Ok(store::all(c, "port", Scope::All)?.iter().any(|p| {
        p["security_groups"]
            .as_array()
            .is_some_and(|l| l.iter().any(|g| g.as_str() == Some(group_id)))
    }))
}

impl Kind for SecurityGroup {
    const SINGULAR: &'static str = "security_group";
    const COLLECTION: &'static str = "security_groups";
    const NAME: &'static str = "Security group";
    const MUTABLE: &'static [&'static str] = &["name", "description", "stateful"];

    fn create(_net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        new_group(c, ctx, input)
    }

    fn update(
        _net: &Net,
        _c: &dyn Tx,
        _ctx: &Ctx,
        doc: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<()> {
        change_group(doc, input)
    }

    fn delete(_net: &Net, c: &dyn Tx, ctx: &Ctx, doc: &Value) -> Result<()> {
        remove_group(c, ctx, doc)
    }
}

fn new_group(c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
    check_name(&input)?;
    let stateful = flag(&input, "stateful", true)?;
    let mut doc = store::common(ctx, &input)?;
    let project = doc["project_id"].as_str().unwrap_or_default().to_string();
    // Neutron makes the project's default group before its first other one.
    ensure_default(c, &project)?;
    quotas::enforce_for(c, &project, "security_group", 1)?;
    quotas::enforce_for(c, &project, "security_group_rule", 2)?;
    let id = doc["id"].as_str().unwrap_or_default().to_string();
    let t = doc["created_at"].clone();
    // A new group lets everything out and nothing in.
    let mut rules = Vec::new();
    for ethertype in ["IPv4", "IPv6"] {
        let rule = json!({
            "id": crate::network::new_id(),
            "project_id": project,
            "tenant_id": project,
            "security_group_id": id,
            "ethertype": ethertype,
            "direction": "egress",
            "protocol": null,
            "port_range_min": null,
            "port_range_max": null,
            "remote_ip_prefix": null,
            "remote_group_id": null,
            "remote_address_group_id": null,
            "normalized_cidr": null,
            "belongs_to_default_sg": false,
            "description": "",
            "created_at": t,
            "updated_at": t,
            "revision_number": 0,
        });
        store::insert(c, "security_group_rule", &rule)?;
        rules.push(rule);
    }
    doc.insert("security_group_rules".into(), Value::Array(rules));
    doc.insert("stateful".into(), json!(stateful));
    doc.insert("shared".into(), json!(false));
    let doc = Value::Object(doc);
    store::insert(c, "security_group", &doc)?;
    Ok(doc)
}

fn change_group(doc: &mut Value, input: &Map<String, Value>) -> Result<()> {
    if doc["name"] == DEFAULT && input.contains_key("name") {
        return Err(conflict(
            "SecurityGroupCannotUpdateDefault",
            "Updating default security group not allowed.",
        )
        .into());
    }
    check_name(input)?;
    if input.contains_key("stateful") {
        doc["stateful"] = json!(flag(input, "stateful", true)?);
    }
    for key in ["name", "description"] {
        if let Some(v) = input.get(key) {
            doc[key] = json!(v.as_str().unwrap_or(""));
        }
    }
    Ok(())
}

fn remove_group(c: &dyn Tx, ctx: &Ctx, doc: &Value) -> Result<()> {
    let id = doc["id"].as_str().unwrap_or_default();
    if ports_using(c, id)? {
        return Err(conflict("SecurityGroupInUse", format!("Security Group {id} in use.")).into());
    }
    if doc["name"] == DEFAULT && !ctx.admin {
        return Err(conflict(
            "SecurityGroupCannotRemoveDefault",
            "Insufficient rights for removing default security group.",
        )
        .into());
    }
    // Its rules go with it, and so do other groups' rules naming it as their remote
    // group (Neutron's foreign keys cascade).
    for rule in store::all(c, "security_group_rule", Scope::All)? {
        let rid = rule["id"].as_str().unwrap_or_default();
        if rule["security_group_id"].as_str() == Some(id) {
            store::remove(c, "security_group_rule", rid)?;
        } else if rule["remote_group_id"].as_str() == Some(id) {
            store::remove(c, "security_group_rule", rid)?;
            detach_rule(c, &rule)?;
        }
    }
    store::remove(c, "security_group", id)
}

/// Removes a rule's copy from its group's document.
fn detach_rule(c: &dyn Tx, rule: &Value) -> Result<()> {
    let gid = rule["security_group_id"].as_str().unwrap_or_default();
    if let Some(mut group) = store::fetch(c, "security_group", gid)? {
        if let Some(list) = group["security_group_rules"].as_array_mut() {
            list.retain(|r| r["id"] != rule["id"]);
        }
        store::save(c, "security_group", &mut group)?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------- rules

/// A rule's attributes after Neutron's converters and checks, before the group lookups.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<i64>,
    pub port_range_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
    pub normalized_cidr: Option<String>,
    pub remote_group_id: Option<String>,
    pub remote_address_group_id: Option<String>,
}

fn required<'a>(input: &'a Map<String, Value>, key: &str) -> Result<&'a Value> {
    match input.get(key) {
        Some(v) if !v.is_null() => Ok(v),
        _ => Err(invalid(
            "HTTPBadRequest",
            format!("Failed to parse request. Required attribute '{key}' not specified"),
        )
        .into()),
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// neutron's `convert_protocol`: a known name (any case) or a number 0 to 255, kept as a
/// string. `any` is the clients' word for no protocol.
fn convert_protocol(v: Option<&Value>) -> Result<Option<String>> {
    let unsupported = |v: &Value| -> crate::network::Error {
        let names: Vec<String> = PROTOCOLS.iter().map(|(n, _)| format!("'{n}'")).collect();
        invalid(
            "SecurityGroupRuleInvalidProtocol",
            format!(
                "Security group rule protocol {} not supported. Only protocol values [None, {}] and integer representations [0 to 255] are supported.",
                shown(v),
                names.join(", ")
            ),
        )
        .into()
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(n @ Value::Number(_)) => match n.as_i64() {
            Some(i) if (0..=255).contains(&i) => Ok(Some(i.to_string())),
            _ => Err(unsupported(n)),
        },
        Some(s @ Value::String(text)) => {
            let lower = text.to_ascii_lowercase();
            if lower == "any" {
                return Ok(None);
            }
            if PROTOCOLS.iter().any(|(n, _)| *n == lower) {
                return Ok(Some(lower));
            }
            match text.trim().parse::<i64>() {
                Ok(i) if (0..=255).contains(&i) => Ok(Some(i.to_string())),
                _ => Err(unsupported(s)),
            }
        }
        Some(other) => Err(unsupported(other)),
    }
}

/// neutron's `convert_validate_port_value`: an integer (or integer string) 0 to 65535.
fn convert_port(v: Option<&Value>) -> Result<Option<i64>> {
    let bad_port = |v: &Value| -> crate::network::Error {
        invalid(
            "SecurityGroupInvalidPortValue",
            format!("Invalid value for port {}", shown(v)),
        )
        .into()
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match n {
                Some(n) if (0..=65535).contains(&n) => Ok(Some(n)),
                _ => Err(bad_port(v)),
            }
        }
    }
}

/// A CIDR or a bare address (which gets the full mask): `(ethertype, as given with its
/// mask, the network it names)`.
pub fn parse_prefix(s: &str) -> Option<(&'static str, String, String)> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = match len {
        None => max,
        Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => l.parse().ok()?,
        Some(_) => return None,
    };
    if len > max {
        return None;
    }
    let (ethertype, network) = match ip {
        IpAddr::V4(a) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            (
                "IPv4",
                IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) & mask)),
            )
        }
        IpAddr::V6(a) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            (
                "IPv6",
                IpAddr::from(std::net::Ipv6Addr::from(u128::from(a) & mask)),
            )
        }
    };
    Some((ethertype, format!("{ip}/{len}"), format!("{network}/{len}")))
}

fn optional_id(input: &Map<String, Value>, key: &str) -> Option<String> {
    match input.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Converts and checks a rule's body as Neutron's API layer and plugin do, in their
/// order; what needs the database (groups, duplicates) comes later.
pub fn rule_spec(input: &Map<String, Value>) -> Result<RuleSpec> {
    required(input, "security_group_id")?;
    let direction = required(input, "direction")?;
    if !matches!(direction.as_str(), Some("ingress" | "egress")) {
        return Err(bad(format!(
            "Invalid input for direction. Reason: '{}' is not in ['ingress', 'egress']",
            shown(direction)
        ))
        .into());
    }
    let mut protocol = convert_protocol(input.get("protocol"))?;
    let port_range_min = convert_port(input.get("port_range_min"))?;
    let port_range_max = convert_port(input.get("port_range_max"))?;
    let ethertype = match input.get("ethertype") {
        None | Some(Value::Null) => "IPv4".to_string(),
        Some(v) => match v.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("ipv4") => "IPv4".to_string(),
            Some("ipv6") => "IPv6".to_string(),
            _ => {
                return Err(invalid(
                    "SecurityGroupRuleInvalidEtherType",
                    format!(
                        "Security group rule for ethertype '{}' not supported. Allowed values are ['IPv4', 'IPv6'].",
                        shown(v)
                    ),
                )
                .into())
            }
        },
    };
    let prefix = match input.get("remote_ip_prefix") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(v) => Some(v.as_str().and_then(parse_prefix).ok_or_else(|| {
            invalid(
                "InvalidCIDR",
                format!("Invalid CIDR {} given as IP prefix.", shown(v)),
            )
        })?),
    };
    // IPv6 ICMP under its legacy names is stored under the canonical one.
    if ethertype == "IPv6" {
        match protocol.as_deref() {
            Some("icmp" | "icmpv6") => protocol = Some("ipv6-icmp".into()),
            Some("1") => protocol = Some("58".into()),
            _ => {}
        }
    }
    validate_port_range(protocol.as_deref(), port_range_min, port_range_max)?;
    if let Some((family, _, _)) = &prefix {
        if *family != ethertype {
            return Err(invalid(
                "SecurityGroupRuleParameterConflict",
                format!(
                    "Conflicting value ethertype {ethertype} for CIDR {}",
                    shown(&input["remote_ip_prefix"])
                ),
            )
            .into());
        }
    }
    if ethertype == "IPv4" {
        if let Some(p) = protocol.as_deref() {
            if protocol_number(p).is_some_and(|n| IPV6_ONLY.contains(&n)) {
                return Err(invalid(
                    "SecurityGroupEthertypeConflictWithProtocol",
                    format!("Invalid ethertype {ethertype} for protocol {p}."),
                )
                .into());
            }
        }
    }
    let remote_group_id = optional_id(input, "remote_group_id");
    let remote_address_group_id = optional_id(input, "remote_address_group_id");
    let remotes = [
        prefix.is_some(),
        remote_group_id.is_some(),
        remote_address_group_id.is_some(),
    ];
    if remotes.iter().filter(|r| **r).count() > 1 {
        return Err(invalid(
            "SecurityGroupMultipleRemoteEntites",
            "Only remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.",
        )
        .into());
    }
    let (remote_ip_prefix, normalized_cidr) = match prefix {
        Some((_, given, network)) => (Some(given), Some(network)),
        None => (None, None),
    };
    Ok(RuleSpec {
        direction: direction.as_str().unwrap_or_default().to_string(),
        ethertype,
        protocol,
        port_range_min,
        port_range_max,
        remote_ip_prefix,
        normalized_cidr,
        remote_group_id,
        remote_address_group_id,
    })
}

/// neutron's `_validate_port_range`.
fn validate_port_range(protocol: Option<&str>, min: Option<i64>, max: Option<i64>) -> Result<()> {
    if min.is_none() && max.is_none() {
        return Ok(());
    }
    let Some(protocol) = protocol else {
        return Err(invalid(
            "SecurityGroupProtocolRequiredWithPorts",
            "Must also specify protocol if port range is given.",
        )
        .into());
    };
    let number = protocol_number(protocol).unwrap_or(255);
    if PORT_PROTOCOLS.contains(&number) {
        if min == Some(0) || max == Some(0) {
            return Err(
                invalid("SecurityGroupInvalidPortValue", "Invalid value for port 0").into(),
            );
        }
        match (min, max) {
            (Some(a), Some(b)) if a <= b => Ok(()),
            _ => Err(invalid(
                "SecurityGroupInvalidPortRange",
                "For TCP/UDP protocols, port_range_min must be <= port_range_max",
            )
            .into()),
        }
    } else if number == 1 || number == 58 {
        for (value, field, attr) in [
            (min, "type", "port_range_min"),
            (max, "code", "port_range_max"),
        ] {
            if let Some(v) = value {
                if !(0..=255).contains(&v) {
                    return Err(invalid(
                        "SecurityGroupInvalidIcmpValue",
                        format!(
                            "Invalid value for ICMP {field} ({attr}) {v}. It must be 0 to 255."
                        ),
                    )
                    .into());
                }
            }
        }
        if let (None, Some(code)) = (min, max) {
            return Err(invalid(
                "SecurityGroupMissingIcmpType",
                format!("ICMP code (port-range-max) {code} is provided but ICMP type (port-range-min) is missing."),
            )
            .into());
        }
        Ok(())
    } else {
        Err(invalid(
            "SecurityGroupInvalidProtocolForPort",
            format!("Invalid protocol {number} for port range, only supported for TCP, UDP, UDPLITE, SCTP, DCCP protocols."),
        )
        .into())
    }
}

/// What makes two rules the same (neutron's `_rule_to_key`): protocols compared by
/// number, and a prefix of everything the same as none.
fn rule_key(rule: &Value) -> Vec<String> {
    let field = |k: &str| match &rule[k] {
        Value::Null => "+".to_string(),
        v => shown(v),
    };
    let protocol = match rule["protocol"].as_str() {
        None => "+".to_string(),
        Some(p) => {
            let p = if rule["ethertype"] == "IPv6" && matches!(p, "icmp" | "icmpv6" | "1") {
                "ipv6-icmp"
            } else {
                p
            };
            protocol_number(p).map_or_else(|| p.to_string(), |n| n.to_string())
        }
    };
    let prefix = match rule["remote_ip_prefix"].as_str() {
        None | Some("0.0.0.0/0" | "::/0") => "+".to_string(),
        Some(p) => p.to_string(),
    };
    vec![
        field("direction"),
        field("ethertype"),
        field("port_range_max"),
        field("port_range_min"),
        protocol,
        field("remote_group_id"),
        field("remote_address_group_id"),
        prefix,
        field("security_group_id"),
    ]
}

/// 409 if the group already has a rule like `rule`.
pub fn check_duplicate(group: &Value, rule: &Value) -> Result<()> {
    let key = rule_key(rule);
    if let Some(existing) = group["security_group_rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| rule_key(r) == key)
    {
        return Err(conflict(
            "SecurityGroupRuleExists",
            format!(
                "Security group rule already exists. Rule id is {}.",
                existing["id"].as_str().unwrap_or_default()
            ),
        )
        .into());
    }
    Ok(())
}

/// A group the caller may use, or Neutron's 404.
fn group_for(c: &dyn Tx, ctx: &Ctx, id: &str) -> Result<Value> {
    match store::fetch(c, "security_group", id)? {
        Some(g) if SecurityGroup::visible(ctx, &g) => Ok(g),
        _ => Err(group_not_found(id).into()),
    }
}

impl Kind for SecurityGroupRule {
    const SINGULAR: &'static str = "security_group_rule";
    const COLLECTION: &'static str = "security_group_rules";
    const NAME: &'static str = "Security group rule";
    const MUTABLE: &'static [&'static str] = &[];

    fn create(_net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        new_rule(c, ctx, input)
    }

    fn delete(_net: &Net, c: &dyn Tx, _ctx: &Ctx, doc: &Value) -> Result<()> {
        store::remove(
            c,
            "security_group_rule",
            doc["id"].as_str().unwrap_or_default(),
        )?;
        detach_rule(c, doc)
    }
}

fn new_rule(c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
    let spec = rule_spec(&input)?;
    text(&input, "description", 255)?;
    let gid = shown(&input["security_group_id"]);
    if let Some(remote) = &spec.remote_group_id {
        group_for(c, ctx, remote)?;
    }
    if let Some(ag) = &spec.remote_address_group_id {
        return Err(
            Fault::not_found(format!("Address group {ag} could not be found."))
                .kind("AddressGroupNotFound")
                .into(),
        );
    }
    let mut group = group_for(c, ctx, &gid)?;
    let mut doc = store::common(ctx, &input)?;
    // A rule belongs to its group's project unless an admin says otherwise, so the
    // group's owner sees every rule of it.
    if !input.contains_key("project_id") && !input.contains_key("tenant_id") {
        doc.insert("project_id".into(), group["project_id"].clone());
        doc.insert("tenant_id".into(), group["project_id"].clone());
    }
    doc.remove("name");
    doc.remove("tags");
    let project = doc["project_id"].as_str().unwrap_or_default().to_string();
    quotas::enforce_for(c, &project, "security_group_rule", 1)?;
    for (k, v) in [
        ("security_group_id", json!(gid)),
        ("ethertype", json!(spec.ethertype)),
        ("direction", json!(spec.direction)),
        ("protocol", json!(spec.protocol)),
        ("port_range_min", json!(spec.port_range_min)),
        ("port_range_max", json!(spec.port_range_max)),
        ("remote_ip_prefix", json!(spec.remote_ip_prefix)),
        ("remote_group_id", json!(spec.remote_group_id)),
        (
            "remote_address_group_id",
            json!(spec.remote_address_group_id),
        ),
        ("normalized_cidr", json!(spec.normalized_cidr)),
        ("belongs_to_default_sg", json!(group["name"] == DEFAULT)),
    ] {
        doc.insert(k.into(), v);
    }
    let doc = Value::Object(doc);
    check_duplicate(&group, &doc)?;
    store::insert(c, "security_group_rule", &doc)?;
    if let Some(list) = group["security_group_rules"].as_array_mut() {
        list.push(doc.clone());
    }
    store::save(c, "security_group", &mut group)?;
    Ok(doc)
}

// ---------------------------------------------------------------------------- handlers

/// Listing groups or rules makes the project's default group first, as Neutron does (for
/// the project a `project_id` filter names, when an admin gives one).
fn ensure_for_listing(svc: &Svc, req: &Request) -> std::result::Result<(), Fault> {
    let ctx = Ctx::of(req)?;
    let project = req
        .query_param("project_id")
        .or_else(|| req.query_param("tenant_id"))
        .filter(|_| ctx.admin)
        .unwrap_or(ctx.project_id.as_str())
        .to_string();
    if project.is_empty() {
        return Ok(());
    }
    svc.write(|c| ensure_default(c, &project).map(|_| ()))
}

fn list_groups(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    ensure_for_listing(svc, req)?;
    api::list::<SecurityGroup>(svc, req, resp)
}

fn create_group(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    api::create::<SecurityGroup>(svc, req, resp)
}

fn list_rules(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    ensure_for_listing(svc, req)?;
    api::list::<SecurityGroupRule>(svc, req, resp)
}

fn create_rule(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    api::create::<SecurityGroupRule>(svc, req, resp)
}

fn show_rule(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    api::show::<SecurityGroupRule>(svc, req, resp)
}

fn delete_rule(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    api::delete::<SecurityGroupRule>(svc, req, resp)
}

endpoint!(Svc; Groups { on_get => list_groups, on_post => create_group });
endpoint!(Svc; Rules { on_get => list_rules, on_post => create_rule });
endpoint!(Svc; RuleItem { on_get => show_rule, on_delete => delete_rule });

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    // The items are the framework's; the collections add the default group first.
    api::serve::<SecurityGroup>(disp, svc, "v2_security_groups", "v2_security_group")?;
    routes! {
        disp, svc;
        "v2_security_groups" => Groups,
        "v2_security_group_rules" => Rules,
        "v2_security_group_rule" => RuleItem,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn fault_of(r: Result<impl std::fmt::Debug>) -> Fault {
        match r {
            Err(crate::network::Error::Fault(f)) => f,
            other => panic!("expected a fault, got {other:?}"),
        }
    }

    fn rule(extra: Value) -> Map<String, Value> {
        let mut m = body(json!({"security_group_id": "g", "direction": "ingress"}));
        m.extend(body(extra));
        m
    }

    #[test]
    fn protocols_are_names_or_numbers() {
        let s = rule_spec(&rule(json!({"protocol": "TCP"}))).unwrap();
        assert_eq!(s.protocol.as_deref(), Some("tcp"));
        let s = rule_spec(&rule(json!({"protocol": 17}))).unwrap();
        assert_eq!(s.protocol.as_deref(), Some("17"));
        let s = rule_spec(&rule(json!({"protocol": "any"}))).unwrap();
        assert_eq!(s.protocol, None);
        let f = fault_of(rule_spec(&rule(json!({"protocol": "bad_protocol_name"}))));
        assert_eq!(f.status, 400);
        let f = fault_of(rule_spec(&rule(json!({"protocol": 256}))));
        assert_eq!(f.status, 400);
        // IPv6 ICMP under its old names becomes ipv6-icmp.
        let s = rule_spec(&rule(json!({"protocol": "icmp", "ethertype": "ipv6"}))).unwrap();
        assert_eq!(s.protocol.as_deref(), Some("ipv6-icmp"));
        assert_eq!(s.ethertype, "IPv6");
        let f = fault_of(rule_spec(&rule(json!({"protocol": "ipv6-icmp"}))));
        assert!(
            f.message.contains("Invalid ethertype IPv4"),
            "{}",
            f.message
        );
    }

    #[test]
    fn port_ranges_follow_neutron() {
        for (min, max, msg) in [
            (json!(-16), json!(80), "Invalid value for port -16"),
            (
                json!(80),
                json!(79),
                "port_range_min must be <= port_range_max",
            ),
            (json!(80), json!(65536), "Invalid value for port 65536"),
            (
                Value::Null,
                json!(6),
                "port_range_min must be <= port_range_max",
            ),
        ] {
            let f = fault_of(rule_spec(&rule(
                json!({"protocol": "tcp", "port_range_min": min, "port_range_max": max}),
            )));
            assert_eq!(f.status, 400);
            assert!(f.message.contains(msg), "{} / {msg}", f.message);
        }
        for (min, max, msg) in [
            (json!(1), json!(256), "Invalid value for ICMP code"),
            (json!(-1), json!(25), "Invalid value"),
            (
                Value::Null,
                json!(6),
                "ICMP type (port-range-min) is missing",
            ),
            (json!(300), json!(1), "Invalid value for ICMP type"),
        ] {
            let f = fault_of(rule_spec(&rule(
                json!({"protocol": "icmp", "port_range_min": min, "port_range_max": max}),
            )));
            assert!(f.message.contains(msg), "{} / {msg}", f.message);
        }
        let s = rule_spec(&rule(
            json!({"protocol": "icmp", "port_range_min": 11, "port_range_max": null}),
        ))
        .unwrap();
        assert_eq!((s.port_range_min, s.port_range_max), (Some(11), None));
        let f = fault_of(rule_spec(&rule(
            json!({"port_range_min": 22, "port_range_max": 22}),
        )));
        assert!(f.message.contains("Must also specify protocol"));
        let f = fault_of(rule_spec(&rule(
            json!({"protocol": "gre", "port_range_min": 22, "port_range_max": 22}),
        )));
        assert!(f.message.contains("Invalid protocol 47 for port range"));
    }

    #[test]
    fn prefixes_are_checked_against_the_ethertype() {
        for p in ["192.168.1./24", "192.168.1.1/33", "bad_prefix", "256"] {
            let f = fault_of(rule_spec(&rule(json!({"remote_ip_prefix": p}))));
            assert_eq!(f.status, 400, "{p}");
        }
        let s = rule_spec(&rule(json!({"remote_ip_prefix": "10.1.2.3/16"}))).unwrap();
        assert_eq!(s.remote_ip_prefix.as_deref(), Some("10.1.2.3/16"));
        assert_eq!(s.normalized_cidr.as_deref(), Some("10.1.0.0/16"));
        let s = rule_spec(&rule(json!({"remote_ip_prefix": "10.1.2.3"}))).unwrap();
        assert_eq!(s.remote_ip_prefix.as_deref(), Some("10.1.2.3/32"));
        let f = fault_of(rule_spec(&rule(
            json!({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}),
        )));
        assert!(f.message.contains("Conflicting value ethertype"));
        let f = fault_of(rule_spec(&rule(
            json!({"remote_ip_prefix": "2001:db8::/64"}),
        )));
        assert!(f.message.contains("Conflicting value ethertype"));
        let f = fault_of(rule_spec(&rule(
            json!({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "x"}),
        )));
        assert_eq!(f.status, 400);
        let f = fault_of(rule_spec(&rule(json!({"ethertype": "bad_ethertype"}))));
        assert_eq!(f.status, 400);
        let f = fault_of(rule_spec(&body(json!({"security_group_id": "g"}))));
        assert!(f.message.contains("'direction'"));
    }

    fn ctx(project: &str) -> Ctx {
        Ctx {
            caller: AuthContext {
                user_id: "u".into(),
                project_id: Some(project.into()),
                roles: vec!["member".into()],
                ..Default::default()
            },
            project_id: project.into(),
            admin: false,
        }
    }

    #[test]
    fn default_group_has_four_rules_and_is_made_once() {
        let store = Store::memory();
        store
            .write(|c| {
                let a = ensure_default(c, "p1")?;
                let b = ensure_default(c, "p1")?;
                assert_eq!(a, b);
                let g = store::fetch(c, "security_group", &a)?.unwrap();
                let rules = g["security_group_rules"].as_array().unwrap();
                assert_eq!(rules.len(), 4);
                assert_eq!(
                    rules
                        .iter()
                        .filter(|r| r["remote_group_id"] == json!(a))
                        .count(),
                    2
                );
                assert_eq!(store::count(c, "security_group_rule", "p1")?, 4);
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }

    #[test]
    fn duplicate_rules_are_refused() {
        let store = Store::memory();
        store
            .write(|c| {
                let gid = ensure_default(c, "p1")?;
                let group = store::fetch(c, "security_group", &gid)?.unwrap();
                // The default group's egress rule, again (0.0.0.0/0 is the same as none).
                let again = json!({
                    "security_group_id": gid, "direction": "egress", "ethertype": "IPv4",
                    "protocol": null, "port_range_min": null, "port_range_max": null,
                    "remote_ip_prefix": "0.0.0.0/0", "remote_group_id": null,
                    "remote_address_group_id": null,
                });
                let f = fault_of(check_duplicate(&group, &again));
                assert_eq!(f.status, 409);
                assert!(f
                    .message
                    .starts_with("Security group rule already exists. Rule id is "));
                let other = json!({
                    "security_group_id": gid, "direction": "ingress", "ethertype": "IPv4",
                    "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
                    "remote_ip_prefix": null, "remote_group_id": null,
                });
                check_duplicate(&group, &other)?;
                // tcp and 6 are one protocol.
                let mut group = group;
                group["security_group_rules"]
                    .as_array_mut()
                    .unwrap()
                    .push(other);
                let by_number = json!({
                    "security_group_id": gid, "direction": "ingress", "ethertype": "IPv4",
                    "protocol": "6", "port_range_min": 22, "port_range_max": 22,
                    "remote_ip_prefix": null, "remote_group_id": null,
                });
                assert_eq!(fault_of(check_duplicate(&group, &by_number)).status, 409);
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }

    #[test]
    fn rules_are_created_into_their_group_and_the_default_one_stays() {
        let store = Store::memory();
        let ctx = ctx("p1");
        store
            .write(|c| {
                let g = new_group(c, &ctx, body(json!({"name": "web"})))?;
                let gid = g["id"].as_str().unwrap().to_string();
                assert_eq!(g["security_group_rules"].as_array().unwrap().len(), 2);
                assert!(default_id(c, "p1")?.is_some());
                let r = new_rule(
                    c,
                    &ctx,
                    rule(json!({"security_group_id": gid, "protocol": "tcp",
                                "port_range_min": 80, "port_range_max": 80})),
                )?;
                let g = store::fetch(c, "security_group", &gid)?.unwrap();
                assert_eq!(g["security_group_rules"].as_array().unwrap().len(), 3);
                assert_eq!(g["revision_number"], json!(1));
                let f = fault_of(new_rule(
                    c,
                    &ctx,
                    rule(json!({"security_group_id": gid, "protocol": "6",
                                "port_range_min": 80, "port_range_max": 80})),
                ));
                assert!(f.message.contains(r["id"].as_str().unwrap()));
                let f = fault_of(new_rule(
                    c,
                    &ctx,
                    rule(json!({"security_group_id": gid, "remote_group_id": "nope"})),
                ));
                assert_eq!(f.status, 404);
                let f = fault_of(new_group(c, &ctx, body(json!({"name": "default"}))));
                assert_eq!(f.status, 409);
                let dflt =
                    store::fetch(c, "security_group", &default_id(c, "p1")?.unwrap())?.unwrap();
                let f = fault_of(remove_group(c, &ctx, &dflt));
                assert_eq!(f.status, 409);
                remove_group(c, &ctx, &g)?;
                assert_eq!(store::count(c, "security_group_rule", "p1")?, 4);
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }
}
