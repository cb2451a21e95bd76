//! os-hypervisors: the one hypervisor of this cloud is this machine. Its size is `[local]`'s
//! or read from the machine (CPUs available to this process, /proc/meminfo, the filesystem
//! the database lives on); what is used is what Placement holds for the servers on it.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::quotas::not_a_bool;
use super::services::{self, Service};
use super::{param, reply, Call, Compute, Urls};

type Svc = Arc<Compute>;

/// The integer id of the one compute node (before 2.53).
pub const NODE_ID: i64 = 1;

/// The compute node's uuid (2.53 on): stable for a host name.
pub fn node_uuid(host: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, host.as_bytes()).to_string()
}

/// What this machine has.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub vcpus: i64,
    pub memory_mb: i64,
    pub local_gb: i64,
    /// GiB this process could still write where the data lives.
    pub disk_free_gb: i64,
}

impl Machine {
    /// Reads the machine; `data_dir` is the folder whose filesystem holds the disks.
    pub fn read(data_dir: &std::path::Path) -> Machine {
        let vcpus = std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1);
        let memory_mb = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| meminfo_total_mb(&s))
            .unwrap_or(0);
        let (total, avail) = fs_bytes(data_dir).unwrap_or((0, 0));
        const GIB: u64 = 1 << 30;
        Machine {
            vcpus,
            memory_mb,
            local_gb: (total / GIB) as i64,
            disk_free_gb: (avail / GIB) as i64,
        }
    }
}

