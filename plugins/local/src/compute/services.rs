//! The compute services this cloud runs, as Nova lists them: nova-conductor and
//! nova-scheduler in the `internal` zone, nova-compute on this host in `nova`. Their
//! enabled/disabled and forced-down state is kept in the store (`compute_services`), so it
//! outlives reloads and restarts, as Nova's services table does. Also os-availability-zone,
//! whose zones are made of these services.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::quotas::{invalid_input, not_a_bool, nova_bool, py_repr, unexpected};
use super::{body, param, reply, Call, Compute, Result as Outcome, ZONE};
use crate::store::Tx;

type Svc = Arc<Compute>;

pub const COMPUTE: &str = "nova-compute";
/// Nova's `internal_service_availability_zone`: where its non-compute services live.
pub const INTERNAL_ZONE: &str = "internal";

/// One service as the API shows it.
#[derive(Debug, Clone)]
pub struct Service {
    /// The id before 2.53.
    pub id: i64,
    /// The id from 2.53.
    pub uuid: String,
    pub binary: &'static str,
    pub host: String,
    pub zone: &'static str,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub forced_down: bool,
}

impl Service {
    /// Nova's `state`: a live service is up unless an admin forced it down.
    pub fn up(&self) -> bool {
        !self.forced_down
    }

    fn view(&self, call: &Call, now: &str) -> Value {
        let mut v = json!({
            "id": if call.version.at_least(53) { json!(self.uuid) } else { json!(self.id) },
            "binary": self.binary,
            "host": self.host,
            "zone": self.zone,
            "status": if self.disabled { "disabled" } else { "enabled" },
            "state": if self.up() { "up" } else { "down" },
            "updated_at": now,
            "disabled_reason": self.disabled_reason,
        });
        if call.version.at_least(11) {
            v["forced_down"] = json!(self.forced_down);
        }
        v
    }
}

/// The compute service's changeable state, per host name.
#[derive(Debug, Clone, Default)]
pub struct ServiceState {
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub forced_down: bool,
}

fn state_of(c: &dyn Tx, host: &str) -> Outcome<ServiceState> {
    Ok(c.compute_service(host)?.unwrap_or_default())
}

fn change(c: &dyn Tx, host: &str, f: impl FnOnce(&mut ServiceState)) -> Outcome<()> {
    let mut s = state_of(c, host)?;
    f(&mut s);
    Ok(c.save_compute_service(host, &s)?)
}

/// A service's stable uuid, from its binary and host.
pub fn service_uuid(binary: &str, host: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_DNS,
        format!("{binary}.{host}").as_bytes(),
    )
    .to_string()
}

/// Every service, in Nova's order (by id).
pub fn all(c: &dyn Tx, host: &str) -> Outcome<Vec<Service>> {
    let fixed = |id, binary, zone| Service {
        id,
        uuid: service_uuid(binary, host),
        binary,
        host: host.to_string(),
        zone,
        disabled: false,
        disabled_reason: None,
        forced_down: false,
    };
    let s = state_of(c, host)?;
    Ok(vec![
        fixed(1, "nova-conductor", INTERNAL_ZONE),
        fixed(2, "nova-scheduler", INTERNAL_ZONE),
        Service {
            disabled: s.disabled,
            disabled_reason: s.disabled_reason,
            forced_down: s.forced_down,
            ..fixed(3, COMPUTE, ZONE)
        },
    ])
}

/// The nova-compute service of this host.
pub fn compute(c: &dyn Tx, host: &str) -> Outcome<Service> {
    let mut all = all(c, host)?;
    all.retain(|s| s.binary == COMPUTE);
    Ok(all.remove(0))
}

/// Services report every few seconds; "now" is when a live one last did. Nova writes
/// naive UTC with microseconds.
pub fn heartbeat() -> String {
    naive_micros(crate::time::now_ms())
}

/// `2012-10-29T13:42:02.000000`: how Nova serializes its naive UTC datetimes.
pub fn naive_micros(unix_ms: i64) -> String {
    crate::time::iso_micros(unix_ms)
        .trim_end_matches('Z')
        .to_string()
}

