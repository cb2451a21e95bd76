//! The servers API: create, list, show, update, delete, and the resources under a server
//! (metadata, ips, tags, instance actions). Actions are in `actions.rs`.

use std::sync::Arc;

use base64::Engine;
use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::actions;
use super::model::{self, power, Move, Server};
use super::networking::{self, Networks, Requested};
use super::repo::{ServerQuery, SortKey};
use super::views::{self, Ctx, Shape};
use crate::compute::{
    body, flavors, param, quotas, reply, reply_empty, scheduler, server_groups, volume_attachments,
    Call, Compute, Urls, ZONE,
};
use crate::store::Tx;
use crate::time::now_ms;

pub type Svc = Arc<Compute>;

endpoint!(Svc; Servers { on_get => list, on_post => create });
endpoint!(Svc; ServersDetail { on_get => list_detail });
endpoint!(Svc; ServerItem { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; ServerAction { on_post => actions::act });
endpoint!(Svc; Metadata { on_get => list_metadata, on_post => merge_metadata, on_put => replace_metadata });
endpoint!(Svc; MetadataItem { on_get => show_meta, on_put => set_meta, on_delete => delete_meta });
endpoint!(Svc; Ips { on_get => list_ips });
endpoint!(Svc; IpsNetwork { on_get => show_ips });
endpoint!(Svc; Tags { on_get => list_tags, on_put => replace_tags, on_delete => delete_tags });
endpoint!(Svc; Tag { on_get => check_tag, on_put => add_tag, on_delete => delete_tag });
endpoint!(Svc; InstanceActions { on_get => list_actions });
endpoint!(Svc; InstanceAction { on_get => show_action });
endpoint!(Svc; ServerPassword { on_get => show_password, on_delete => clear_password });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_servers" => Servers,
        "v2_servers_detail" => ServersDetail,
        "v2_server" => ServerItem,
        "v2_server_action" => ServerAction,
        "v2_server_metadata" => Metadata,
        "v2_server_metadata_key" => MetadataItem,
        "v2_server_ips" => Ips,
        "v2_server_ips_network" => IpsNetwork,
        "v2_server_tags" => Tags,
        "v2_server_tag" => Tag,
        "v2_os_instance_actions" => InstanceActions,
        "v2_os_instance_action" => InstanceAction,
        "v2_server_os_server_password" => ServerPassword,
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers

/// The server named by the path that the caller may see (404 otherwise).
pub fn target(call: &Call, req: &Request, c: &dyn Tx) -> crate::compute::Result<Server> {
    let id = param(req, "server_id").or_else(|_| param(req, "instance_id"))?;
    Ok(model::visible(c, id, &call.project_id, call.is_admin())?)
}

/// A server's id from the path, for messages before the store is read.
pub fn server_param(req: &Request) -> Result<&str, Fault> {
    param(req, "server_id").or_else(|_| param(req, "instance_id"))
}

fn object<'a>(v: &'a Value, key: &str) -> Result<&'a Map<String, Value>, Fault> {
    v.get(key).and_then(Value::as_object).ok_or_else(|| {
        Fault::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {}. {} is not of type 'object'",
            v.get(key).unwrap_or(&Value::Null),
            v.get(key).unwrap_or(&Value::Null)
        ))
    })
}

/// Nova's message for a body that breaks its schema.
pub fn invalid(field: &str, value: &Value, why: &str) -> Fault {
    Fault::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {}. {why}",
        match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    ))
}

fn unexpected(keys: &[&String]) -> Fault {
    let names: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
    Fault::bad_request(format!(
        "Additional properties are not allowed ({} {} unexpected)",
        names.join(", "),
        if names.len() == 1 { "was" } else { "were" }
    ))
}

/// An access address (`accessIPv4`, `accessIPv6`): empty or null clears it; an address is
/// kept in its canonical form, as Nova's netaddr writes it back.
pub fn access_ip(key: &str, v: &Value) -> Result<String, Fault> {
    let v4 = key == "accessIPv4";
    match v {
        Value::Null => Ok(String::new()),
        Value::String(a) if a.is_empty() => Ok(String::new()),
        Value::String(a) => {
            let canonical = if v4 {
                a.parse::<std::net::Ipv4Addr>()
                    .map(|ip| ip.to_string())
                    .ok()
            } else {
                a.parse::<std::net::Ipv6Addr>()
                    .map(|ip| ip.to_string())
                    .ok()
            };
            canonical.ok_or_else(|| {
                invalid(
                    key,
                    v,
                    &format!("'{a}' is not a '{}'", if v4 { "ipv4" } else { "ipv6" }),
                )
            })
        }
        other => Err(invalid(
            key,
            other,
            &format!("{other} is not of type 'string'"),
        )),
    }
}

