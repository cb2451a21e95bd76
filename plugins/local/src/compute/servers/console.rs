//! `os-getConsoleOutput`: the serial console log a booted guest would have written. There
//! is no guest here, so the log is made from what the server is (name, flavor, address,
//! key), and grows with each (re)boot as a real console log does.

use jumpgate_plugin_api::Fault;
use serde_json::Value;

use super::model::Server;
use crate::compute::Compute;

/// The last `length` lines of the server's console (all with -1 or none).
pub fn output(
    s: Server,
    args: &Value,
    _svc: &Compute,
    _now: i64,
) -> crate::compute::Result<String> {
    let length = match args.get("length") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| Fault::bad_request(format!("Invalid input for field/attribute length. Value: {v}. {v} is not valid under any of the given schemas")))?;
            if n < -1 {
                return Err(Fault::bad_request(format!("Invalid input for field/attribute length. Value: {n}. {n} is less than the minimum of -1")).into());
            }
            (n >= 0).then_some(n as usize)
        }
    };
    if matches!(s.vm_state.as_str(), "building" | "shelved_offloaded") {
        return Err(Fault::conflict(format!("Instance {} is not ready", s.id)).into());
    }
    let log = boot_log(&s);
    // Nova's tail: the last `length` pieces of the log split on newlines.
    let lines: Vec<&str> = log.split('\n').collect();
    let from = match length {
        Some(n) => lines.len().saturating_sub(n),
        None => 0,
    };
    Ok(lines[from..].join("\n"))
}

pub fn boot_log(s: &Server) -> String {
    let ip = s
        .addresses
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|l| l.get(0))
        .and_then(|a| a["addr"].as_str())
        .unwrap_or("")
        .to_string();
    let ram = s.flavor["ram"].as_i64().unwrap_or(0);
    let vcpus = s.flavor["vcpus"].as_i64().unwrap_or(1);
    let host = &s.hostname;
    let mut out = vec![
        "[    0.000000] Linux version 6.1.0-cloud (builder@jumpgate) #1 SMP PREEMPT_DYNAMIC"
            .to_string(),
        "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1 console=ttyS0".to_string(),
        format!("[    0.000000] Memory: {}K available", ram * 1024),
        format!("[    0.012000] smpboot: Allowing {vcpus} CPUs, 0 hotplug CPUs"),
        "[    0.420000] virtio_blk virtio2: [vda] 2097152 512-byte logical blocks".to_string(),
        "[    0.610000] EXT4-fs (vda1): mounted filesystem with ordered data mode".to_string(),
        "[    1.020000] systemd[1]: Detected virtualization kvm.".to_string(),
        format!("[    1.030000] systemd[1]: Set hostname to <{host}>."),
        "[  OK  ] Started Journal Service.".to_string(),
        "[  OK  ] Reached target Network.".to_string(),
        format!(
            "cloud-init[412]: Cloud-init v. 23.1 running 'init' (instance {})",
            s.id
        ),
        "cloud-init[412]: ci-info: ++++++++++++++++++Net device info++++++++++++++++++".to_string(),
        format!("cloud-init[412]: ci-info: | eth0 | True | {ip} | 255.255.0.0 | global |"),
        "cloud-init[412]: ci-info: ++++++++++++++++++++++++++++++++++++++++++++++++++++"
            .to_string(),
    ];
    if let Some(key) = &s.key_name {
        out.push(format!(
            "cloud-init[412]: Authorized SSH key '{key}' for the default user"
        ));
    }
    out.push("[  OK  ] Started OpenBSD Secure Shell server.".into());
    out.push(
        "cloud-init[530]: Cloud-init v. 23.1 finished. Datasource DataSourceOpenStack [net,ver=2]."
            .to_string(),
    );
    out.push(String::new());
    out.push(format!("{host} login: "));
    out.join("\n")
}
