//! `GET /servers/{id}/diagnostics` (admin): what the hypervisor would say of a server.
//! Before 2.48 libvirt's flat dictionary; from 2.48 Nova's standard body. The sizes are the
//! flavor's; the counters grow with the time the server has been up.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::servers::model::{self, power, Server};
use super::{param, reply, Call, Compute};

type Svc = Arc<Compute>;

endpoint!(Svc; Diagnostics { on_get => show });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_server_diagnostics" => Diagnostics,
    }
    Ok(())
}

/// The server's interfaces: one per MAC among its addresses, in order.
fn nics(s: &Server) -> Vec<String> {
    let mut macs: Vec<String> = Vec::new();
    if let Value::Object(nets) = &s.addresses {
        for ip in nets.values().filter_map(Value::as_array).flatten() {
            let mac = ip["OS-EXT-IPS-MAC:mac_addr"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| fallback_mac(&s.id));
            if !macs.contains(&mac) {
                macs.push(mac);
            }
        }
    }
    macs
}

/// A MAC for an address recorded without one, in OpenStack's fa:16:3e prefix.
fn fallback_mac(server_id: &str) -> String {
    let b = uuid::Uuid::parse_str(server_id)
        .map(|u| *u.as_bytes())
        .unwrap_or_default();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[13], b[14], b[15])
}

/// libvirt's disks: the root, then ephemeral and swap when the flavor has them, then the
/// config drive.
fn disks(s: &Server) -> Vec<String> {
    let f = &s.flavor;
    let mut names = vec!["vda".to_string()];
    let mut next = b'b';
    for key in ["ephemeral", "swap"] {
        if f[key].as_i64().unwrap_or(0) > 0 {
            names.push(format!("vd{}", next as char));
            next += 1;
        }
    }
    if has_config_drive(s) {
        names.push("hdd".into());
    }
    names
}

fn has_config_drive(s: &Server) -> bool {
    !s.config_drive.is_empty() && !s.config_drive.eq_ignore_ascii_case("false")
}

/// Seconds the server has been running (0 unless it runs).
fn uptime_s(s: &Server, now_ms: i64) -> i64 {
    if s.power_state != power::RUNNING {
        return 0;
    }
    s.launched_ms
        .map(|l| ((now_ms - l) / 1000).max(0))
        .unwrap_or(0)
}

/// libvirt's domain state names.
fn state(power_state: i64) -> &'static str {
    match power_state {
        power::RUNNING => "running",
        power::PAUSED => "paused",
        power::SHUTDOWN => "shutdown",
        power::SUSPENDED => "suspended",
        6 => "crashed",
        _ => "pending",
    }
}

/// Counters of an interface or disk after `up` seconds.
struct Counters {
    cpu_ns: i64,
    disk_read: i64,
    disk_read_req: i64,
    disk_write: i64,
    disk_write_req: i64,
    rx: i64,
    rx_packets: i64,
    tx: i64,
    tx_packets: i64,
}

fn counters(up: i64, running: bool) -> Counters {
    let booted = i64::from(running);
    Counters {
        cpu_ns: up * 20_000_000 + booted * 1_500_000_000,
        disk_read: booted * 18_874_368 + up * 512,
        disk_read_req: booted * 1_062 + up / 8,
        disk_write: booted * 524_288 + up * 4_096,
        disk_write_req: booted * 98 + up / 4,
        rx: booted * 12_642 + up * 64,
        rx_packets: booted * 96 + up / 2,
        tx: booted * 9_866 + up * 48,
        tx_packets: booted * 84 + up / 2,
    }
}

/// The tap device of an interface, named after its MAC as libvirt's are after port ids.
fn tap(mac: &str) -> String {
    let hex: String = mac.chars().filter(|c| *c != ':').collect();
    format!(
        "tap{}-{}",
        &hex[..8.min(hex.len())],
        &hex[8.min(hex.len())..]
    )
}

