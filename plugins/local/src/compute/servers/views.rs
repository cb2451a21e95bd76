//! Server bodies exactly as Nova writes them for each microversion
//! (`nova/api/openstack/compute/views/servers.py`).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha224};

use super::model::{status, Server};
use crate::compute::{Call, Urls};
use crate::time::iso_seconds;

/// Which of Nova's server views.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `GET /servers/{id}`: everything, with the server groups from 2.71.
    Show,
    /// `GET /servers/detail`: everything but the server groups.
    Detail,
    /// The answer to an update or a rebuild: the core fields only, server groups from 2.71.
    Basic,
}

/// What a view needs besides the server.
pub struct Ctx<'a> {
    pub call: &'a Call,
    pub urls: &'a Urls,
    /// The compute host's name.
    pub host: &'a str,
}

/// Statuses whose servers show `progress` (Nova's `_progress_statuses`).
const PROGRESS: &[&str] = &[
    "ACTIVE",
    "BUILD",
    "REBUILD",
    "RESIZE",
    "VERIFY_RESIZE",
    "MIGRATING",
];

fn iso(ms: i64) -> String {
    iso_seconds(ms.div_euclid(1000))
}

/// `OS-SRV-USG` times: microseconds and no zone, as Nova prints them.
fn usage_time(ms: Option<i64>) -> Value {
    match ms {
        Some(ms) => {
            let s = iso(ms);
            json!(format!(
                "{}.{:06}",
                s.trim_end_matches('Z'),
                ms.rem_euclid(1000) * 1000
            ))
        }
        None => Value::Null,
    }
}

/// Where the server runs: the host's name, none once offloaded or while it waits for one.
pub fn host_of<'a>(s: &Server, host: &'a str) -> Option<&'a str> {
    (s.vm_state != "shelved_offloaded" && s.vm_state != "deleted").then_some(host)
}

/// Nova's `hostId`: a hash of the project and the host, so a project can tell whether two
/// of its servers share a host without learning the host's name.
pub fn host_id(s: &Server, host: &str) -> String {
    match host_of(s, host) {
        Some(h) => {
            let mut d = Sha224::new();
            d.update(s.project_id.as_bytes());
            d.update(h.as_bytes());
            d.finalize().iter().map(|b| format!("{b:02x}")).collect()
        }
        None => String::new(),
    }
}

fn addresses(s: &Server, extended: bool) -> Value {
    let Value::Object(nets) = &s.addresses else {
        return json!({});
    };
    let mut out = Map::new();
    for (net, ips) in nets {
        let list: Vec<Value> = ips
            .as_array()
            .into_iter()
            .flatten()
            .map(|ip| {
                let mut a = json!({"version": ip["version"], "addr": ip["addr"]});
                if extended {
                    a["OS-EXT-IPS:type"] = ip["type"].clone();
                    a["OS-EXT-IPS-MAC:mac_addr"] = ip["mac_addr"].clone();
                }
                a
            })
            .collect();
        out.insert(net.clone(), Value::Array(list));
    }
    Value::Object(out)
}

fn flavor(ctx: &Ctx, s: &Server) -> Value {
    let f = &s.flavor;
    if ctx.call.version.at_least(47) {
        json!({
            "vcpus": f["vcpus"], "ram": f["ram"], "disk": f["disk"], "ephemeral": f["ephemeral"],
            "swap": f["swap"], "original_name": f["original_name"], "extra_specs": f["extra_specs"],
        })
    } else {
        let id = f["id"].as_str().unwrap_or_default();
        json!({"id": id, "links": [{"rel": "bookmark", "href": format!("{}/flavors/{id}", ctx.urls.bookmark)}]})
    }
}

fn image(ctx: &Ctx, s: &Server) -> Value {
    match &s.image_id {
        Some(id) => json!({
            "id": id,
            "links": [{"rel": "bookmark", "href": format!("{}/images/{id}", ctx.urls.bookmark)}],
        }),
        // Booted from a volume.
        None => json!(""),
    }
}