/// `MemTotal` of /proc/meminfo, in MiB.
pub fn meminfo_total_mb(meminfo: &str) -> Option<i64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Total and available bytes of the filesystem holding `path`.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn fs_bytes(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    // glibc's and musl's `struct statvfs` on 64-bit Linux: f_bsize, f_frsize, f_blocks,
    // f_bfree, f_bavail, … each 8 bytes wide. The buffer is larger than the struct.
    extern "C" {
        fn statvfs(path: *const std::ffi::c_char, buf: *mut u64) -> std::ffi::c_int;
    }
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut buf = [0u64; 32];
    // SAFETY: a NUL-terminated path and a buffer larger than `struct statvfs`.
    let rc = unsafe { statvfs(c_path.as_ptr(), buf.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    let frsize = if buf[1] != 0 { buf[1] } else { buf[0] };
    Some((buf[2] * frsize, buf[4] * frsize))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn fs_bytes(_path: &std::path::Path) -> Option<(u64, u64)> {
    None
}

/// What the servers placed on this host take (Nova's resource tracker counts every
/// server not deleted nor shelved off the host).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Used {
    pub running_vms: i64,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub local_gb: i64,
    /// Servers with a task under way.
    pub workload: i64,
}

/// The CPU as libvirt's `cpu_info` describes it.
fn cpu_info(vcpus: i64) -> Value {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let features: Vec<String> = field("flags")
        .or_else(|| field("Features"))
        .map(|f| f.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    json!({
        "arch": std::env::consts::ARCH,
        "model": field("model name").unwrap_or_default(),
        "vendor": field("vendor_id").unwrap_or_default(),
        "topology": {"cells": 1, "sockets": 1, "cores": vcpus, "threads": 1},
        "features": features,
    })
}

/// The address other machines would reach this one at: the source address of a route
/// outwards (a UDP "connect" sends nothing).
fn host_ip() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

/// `uptime`'s line, which is what Nova's libvirt driver answers.
pub fn uptime_line() -> String {
    let secs = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0) as i64;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let loads: Vec<&str> = load.split_whitespace().take(3).collect();
    let now = crate::time::now_ms() / 1000;
    let clock = format!(
        "{:02}:{:02}:{:02}",
        (now / 3600) % 24,
        (now / 60) % 60,
        now % 60
    );
    let days = secs / 86400;
    let hm = format!("{:2}:{:02}", (secs % 86400) / 3600, (secs % 3600) / 60);
    let up = match days {
        0 => hm,
        1 => format!("1 day, {hm}"),
        d => format!("{d} days, {hm}"),
    };
    format!(
        " {clock} up {up},  0 users,  load average: {}",
        loads.join(", ")
    )
}

/// Nova's `hypervisor_version` for this driver: jumpgate's own version as an integer
/// (major * 1000000 + minor * 1000 + patch), as libvirt encodes its own.
fn version_number() -> i64 {
    let mut parts = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    a * 1_000_000 + b * 1000 + c
}

/// The hypervisor's id as the request's version writes it.
fn node_id(call: &Call, host: &str) -> Value {
    if call.version.at_least(53) {
        json!(node_uuid(host))
    } else {
        json!(NODE_ID)
    }
}

/// What one view needs, read once.
struct Facts {
    machine: Machine,
    used: Used,
    service: Service,
    servers: Vec<(String, String)>,
}

/// The host's size as reported to Placement, with what is free on the filesystem now.
pub fn host_size(svc: &Compute, data_dir: &std::path::Path) -> Machine {
    Machine {
        vcpus: svc.node.vcpus,
        memory_mb: svc.node.memory_mb,
        local_gb: svc.node.disk_gb,
        disk_free_gb: Machine::read(data_dir).disk_free_gb,
    }
}

/// The host as os-hypervisors shows it: its size as reported to Placement, and what is used
/// as Placement counts it (memory with the host's reserve, as Nova's resource tracker
/// counts it), so the two APIs agree. Servers that never got a place (NoValidHost) are not
/// on the host.
fn facts(svc: &Compute) -> Result<Facts, Fault> {
    let node = node_uuid(&svc.host);
    let (dir, tasks, allocations, servers, service) = svc.read(|c| {
        Ok((
            c.data_dir(),
            c.host_usage()?,
            c.provider_allocations(&node)?,
            c.servers_on_host()?,
            services::compute(c, &svc.host)?,
        ))
    })?;
    let held: std::collections::BTreeSet<&str> = allocations
        .iter()
        .map(|(consumer, _, _)| consumer.as_str())
        .collect();
    let servers: Vec<(String, String)> = servers
        .into_iter()
        .filter(|(id, _)| held.contains(id.as_str()))
        .collect();
    let usage = |rc: &str| -> i64 {
        allocations
            .iter()
            .filter(|(_, class, _)| class == rc)
            .fold(0i64, |sum, (_, _, used)| sum.saturating_add(*used))
    };
    Ok(Facts {
        machine: host_size(svc, &dir),
        used: Used {
            running_vms: servers.len() as i64,
            vcpus: usage("VCPU"),
            memory_mb: usage("MEMORY_MB").saturating_add(svc.node.reserved_host_memory_mb),
            local_gb: usage("DISK_GB"),
            workload: tasks.workload,
        },
        service,
        servers,
    })
}

fn view(svc: &Compute, call: &Call, f: &Facts, detail: bool, servers: bool) -> Value {
    let mut h = json!({
        "id": node_id(call, &svc.host),
        "hypervisor_hostname": svc.host,
        "state": if f.service.up() { "up" } else { "down" },
        "status": if f.service.disabled { "disabled" } else { "enabled" },
    });
    if detail {
        h["hypervisor_type"] = json!("local");
        h["hypervisor_version"] = json!(version_number());
        h["host_ip"] = json!(host_ip());
        h["service"] = json!({
            "id": if call.version.at_least(53) { json!(f.service.uuid) } else { json!(f.service.id) },
            "host": svc.host,
            "disabled_reason": f.service.disabled_reason,
        });
        if call.version.at_least(88) {
            h["uptime"] = json!(uptime_line());
        } else {
            let (m, u) = (&f.machine, &f.used);
            h["vcpus"] = json!(m.vcpus);
            h["memory_mb"] = json!(m.memory_mb);
            h["local_gb"] = json!(m.local_gb);
            h["vcpus_used"] = json!(u.vcpus);
            h["memory_mb_used"] = json!(u.memory_mb);
            h["local_gb_used"] = json!(u.local_gb);
            h["free_ram_mb"] = json!(m.memory_mb - u.memory_mb);
            h["free_disk_gb"] = json!(m.local_gb - u.local_gb);
            h["current_workload"] = json!(u.workload);
            h["running_vms"] = json!(u.running_vms);
            h["disk_available_least"] = json!(m.disk_free_gb);
            let info = cpu_info(m.vcpus);
            h["cpu_info"] = if call.version.at_least(28) {
                info
            } else {
                json!(info.to_string())
            };
        }
    }
    if servers {
        if !f.servers.is_empty() {
            h["servers"] = f
                .servers
                .iter()
                .map(|(id, name)| json!({"name": name, "uuid": id}))
                .collect();
        } else if call.version.at_least(75) {
            h["servers"] = json!([]);
        }
    }
    h
}

endpoint!(Svc; List { on_get => list });
endpoint!(Svc; Detail { on_get => detail });
endpoint!(Svc; Statistics { on_get => statistics });
endpoint!(Svc; Show { on_get => show });
endpoint!(Svc; Uptime { on_get => uptime });
endpoint!(Svc; Search { on_get => search });
endpoint!(Svc; Servers { on_get => servers });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_hypervisors" => List,
        "v2_os_hypervisors_detail" => Detail,
        "v2_os_hypervisors_statistics" => Statistics,
        "v2_os_hypervisor" => Show,
        "v2_os_hypervisor_uptime" => Uptime,
        "v2_os_hypervisor_search" => Search,
        "v2_os_hypervisor_servers" => Servers,
    }
    Ok(())
}