endpoint!(Svc; Services { on_get => list });
endpoint!(Svc; Enable { on_put => enable });
endpoint!(Svc; Disable { on_put => disable });
endpoint!(Svc; DisableLogReason { on_put => disable_log_reason });
endpoint!(Svc; ForceDown { on_put => force_down });
endpoint!(Svc; ServiceItem { on_put => update });
endpoint!(Svc; Zones { on_get => zones });
endpoint!(Svc; ZonesDetail { on_get => zones_detail });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_services" => Services,
        "v2_os_services_enable" => Enable,
        "v2_os_services_disable" => Disable,
        "v2_os_services_disable_log_reason" => DisableLogReason,
        "v2_os_services_force_down" => ForceDown,
        "v2_os_service" => ServiceItem,
        "v2_availability_zone" => Zones,
        "v2_availability_zone_detail" => ZonesDetail,
    }
    Ok(())
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let host = req.query_param("host").filter(|h| !h.is_empty());
    let binary = req.query_param("binary").filter(|b| !b.is_empty());
    let now = heartbeat();
    let services: Vec<Value> = svc
        .read(|c| all(c, &svc.host))?
        .iter()
        .filter(|s| host.is_none_or(|h| s.host == h))
        .filter(|s| binary.is_none_or(|b| s.binary == b))
        .map(|s| s.view(&call, &now))
        .collect();
    reply(resp, &call, 200, &json!({ "services": services }))
}

/// The pre-2.53 body: `{"host", "binary"[, "disabled_reason"][, "forced_down"]}`,
/// checked as Nova's schema does.
fn action_body(call: &Call, req: &Request) -> Result<Map<String, Value>, Fault> {
    let body = body(req)?;
    let obj = body
        .as_object()
        .ok_or_else(|| Fault::bad_request(format!("{} is not of type 'object'", py_repr(&body))))?;
    let mut allowed = vec!["host", "binary", "disabled_reason"];
    if call.version.at_least(11) {
        allowed.push("forced_down");
    }
    for name in ["host", "binary", "disabled_reason"] {
        if let Some(v) = obj.get(name) {
            let Some(s) = v.as_str() else {
                return Err(invalid_input(
                    name,
                    v,
                    &format!("{} is not of type 'string'", py_repr(v)),
                ));
            };
            let max = 255;
            if s.chars().count() > max {
                return Err(invalid_input(
                    name,
                    v,
                    &format!("{} is too long", py_repr(v)),
                ));
            }
            if name != "disabled_reason" && s.is_empty() {
                return Err(invalid_input(
                    name,
                    v,
                    &format!("{} is too short", py_repr(v)),
                ));
            }
        }
    }
    if let Some(v) = obj.get("forced_down").filter(|_| call.version.at_least(11)) {
        if nova_bool(v).is_none() {
            return Err(invalid_input("forced_down", v, &not_a_bool(v)));
        }
    }
    for name in ["host", "binary"] {
        if !obj.contains_key(name) {
            return Err(Fault::bad_request(format!(
                "'{name}' is a required property"
            )));
        }
    }
    let extras: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if !extras.is_empty() {
        return Err(Fault::bad_request(unexpected(&extras)));
    }
    Ok(obj.clone())
}

/// Applies a pre-2.53 action to the service `host`/`binary` names: only nova-compute may
/// change, and it must exist.
fn act(
    svc: &Compute,
    body: &Map<String, Value>,
    f: impl FnOnce(&mut ServiceState),
) -> Result<(), Fault> {
    let host = body["host"].as_str().unwrap_or_default();
    let binary = body["binary"].as_str().unwrap_or_default();
    if binary != COMPUTE {
        return Err(Fault::bad_request(format!(
            "Updating a {binary} service is not supported. Only nova-compute services can be updated."
        )));
    }
    if host != svc.host {
        return Err(Fault::not_found(format!(
            "Could not find binary {binary} on host {host}."
        )));
    }
    svc.write(|c| change(c, host, f))
}

/// From 2.53 the action names are read as service ids, which they are not.
fn refuse_action_from_253(call: &Call, action: &str) -> Result<(), Fault> {
    if call.version.at_least(53) {
        return Err(Fault::bad_request(format!("Invalid uuid {action}")));
    }
    Ok(())
}

fn enable(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    action(svc, req, resp, "enable")
}

fn disable(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    action(svc, req, resp, "disable")
}

fn disable_log_reason(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    action(svc, req, resp, "disable-log-reason")
}

