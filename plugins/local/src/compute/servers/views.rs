//! Server bodies exactly as Nova writes them for each microversion
//! (`nova/api/openstack/compute/views/servers.py`).

use std::borrow::Cow;

use serde::Serialize;
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
fn usage_time(ms: i64) -> String {
    let s = iso(ms);
    format!(
        "{}.{:06}",
        s.trim_end_matches('Z'),
        ms.rem_euclid(1000) * 1000
    )
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

/// A server's addresses: the copy `networking::refresh` keeps is Nova's detail form;
/// the basic view (update, rebuild before 2.75) leaves out the type and MAC.
fn addresses(s: &Server, extended: bool) -> Cow<'_, Value> {
    if extended {
        return Cow::Borrowed(&s.addresses);
    }
    let mut out = s.addresses.clone();
    for ips in out.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
        for ip in ips.as_array_mut().into_iter().flatten() {
            if let Some(o) = ip.as_object_mut() {
                o.remove("OS-EXT-IPS:type");
                o.remove("OS-EXT-IPS-MAC:mac_addr");
            }
        }
    }
    Cow::Owned(out)
}

#[derive(Serialize)]
struct Link {
    rel: &'static str,
    href: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ImageRef<'a> {
    Image {
        id: &'a str,
        links: [Link; 1],
    },
    /// Booted from a volume.
    None(&'static str),
}

#[derive(Serialize)]
#[serde(untagged)]
enum FlavorRef<'a> {
    /// Before 2.47.
    Link { id: &'a str, links: [Link; 1] },
    /// From 2.47: the flavor as the server got it.
    Embedded {
        vcpus: &'a Value,
        ram: &'a Value,
        disk: &'a Value,
        ephemeral: &'a Value,
        swap: &'a Value,
        original_name: &'a Value,
        extra_specs: &'a Value,
    },
}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Attached<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    delete_on_termination: Option<bool>,
}

/// Nova's server body; `None` fields are left out (not null): which appear depends on
/// the view, the microversion and whether the caller is an admin.
#[derive(Serialize)]
pub struct View<'a> {
    id: &'a str,
    name: &'a str,
    status: &'static str,
    tenant_id: &'a str,
    user_id: &'a str,
    metadata: &'a Map<String, Value>,
    #[serde(rename = "hostId")]
    host_id: String,
    image: ImageRef<'a>,
    flavor: FlavorRef<'a>,
    created: String,
    updated: String,
    addresses: Cow<'a, Value>,
    #[serde(rename = "accessIPv4")]
    access_ipv4: &'a str,
    #[serde(rename = "accessIPv6")]
    access_ipv6: &'a str,
    links: [Link; 2],
    #[serde(rename = "OS-DCF:diskConfig")]
    disk_config: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_image_certificates: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_reason: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pinned_availability_zone: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_groups: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_name: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    security_groups: Option<Vec<Named<'a>>>,
    #[serde(
        rename = "OS-SRV-USG:launched_at",
        skip_serializing_if = "Option::is_none"
    )]
    launched_at: Option<Option<String>>,
    #[serde(
        rename = "OS-SRV-USG:terminated_at",
        skip_serializing_if = "Option::is_none"
    )]
    terminated_at: Option<Option<String>>,
    #[serde(
        rename = "OS-EXT-AZ:availability_zone",
        skip_serializing_if = "Option::is_none"
    )]
    availability_zone: Option<&'a str>,
    #[serde(
        rename = "OS-EXT-STS:task_state",
        skip_serializing_if = "Option::is_none"
    )]
    task_state: Option<Option<&'a str>>,
    #[serde(
        rename = "OS-EXT-STS:vm_state",
        skip_serializing_if = "Option::is_none"
    )]
    vm_state: Option<&'a str>,
    #[serde(
        rename = "OS-EXT-STS:power_state",
        skip_serializing_if = "Option::is_none"
    )]
    power_state: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_drive: Option<&'a str>,
    #[serde(
        rename = "os-extended-volumes:volumes_attached",
        skip_serializing_if = "Option::is_none"
    )]
    volumes_attached: Option<Vec<Attached<'a>>>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:host",
        skip_serializing_if = "Option::is_none"
    )]
    host: Option<Option<&'a str>>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:instance_name",
        skip_serializing_if = "Option::is_none"
    )]
    instance_name: Option<String>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:hypervisor_hostname",
        skip_serializing_if = "Option::is_none"
    )]
    hypervisor_hostname: Option<Option<&'a str>>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:reservation_id",
        skip_serializing_if = "Option::is_none"
    )]
    reservation_id: Option<&'a str>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:launch_index",
        skip_serializing_if = "Option::is_none"
    )]
    launch_index: Option<i64>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:kernel_id",
        skip_serializing_if = "Option::is_none"
    )]
    kernel_id: Option<&'static str>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:ramdisk_id",
        skip_serializing_if = "Option::is_none"
    )]
    ramdisk_id: Option<&'static str>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:hostname",
        skip_serializing_if = "Option::is_none"
    )]
    hostname: Option<&'a str>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:root_device_name",
        skip_serializing_if = "Option::is_none"
    )]
    root_device_name: Option<&'static str>,
    #[serde(
        rename = "OS-EXT-SRV-ATTR:user_data",
        skip_serializing_if = "Option::is_none"
    )]
    user_data: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_status: Option<&'static str>,
}