/// Nova's 404 for a route the requested version does not have.
fn no_such_route() -> Fault {
    Fault::not_found("The resource could not be found.")
}

/// `with_servers`, strictly boolean as Nova's query schema wants it.
fn with_servers(call: &Call, req: &Request) -> Result<bool, Fault> {
    if !call.version.at_least(53) {
        return Ok(false);
    }
    match req.query_param("with_servers") {
        None => Ok(false),
        Some(raw) => {
            let v = json!(raw);
            super::quotas::nova_bool(&v).ok_or_else(|| {
                Fault::bad_request(format!(
                    "Invalid input for query parameters with_servers. Value: {raw}. {}",
                    not_a_bool(&v)
                ))
            })
        }
    }
}

/// Nova's `hypervisor_hostname_pattern` match: a substring (SQL `LIKE %pattern%`).
fn matches(host: &str, pattern: &str) -> bool {
    host.to_lowercase().contains(&pattern.to_lowercase())
}

fn index(svc: &Svc, req: &mut Request, resp: &mut Response, detail: bool) -> HandlerResult {
    let call = Call::of(req)?;
    let servers = with_servers(&call, req)?;
    let pattern = if call.version.at_least(53) {
        req.query_param("hypervisor_hostname_pattern")
    } else {
        None
    };
    let paged = call.version.at_least(33);
    let f = facts(svc)?;
    if let Some(pattern) = pattern {
        if req.query_param("limit").is_some() || req.query_param("marker").is_some() {
            return Err(Fault::bad_request(
                "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.",
            ));
        }
        if !matches(&svc.host, pattern) {
            return Err(Fault::not_found(format!(
                "No hypervisor matching '{pattern}' could be found."
            )));
        }
        let list = vec![view(svc, &call, &f, detail, servers)];
        return reply(resp, &call, 200, &json!({ "hypervisors": list }));
    }
    let mut list = vec![view(svc, &call, &f, detail, servers)];
    let mut out = json!({});
    if paged {
        let page = Page::from_request(req, 1000)?;
        if let Some(marker) = &page.marker {
            let ours = if call.version.at_least(53) {
                node_uuid(&svc.host)
            } else {
                NODE_ID.to_string()
            };
            if *marker != ours {
                return Err(Fault::bad_request(format!("marker [{marker}] not found")));
            }
            list.clear();
        }
        list.truncate(page.limit);
        if page.limit > 0 && list.len() == page.limit {
            let urls = Urls::of(svc, req)?;
            let last = list[list.len() - 1]["id"].to_string();
            let last = last.trim_matches('"');
            let collection = if detail {
                "os-hypervisors/detail"
            } else {
                "os-hypervisors"
            };
            out["hypervisors_links"] = urls.next(req, collection, last);
        }
    }
    out["hypervisors"] = json!(list);
    reply(resp, &call, 200, &out)
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    index(svc, req, resp, false)
}

fn detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    index(svc, req, resp, true)
}

/// Checks a hypervisor id of the path as Nova does: a uuid from 2.53 (400 otherwise), an
/// integer before (404 otherwise), and ours (404 otherwise).
fn check_id(svc: &Compute, call: &Call, id: &str) -> Result<(), Fault> {
    let missing = || Fault::not_found(format!("Hypervisor with ID '{id}' could not be found."));
    if call.version.at_least(53) {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(Fault::bad_request(format!("Invalid uuid {id}")));
        }
        if !id.eq_ignore_ascii_case(&node_uuid(&svc.host)) {
            return Err(missing());
        }
    } else {
        match id.trim().parse::<i64>() {
            Ok(n) if n == NODE_ID => {}
            _ => return Err(missing()),
        }
    }
    Ok(())
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "hypervisor_id")?.to_string();
    // `/os-hypervisors/statistics` may reach this route when the router prefers it.
    if id == "statistics" {
        return statistics(svc, req, resp);
    }
    if id == "detail" {
        return detail(svc, req, resp);
    }
    let servers = with_servers(&call, req)?;
    check_id(svc, &call, &id)?;
    let f = facts(svc)?;
    let h = view(svc, &call, &f, true, servers);
    reply(resp, &call, 200, &json!({ "hypervisor": h }))
}