/// Nova's server names: 1–255 characters, no leading or trailing whitespace.
pub fn check_name(field: &str, v: &Value) -> Result<String, Fault> {
    let Some(s) = v.as_str() else {
        return Err(invalid(field, v, &format!("{v} is not of type 'string'")));
    };
    if s.is_empty() {
        return Err(invalid(field, v, "'' is too short"));
    }
    if s.chars().count() > 255 {
        return Err(invalid(field, v, &format!("'{s}' is too long")));
    }
    if s.trim() != s || s.chars().any(|c| c.is_control()) {
        return Err(invalid(field, v, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."));
    }
    Ok(s.to_string())
}

/// Metadata as Nova accepts it: string keys of 1–255, string values up to 255.
pub fn check_metadata(v: &Value) -> Result<Map<String, Value>, Fault> {
    let Some(m) = v.as_object() else {
        return Err(invalid(
            "metadata",
            v,
            &format!("{v} is not of type 'object'"),
        ));
    };
    for (k, val) in m {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(invalid(
                "metadata",
                v,
                &format!("'{k}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{{1,255}}$'"),
            ));
        }
        match val.as_str() {
            Some(s) if s.chars().count() <= 255 => {}
            Some(s) => return Err(invalid("metadata", v, &format!("'{s}' is too long"))),
            None => {
                return Err(invalid(
                    "metadata",
                    v,
                    &format!("{val} is not of type 'string'"),
                ))
            }
        }
    }
    Ok(m.clone())
}

/// Nova's limit on metadata items (403, as its metadata quota).
pub fn check_metadata_quota(
    c: &dyn Tx,
    call: &Call,
    m: &Map<String, Value>,
) -> crate::compute::Result<()> {
    let limit = quotas::limit(c, &call.project_id, &call.caller.user_id, "metadata_items")?;
    if limit >= 0 && m.len() as i64 > limit {
        return Err(Fault::forbidden(format!("Quota exceeded for metadata_items: Requested {}, but already used 0 of {limit} metadata_items", m.len())).kind("forbidden").into());
    }
    Ok(())
}

/// A hostname from a display name, as Nova sanitizes it.
pub fn hostname_from(name: &str) -> String {
    let mut h: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    h = h.trim_matches(|c| c == '-' || c == '.').to_string();
    h.truncate(63);
    if h.is_empty() {
        "server".into()
    } else {
        h
    }
}

/// Nova's generated passwords: 12 characters without look-alikes.
pub fn generate_password() -> String {
    const CHARS: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut raw = [0u8; 12];
    getrandom::getrandom(&mut raw).unwrap_or_default();
    raw.iter()
        .map(|b| CHARS[*b as usize % CHARS.len()] as char)
        .collect()
}

fn uuid_like(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// An image reference: an id, or a URL ending in one.
pub fn image_ref(v: &Value) -> Result<String, Fault> {
    let s = v
        .as_str()
        .ok_or_else(|| invalid("imageRef", v, &format!("{v} is not of type 'string'")))?;
    let id = s.rsplit('/').next().unwrap_or(s);
    if !uuid_like(id) {
        return Err(Fault::bad_request("Invalid imageRef provided."));
    }
    Ok(id.to_string())
}

/// The image a server boots from, checked as Nova checks it against the flavor.
pub fn boot_image(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    id: &str,
    flavor: &flavors::Flavor,
) -> crate::compute::Result<crate::image::model::Image> {
    let image = svc
        .images
        .bootable(c, id, &call.project_id, call.is_admin())
        .map_err(|e| match e {
            crate::image::model::Error::Store(s) => crate::compute::Error::Store(s),
            _ => Fault::bad_request("Can not find requested image").into(),
        })?
        .ok_or_else(|| Fault::bad_request("Can not find requested image"))?;
    if image.status != "active" {
        return Err(Fault::bad_request(format!("Image {id} is not active.")).into());
    }
    if flavor.ram < image.min_ram {
        return Err(Fault::bad_request("Flavor's memory is too small for requested image.").into());
    }
    if flavor.disk > 0 {
        if flavor.disk < image.min_disk {
            return Err(
                Fault::bad_request("Flavor's disk is too small for requested image.").into(),
            );
        }
        if image.size.unwrap_or(0) > flavor.disk << 30 {
            return Err(Fault::bad_request(format!(
                "Flavor's disk is too small for requested image. Flavor disk is {} bytes, image is {} bytes.",
                flavor.disk << 30,
                image.size.unwrap_or(0)
            ))
            .into());
        }
    }
    Ok(image)
}

/// The names of a server's security groups, as its ports last said (`networking`).
pub fn security_groups(s: &Server) -> Vec<String> {
    s.extra
        .get("security_groups")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- create

/// What a create body asks for, checked.
struct Order {
    name: String,
    image_id: Option<String>,
    flavor_ref: String,
    admin_pass: Option<String>,
    metadata: Map<String, Value>,
    networks: Networks,
    access_ipv4: String,
    access_ipv6: String,
    key_name: Option<String>,
    user_data: Option<String>,
    availability_zone: Option<String>,
    min_count: i64,
    max_count: i64,
    return_reservation_id: bool,
    config_drive: bool,
    disk_config: String,
    description: Option<String>,
    tags: Vec<String>,
    security_groups: Vec<String>,
    trusted_certs: Option<Value>,
    hostname: Option<String>,
    /// `host` or `hypervisor_hostname` (2.74): a destination of the admin's choosing.
    requested_destination: bool,
    group: Option<String>,
    /// `block_device_mapping_v2` (or the legacy form).
    block_devices: Vec<volume_attachments::BlockDevice>,
}

const CREATE_KEYS: &[&str] = &[
    "name",
    "imageRef",
    "flavorRef",
    "adminPass",
    "metadata",
    "networks",
    "OS-DCF:diskConfig",
    "accessIPv4",
    "accessIPv6",
    "personality",
    "key_name",
    "user_data",
    "availability_zone",
    "block_device_mapping",
    "block_device_mapping_v2",
    "min_count",
    "max_count",
    "return_reservation_id",
    "security_groups",
    "config_drive",
    "description",
    "tags",
    "trusted_image_certificates",
    "host",
    "hypervisor_hostname",
    "hostname",
];

fn count(s: &Map<String, Value>, key: &str) -> Result<Option<i64>, Fault> {
    match s.get(key) {
        None => Ok(None),
        Some(v) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| {
                    invalid(key, v, &format!("{v} is not of type 'integer', 'string'"))
                })?;
            if n < 1 {
                return Err(invalid(
                    key,
                    v,
                    &format!("{n} is less than the minimum of 1"),
                ));
            }
            Ok(Some(n))
        }
    }
}

fn parse_order(call: &Call, b: &Value) -> Result<Order, Fault> {
    let s = object(b, "server")?;
    let v = call.version;
    let extra: Vec<&String> = s
        .keys()
        .filter(|k| !CREATE_KEYS.contains(&k.as_str()))
        .collect();
    if !extra.is_empty() {
        return Err(unexpected(&extra));
    }
    let gated = [
        ("description", 19),
        ("tags", 52),
        ("trusted_image_certificates", 63),
        ("host", 74),
        ("hypervisor_hostname", 74),
        ("hostname", 90),
    ];
    for (key, min) in gated {
        if s.contains_key(key) && !v.at_least(min) {
            return Err(unexpected(&[&key.to_string()]));
        }
    }
    if s.contains_key("personality") && v.at_least(57) {
        return Err(unexpected(&[&"personality".to_string()]));
    }
    let name = check_name("name", s.get("name").ok_or_else(|| Fault::bad_request("Invalid input for field/attribute server. Value: {}. 'name' is a required property"))?)?;
    let flavor_ref = match s.get("flavorRef") {
        Some(Value::String(f)) if !f.is_empty() => f.rsplit('/').next().unwrap_or(f).to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(invalid(
                "flavorRef",
                other,
                "is not a valid flavor reference",
            ))
        }
        None => {
            return Err(Fault::bad_request(
                "Invalid input for field/attribute server. 'flavorRef' is a required property",
            ))
        }
    };
    let block_devices = volume_attachments::parse_block_devices(v, s)?;
    let bdm_boot_volume = block_devices.iter().any(|d| d.is_boot_volume());
    // An image as the root disk through the mapping stands for imageRef.
    let bdm_image = block_devices.iter().find_map(|d| match &d.source {
        volume_attachments::Source::Image(id) if d.boot_index == Some(0) && !d.to_volume => {
            Some(id.clone())
        }
        _ => None,
    });
    let image_id = match s.get("imageRef") {
        Some(Value::String(r)) if r.is_empty() && bdm_boot_volume => None,
        Some(Value::String(r)) if r.is_empty() && bdm_image.is_some() => bdm_image,
        Some(r) => Some(image_ref(r)?),
        None if bdm_boot_volume => None,
        None if bdm_image.is_some() => bdm_image,
        None => return Err(Fault::bad_request("Missing imageRef attribute")),
    };
    let networks = match s.get("networks") {
        None if v.at_least(37) => {
            return Err(Fault::bad_request(
                "Invalid input for field/attribute server. 'networks' is a required property",
            ))
        }
        None => Networks::Default,
        Some(Value::String(a)) if a == "auto" && v.at_least(37) => Networks::Auto,
        Some(Value::String(n)) if n == "none" && v.at_least(37) => Networks::None,
        Some(Value::Array(list)) => {
            let mut wanted = Vec::new();
            for n in list {
                let Some(n) = n.as_object() else {
                    return Err(invalid(
                        "networks",
                        &Value::Array(list.clone()),
                        "is not of type 'object'",
                    ));
                };
                let uuid = n.get("uuid").and_then(Value::as_str).map(str::to_string);
                let port = n.get("port").and_then(Value::as_str).map(str::to_string);
                if uuid.is_none() && port.is_none() {
                    return Err(Fault::bad_request(
                        "Bad networks format: network uuid is not in proper format ()",
                    ));
                }
                if let Some(id) = uuid.as_deref().filter(|id| !uuid_like(id)) {
                    return Err(Fault::bad_request(format!(
                        "Bad networks format: network uuid is not in proper format ({id})"
                    )));
                }
                let fixed_ip = match n.get("fixed_ip") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(ip)) if ip.parse::<std::net::IpAddr>().is_ok() => {
                        Some(ip.clone())
                    }
                    Some(other) => {
                        return Err(invalid(
                            "fixed_ip",
                            other,
                            &format!("{other} is not a 'ip-address'"),
                        ))
                    }
                };
                wanted.push(Requested {
                    network_id: uuid,
                    port_id: port,
                    fixed_ip,
                });
            }
            Networks::List(wanted)
        }
        Some(other) => {
            return Err(invalid(
                "networks",
                other,
                "is not valid under any of the given schemas",
            ))
        }
    };
    let ip_field = |key: &str| {
        s.get(key)
            .map(|v| access_ip(key, v))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let user_data = match s.get("user_data") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) => {
            if base64::engine::general_purpose::STANDARD
                .decode(u.as_bytes())
                .is_err()
            {
                return Err(Fault::bad_request("User data needs to be valid base 64."));
            }
            if u.len() > 65535 {
                return Err(invalid("user_data", &json!("…"), "is too long"));
            }
            Some(u.clone())
        }
        Some(o) => return Err(invalid("user_data", o, "is not of type 'string'")),
    };
    let security_groups: Vec<String> = match s.get("security_groups") {
        None => vec![],
        Some(groups) => {
            let list = groups
                .as_array()
                .ok_or_else(|| invalid("security_groups", groups, "is not of type 'array'"))?;
            list.iter()
                .map(|g| {
                    g.get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| {
                            invalid("security_groups", groups, "'name' is a required property")
                        })
                })
                .collect::<Result<_, _>>()?
        }
    };
    let min_count = count(s, "min_count")?;
    let max_count = count(s, "max_count")?;
    let (min_count, max_count) = match (min_count, max_count) {
        (None, None) => (1, 1),
        (Some(m), None) => (m, m),
        (None, Some(m)) => (1, m),
        (Some(a), Some(b)) => (a, b),
    };
    if min_count > max_count {
        return Err(Fault::bad_request("min_count must be <= max_count"));
    }
    let description = match s.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) if d.chars().count() <= 255 => Some(d.clone()),
        Some(d) => return Err(invalid("description", d, "is too long")),
    };
    let tags: Vec<String> = match s.get("tags") {
        None => vec![],
        Some(t) => super::tags::check(t)?,
    };
    let disk_config = match s.get("OS-DCF:diskConfig").and_then(Value::as_str) {
        None => "MANUAL".to_string(),
        Some(d @ ("AUTO" | "MANUAL")) => d.to_string(),
        Some(d) => {
            return Err(invalid(
                "OS-DCF:diskConfig",
                &json!(d),
                &format!("'{d}' is not one of ['AUTO', 'MANUAL']"),
            ))
        }
    };
    let admin_pass = match s.get("adminPass") {
        None => None,
        Some(Value::String(p)) => Some(p.clone()),
        Some(o) => return Err(invalid("adminPass", o, "is not of type 'string'")),
    };
    let key_name = match s.get("key_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(o) => return Err(invalid("key_name", o, "is not of type 'string'")),
    };
    let hostname = match s.get("hostname") {
        None => None,
        Some(h) => {
            let Some(hs) = h.as_str().filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            }) else {
                return Err(invalid("hostname", h, "does not match '^[a-zA-Z0-9-._]*$'"));
            };
            Some(hs.to_string())
        }
    };
    Ok(Order {
        name,
        image_id,
        flavor_ref,
        admin_pass,
        metadata: match s.get("metadata") {
            None => Map::new(),
            Some(m) => check_metadata(m)?,
        },
        networks,
        access_ipv4: ip_field("accessIPv4")?,
        access_ipv6: ip_field("accessIPv6")?,
        key_name,
        user_data,
        availability_zone: s
            .get("availability_zone")
            .and_then(Value::as_str)
            .map(str::to_string),
        min_count,
        max_count,
        return_reservation_id: s
            .get("return_reservation_id")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        config_drive: s.get("config_drive").is_some_and(|v| {
            v.as_bool() == Some(true) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
        }),
        disk_config,
        description,
        tags,
        security_groups,
        trusted_certs: s
            .get("trusted_image_certificates")
            .filter(|v| !v.is_null())
            .cloned(),
        hostname,
        requested_destination: ["host", "hypervisor_hostname"].iter().any(|k| {
            s.get(*k)
                .is_some_and(|v| v.as_str() != Some("") && !v.is_null())
        }),
        group: b
            .get("os:scheduler_hints")
            .or_else(|| b.get("OS-SCH-HNT:scheduler_hints"))
            .and_then(|h| h.get("group"))
            .and_then(Value::as_str)
            .map(str::to_string),
        block_devices,
    })
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let order = parse_order(&call, &body(req)?)?;
    if let Some(az) = &order.availability_zone {
        // "nova", or Nova's admin forms "nova:host" / "nova::node".
        let mut parts = az.split(':');
        if parts.next() != Some(ZONE) {
            return Err(Fault::bad_request(
                "The requested availability zone is not available",
            ));
        }
        if parts.any(|p| !p.is_empty()) {
            call.admin("os_compute_api:servers:create:forced_host")?;
        }
    }
    if order.requested_destination {
        call.admin("compute:servers:create:requested_destination")?;
    }
    let urls = Urls::of(svc, req)?;
    let request_id = req.env("request_id").unwrap_or_default().to_string();
    let now = now_ms();
    let delay = svc.boot_delay_ms;
    let reservation_id = format!("r-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    // An image of a volume-backed server carries its volumes' snapshots: booting it makes
    // volumes from them, as Nova does.
    let mut block_devices = order.block_devices.clone();
    if let Some(id) = &order.image_id {
        if !block_devices.iter().any(|d| d.is_boot_volume()) {
            let mapped = svc.read(|c| volume_attachments::image_block_devices(c, id))?;
            block_devices.extend(mapped);
        }
    }
    let volume_backed = block_devices.iter().any(|d| d.is_boot_volume());
    if order.max_count > 1
        && block_devices
            .iter()
            .any(|d| matches!(d.source, volume_attachments::Source::Volume(_)) && d.to_volume)
    {
        return Err(Fault::bad_request(
            "Cannot attach one or more volumes to multiple instances",
        ));
    }
    // Volumes from images, snapshots or nothing are made first, each in block storage's
    // own transaction (their bytes take time); the server's transaction attaches them.
    let made = volume_attachments::make_volumes(svc, &call, &block_devices, order.max_count)?;
    let created = svc.write(|c| {
        let flavor = flavors::for_server(c, &order.flavor_ref, &call.project_id, call.is_admin())?;
        // A flavor without a disk boots only from a volume (servers:create:zero_disk_flavor).
        if flavor.disk == 0 && !volume_backed && !call.is_admin() {
            return Err(Fault::forbidden(
                "Only volume-backed servers are allowed for flavors with zero disk.",
            )
            .into());
        }
        let image = match &order.image_id {
            // A volume-backed server's root disk is its volume: the flavor's disk is moot.
            Some(id) if volume_backed => {
                let mut any_disk = flavor.clone();
                any_disk.disk = 0;
                Some(boot_image(svc, c, &call, id, &any_disk)?)
            }
            Some(id) => Some(boot_image(svc, c, &call, id, &flavor)?),
            None => None,
        };
        let key_data = match &order.key_name {
            None => None,
            Some(k) => Some(
                c.keypair(&call.caller.user_id, k)?
                    .ok_or_else(|| Fault::bad_request("Invalid key_name provided."))?
                    .public_key,
            ),
        };
        check_metadata_quota(c, &call, &order.metadata)?;
        // As many as the quota allows, at least min_count (Nova's rule for multi-create).
        let mut n = order.max_count;
        loop {
            let deltas = [
                ("instances", n),
                ("cores", n * flavor.vcpus),
                ("ram", n * flavor.ram),
            ];
            match quotas::enforce(c, &call.project_id, &call.caller.user_id, &deltas) {
                Ok(()) => break,
                Err(e) if n <= order.min_count => return Err(e),
                Err(_) => n -= 1,
            }
        }
        let admin_pass = order.admin_pass.clone().unwrap_or_else(generate_password);
        // The scheduler claims every server's resources on the host first, all or none: a
        // request the host cannot hold makes servers that go straight to ERROR with Nova's
        // NoValidHost, and nothing of them is built (no ports, volumes nor group).
        let wanted = scheduler::resources(&flavor.snapshot(), volume_backed);
        let planned: Vec<(String, _)> = (0..n)
            .map(|_| (uuid::Uuid::new_v4().to_string(), wanted.clone()))
            .collect();
        let placed = scheduler::claim(
            c,
            &svc.host,
            &planned,
            (&call.project_id, &call.caller.user_id),
        )?;
        let mut ids = Vec::new();
        for (i, (id, _)) in (0..n).zip(planned) {
            let name = if n > 1 {
                format!("{}-{}", order.name, i + 1)
            } else {
                order.name.clone()
            };
            let server = Server {
                id: id.clone(),
                project_id: call.project_id.clone(),
                user_id: call.caller.user_id.clone(),
                hostname: match &order.hostname {
                    Some(h) if n == 1 => h.clone(),
                    _ => hostname_from(&name),
                },
                name,
                vm_state: "building".into(),
                task_state: Some("scheduling".into()),
                power_state: power::NOSTATE,
                image_id: image.as_ref().map(|i| i.id.clone()),
                flavor: flavor.snapshot(),
                old_flavor: None,
                key_name: order.key_name.clone(),
                key_data: key_data.clone(),
                metadata: order.metadata.clone(),
                tags: order.tags.clone(),
                addresses: json!({}),
                access_ipv4: order.access_ipv4.clone(),
                access_ipv6: order.access_ipv6.clone(),
                description: order.description.clone(),
                availability_zone: ZONE.into(),
                pinned_availability_zone: order
                    .availability_zone
                    .as_ref()
                    .map(|_| ZONE.to_string()),
                user_data: order.user_data.clone(),
                admin_pass: Some(admin_pass.clone()),
                reservation_id: reservation_id.clone(),
                launch_index: i,
                config_drive: if order.config_drive {
                    "True".into()
                } else {
                    String::new()
                },
                disk_config: order.disk_config.clone(),
                locked: false,
                locked_reason: None,
                locked_by: None,
                fault: None,
                trusted_image_certificates: order.trusted_certs.clone(),
                extra: Map::new(),
                created_ms: now,
                updated_ms: now,
                launched_ms: None,
                terminated_ms: None,
            };
            if !placed {
                let failed = Server {
                    vm_state: "error".into(),
                    task_state: None,
                    fault: Some(json!({
                        "code": 500,
                        "created": crate::time::iso_seconds(now / 1000),
                        "message": scheduler::NO_VALID_HOST,
                    })),
                    ..server
                };
                model::insert(c, &failed)?;
                // A new row has no fault: the update writes it.
                model::save(c, &failed, now)?;
                model::record_action(
                    c,
                    &model::ActionRecord {
                        server_id: &id,
                        action: "create",
                        request_id: &request_id,
                        user_id: &call.caller.user_id,
                        project_id: &call.project_id,
                        event: "conductor_schedule_and_build_instances",
                        host: &svc.host,
                        now_ms: now,
                        due_ms: now,
                    },
                )?;
                ids.push(id);
                continue;
            }
            model::insert(c, &server)?;
            if let Some(volumes) = made.get(i as usize) {
                volume_attachments::attach_block_devices(
                    svc,
                    c,
                    &call,
                    &server,
                    &block_devices,
                    volumes,
                )?;
            }
            let made = networking::attach(svc, c, &call, &id, &order.networks)?;
            if !order.security_groups.is_empty() {
                networking::set_security_groups(c, &call, &id, &order.security_groups)?;
            }
            c.set_ports_made(&id, &made)?;
            if let Some(group) = &order.group {
                server_groups::add_member(c, &call, group, &id)?;
            }
            model::begin(
                c,
                &id,
                &Move {
                    vm_state: "building",
                    task_state: Some("spawning"),
                    power_state: power::NOSTATE,
                    then_vm_state: "active",
                    then_power_state: power::RUNNING,
                },
                now,
                delay,
            )?;
            model::record_action(
                c,
                &model::ActionRecord {
                    server_id: &id,
                    action: "create",
                    request_id: &request_id,
                    user_id: &call.caller.user_id,
                    project_id: &call.project_id,
                    event: "compute__do_build_and_run_instance",
                    host: &svc.host,
                    now_ms: now,
                    due_ms: now + delay,
                },
            )?;
            ids.push(id);
        }
        Ok((ids, admin_pass, placed))
    });
    let (ids, admin_pass) = match created {
        Ok((ids, admin_pass, placed)) => {
            // Fewer servers than asked (the quota), or none built (no valid host): the
            // unused volumes go again.
            let used = if placed { ids.len() } else { 0 };
            volume_attachments::discard(svc, made.get(used..).unwrap_or_default());
            (ids, admin_pass)
        }
        Err(f) => {
            volume_attachments::discard(svc, &made);
            return Err(f);
        }
    };
    if order.return_reservation_id {
        return reply(resp, &call, 202, &json!({"reservation_id": reservation_id}));
    }
    let id = &ids[0];
    resp.set_header("Location", &format!("{}/servers/{id}", urls.versioned));
    reply(
        resp,
        &call,
        202,
        &json!({"server": {
            "id": id,
            "links": urls.links("servers", id),
            "OS-DCF:diskConfig": order.disk_config,
            "security_groups": [{"name": "default"}],
            "adminPass": admin_pass,
        }}),
    )
}