/// The pre-2.48 body: libvirt's dictionary.
fn flat(s: &Server, now_ms: i64) -> Value {
    let up = uptime_s(s, now_ms);
    let k = counters(up, s.power_state == power::RUNNING);
    let vcpus = s.flavor["vcpus"].as_i64().unwrap_or(1).max(1);
    let ram_kib = s.flavor["ram"].as_i64().unwrap_or(0) * 1024;
    let mut m = Map::new();
    for i in 0..vcpus {
        m.insert(format!("cpu{i}_time"), json!(k.cpu_ns / vcpus));
    }
    m.insert("memory".into(), json!(ram_kib));
    m.insert("memory-actual".into(), json!(ram_kib));
    m.insert(
        "memory-rss".into(),
        json!(if s.power_state == power::RUNNING {
            ram_kib / 4
        } else {
            0
        }),
    );
    for d in disks(s) {
        m.insert(format!("{d}_read"), json!(k.disk_read));
        m.insert(format!("{d}_read_req"), json!(k.disk_read_req));
        m.insert(format!("{d}_write"), json!(k.disk_write));
        m.insert(format!("{d}_write_req"), json!(k.disk_write_req));
        m.insert(format!("{d}_errors"), json!(-1));
    }
    for mac in nics(s) {
        let t = tap(&mac);
        m.insert(format!("{t}_rx"), json!(k.rx));
        m.insert(format!("{t}_rx_packets"), json!(k.rx_packets));
        m.insert(format!("{t}_rx_errors"), json!(0));
        m.insert(format!("{t}_rx_drop"), json!(0));
        m.insert(format!("{t}_tx"), json!(k.tx));
        m.insert(format!("{t}_tx_packets"), json!(k.tx_packets));
        m.insert(format!("{t}_tx_errors"), json!(0));
        m.insert(format!("{t}_tx_drop"), json!(0));
    }
    Value::Object(m)
}

/// The 2.48 body.
fn standard(s: &Server, now_ms: i64) -> Value {
    let up = uptime_s(s, now_ms);
    let k = counters(up, s.power_state == power::RUNNING);
    let vcpus = s.flavor["vcpus"].as_i64().unwrap_or(1).max(1);
    let ram = s.flavor["ram"].as_i64().unwrap_or(0);
    let nics = nics(s);
    let disks = disks(s);
    json!({
        "state": state(s.power_state),
        "driver": "libvirt",
        "hypervisor": "local",
        "hypervisor_os": "linux",
        "uptime": up,
        "config_drive": has_config_drive(s),
        "num_cpus": vcpus,
        "num_nics": nics.len(),
        "num_disks": disks.len(),
        "memory_details": {"maximum": ram, "used": if s.power_state == power::RUNNING { ram / 4 } else { 0 }},
        "cpu_details": (0..vcpus)
            .map(|i| json!({"id": i, "time": k.cpu_ns / vcpus, "utilisation": null}))
            .collect::<Vec<_>>(),
        "nic_details": nics
            .iter()
            .map(|mac| json!({
                "mac_address": mac,
                "rx_octets": k.rx,
                "rx_errors": 0,
                "rx_drop": 0,
                "rx_packets": k.rx_packets,
                "rx_rate": null,
                "tx_octets": k.tx,
                "tx_errors": 0,
                "tx_drop": 0,
                "tx_packets": k.tx_packets,
                "tx_rate": null,
            }))
            .collect::<Vec<_>>(),
        "disk_details": disks
            .iter()
            .map(|_| json!({
                "read_bytes": k.disk_read,
                "read_requests": k.disk_read_req,
                "write_bytes": k.disk_write,
                "write_requests": k.disk_write_req,
                "errors_count": -1,
            }))
            .collect::<Vec<_>>(),
    })
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "server_id")?.to_string();
    let s = svc.read(|c| Ok(model::visible(c, &id, &call.project_id, call.is_admin())?))?;
    // No host yet (still scheduling) or none any more (offloaded).
    let unplaced = (s.vm_state == "building"
        && matches!(s.task_state.as_deref(), None | Some("scheduling")))
        || s.vm_state == "shelved_offloaded";
    if unplaced {
        return Err(Fault::conflict(format!("Instance {id} is not ready")));
    }
    let now = crate::time::now_ms();
    let body = if call.version.at_least(48) {
        standard(&s, now)
    } else {
        flat(&s, now)
    };
    reply(resp, &call, 200, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_disks_and_taps() {
        assert_eq!(tap("fa:16:3e:01:02:03"), "tapfa163e01-0203");
        assert_eq!(state(power::RUNNING), "running");
        assert_eq!(state(0), "pending");
        let c = counters(10, true);
        assert!(c.cpu_ns > counters(0, true).cpu_ns);
        assert_eq!(counters(0, false).rx, 0);
    }
}