fn force_down(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    action(svc, req, resp, "force-down")
}

fn action(svc: &Svc, req: &mut Request, resp: &mut Response, name: &str) -> HandlerResult {
    let call = Call::of(req)?;
    refuse_action_from_253(&call, name)?;
    let known = matches!(name, "enable" | "disable" | "disable-log-reason")
        || (name == "force-down" && call.version.at_least(11));
    if !known {
        return Err(Fault::not_found("Unknown action"));
    }
    let b = action_body(&call, req)?;
    let (host, binary) = (b["host"].clone(), b["binary"].clone());
    let out = match name {
        "enable" => {
            act(svc, &b, |s| {
                s.disabled = false;
                s.disabled_reason = None;
            })?;
            json!({"service": {"host": host, "binary": binary, "status": "enabled"}})
        }
        "disable" => {
            act(svc, &b, |s| {
                s.disabled = true;
                s.disabled_reason = None;
            })?;
            json!({"service": {"host": host, "binary": binary, "status": "disabled"}})
        }
        "disable-log-reason" => {
            let Some(reason) = b.get("disabled_reason").and_then(Value::as_str) else {
                return Err(Fault::bad_request("Missing disabled reason field"));
            };
            let reason = reason.to_string();
            let stored = reason.clone();
            act(svc, &b, |s| {
                s.disabled = true;
                s.disabled_reason = Some(stored);
            })?;
            let mut service = json!({"host": host, "binary": binary, "status": "disabled"});
            // Nova leaves an empty reason out of the answer.
            if !reason.is_empty() {
                service["disabled_reason"] = json!(reason);
            }
            json!({ "service": service })
        }
        _ => {
            let Some(forced) = b.get("forced_down").and_then(nova_bool) else {
                return Err(Fault::bad_request("Missing forced_down field"));
            };
            act(svc, &b, |s| s.forced_down = forced)?;
            json!({"service": {"host": host, "binary": binary, "forced_down": forced}})
        }
    };
    reply(resp, &call, 200, &out)
}

/// `PUT /os-services/{id}`: before 2.53 `{id}` is an action; from 2.53 a service uuid
/// and the body says what changes.
fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let id = param(req, "service_id")?.to_string();
    let call = Call::of(req)?;
    if !call.version.at_least(53) {
        return action(svc, req, resp, &id);
    }
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(Fault::bad_request(format!("Invalid uuid {id}")));
    }
    let body = body(req)?;
    let obj = body
        .as_object()
        .ok_or_else(|| Fault::bad_request(format!("{} is not of type 'object'", py_repr(&body))))?;
    if let Some(v) = obj.get("status") {
        if v != "enabled" && v != "disabled" {
            return Err(invalid_input(
                "status",
                v,
                &format!("{} is not one of ['enabled', 'disabled']", py_repr(v)),
            ));
        }
    }
    if let Some(v) = obj.get("disabled_reason") {
        let Some(s) = v.as_str() else {
            return Err(invalid_input(
                "disabled_reason",
                v,
                &format!("{} is not of type 'string'", py_repr(v)),
            ));
        };
        if s.is_empty() {
            return Err(invalid_input("disabled_reason", v, "'' is too short"));
        }
        if s.chars().count() > 255 {
            return Err(invalid_input(
                "disabled_reason",
                v,
                &format!("{} is too long", py_repr(v)),
            ));
        }
    }
    let forced = match obj.get("forced_down") {
        None => None,
        Some(v) => {
            Some(nova_bool(v).ok_or_else(|| invalid_input("forced_down", v, &not_a_bool(v)))?)
        }
    };
    let extras: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !["status", "disabled_reason", "forced_down"].contains(k))
        .collect();
    if !extras.is_empty() {
        return Err(Fault::bad_request(unexpected(&extras)));
    }
    let Some(service) = svc
        .read(|c| all(c, &svc.host))?
        .into_iter()
        .find(|s| s.uuid == id)
    else {
        return Err(Fault::not_found(format!(
            "Service {id} could not be found."
        )));
    };
    if service.binary != COMPUTE {
        return Err(Fault::bad_request(format!(
            "Updating a {} service is not supported. Only nova-compute services can be updated.",
            service.binary
        )));
    }
    let status = obj.get("status").and_then(Value::as_str);
    let reason = obj.get("disabled_reason").and_then(Value::as_str);
    if status == Some("enabled") && reason.is_some() {
        return Err(Fault::bad_request(
            "Specifying 'disabled_reason' with status 'enabled' is invalid.",
        ));
    }
    if status.is_none() && forced.is_none() {
        return Err(Fault::bad_request(
            "No updates were requested. Fields 'status' or 'forced_down' should be specified.",
        ));
    }
    let changed = svc.write(|c| {
        change(c, &svc.host, |s| {
            match status {
                Some("enabled") => {
                    s.disabled = false;
                    s.disabled_reason = None;
                }
                Some(_) => {
                    s.disabled = true;
                    s.disabled_reason = reason.map(str::to_string);
                }
                None => {}
            }
            if let Some(f) = forced {
                s.forced_down = f;
            }
        })?;
        compute(c, &svc.host)
    })?;
    let mut shown = changed.view(&call, &heartbeat());
    // The update answer always carries forced_down (2.53 is past 2.11 anyway).
    shown["forced_down"] = json!(changed.forced_down);
    reply(resp, &call, 200, &json!({ "service": shown }))
}