// ---------------------------------------------------------------- list

/// Filters Nova accepts on a server list (others are ignored before 2.75, refused after).
const FILTERS: &[&str] = &[
    "name",
    "status",
    "image",
    "flavor",
    "changes-since",
    "changes-before",
    "ip",
    "ip6",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
    "all_tenants",
    "project_id",
    "tenant_id",
    "user_id",
    "reservation_id",
    "key_name",
    "availability_zone",
    "locked",
    "deleted",
    "host",
    "node",
    "hostname",
    "description",
    "config_drive",
    "access_ip_v4",
    "access_ip_v6",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "launched_at",
    "terminated_at",
    "power_state",
    "task_state",
    "vm_state",
    "uuid",
    "progress",
    "created_at",
    "updated_at",
    "display_name",
    "display_description",
    "locked_by",
    "image_ref",
    "kernel_id",
    "ramdisk_id",
    "launch_index",
    "root_device_name",
    "instance_type_id",
    "soft_deleted",
    "pinned_availability_zone",
    "block_device_mapping",
    "services",
    "metadata",
    "system_metadata",
    "info_cache",
    "security_groups",
    "pci_devices",
    "flavor",
];

/// Filters only admins may use (before 2.83, when some opened to everyone).
const ADMIN_FILTERS: &[&str] = &[
    "all_tenants",
    "project_id",
    "tenant_id",
    "host",
    "node",
    "deleted",
    "user_id",
    "reservation_id",
    "launched_at",
    "terminated_at",
    "power_state",
    "task_state",
    "vm_state",
    "uuid",
    "progress",
    "hostname",
    "config_drive",
    "access_ip_v4",
    "access_ip_v6",
    "key_name",
    "availability_zone",
    "description",
    "locked_by",
    "kernel_id",
    "ramdisk_id",
    "launch_index",
    "root_device_name",
    "created_at",
    "updated_at",
    "display_description",
];