fn uptime(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    if call.version.at_least(88) {
        return Err(no_such_route());
    }
    let id = param(req, "hypervisor_id")?.to_string();
    check_id(svc, &call, &id)?;
    let f = facts(svc)?;
    let mut h = view(svc, &call, &f, false, false);
    h["uptime"] = json!(uptime_line());
    reply(resp, &call, 200, &json!({ "hypervisor": h }))
}

fn statistics(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    if call.version.at_least(88) {
        return Err(no_such_route());
    }
    let f = facts(svc)?;
    // Nova sums the compute nodes whose service is enabled.
    let (m, u) = if f.service.disabled {
        (
            Machine {
                vcpus: 0,
                memory_mb: 0,
                local_gb: 0,
                disk_free_gb: 0,
            },
            Used::default(),
        )
    } else {
        (f.machine.clone(), f.used.clone())
    };
    let count = i64::from(!f.service.disabled);
    let stats = json!({
        "count": count,
        "vcpus": m.vcpus,
        "memory_mb": m.memory_mb,
        "local_gb": m.local_gb,
        "vcpus_used": u.vcpus,
        "memory_mb_used": u.memory_mb,
        "local_gb_used": u.local_gb,
        "free_ram_mb": m.memory_mb - u.memory_mb,
        "free_disk_gb": m.local_gb - u.local_gb,
        "current_workload": u.workload,
        "running_vms": u.running_vms,
        "disk_available_least": m.disk_free_gb,
    });
    reply(resp, &call, 200, &json!({ "hypervisor_statistics": stats }))
}

/// The pre-2.53 search routes: hypervisors whose name contains the pattern.
fn by_pattern(svc: &Svc, req: &mut Request, resp: &mut Response, servers: bool) -> HandlerResult {
    let call = Call::of(req)?;
    if call.version.at_least(53) {
        return Err(no_such_route());
    }
    let pattern = param(req, "hypervisor_hostname_pattern")?.to_string();
    if !matches(&svc.host, &pattern) {
        return Err(Fault::not_found(format!(
            "No hypervisor matching '{pattern}' could be found."
        )));
    }
    let f = facts(svc)?;
    let h = view(svc, &call, &f, false, servers);
    reply(resp, &call, 200, &json!({ "hypervisors": [h] }))
}

fn search(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    by_pattern(svc, req, resp, false)
}

fn servers(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    by_pattern(svc, req, resp, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::fixtures::TestServer;
    use crate::store::Store;

    #[test]
    fn reads_the_machine() {
        assert_eq!(
            meminfo_total_mb("MemTotal:       16384000 kB\nMemFree: 1 kB\n"),
            Some(16000)
        );
        let m = Machine::read(std::path::Path::new("."));
        assert!(m.vcpus >= 1);
        assert!(m.memory_mb > 0);
        assert!(m.local_gb > 0 && m.disk_free_gb <= m.local_gb);
        assert!(uptime_line().contains(" up "));
        assert_eq!(node_uuid("a"), node_uuid("a"));
        assert_ne!(node_uuid("a"), node_uuid("b"));
    }

    #[test]
    fn sums_the_servers_on_the_host() {
        let store = Store::memory();
        let used = store
            .write(|c| {
                for (id, state, deleted, vcpus) in [
                    ("a", "active", 0, 2),
                    ("b", "stopped", 0, 1),
                    ("c", "active", 1, 8),
                    ("d", "shelved_offloaded", 0, 4),
                ] {
                    let s = TestServer {
                        id,
                        vm_state: state,
                        flavor: json!({"vcpus": vcpus, "ram": 512, "disk": 1, "ephemeral": 1}),
                        deleted: deleted == 1,
                        ..TestServer::default()
                    };
                    c.test_server(&s);
                }
                Ok::<_, crate::compute::Error>(c.host_usage()?)
            })
            .unwrap();
        assert_eq!(
            used,
            Used {
                running_vms: 2,
                vcpus: 3,
                memory_mb: 1024,
                local_gb: 4,
                workload: 0
            }
        );
    }
}
