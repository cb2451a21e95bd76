//! The small resources of Cinder that describe the cloud rather than hold anything:
//! availability zones, the one back end's pool and capabilities, the API extensions,
//! and the services and hosts. A service's disabled and frozen flags are kept in memory
//! (there is no table for them, as for Nova's services): a restart enables them again.

use std::sync::{Arc, Mutex};

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::repo::VolumeRepo;
use super::{body, param, reply, reply_empty, timestamp, Call, Volumes, ZONE};
use crate::store::Outcome;

type Svc = Arc<Volumes>;

endpoint!(Svc; AvailabilityZones { on_get => zones });
endpoint!(Svc; Pools { on_get => pools });
endpoint!(Svc; Capabilities { on_get => capabilities });
endpoint!(Svc; Extensions { on_get => extensions } nonblocking);
endpoint!(Svc; Services { on_get => services });
endpoint!(Svc; ServiceEnable { on_put => enable });
endpoint!(Svc; ServiceDisable { on_put => disable });
endpoint!(Svc; ServiceDisableLogReason { on_put => disable_log_reason });
endpoint!(Svc; ServiceFreeze { on_put => freeze });
endpoint!(Svc; ServiceThaw { on_put => thaw });
endpoint!(Svc; Hosts { on_get => hosts });
endpoint!(Svc; Host { on_get => host });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_availability_zone" => AvailabilityZones,
        "v2_scheduler_stats_get_pools" => Pools,
        "v2_capability" => Capabilities,
        "v2_extensions" => Extensions,
        "v2_os_services" => Services,
        "v2_os_services_enable" => ServiceEnable,
        "v2_os_services_disable" => ServiceDisable,
        "v2_os_services_disable_log_reason" => ServiceDisableLogReason,
        "v2_os_services_freeze" => ServiceFreeze,
        "v2_os_services_thaw" => ServiceThaw,
        "v2_os_hosts" => Hosts,
        "v2_os_host" => Host,
    }
    Ok(())
}

/// The back end's name (`volume_backend_name`) and its one pool's.
pub const BACKEND: &str = "local";
const VENDOR: &str = "Jumpgate";
const DRIVER_VERSION: &str = "1.0.0";
const PROTOCOL: &str = "local";

fn zones(_svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    reply(
        resp,
        &call,
        200,
        &json!({"availabilityZoneInfo": [{"zoneName": ZONE, "zoneState": {"available": true}}]}),
    )
}

/// Total and available bytes of the filesystem holding `path`.
fn fs_bytes(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the zeroed struct it is given; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let frsize = if st.f_frsize != 0 {
        st.f_frsize as u64
    } else {
        st.f_bsize as u64
    };
    Some((st.f_blocks as u64 * frsize, st.f_bavail as u64 * frsize))
}

/// The pool's capabilities as the volume service reports them to the scheduler (also
/// what `scheduler::satisfies` checks a volume type against).
pub fn pool_capabilities(svc: &Volumes, c: &dyn VolumeRepo) -> Outcome<Value> {
    const GIB: f64 = (1u64 << 30) as f64;
    let dir = svc.disks.path(super::storage::Kind::Volume, "_");
    let (total, free) = dir.parent().and_then(fs_bytes).unwrap_or((0, 0));
    let allocated = c.allocated_gigabytes()?;
    let round = |bytes: u64| (bytes as f64 / GIB * 100.0).round() / 100.0;
    Ok(json!({
        "pool_name": BACKEND,
        "volume_backend_name": BACKEND,
        "vendor_name": VENDOR,
        "driver_version": DRIVER_VERSION,
        "storage_protocol": PROTOCOL,
        "total_capacity_gb": round(total),
        "free_capacity_gb": round(free),
        "allocated_capacity_gb": allocated,
        "provisioned_capacity_gb": allocated,
        "max_over_subscription_ratio": "20.0",
        "reserved_percentage": 0,
        "thin_provisioning_support": true,
        "thick_provisioning_support": false,
        "QoS_support": false,
        "multiattach": true,
        "online_extend_support": false,
        "location_info": format!("local:{}", svc.host),
        "backend_state": "up",
        "filter_function": null,
        "goodness_function": null,
        "timestamp": timestamp(crate::time::now_ms()),
    }))
}