/// A time filter's value as unix ms (400 when it is not a time).
fn time_filter(name: &str, raw: &str) -> Result<i64, Fault> {
    let t = raw.trim();
    // ISO 8601 with an optional zone; a "+00:00" may arrive as " 00:00" from a bare '+'.
    let (main, offset_s) = match t.rfind(['+', ' ']).filter(|&i| i > 10) {
        Some(i) => {
            let (m, z) = t.split_at(i);
            let z = &z[1..];
            let sign = if t.as_bytes()[i] == b'-' { -1 } else { 1 };
            let (h, mi) = z.split_once(':').unwrap_or((z, "0"));
            (
                m,
                sign * (h.parse::<i64>().unwrap_or(0) * 3600 + mi.parse::<i64>().unwrap_or(0) * 60),
            )
        }
        None => match t.rfind('-').filter(|&i| i > 18) {
            Some(i) => {
                let (m, z) = t.split_at(i);
                let (h, mi) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
                (
                    m,
                    -(h.parse::<i64>().unwrap_or(0) * 3600 + mi.parse::<i64>().unwrap_or(0) * 60),
                )
            }
            None => (t, 0),
        },
    };
    let secs = crate::time::parse_iso(main).ok_or_else(|| {
        Fault::bad_request(format!(
            "Invalid filter field: {name}. Invalid {name} value"
        ))
    })?;
    let frac_ms = main
        .split_once('.')
        .map(|(_, f)| {
            let digits: String = f.chars().take_while(char::is_ascii_digit).take(3).collect();
            format!("{digits:0<3}").parse::<i64>().unwrap_or(0)
        })
        .unwrap_or(0);
    Ok((secs - offset_s) * 1000 + frac_ms)
}