// ---------------------------------------------------------------- availability zones

/// Zones with an enabled service are available; the others are listed as not.
fn zone_split(services: &[Service]) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut available: Vec<&'static str> = Vec::new();
    for s in services.iter().filter(|s| !s.disabled) {
        if !available.contains(&s.zone) {
            available.push(s.zone);
        }
    }
    let mut unavailable: Vec<&'static str> = Vec::new();
    for s in services.iter().filter(|s| s.disabled) {
        if !available.contains(&s.zone) && !unavailable.contains(&s.zone) {
            unavailable.push(s.zone);
        }
    }
    (available, unavailable)
}

fn zones(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let (available, unavailable) = zone_split(&svc.read(|c| all(c, &svc.host))?);
    let info: Vec<Value> = available
        .iter()
        .filter(|z| **z != INTERNAL_ZONE)
        .map(|z| json!({"zoneName": z, "zoneState": {"available": true}, "hosts": null}))
        .chain(
            unavailable
                .iter()
                .filter(|z| **z != INTERNAL_ZONE)
                .map(|z| json!({"zoneName": z, "zoneState": {"available": false}, "hosts": null})),
        )
        .collect();
    reply(resp, &call, 200, &json!({ "availabilityZoneInfo": info }))
}

fn zones_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let services = svc.read(|c| all(c, &svc.host))?;
    let (available, unavailable) = zone_split(&services);
    let now = heartbeat();
    let mut info = Vec::new();
    for zone in available {
        let mut hosts = Map::new();
        for s in services.iter().filter(|s| s.zone == zone && !s.disabled) {
            let entry = hosts.entry(s.host.clone()).or_insert_with(|| json!({}));
            entry[s.binary] = json!({
                "available": s.up(),
                "active": !s.disabled,
                "updated_at": now,
            });
        }
        info.push(json!({"zoneName": zone, "zoneState": {"available": true}, "hosts": hosts}));
    }
    for zone in unavailable {
        info.push(json!({"zoneName": zone, "zoneState": {"available": false}, "hosts": null}));
    }
    reply(resp, &call, 200, &json!({ "availabilityZoneInfo": info }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compute_service_keeps_its_state_in_the_store_and_its_zone_follows() {
        let store = crate::store::Store::memory();
        let host = "services-test-host";
        let split = || {
            store
                .read(|c| Ok::<_, super::super::Error>(zone_split(&all(c, host)?)))
                .unwrap()
        };
        assert_eq!(split(), (vec![INTERNAL_ZONE, ZONE], vec![]));
        store
            .write(|c| {
                change(c, host, |s| {
                    s.disabled = true;
                    s.disabled_reason = Some("maintenance".into());
                })
            })
            .unwrap();
        let c = store.read(|c| compute(c, host)).unwrap();
        assert!(c.disabled && c.up());
        assert_eq!(c.disabled_reason.as_deref(), Some("maintenance"));
        assert_eq!(split(), (vec![INTERNAL_ZONE], vec![ZONE]));
        assert_eq!(c.uuid, service_uuid(COMPUTE, host));
        assert_ne!(c.uuid, service_uuid("nova-scheduler", host));
    }
}
