//! os-hosts (deprecated; gone from 2.43): the hosts of this cloud's services, the
//! resources of the compute host, and the power and maintenance actions Nova's libvirt
//! driver does not implement (501).

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::hypervisors::{self, Machine};
use super::quotas::{invalid_input, py_repr, unexpected};
use super::services::{self, INTERNAL_ZONE};
use super::{aggregates, body, param, reply, Call, Compute};

type Svc = Arc<Compute>;

endpoint!(Svc; List { on_get => list });
endpoint!(Svc; Item { on_get => show, on_put => update });
endpoint!(Svc; Reboot { on_get => reboot });
endpoint!(Svc; Shutdown { on_get => shutdown });
endpoint!(Svc; Startup { on_get => startup });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_hosts" => List,
        "v2_os_host" => Item,
        "v2_os_host_reboot" => Reboot,
        "v2_os_host_shutdown" => Shutdown,
        "v2_os_host_startup" => Startup,
    }
    Ok(())
}

/// The caller, and 404 from 2.43 where the API is gone.
fn call_of(req: &Request) -> Result<Call, Fault> {
    let call = Call::of(req)?;
    if call.version.at_least(43) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    Ok(call)
}

fn host_not_found(host: &str) -> Fault {
    Fault::not_found(format!("Compute host {host} could not be found."))
}

/// The service's topic: its binary without `nova-`.
fn topic(binary: &str) -> &str {
    binary.strip_prefix("nova-").unwrap_or(binary)
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let zone_filter = req.query_param("zone").filter(|z| !z.is_empty());
    let (compute_zone, services) = svc.read(|c| {
        Ok((
            aggregates::zone_of_host(c, &svc.host)?,
            services::all(c, &svc.host)?,
        ))
    })?;
    let hosts: Vec<Value> = services
        .iter()
        .filter(|s| !s.disabled)
        .map(|s| {
            let zone = if s.binary == services::COMPUTE {
                compute_zone.clone()
            } else {
                INTERNAL_ZONE.to_string()
            };
            json!({"host_name": s.host, "service": topic(s.binary), "zone": zone})
        })
        .filter(|h| zone_filter.is_none_or(|z| h["zone"] == z))
        .collect();
    reply(resp, &call, 200, &json!({ "hosts": hosts }))
}

/// One `{"resource": …}` row.
fn resource(host: &str, project: &str, cpu: i64, memory_mb: i64, disk_gb: i64) -> Value {
    json!({"resource": {
        "host": host,
        "project": project,
        "cpu": cpu,
        "memory_mb": memory_mb,
        "disk_gb": disk_gb,
    }})
}

/// The rows of `GET /os-hosts/{host}`: total, used now, the sum of the servers' flavors,
/// then each project's share.
fn detail(
    host: &str,
    machine: &Machine,
    used: &hypervisors::Used,
    servers: &[(String, i64, i64, i64)],
) -> Vec<Value> {
    let mut rows = vec![
        resource(
            host,
            "(total)",
            machine.vcpus,
            machine.memory_mb,
            machine.local_gb,
        ),
        resource(
            host,
            "(used_now)",
            used.vcpus,
            used.memory_mb,
            used.local_gb,
        ),
    ];
    let sum = |f: fn(&(String, i64, i64, i64)) -> i64| servers.iter().map(f).sum::<i64>();
    rows.push(resource(
        host,
        "(used_max)",
        sum(|s| s.1),
        sum(|s| s.2),
        sum(|s| s.3),
    ));
    let mut projects: Vec<(String, i64, i64, i64)> = Vec::new();
    for (p, cpu, mem, disk) in servers {
        match projects.iter_mut().find(|e| e.0 == *p) {
            Some(e) => {
                e.1 += cpu;
                e.2 += mem;
                e.3 += disk;
            }
            None => projects.push((p.clone(), *cpu, *mem, *disk)),
        }
    }
    rows.extend(
        projects
            .into_iter()
            .map(|(p, cpu, mem, disk)| resource(host, &p, cpu, mem, disk)),
    );
    rows
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let host = param(req, "host_name")?.to_string();
    if host != svc.host {
        return Err(host_not_found(&host));
    }
    let (dir, used, servers) =
        svc.read(|c| Ok((c.data_dir(), c.host_usage()?, c.server_sizes_on_host()?)))?;
    let machine = super::hypervisors::host_size(svc, &dir);
    let rows = detail(&host, &machine, &used, &servers);
    reply(resp, &call, 200, &json!({ "host": rows }))
}