fn truthy(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "1" | "true" | "t" | "yes" | "y" | "on"
    )
}

/// Whether a listing asks for every project's servers (`all_tenants`, bare or true).
fn asks_all_tenants(req: &Request) -> bool {
    req.query_param("all_tenants")
        .is_some_and(|v| v.is_empty() || truthy(v))
}

/// The servers a list request selects, in order, paged.
fn select(
    svc: &Compute,
    call: &Call,
    req: &Request,
    c: &dyn Tx,
) -> crate::compute::Result<(Vec<Server>, bool)> {
    let admin = call.is_admin();
    let q = |name: &str| req.query_param(name);
    if call.version.at_least(75) {
        if let Some(p) = req
            .query_params
            .iter()
            .find(|p| !FILTERS.contains(&p.name.as_str()))
        {
            return Err(Fault::bad_request(format!("Invalid input for query parameters {}. Value: {}. Additional properties are not allowed ('{}' was unexpected)", p.name, p.value, p.name)).into());
        }
    }
    // A non-admin's admin-only filters are dropped, as Nova drops them.
    let allowed = |name: &str| -> Option<&str> {
        let opened_in_283 = [
            "availability_zone",
            "config_drive",
            "key_name",
            "created_at",
            "launched_at",
            "terminated_at",
            "power_state",
            "task_state",
            "vm_state",
            "progress",
            "user_id",
        ];
        if admin
            || !ADMIN_FILTERS.contains(&name)
            || (call.version.at_least(83) && opened_in_283.contains(&name))
        {
            q(name)
        } else {
            None
        }
    };
    let mut query = ServerQuery::default();
    let all_tenants = admin && asks_all_tenants(req);
    let project = allowed("project_id").or_else(|| allowed("tenant_id"));
    // An admin's project filter counts only with all_tenants (Nova's v2 rule).
    if !(admin && all_tenants) || project.is_some() {
        let p = match project {
            Some(p) if admin && all_tenants => p,
            _ => &call.project_id,
        };
        query.project_id = Some(p.to_string());
    }
    let changes_since = allowed("changes-since")
        .map(|v| time_filter("changes-since", v))
        .transpose()?;
    let changes_before = allowed("changes-before")
        .map(|v| time_filter("changes-before", v))
        .transpose()?;
    if let (Some(a), Some(b)) = (changes_since, changes_before) {
        if a > b {
            return Err(Fault::bad_request(
                "The value of changes-since must be less than or equal to changes-before.",
            )
            .into());
        }
    }
    let deleted = allowed("deleted").map(truthy);
    query.deleted = match deleted {
        Some(true) => Some(true),
        _ if changes_since.is_some() || changes_before.is_some() => None,
        _ => Some(false),
    };
    query.changed_since = changes_since;
    query.changed_before = changes_before;
    if let Some(st) = q("status") {
        let states = super::states::vm_states_of(st);
        if states.is_empty() {
            // Nova answers an unknown status with an empty list (400 for admins' typos too
            // would break clients that probe).
            return Ok((vec![], false));
        }
        query.vm_states = Some(states.iter().map(|s| s.as_str()).collect());
    }
    if let Some(image) = q("image") {
        query.image_id = Some(image.rsplit('/').next().unwrap_or(image).to_string());
    }
    if let Some(flavor) = q("flavor") {
        query.flavor_id = Some(flavor.rsplit('/').next().unwrap_or(flavor).to_string());
    }
    query.reservation_id = allowed("reservation_id").map(str::to_string);
    query.key_name = allowed("key_name").map(str::to_string);
    query.availability_zone = allowed("availability_zone").map(str::to_string);
    query.user_id = allowed("user_id").map(str::to_string);
    if let Some(host) = allowed("host").or_else(|| allowed("node")) {
        if host != svc.host {
            return Ok((vec![], false));
        }
        query.on_host = true;
    }
    if call.version.at_least(73) {
        if let Some(l) = q("locked") {
            let on = match l.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "t" | "on" | "y" => true,
                "false" | "0" | "no" | "f" | "off" | "n" => false,
                _ => return Err(Fault::bad_request(format!("Unrecognized value '{l}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")).into()),
            };
            query.locked = Some(on);
        }
    }
    // Sorting: Nova's default is created_at desc; ids break ties.
    let keys: Vec<&str> = req.query_values("sort_key").collect();
    let dirs: Vec<&str> = req.query_values("sort_dir").collect();
    for (i, key) in keys.iter().enumerate() {
        let sort_key = SortKey::of(key).ok_or_else(|| {
            Fault::bad_request(format!(
                "Invalid input for query parameters sort_key. Value: {key}."
            ))
        })?;
        let dir = dirs.get(i).or(dirs.last()).copied().unwrap_or("desc");
        let dir = match dir {
            "asc" | "desc" => dir,
            other => return Err(Fault::bad_request(format!("Invalid input for query parameters sort_dir. Value: {other}. '{other}' is not one of ['asc', 'desc']")).into()),
        };
        query.sort.push((sort_key, dir == "asc"));
    }

    let limit = match q("limit") {
        None => 1000,
        Some(l) => {
            let n: i64 = l.parse().map_err(|_| Fault::bad_request(format!("Invalid input for query parameters limit. Value: {l}. '{l}' does not match '^[0-9]*$'")))?;
            if n < 0 {
                return Err(Fault::bad_request(format!("Invalid input for query parameters limit. Value: {l}. '{l}' does not match '^[0-9]*$'")).into());
            }
            n.min(1000) as usize
        }
    };
    let name_re = q("name")
        .map(|n| {
            regex::Regex::new(n).map_err(|_| {
                Fault::bad_request(format!(
                    "Invalid filter field: name. Invalid regular expression {n}"
                ))
            })
        })
        .transpose()?;
    let ip_re = [q("ip"), q("ip6")]
        .into_iter()
        .flatten()
        .map(|n| regex::Regex::new(&regex::escape(n).replace("\\*", ".*")))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Fault::bad_request("Invalid filter field: ip."))?;
    let tag_list = |name: &str| -> Vec<String> {
        q(name)
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (tags, tags_any, not_tags, not_tags_any) = (
        tag_list("tags"),
        tag_list("tags-any"),
        tag_list("not-tags"),
        tag_list("not-tags-any"),
    );
    let post_filter = name_re.is_some()
        || !ip_re.is_empty()
        || !tags.is_empty()
        || !tags_any.is_empty()
        || !not_tags.is_empty()
        || !not_tags_any.is_empty();
    let keep = |s: &Server| -> bool {
        name_re.as_ref().is_none_or(|re| re.is_match(&s.name))
            && (ip_re.is_empty()
                || ip_re.iter().any(|re| {
                    s.addresses
                        .as_object()
                        .into_iter()
                        .flat_map(|m| m.values())
                        .flat_map(|l| l.as_array().into_iter().flatten())
                        .any(|a| a["addr"].as_str().is_some_and(|ip| re.is_match(ip)))
                }))
            && tags.iter().all(|t| s.tags.contains(t))
            && (tags_any.is_empty() || tags_any.iter().any(|t| s.tags.contains(t)))
            && (not_tags.is_empty() || !not_tags.iter().all(|t| s.tags.contains(t)))
            && !not_tags_any.iter().any(|t| s.tags.contains(t))
    };
    let marker = q("marker");
    // The common case pages in the store by (created, id); the rest is sorted by the store
    // and paged here.
    let default_order = keys.is_empty() && !post_filter;
    if default_order {
        if let Some(m) = marker {
            let Some(at) = c.server_created_ms(m)? else {
                return Err(Fault::bad_request(format!("marker [{m}] not found")).into());
            };
            query.after = Some((at, m.to_string()));
        }
        query.limit = Some(limit + 1);
    }
    let mut rows = c.servers(&query)?;
    if !default_order {
        rows.retain(|s| keep(s));
        if let Some(m) = marker {
            let at = rows
                .iter()
                .position(|s| s.id == m)
                .ok_or_else(|| Fault::bad_request(format!("marker [{m}] not found")))?;
            rows.drain(..=at);
        }
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    // The next page is linked only when there is one (Nova links every full page).
    Ok((rows, more))
}

fn list_common(svc: &Svc, req: &mut Request, resp: &mut Response, detail: bool) -> HandlerResult {
    let call = Call::of(req)?;
    // Every project's servers are the admin's: Nova refuses, it does not ignore, the ask.
    if asks_all_tenants(req) {
        call.admin(if detail {
            "os_compute_api:servers:detail:get_all_tenants"
        } else {
            "os_compute_api:servers:index:get_all_tenants"
        })?;
    }
    let urls = Urls::of(svc, req)?;
    let (servers, more, mut attached) = svc.read(|c| {
        let (servers, more) = select(svc, &call, req, c)?;
        // One query for the whole page's volumes, not one per server.
        let attached = if detail {
            let ids: Vec<&str> = servers.iter().map(|s| s.id.as_str()).collect();
            volume_attachments::volumes_attached(c, &ids)?
        } else {
            Default::default()
        };
        Ok((servers, more, attached))
    })?;
    let ctx = Ctx {
        call: &call,
        urls: &urls,
        host: &svc.host,
    };
    let links = more.then(|| servers.last()).flatten().map(|last| {
        urls.next(
            req,
            if detail { "servers/detail" } else { "servers" },
            &last.id,
        )
    });
    if detail {
        // Serialized straight from the rows: building JSON values was most of a listing.
        let groups: Vec<Vec<String>> = servers.iter().map(security_groups).collect();
        let volumes: Vec<Vec<(String, bool)>> = servers
            .iter()
            .map(|s| attached.remove(&s.id).unwrap_or_default())
            .collect();
        let items: Vec<views::View> = servers
            .iter()
            .zip(&groups)
            .zip(&volumes)
            .map(|((s, g), vols)| views::server(&ctx, s, Shape::Detail, &[], g, vols))
            .collect();
        return reply_typed(
            resp,
            &call,
            &ServerPage {
                servers: items,
                servers_links: links,
            },
        );
    }
    let items: Vec<Value> = servers.iter().map(|s| views::brief(&ctx, s)).collect();
    let out = ServerPage {
        servers: items,
        servers_links: links,
    };
    reply_typed(resp, &call, &out)
}

#[derive(serde::Serialize)]
struct ServerPage<T> {
    servers: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    servers_links: Option<Value>,
}

/// Writes a typed body with the version headers.
fn reply_typed<T: serde::Serialize>(resp: &mut Response, call: &Call, body: &T) -> HandlerResult {
    resp.set_status(200);
    crate::compute::microversion::stamp(resp, call.version);
    resp.json(body);
    Ok(())
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list_common(svc, req, resp, false)
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list_common(svc, req, resp, true)
}

// ---------------------------------------------------------------- one server

/// The full body of one server, as GET shows it (also rebuild's answer from 2.75).
pub fn show_body(
    svc: &Compute,
    call: &Call,
    urls: &Urls,
    c: &dyn Tx,
    s: &Server,
    shape: Shape,
) -> crate::compute::Result<Value> {
    let groups = if call.version.at_least(71) && shape != Shape::Detail {
        c.groups_of_server(&s.id)?
    } else {
        vec![]
    };
    let ctx = Ctx {
        call,
        urls,
        host: &svc.host,
    };
    let security_groups = security_groups(s);
    let volumes = if shape == Shape::Basic {
        vec![]
    } else {
        volume_attachments::volumes_attached(c, &[&s.id])?
            .remove(&s.id)
            .unwrap_or_default()
    };
    Ok(serde_json::to_value(views::server(
        &ctx,
        s,
        shape,
        &groups,
        &security_groups,
        &volumes,
    ))
    .unwrap_or_default())
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let urls = Urls::of(svc, req)?;
    let body = svc.read(|c| {
        let s = target(&call, req, c)?;
        show_body(svc, &call, &urls, c, &s, Shape::Show)
    })?;
    reply(resp, &call, 200, &json!({"server": body}))
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let u = object(&b, "server")?;
    let mut allowed = vec!["name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"];
    if call.version.at_least(19) {
        allowed.push("description");
    }
    if call.version.at_least(90) {
        allowed.push("hostname");
    }
    let extra: Vec<&String> = u
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if !extra.is_empty() {
        return Err(unexpected(&extra));
    }
    let urls = Urls::of(svc, req)?;
    let body = svc.write(|c| {
        let mut s = target(&call, req, c)?;
        if let Some(n) = u.get("name") {
            s.name = check_name("name", n)?;
        }
        if let Some(v) = u.get("accessIPv4") {
            s.access_ipv4 = access_ip("accessIPv4", v)?;
        }
        if let Some(v) = u.get("accessIPv6") {
            s.access_ipv6 = access_ip("accessIPv6", v)?;
        }
        if let Some(d) = u.get("description") {
            s.description = match d {
                Value::Null => None,
                Value::String(t) if t.chars().count() <= 255 => Some(t.clone()),
                other => return Err(invalid("description", other, "is too long").into()),
            };
        }
        if let Some(h) = u.get("hostname") {
            s.hostname = h
                .as_str()
                .filter(|h| !h.is_empty() && h.len() <= 63)
                .map(str::to_string)
                .ok_or_else(|| invalid("hostname", h, "is not a valid hostname"))?;
        }
        if let Some(d) = u.get("OS-DCF:diskConfig").and_then(Value::as_str) {
            if d != "AUTO" && d != "MANUAL" {
                return Err(invalid(
                    "OS-DCF:diskConfig",
                    &json!(d),
                    &format!("'{d}' is not one of ['AUTO', 'MANUAL']"),
                )
                .into());
            }
            s.disk_config = d.to_string();
        }
        let now = now_ms();
        model::save(c, &s, now)?;
        s.updated_ms = now;
        // From 2.75 an update answers with the whole server, as GET does.
        let shape = if call.version.at_least(75) {
            Shape::Show
        } else {
            Shape::Basic
        };
        show_body(svc, &call, &urls, c, &s, shape)
    })?;
    reply(resp, &call, 200, &json!({"server": body}))
}

/// The `extra` key of a resize not yet confirmed or reverted: its migration's uuid, the
/// Placement consumer that holds the old flavor's resources meanwhile.
pub const RESIZE_MIGRATION: &str = "resize_migration";

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let request_id = req.env("request_id").unwrap_or_default().to_string();
    let deleted = svc.write(|c| {
        let s = target(&call, req, c)?;
        actions::check_lock(&call, &s)?;
        destroy(svc, c, &call, &s, &request_id)
    })?;
    // The rows are gone with the transaction; now the files may go.
    volume_attachments::remove_released(svc, &deleted);
    reply_empty(resp, &call, 204)
}