/// `host@local#local`, the one pool's name.
fn pool_name(svc: &Volumes) -> String {
    format!("{}@{BACKEND}#{BACKEND}", svc.host)
}

fn pools(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let detail = req.query_param("detail").is_some_and(super::quotas::truthy);
    let name = pool_name(svc);
    // Cinder filters pools by name (and, from 3.28, by volume type: every type lands here).
    if req.query_param("name").is_some_and(|n| n != name) {
        return reply(resp, &call, 200, &json!({"pools": []}));
    }
    let pool = if detail {
        let caps = svc.read(|c| pool_capabilities(svc, c))?;
        json!({"name": name, "capabilities": caps})
    } else {
        json!({ "name": name })
    };
    reply(resp, &call, 200, &json!({ "pools": [pool] }))
}

/// Whether `host` (`host`, `host@local` or `host@local#local`) names this back end.
fn is_backend(svc: &Volumes, host: &str) -> bool {
    let host = host.split('#').next().unwrap_or_default();
    host == svc.host || host == format!("{}@{BACKEND}", svc.host)
}

fn capabilities(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let host = param(req, "hostname")?;
    if !is_backend(svc, host) {
        return Err(Fault::not_found(format!("Can't find service: {host}")));
    }
    let property = |title: &str, description: &str| json!({"title": title, "description": description, "type": "boolean"});
    reply(
        resp,
        &call,
        200,
        &json!({
            "namespace": format!("OS::Storage::Capabilities::{}@{BACKEND}", svc.host),
            "vendor_name": VENDOR,
            "volume_backend_name": BACKEND,
            "pool_name": null,
            "driver_version": DRIVER_VERSION,
            "storage_protocol": PROTOCOL,
            "display_name": null,
            "description": null,
            "visibility": null,
            "replication_targets": [],
            "properties": {
                "thin_provisioning": property(
                    "Thin Provisioning",
                    "Sets thin provisioning.",
                ),
                "multiattach": property("Multi-attach", "Volumes may attach to several servers."),
            },
        }),
    )
}