const MODES: [&str; 6] = [
    "enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE",
];

/// Nova's `hosts.update` schema: `status` and `maintenance_mode`, each one of the
/// enable/disable spellings.
fn check_update(b: &Value) -> Result<Map<String, Value>, Fault> {
    let obj = b
        .as_object()
        .ok_or_else(|| Fault::bad_request(format!("{} is not of type 'object'", py_repr(b))))?;
    for name in ["status", "maintenance_mode"] {
        if let Some(v) = obj.get(name) {
            if !v.is_string() {
                return Err(invalid_input(
                    name,
                    v,
                    &format!("{} is not of type 'string'", py_repr(v)),
                ));
            }
            if !MODES.iter().any(|m| v == m) {
                return Err(invalid_input(
                    name,
                    v,
                    &format!(
                        "{} is not one of ['enable', 'disable', 'Enable', 'Disable', 'ENABLE', 'DISABLE']",
                        py_repr(v)
                    ),
                ));
            }
        }
    }
    let extras: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !["status", "maintenance_mode"].contains(k))
        .collect();
    if !extras.is_empty() {
        return Err(Fault::bad_request(unexpected(&extras)));
    }
    Ok(obj.clone())
}

/// What Nova answers when the virt driver has no such operation (libvirt has neither host
/// power actions nor host-wide enable and maintenance).
fn not_supported() -> Fault {
    Fault::not_implemented("The requested functionality is not supported.")
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let host = param(req, "host_name")?.to_string();
    let b = body(req)?;
    let obj = check_update(&b)?;
    let mut out = json!({ "host": host });
    if obj.contains_key("status") || obj.contains_key("maintenance_mode") {
        if host != svc.host {
            return Err(host_not_found(&host));
        }
        return Err(not_supported());
    }
    // An empty body changes nothing, and says so with the host alone.
    out["host"] = json!(host);
    reply(resp, &call, 200, &out)
}

fn power(svc: &Svc, req: &mut Request) -> Result<(), Fault> {
    call_of(req)?;
    let host = param(req, "host_name")?;
    if host != svc.host {
        return Err(host_not_found(host));
    }
    Err(not_supported())
}

fn reboot(svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    power(svc, req)
}

fn shutdown(svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    power(svc, req)
}

fn startup(svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    power(svc, req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_detail_rows() {
        let m = Machine {
            vcpus: 4,
            memory_mb: 8000,
            local_gb: 100,
            disk_free_gb: 50,
        };
        let used = hypervisors::Used {
            running_vms: 3,
            vcpus: 3,
            memory_mb: 640,
            local_gb: 3,
            workload: 0,
        };
        let servers = vec![
            ("p1".to_string(), 1, 128, 1),
            ("p2".to_string(), 1, 256, 1),
            ("p1".to_string(), 1, 256, 1),
        ];
        let rows = detail("h", &m, &used, &servers);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0]["resource"]["project"], "(total)");
        assert_eq!(rows[2]["resource"]["memory_mb"], 640);
        assert_eq!(rows[3]["resource"]["project"], "p1");
        assert_eq!(rows[3]["resource"]["cpu"], 2);
        assert_eq!(rows[4]["resource"]["host"], "h");
        assert!(check_update(&json!({"status": "invalid"})).is_err());
        assert!(check_update(&json!({"status": null})).is_err());
        assert!(check_update(&json!({"status": "Enable", "maintenance_mode": "disable"})).is_ok());
    }
}