/// Deletes a server and what it held (its shelved snapshot, its address, its groups, its
/// volumes' attachments). Returns the volumes deleted with it (delete_on_termination),
/// whose files the caller removes once the transaction has committed.
pub fn destroy(
    svc: &Compute,
    c: &dyn Tx,
    call: &Call,
    s: &Server,
    request_id: &str,
) -> crate::compute::Result<Vec<String>> {
    let now = now_ms();
    let deleted = volume_attachments::release_all(svc, c, &s.id)?;
    if let Some(image) = s.extra.get("shelved_image_id").and_then(Value::as_str) {
        let _ = svc.images.remove(c, image);
    }
    let made: Vec<String> = s
        .extra
        .get("ports_made")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    networking::detach_all(c, &s.id, &made)?;
    // What it held on the host, and what an unconfirmed resize's migration held.
    scheduler::free(c, &s.id)?;
    if let Some(migration) = s.extra.get(RESIZE_MIGRATION).and_then(Value::as_str) {
        scheduler::free(c, migration)?;
    }
    model::record_action(
        c,
        &model::ActionRecord {
            server_id: &s.id,
            action: "delete",
            request_id,
            user_id: &call.caller.user_id,
            project_id: &s.project_id,
            event: "compute_terminate_instance",
            host: &svc.host,
            now_ms: now,
            due_ms: now,
        },
    )?;
    model::delete(c, &s.id, now)?;
    Ok(deleted)
}