/// Cinder's extensions, as its API reference lists them: (alias, name, description, updated).
const EXTENSIONS: [(&str, &str, &str, &str); 32] = [
    (
        "os-hosts",
        "Hosts",
        "Admin-only host administration.",
        "2011-06-29T00:00:00+00:00",
    ),
    (
        "os-vol-tenant-attr",
        "VolumeTenantAttribute",
        "Expose the internal project_id as an attribute of a volume.",
        "2011-11-03T00:00:00+00:00",
    ),
    (
        "os-quota-sets",
        "Quotas",
        "Quota management support.",
        "2011-08-08T00:00:00+00:00",
    ),
    (
        "os-availability-zone",
        "AvailabilityZones",
        "Describe Availability Zones.",
        "2013-06-27T00:00:00+00:00",
    ),
    (
        "os-volume-encryption-metadata",
        "VolumeEncryptionMetadata",
        "Volume encryption metadata retrieval support.",
        "2013-07-10T00:00:00+00:00",
    ),
    (
        "backups",
        "Backups",
        "Backups support.",
        "2012-12-12T00:00:00+00:00",
    ),
    (
        "os-snapshot-actions",
        "SnapshotActions",
        "Enable snapshot manager actions.",
        "2013-07-16T00:00:00+00:00",
    ),
    (
        "os-volume-actions",
        "VolumeActions",
        "Enable volume actions.",
        "2012-05-31T00:00:00+00:00",
    ),
    (
        "os-snapshot-manage",
        "SnapshotManage",
        "Allows existing backend storage to be 'managed' by Cinder.",
        "2014-12-31T00:00:00+00:00",
    ),
    (
        "os-volume-unmanage",
        "VolumeUnmanage",
        "Enable volume unmanage operation.",
        "2012-05-31T00:00:00+00:00",
    ),
    (
        "consistencygroups",
        "Consistencygroups",
        "consistency groups support.",
        "2014-08-18T00:00:00+00:00",
    ),
    (
        "os-vol-host-attr",
        "VolumeHostAttribute",
        "Expose host as an attribute of a volume.",
        "2011-11-03T00:00:00+00:00",
    ),
    (
        "encryption",
        "VolumeTypeEncryption",
        "Encryption support for volume types.",
        "2013-07-01T00:00:00+00:00",
    ),
    (
        "os-vol-image-meta",
        "VolumeImageMetadata",
        "Show image metadata associated with the volume.",
        "2012-12-07T00:00:00+00:00",
    ),
    (
        "os-types-manage",
        "TypesManage",
        "Types manage support.",
        "2011-08-24T00:00:00+00:00",
    ),
    (
        "capabilities",
        "Capabilities",
        "Capabilities support.",
        "2015-08-31T00:00:00+00:00",
    ),
    (
        "cgsnapshots",
        "Cgsnapshots",
        "cgsnapshots support.",
        "2014-08-18T00:00:00+00:00",
    ),
    (
        "os-types-extra-specs",
        "TypesExtraSpecs",
        "Type extra specs support.",
        "2011-08-24T00:00:00+00:00",
    ),
    (
        "os-used-limits",
        "UsedLimits",
        "Provide data on limited resources that are being used.",
        "2013-10-03T00:00:00+00:00",
    ),
    (
        "os-vol-mig-status-attr",
        "VolumeMigStatusAttribute",
        "Expose migration_status as an attribute of a volume.",
        "2013-08-08T00:00:00+00:00",
    ),
    (
        "os-volume-type-access",
        "VolumeTypeAccess",
        "Volume type access support.",
        "2014-06-26T00:00:00Z",
    ),
    (
        "os-extended-services",
        "ExtendedServices",
        "Extended services support.",
        "2014-01-10T00:00:00-00:00",
    ),
    (
        "os-extended-snapshot-attributes",
        "ExtendedSnapshotAttributes",
        "Extended SnapshotAttributes support.",
        "2012-06-19T00:00:00+00:00",
    ),
    (
        "os-snapshot-unmanage",
        "SnapshotUnmanage",
        "Enable volume unmanage operation.",
        "2014-12-31T00:00:00+00:00",
    ),
    (
        "qos-specs",
        "Qos_specs_manage",
        "QoS specs support.",
        "2013-08-02T00:00:00+00:00",
    ),
    (
        "os-quota-class-sets",
        "QuotaClasses",
        "Quota classes management support.",
        "2012-03-12T00:00:00+00:00",
    ),
    (
        "os-volume-transfer",
        "VolumeTransfer",
        "Volume transfer management support.",
        "2013-05-29T00:00:00+00:00",
    ),
    (
        "os-volume-manage",
        "VolumeManage",
        "Allows existing backend storage to be 'managed' by Cinder.",
        "2014-02-10T00:00:00+00:00",
    ),
    (
        "os-admin-actions",
        "AdminActions",
        "Enable admin actions.",
        "2012-08-25T00:00:00+00:00",
    ),
    (
        "os-services",
        "Services",
        "Services support.",
        "2012-10-28T00:00:00-00:00",
    ),
    (
        "scheduler-stats",
        "Scheduler_stats",
        "Scheduler stats support.",
        "2014-09-07T00:00:00+00:00",
    ),
    (
        "OS-SCH-HNT",
        "SchedulerHints",
        "Pass arbitrary key/value pairs to the scheduler.",
        "2013-04-18T00:00:00+00:00",
    ),
];