/// The `server` object of a show, list-detail, update or rebuild answer.
pub fn server(ctx: &Ctx, s: &Server, shape: Shape, groups: &[String]) -> Value {
    let v = ctx.call.version;
    let admin = ctx.call.is_admin();
    let st = status(&s.vm_state, s.task_state.as_deref());
    let full = shape != Shape::Basic;
    let mut o = json!({
        "id": s.id,
        "name": s.name,
        "status": st,
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "metadata": s.metadata,
        "hostId": host_id(s, ctx.host),
        "image": image(ctx, s),
        "flavor": flavor(ctx, s),
        "created": iso(s.created_ms),
        "updated": iso(s.updated_ms),
        "addresses": addresses(s, full),
        "accessIPv4": s.access_ipv4,
        "accessIPv6": s.access_ipv6,
        "links": ctx.urls.links("servers", &s.id),
        "OS-DCF:diskConfig": s.disk_config,
    });
    let m = o.as_object_mut().expect("object");
    if PROGRESS.contains(&st) {
        m.insert(
            "progress".into(),
            json!(if st == "ACTIVE" { 100 } else { 0 }),
        );
    }
    if matches!(st, "ERROR" | "DELETED") {
        if let Some(f) = &s.fault {
            m.insert("fault".into(), f.clone());
        }
    }
    if v.at_least(9) {
        m.insert("locked".into(), json!(s.locked));
    }
    if v.at_least(19) {
        m.insert("description".into(), json!(s.description));
    }
    if v.at_least(26) {
        m.insert("tags".into(), json!(s.tags));
    }
    if v.at_least(63) {
        m.insert(
            "trusted_image_certificates".into(),
            s.trusted_image_certificates.clone().unwrap_or(Value::Null),
        );
    }
    if v.at_least(73) {
        m.insert("locked_reason".into(), json!(s.locked_reason));
    }
    if v.at_least(96) {
        m.insert(
            "pinned_availability_zone".into(),
            json!(s.pinned_availability_zone),
        );
    }
    if v.at_least(71) && shape != Shape::Detail {
        m.insert("server_groups".into(), json!(groups));
    }
    if !full {
        return o;
    }
    // (key_name and user_data of a rebuild answer are added by the rebuild action.)
    let host = host_of(s, ctx.host);
    m.insert("key_name".into(), json!(s.key_name));
    let groups = super::routes::security_groups(s);
    if !groups.is_empty() {
        let list: Vec<Value> = groups.iter().map(|g| json!({"name": g})).collect();
        m.insert("security_groups".into(), Value::Array(list));
    }
    m.insert("OS-SRV-USG:launched_at".into(), usage_time(s.launched_ms));
    m.insert(
        "OS-SRV-USG:terminated_at".into(),
        usage_time(s.terminated_ms),
    );
    m.insert(
        "OS-EXT-AZ:availability_zone".into(),
        json!(s.availability_zone),
    );
    m.insert("OS-EXT-STS:task_state".into(), json!(s.task_state));
    m.insert("OS-EXT-STS:vm_state".into(), json!(s.vm_state));
    m.insert("OS-EXT-STS:power_state".into(), json!(s.power_state));
    m.insert("config_drive".into(), json!(s.config_drive));
    m.insert("os-extended-volumes:volumes_attached".into(), json!([]));
    if admin {
        m.insert("OS-EXT-SRV-ATTR:host".into(), json!(host));
        m.insert(
            "OS-EXT-SRV-ATTR:instance_name".into(),
            json!(format!("instance-{}", &s.id[..8.min(s.id.len())])),
        );
        m.insert("OS-EXT-SRV-ATTR:hypervisor_hostname".into(), json!(host));
        if v.at_least(3) {
            m.insert(
                "OS-EXT-SRV-ATTR:reservation_id".into(),
                json!(s.reservation_id),
            );
            m.insert("OS-EXT-SRV-ATTR:launch_index".into(), json!(s.launch_index));
            m.insert("OS-EXT-SRV-ATTR:kernel_id".into(), json!(""));
            m.insert("OS-EXT-SRV-ATTR:ramdisk_id".into(), json!(""));
            m.insert("OS-EXT-SRV-ATTR:hostname".into(), json!(s.hostname));
            m.insert("OS-EXT-SRV-ATTR:root_device_name".into(), json!("/dev/vda"));
            m.insert("OS-EXT-SRV-ATTR:user_data".into(), json!(s.user_data));
        }
        if v.at_least(16) {
            m.insert(
                "host_status".into(),
                json!(if host.is_some() { "UP" } else { "" }),
            );
        }
    } else if v.at_least(90) {
        // 2.90 lets every user see (and set) the hostname.
        m.insert("OS-EXT-SRV-ATTR:hostname".into(), json!(s.hostname));
    }
    o
}

/// An entry of `GET /servers`: id, name, links.
pub fn brief(ctx: &Ctx, s: &Server) -> Value {
    json!({"id": s.id, "name": s.name, "links": ctx.urls.links("servers", &s.id)})
}