// ---------------------------------------------------------------- metadata

fn list_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let m = svc.read(|c| Ok(target(&call, req, c)?.metadata))?;
    reply(resp, &call, 200, &json!({"metadata": m}))
}

fn change_metadata(
    svc: &Svc,
    req: &mut Request,
    resp: &mut Response,
    replace: bool,
) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let m = check_metadata(b.get("metadata").ok_or_else(|| {
        Fault::bad_request("Malformed request body: 'metadata' is a required property")
    })?)?;
    let out = svc.write(|c| {
        let mut s = target(&call, req, c)?;
        actions::check_lock(&call, &s)?;
        actions::metadata_state(&s)?;
        if replace {
            s.metadata = m.clone();
        } else {
            s.metadata.extend(m.clone());
        }
        check_metadata_quota(c, &call, &s.metadata)?;
        model::save(c, &s, now_ms())?;
        Ok(s.metadata)
    })?;
    reply(resp, &call, 200, &json!({"metadata": out}))
}

fn merge_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    change_metadata(svc, req, resp, false)
}

fn replace_metadata(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    change_metadata(svc, req, resp, true)
}

fn show_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let key = param(req, "key")?.to_string();
    let v = svc.read(|c| {
        let s = target(&call, req, c)?;
        s.metadata
            .get(&key)
            .cloned()
            .ok_or_else(|| Fault::not_found("Metadata item was not found").into())
    })?;
    reply(resp, &call, 200, &json!({"meta": {key: v}}))
}

fn set_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let key = param(req, "key")?.to_string();
    let b = body(req)?;
    let meta = check_metadata(b.get("meta").ok_or_else(|| {
        Fault::bad_request("Malformed request body: 'meta' is a required property")
    })?)?;
    if meta.len() != 1 {
        return Err(Fault::bad_request("Request body contains too many items"));
    }
    if !meta.contains_key(&key) {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    }
    svc.write(|c| {
        let mut s = target(&call, req, c)?;
        actions::check_lock(&call, &s)?;
        actions::metadata_state(&s)?;
        s.metadata.extend(meta.clone());
        check_metadata_quota(c, &call, &s.metadata)?;
        Ok(model::save(c, &s, now_ms())?)
    })?;
    reply(resp, &call, 200, &json!({"meta": meta}))
}

fn delete_meta(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let key = param(req, "key")?.to_string();
    svc.write(|c| {
        let mut s = target(&call, req, c)?;
        actions::check_lock(&call, &s)?;
        actions::metadata_state(&s)?;
        if s.metadata.remove(&key).is_none() {
            return Err(Fault::not_found("Metadata item was not found").into());
        }
        Ok(model::save(c, &s, now_ms())?)
    })?;
    reply_empty(resp, &call, 204)
}

// ---------------------------------------------------------------- ips

fn list_ips(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let s = svc.read(|c| target(&call, req, c))?;
    let mut nets = Map::new();
    for (net, ips) in s.addresses.as_object().into_iter().flatten() {
        let list: Vec<Value> = ips
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| json!({"version": a["version"], "addr": a["addr"]}))
            .collect();
        nets.insert(net.clone(), Value::Array(list));
    }
    reply(resp, &call, 200, &json!({"addresses": nets}))
}

fn show_ips(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let net = param(req, "network_label")?.to_string();
    let s = svc.read(|c| target(&call, req, c))?;
    let ips = s
        .addresses
        .get(&net)
        .and_then(Value::as_array)
        .ok_or_else(|| Fault::not_found("There are no instances associated with this network."))?;
    let list: Vec<Value> = ips
        .iter()
        .map(|a| json!({"version": a["version"], "addr": a["addr"]}))
        .collect();
    reply(resp, &call, 200, &json!({ net: list }))
}

// ---------------------------------------------------------------- tags (2.26)

fn tags_call(req: &Request) -> Result<Call, Fault> {
    let call = Call::of(req)?;
    if !call.version.at_least(26) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    Ok(call)
}

fn list_tags(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = tags_call(req)?;
    let s = svc.read(|c| target(&call, req, c))?;
    reply(resp, &call, 200, &json!({"tags": s.tags}))
}