/// The `server` object of a show, list-detail, update or rebuild answer; `volumes` are
/// its attached volumes and their delete_on_termination.
pub fn server<'a>(
    ctx: &Ctx<'a>,
    s: &'a Server,
    shape: Shape,
    groups: &'a [String],
    security_groups: &'a [String],
    volumes: &'a [(String, bool)],
) -> View<'a> {
    let v = ctx.call.version;
    let admin = ctx.call.is_admin();
    let st = status(&s.vm_state, s.task_state.as_deref());
    let full = shape != Shape::Basic;
    let host = host_of(s, ctx.host);
    let f = &s.flavor;
    let flavor = if v.at_least(47) {
        FlavorRef::Embedded {
            vcpus: &f["vcpus"],
            ram: &f["ram"],
            disk: &f["disk"],
            ephemeral: &f["ephemeral"],
            swap: &f["swap"],
            original_name: &f["original_name"],
            extra_specs: &f["extra_specs"],
        }
    } else {
        let id = f["id"].as_str().unwrap_or_default();
        FlavorRef::Link {
            id,
            links: [Link {
                rel: "bookmark",
                href: format!("{}/flavors/{id}", ctx.urls.bookmark),
            }],
        }
    };
    let image = match &s.image_id {
        Some(id) => ImageRef::Image {
            id,
            links: [Link {
                rel: "bookmark",
                href: format!("{}/images/{id}", ctx.urls.bookmark),
            }],
        },
        None => ImageRef::None(""),
    };
    let only = |cond: bool| cond.then_some(());
    View {
        id: &s.id,
        name: &s.name,
        status: st,
        tenant_id: &s.project_id,
        user_id: &s.user_id,
        metadata: &s.metadata,
        host_id: host_id(s, ctx.host),
        image,
        flavor,
        created: iso(s.created_ms),
        updated: iso(s.updated_ms),
        addresses: addresses(s, full),
        access_ipv4: &s.access_ipv4,
        access_ipv6: &s.access_ipv6,
        links: [
            Link {
                rel: "self",
                href: format!("{}/servers/{}", ctx.urls.versioned, s.id),
            },
            Link {
                rel: "bookmark",
                href: format!("{}/servers/{}", ctx.urls.bookmark, s.id),
            },
        ],
        disk_config: &s.disk_config,
        progress: PROGRESS.contains(&st).then_some(0),
        fault: s
            .fault
            .as_ref()
            .filter(|_| matches!(st, "ERROR" | "DELETED")),
        locked: only(v.at_least(9)).map(|_| s.locked),
        description: only(v.at_least(19)).map(|_| s.description.as_deref()),
        tags: only(v.at_least(26)).map(|_| s.tags.as_slice()),
        trusted_image_certificates: only(v.at_least(63)).map(|_| {
            s.trusted_image_certificates
                .as_ref()
                .unwrap_or(&Value::Null)
        }),
        locked_reason: only(v.at_least(73)).map(|_| s.locked_reason.as_deref()),
        pinned_availability_zone: only(v.at_least(96))
            .map(|_| s.pinned_availability_zone.as_deref()),
        server_groups: only(v.at_least(71) && shape != Shape::Detail).map(|_| groups),
        key_name: only(full).map(|_| s.key_name.as_deref()),
        security_groups: only(full && !security_groups.is_empty())
            .map(|_| security_groups.iter().map(|g| Named { name: g }).collect()),
        launched_at: only(full).map(|_| s.launched_ms.map(usage_time)),
        terminated_at: only(full).map(|_| s.terminated_ms.map(usage_time)),
        availability_zone: only(full).map(|_| s.availability_zone.as_str()),
        task_state: only(full).map(|_| s.task_state.as_deref()),
        vm_state: only(full).map(|_| s.vm_state.as_str()),
        power_state: only(full).map(|_| s.power_state),
        config_drive: only(full).map(|_| s.config_drive.as_str()),
        volumes_attached: only(full).map(|_| {
            volumes
                .iter()
                .map(|(id, dot)| Attached {
                    id,
                    delete_on_termination: v.at_least(3).then_some(*dot),
                })
                .collect()
        }),
        host: only(full && admin).map(|_| host),
        instance_name: only(full && admin)
            .map(|_| format!("instance-{}", &s.id[..8.min(s.id.len())])),
        hypervisor_hostname: only(full && admin).map(|_| host),
        reservation_id: only(full && admin && v.at_least(3)).map(|_| s.reservation_id.as_str()),
        launch_index: only(full && admin && v.at_least(3)).map(|_| s.launch_index),
        kernel_id: only(full && admin && v.at_least(3)).map(|_| ""),
        ramdisk_id: only(full && admin && v.at_least(3)).map(|_| ""),
        // 2.90 lets every user see (and set) the hostname.
        hostname: only(full && ((admin && v.at_least(3)) || v.at_least(90)))
            .map(|_| s.hostname.as_str()),
        root_device_name: only(full && admin && v.at_least(3)).map(|_| "/dev/vda"),
        user_data: only(full && admin && v.at_least(3)).map(|_| s.user_data.as_deref()),
        host_status: only(full && admin && v.at_least(16)).map(|_| {
            if host.is_some() {
                "UP"
            } else {
                ""
            }
        }),
    }
}

/// An entry of `GET /servers`: id, name, links.
pub fn brief(ctx: &Ctx, s: &Server) -> Value {
    json!({"id": s.id, "name": s.name, "links": ctx.urls.links("servers", &s.id)})
}