fn extensions(_svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let all: Vec<Value> = EXTENSIONS
        .iter()
        .map(|(alias, name, description, updated)| {
            json!({"alias": alias, "name": name, "description": description,
                   "updated": updated, "links": []})
        })
        .collect();
    reply(resp, &call, 200, &json!({ "extensions": all }))
}

/// This cloud's Cinder services: (binary, host).
fn service_list(svc: &Volumes) -> [(&'static str, String); 3] {
    [
        ("cinder-scheduler", svc.host.clone()),
        (VOLUME_BINARY, format!("{}@{BACKEND}", svc.host)),
        ("cinder-backup", svc.host.clone()),
    ]
}

const VOLUME_BINARY: &str = "cinder-volume";

/// What an admin changed of a service (by binary).
#[derive(Debug, Clone, Default)]
struct State {
    disabled: bool,
    disabled_reason: Option<String>,
    frozen: bool,
}

static STATE: Mutex<Vec<(&'static str, State)>> = Mutex::new(Vec::new());

fn state_of(binary: &str) -> State {
    STATE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(b, _)| *b == binary)
        .map(|(_, s)| s.clone())
        .unwrap_or_default()
}

fn change(binary: &'static str, f: impl FnOnce(&mut State)) {
    let mut all = STATE.lock().unwrap_or_else(|e| e.into_inner());
    match all.iter_mut().find(|(b, _)| *b == binary) {
        Some((_, s)) => f(s),
        None => {
            let mut s = State::default();
            f(&mut s);
            all.push((binary, s));
        }
    }
}

/// Cinder's host filter: the host itself, or any back end or pool on it.
fn host_matches(host: &str, filter: &str) -> bool {
    host == filter
        || host
            .strip_prefix(filter)
            .is_some_and(|rest| rest.starts_with('@') || rest.starts_with('#'))
}

fn services(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let now = timestamp(crate::time::now_ms());
    let host = req.query_param("host");
    let binary = req.query_param("binary");
    let all: Vec<Value> = service_list(svc)
        .into_iter()
        .filter(|(b, h)| host.is_none_or(|f| host_matches(h, f)) && binary.is_none_or(|f| f == *b))
        .map(|(b, h)| {
            let state = state_of(b);
            let mut s = json!({
                "binary": b, "host": h, "zone": ZONE, "state": "up", "updated_at": now,
                "status": if state.disabled { "disabled" } else { "enabled" },
                "disabled_reason": state.disabled_reason,
            });
            if call.version.at_least(7) {
                s["cluster"] = Value::Null;
            }
            if b == VOLUME_BINARY {
                s["replication_status"] = json!("disabled");
                s["active_backend_id"] = Value::Null;
                s["frozen"] = json!(state.frozen);
                if call.version.at_least(49) {
                    s["backend_state"] = json!("up");
                }
            }
            s
        })
        .collect();
    reply(resp, &call, 200, &json!({ "services": all }))
}

/// `PUT /os-services/{enable,disable,disable-log-reason}`: `{"host", "binary"}` name one
/// service (`service` is the older key for `binary`).
fn set_disabled(
    svc: &Svc,
    req: &mut Request,
    resp: &mut Response,
    disabled: bool,
    with_reason: bool,
) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let text = |key: &str| b.get(key).and_then(Value::as_str).unwrap_or_default();
    let host = text("host");
    if host.is_empty() {
        return Err(Fault::bad_request(
            "Missing required element 'host' in request body.",
        ));
    }
    let reason = if with_reason {
        match b.get("disabled_reason").and_then(Value::as_str) {
            Some(r) if !r.trim().is_empty() && r.chars().count() <= 255 => Some(r.to_string()),
            _ => {
                return Err(Fault::bad_request(
                    "Disabled reason contains invalid characters or is too long",
                ))
            }
        }
    } else {
        None
    };
    let service = text("service");
    let binary = if text("binary").is_empty() {
        service
    } else {
        text("binary")
    };
    let (name, _) = service_list(svc)
        .into_iter()
        .find(|(b, h)| *b == binary && h == host)
        .ok_or_else(|| {
            Fault::not_found(format!(
                "Service {binary} could not be found on host {host}."
            ))
        })?;
    change(name, |s| {
        s.disabled = disabled;
        if with_reason {
            s.disabled_reason = reason.clone();
        } else if !disabled {
            s.disabled_reason = None;
        }
    });
    let mut v = json!({
        "disabled": disabled, "status": if disabled { "disabled" } else { "enabled" },
        "host": host, "service": service, "binary": text("binary"),
    });
    if with_reason {
        v["disabled_reason"] = json!(reason);
    }
    reply(resp, &call, 200, &v)
}