fn save_tags(
    svc: &Svc,
    call: &Call,
    req: &Request,
    f: impl FnOnce(&mut Vec<String>) -> Result<(), Fault>,
) -> Result<Vec<String>, Fault> {
    svc.write(|c| {
        let mut s = target(call, req, c)?;
        actions::tag_state(&s)?;
        f(&mut s.tags)?;
        super::tags::limit(&s.tags)?;
        model::save(c, &s, now_ms())?;
        Ok(s.tags)
    })
}

fn replace_tags(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = tags_call(req)?;
    let b = body(req)?;
    let new = super::tags::check(b.get("tags").unwrap_or(&Value::Null))?;
    let tags = save_tags(svc, &call, req, |t| {
        *t = new;
        Ok(())
    })?;
    reply(resp, &call, 200, &json!({"tags": tags}))
}

fn delete_tags(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = tags_call(req)?;
    save_tags(svc, &call, req, |t| {
        t.clear();
        Ok(())
    })?;
    reply_empty(resp, &call, 204)
}

fn check_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = tags_call(req)?;
    let tag = param(req, "tag")?.to_string();
    let s = svc.read(|c| target(&call, req, c))?;
    if !s.tags.contains(&tag) {
        return Err(Fault::not_found(format!("Tag '{tag}' could not be found.")));
    }
    reply_empty(resp, &call, 204)
}

fn add_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = tags_call(req)?;
    let tag = param(req, "tag")?.to_string();
    super::tags::check(&json!([tag]))?;
    let urls = Urls::of(svc, req)?;
    let mut existed = false;
    save_tags(svc, &call, req, |t| {
        existed = t.contains(&tag);
        if !existed {
            t.push(tag.clone());
        }
        Ok(())
    })?;
    if existed {
        return reply_empty(resp, &call, 204);
    }
    let id = server_param(req)?;
    resp.set_header(
        "Location",
        &format!("{}/servers/{id}/tags/{tag}", urls.versioned),
    );
    reply_empty(resp, &call, 201)
}

fn delete_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = tags_call(req)?;
    let tag = param(req, "tag")?.to_string();
    save_tags(svc, &call, req, |t| {
        let before = t.len();
        t.retain(|x| *x != tag);
        if t.len() == before {
            return Err(Fault::not_found(format!("Tag '{tag}' could not be found.")));
        }
        Ok(())
    })?;
    reply_empty(resp, &call, 204)
}

// ---------------------------------------------------------------- os-server-password

/// The encrypted password a guest posts to the metadata service. No guest runs here, so
/// it is empty until a guest would have set it; DELETE clears it, as Nova.
fn show_password(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let s = svc.read(|c| target(&call, req, c))?;
    let password = s
        .extra
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or("");
    reply(resp, &call, 200, &json!({ "password": password }))
}

fn clear_password(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    svc.write(|c| {
        let mut s = target(&call, req, c)?;
        s.extra.remove("password");
        Ok(model::save(c, &s, now_ms())?)
    })?;
    reply_empty(resp, &call, 204)
}

// ---------------------------------------------------------------- instance actions

fn action_body(call: &Call, r: &model::InstanceAction, server_id: &str) -> Value {
    let mut a = json!({
        "action": r.action,
        "request_id": r.request_id,
        "user_id": r.user_id,
        "project_id": r.project_id,
        "start_time": action_time(r.start_ms),
        "message": r.message,
        "instance_uuid": server_id,
    });
    if call.version.at_least(58) {
        a["updated_at"] = json!(action_time(r.updated_ms));
    }
    a
}

/// Instance-action times: microseconds, no zone, as Nova's objects print them.
fn action_time(ms: i64) -> String {
    let s = crate::time::iso_seconds(ms.div_euclid(1000));
    format!(
        "{}.{:06}",
        s.trim_end_matches('Z'),
        ms.rem_euclid(1000) * 1000
    )
}

/// The server for os-instance-actions: from 2.21 a deleted server's actions still show.
fn action_server(c: &dyn Tx, call: &Call, req: &Request) -> crate::compute::Result<String> {
    let id = server_param(req)?;
    match c.server_owner(id)? {
        Some((p, deleted))
            if (call.is_admin() || p == call.project_id)
                && (!deleted || call.version.at_least(21)) =>
        {
            Ok(id.to_string())
        }
        _ => Err(model::not_found(id).into()),
    }
}

fn list_actions(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let out = svc.read(|c| {
        let id = action_server(c, &call, req)?;
        Ok(c.instance_actions(&id)?
            .iter()
            .map(|r| action_body(&call, r, &id))
            .collect::<Vec<_>>())
    })?;
    reply(resp, &call, 200, &json!({"instanceActions": out}))
}

fn show_action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let request_id = param(req, "action_id")?.to_string();
    let out = svc.read(|c| {
        let id = action_server(c, &call, req)?;
        let action = c
            .instance_action(&id, &request_id)?
            .ok_or_else(|| Fault::not_found(format!("Action {request_id} not found")))?;
        let mut body = action_body(&call, &action, &id);
        // Events: admins always; everyone from 2.51 (without traceback).
        if call.is_admin() || call.version.at_least(51) {
            let events = c
                .action_events(action.id)?
                .into_iter()
                .map(|r| {
                    let mut e = json!({
                        "event": r.event,
                        "start_time": action_time(r.start_ms),
                        "finish_time": r.finish_ms.map(action_time),
                        "result": r.result,
                    });
                    if call.is_admin() {
                        e["traceback"] = Value::Null;
                    }
                    if call.version.at_least(62) {
                        let host = r.host;
                        let mut d = sha2::Sha224::default();
                        use sha2::Digest;
                        d.update(call.project_id.as_bytes());
                        d.update(host.as_bytes());
                        e["hostId"] = json!(d
                            .finalize()
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>());
                        if call.is_admin() {
                            e["host"] = json!(host);
                        }
                    }
                    if call.version.at_least(84) && call.is_admin() {
                        e["details"] = Value::Null;
                    }
                    e
                })
                .collect::<Vec<_>>();
            body["events"] = json!(events);
        }
        Ok(body)
    })?;
    reply(resp, &call, 200, &json!({"instanceAction": out}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_addresses_are_canonical() {
        let v6 = access_ip(
            "accessIPv6",
            &json!("0000:0000:0000:0000:0000:babe:220.12.22.2"),
        )
        .unwrap();
        assert_eq!(v6, "::babe:dc0c:1602");
        assert!(access_ip("accessIPv4", &json!("1.2.3")).is_err());
        assert_eq!(access_ip("accessIPv4", &Value::Null).unwrap(), "");
    }

    #[test]
    fn hostnames_are_sanitized() {
        assert_eq!(hostname_from("My Server_1"), "my-server-1");
        assert_eq!(hostname_from("---"), "server");
    }

    #[test]
    fn time_filters_take_zones() {
        let z = time_filter("changes-since", "2023-11-14T22:13:20Z").unwrap();
        assert_eq!(z, 1_700_000_000_000);
        assert_eq!(
            time_filter("changes-since", "2023-11-14T22:13:20+00:00").unwrap(),
            z
        );
        assert_eq!(
            time_filter("changes-since", "2023-11-14T23:13:20+01:00").unwrap(),
            z
        );
        assert_eq!(
            time_filter("changes-since", "2023-11-14T22:13:20.500000").unwrap(),
            z + 500
        );
        assert!(time_filter("changes-since", "yesterday").is_err());
    }
}