fn enable(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    set_disabled(svc, req, resp, false, false)
}

fn disable(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    set_disabled(svc, req, resp, true, false)
}

fn disable_log_reason(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    set_disabled(svc, req, resp, true, true)
}

/// `PUT /os-services/{freeze,thaw}` `{"host": "host@local"}`: the volume back end stops
/// (or resumes) taking management requests.
fn set_frozen(svc: &Svc, req: &mut Request, resp: &mut Response, frozen: bool) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let host = b.get("host").and_then(Value::as_str).unwrap_or_default();
    if host.split('#').next() != Some(&format!("{}@{BACKEND}", svc.host)) {
        return Err(Fault::bad_request(format!(
            "Invalid input received: No service found with host={host}."
        )));
    }
    change(VOLUME_BINARY, |s| s.frozen = frozen);
    reply_empty(resp, &call, 200)
}

fn freeze(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    set_frozen(svc, req, resp, true)
}

fn thaw(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    set_frozen(svc, req, resp, false)
}

fn hosts(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let now = timestamp(crate::time::now_ms());
    let all: Vec<Value> = service_list(svc)
        .into_iter()
        .map(|(b, h)| {
            let disabled = state_of(b).disabled;
            json!({
                "host_name": h, "service": b, "zone": ZONE,
                "service-state": if disabled { "disabled" } else { "enabled" },
                "service-status": "available", "last-update": now,
            })
        })
        .collect();
    reply(resp, &call, 200, &json!({ "hosts": all }))
}

/// `GET /os-hosts/{host}`: what the volume host holds, in total and per project.
fn host(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let name = param(req, "host_name")?.to_string();
    if name != format!("{}@{BACKEND}", svc.host) {
        return Err(Fault::not_found(format!("Host {name} could not be found.")));
    }
    let rows: Vec<(String, i64, i64, i64, i64)> = svc
        .read(|c| Ok(c.host_holdings()?))?
        .into_iter()
        .map(|(p, v, s)| (p, v.count, v.gigabytes, s.count, s.gigabytes))
        .collect();
    let resource = |project: &str, volumes: i64, gb: i64, snaps: i64, snap_gb: i64| {
        json!({"resource": {
            "host": name, "project": project,
            "volume_count": volumes.to_string(), "total_volume_gb": gb.to_string(),
            "snapshot_count": snaps.to_string(), "total_snapshot_gb": snap_gb.to_string(),
        }})
    };
    let (mut v, mut g, mut s, mut sg) = (0, 0, 0, 0);
    for (_, volumes, gb, snaps, snap_gb) in &rows {
        v += volumes;
        g += gb;
        s += snaps;
        sg += snap_gb;
    }
    let mut all = vec![resource("(total)", v, g, s, sg)];
    all.extend(
        rows.iter()
            .map(|(p, volumes, gb, snaps, snap_gb)| resource(p, *volumes, *gb, *snaps, *snap_gb)),
    );
    reply(resp, &call, 200, &json!({ "host": all }))
}
