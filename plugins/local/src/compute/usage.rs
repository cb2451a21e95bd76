//! os-simple-tenant-usage: what each project's servers used over a period, in hours of
//! their flavors, counted from when they launched to when they were deleted.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::UsageRepo;
use super::services::naive_micros;
use super::{param, reply, Call, Compute, Urls};

type Svc = Arc<Compute>;

/// Nova's `[api] max_limit`.
const MAX_LIMIT: usize = 1000;

/// One server's use of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerUsage {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub flavor: String,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub local_gb: i64,
    pub vm_state: String,
    pub launched_ms: i64,
    pub terminated_ms: Option<i64>,
    pub hours: f64,
}

/// A server that ran in a period, as stored.
#[derive(Debug, Clone)]
pub struct ServerRun {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub flavor: Value,
    pub vm_state: String,
    pub launched_ms: i64,
    pub terminated_ms: Option<i64>,
}

/// Hours of `[launched, terminated)` inside `[start, stop]` (Nova's `_hours_for`).
pub fn hours_for(launched: i64, terminated: Option<i64>, start: i64, stop: i64) -> f64 {
    if terminated.is_some_and(|t| t < start) || launched > stop {
        return 0.0;
    }
    let from = launched.max(start);
    let to = terminated.map_or(stop, |t| t.min(stop));
    (to - from) as f64 / 3_600_000.0
}

/// Servers that ran during `[start, stop]`, deleted ones too, oldest first, at most
/// `limit` after `marker`; `None` when the marker is not among them.
pub fn servers_in_period(
    c: &dyn UsageRepo,
    start: i64,
    stop: i64,
    project: Option<&str>,
    limit: usize,
    marker: Option<&str>,
) -> super::Result<Option<Vec<ServerUsage>>> {
    let all: Vec<ServerUsage> = c
        .servers_run_between(start, stop, project)?
        .into_iter()
        .map(|r| {
            let int = |k: &str| r.flavor[k].as_i64().unwrap_or(0);
            ServerUsage {
                flavor: r.flavor["original_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                vcpus: int("vcpus"),
                memory_mb: int("ram"),
                local_gb: int("disk") + int("ephemeral"),
                hours: hours_for(r.launched_ms, r.terminated_ms, start, stop),
                id: r.id,
                name: r.name,
                project_id: r.project_id,
                vm_state: r.vm_state,
                launched_ms: r.launched_ms,
                terminated_ms: r.terminated_ms,
            }
        })
        .collect();
    let after = match marker {
        None => 0,
        Some(m) => match all.iter().position(|s| s.id == m) {
            Some(i) => i + 1,
            None => return Ok(None),
        },
    };
    Ok(Some(all.into_iter().skip(after).take(limit).collect()))
}

/// A server's entry in `server_usages`.
fn server_view(s: &ServerUsage, now: i64) -> Value {
    let ended = s.terminated_ms;
    let uptime = (ended.unwrap_or(now) - s.launched_ms) / 1000;
    json!({
        "hours": s.hours,
        "flavor": s.flavor,
        "instance_id": s.id,
        "name": s.name,
        "tenant_id": s.project_id,
        "memory_mb": s.memory_mb,
        "local_gb": s.local_gb,
        "vcpus": s.vcpus,
        "started_at": naive_micros(s.launched_ms),
        "ended_at": ended.map(naive_micros),
        "state": if ended.is_some() { "terminated" } else { s.vm_state.as_str() },
        "uptime": uptime,
    })
}

/// Per-project summaries, in the order their first server appears.
fn summaries(
    servers: &[ServerUsage],
    start: i64,
    stop: i64,
    detailed: bool,
    now: i64,
) -> Vec<Value> {
    let mut out: Vec<(String, Map<String, Value>)> = Vec::new();
    for s in servers {
        let i = match out.iter().position(|(p, _)| *p == s.project_id) {
            Some(i) => i,
            None => {
                let mut m = Map::new();
                m.insert("tenant_id".into(), json!(s.project_id));
                if detailed {
                    m.insert("server_usages".into(), json!([]));
                }
                for k in [
                    "total_local_gb_usage",
                    "total_vcpus_usage",
                    "total_memory_mb_usage",
                    "total_hours",
                ] {
                    m.insert(k.into(), json!(0.0));
                }
                m.insert("start".into(), json!(naive_micros(start)));
                m.insert("stop".into(), json!(naive_micros(stop)));
                out.push((s.project_id.clone(), m));
                out.len() - 1
            }
        };
        let m = &mut out[i].1;
        let add = |m: &mut Map<String, Value>, k: &str, v: f64| {
            let old = m[k].as_f64().unwrap_or(0.0);
            m.insert(k.into(), json!(old + v));
        };
        add(m, "total_local_gb_usage", s.local_gb as f64 * s.hours);
        add(m, "total_vcpus_usage", s.vcpus as f64 * s.hours);
        add(m, "total_memory_mb_usage", s.memory_mb as f64 * s.hours);
        add(m, "total_hours", s.hours);
        if detailed {
            if let Some(Value::Array(list)) = m.get_mut("server_usages") {
                list.push(server_view(s, now));
            }
        }
    }
    out.into_iter().map(|(_, m)| Value::Object(m)).collect()
}

/// `start`/`end` in Nova's formats; a missing one is now.
fn parse_time(raw: Option<&str>, now: i64) -> Result<i64, Fault> {
    let Some(raw) = raw else { return Ok(now) };
    let bad = || Fault::bad_request("Invalid datetime string: Datetime is in invalid format");
    // "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f"
    let (date_time, fraction) = match raw.split_once('.') {
        Some((dt, f)) => (dt, Some(f)),
        None => (raw, None),
    };
    let iso = match (date_time.split_once('T'), fraction) {
        (Some(_), _) => date_time.to_string(),
        (None, Some(_)) => date_time.replacen(' ', "T", 1),
        (None, None) => return Err(bad()),
    };
    if iso.len() != 19 {
        return Err(bad());
    }
    let secs = crate::time::parse_iso(&iso).ok_or_else(bad)?;
    let mut ms = secs * 1000;
    if let Some(f) = fraction {
        if f.is_empty() || f.len() > 6 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let micros: i64 = format!("{f:0<6}").parse().map_err(|_| bad())?;
        ms += micros / 1000;
    }
    Ok(ms)
}

struct Period {
    start: i64,
    stop: i64,
    detailed: bool,
}

fn period(req: &Request, now: i64) -> Result<Period, Fault> {
    let start = parse_time(req.query_param("start"), now)?;
    // Nova reads "now" once per missing bound: a missing end falls just after a missing
    // start.
    let stop = parse_time(req.query_param("end"), now + 1)?;
    if start >= stop {
        return Err(Fault::bad_request(
            "Invalid start time. The start time cannot occur after the end time.",
        ));
    }
    Ok(Period {
        start,
        stop: stop.min(now),
        detailed: req.query_param("detailed") == Some("1"),
    })
}

/// The page: from 2.40 `limit`/`marker` (limit 0 is refused as Nova's common helper does);
/// before, everything up to the max.
fn page(call: &Call, req: &Request) -> Result<(usize, Option<String>), Fault> {
    if !call.version.at_least(40) {
        return Ok((MAX_LIMIT, None));
    }
    let limit = match req.query_param("limit") {
        None => MAX_LIMIT,
        Some(raw) => {
            let n: i64 = raw
                .parse()
                .map_err(|_| Fault::bad_request("limit param must be an integer"))?;
            if n < 0 {
                return Err(Fault::bad_request("limit param must be positive"));
            }
            (n as usize).min(MAX_LIMIT)
        }
    };
    Ok((limit, req.query_param("marker").map(str::to_string)))
}

fn fetch(
    svc: &Compute,
    p: &Period,
    project: Option<&str>,
    limit: usize,
    marker: Option<&str>,
) -> Result<Vec<ServerUsage>, Fault> {
    svc.read(|c| servers_in_period(c, p.start, p.stop, project, limit, marker))?
        .ok_or_else(|| {
            Fault::bad_request(format!(
                "Marker {} could not be found.",
                marker.unwrap_or_default()
            ))
        })
}

endpoint!(Svc; Usages { on_get => index });
endpoint!(Svc; UsageItem { on_get => show });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_tenants_usage" => Usages,
        "v2_tenant_usage" => UsageItem,
    }
    Ok(())
}

fn index(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let now = crate::time::now_ms();
    let p = period(req, now)?;
    let (limit, marker) = page(&call, req)?;
    let servers = fetch(svc, &p, None, limit, marker.as_deref())?;
    let mut out = json!({ "tenant_usages": summaries(&servers, p.start, p.stop, p.detailed, now) });
    if call.version.at_least(40) && limit > 0 && servers.len() == limit {
        let last = &servers[servers.len() - 1].id;
        out["tenant_usages_links"] = Urls::of(svc, req)?.next(req, "os-simple-tenant-usage", last);
    }
    reply(resp, &call, 200, &out)
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project = param(req, "target_id")?.to_string();
    let now = crate::time::now_ms();
    let p = period(req, now)?;
    let (limit, marker) = page(&call, req)?;
    let servers = fetch(svc, &p, Some(&project), limit, marker.as_deref())?;
    let usage = summaries(&servers, p.start, p.stop, true, now)
        .into_iter()
        .next()
        .unwrap_or_else(|| json!({}));
    let mut out = json!({ "tenant_usage": usage });
    if call.version.at_least(40) && limit > 0 && servers.len() == limit {
        let last = &servers[servers.len() - 1].id;
        out["tenant_usage_links"] =
            Urls::of(svc, req)?.next(req, &format!("os-simple-tenant-usage/{project}"), last);
    }
    reply(resp, &call, 200, &out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::fixtures::TestServer;
    use crate::store::Store;

    const H: i64 = 3_600_000;

    #[test]
    fn hours_are_clipped_to_the_period() {
        assert_eq!(hours_for(0, None, 0, 2 * H), 2.0);
        assert_eq!(hours_for(H, Some(3 * H), 0, 2 * H), 1.0);
        assert_eq!(hours_for(0, Some(H), 2 * H, 3 * H), 0.0);
        assert_eq!(hours_for(4 * H, None, 0, 3 * H), 0.0);
    }

    #[test]
    fn parses_novas_time_formats() {
        assert_eq!(parse_time(Some("1970-01-01T01:00:00"), 0).unwrap(), H);
        assert_eq!(
            parse_time(Some("1970-01-01T01:00:00.5"), 0).unwrap(),
            H + 500
        );
        assert_eq!(
            parse_time(Some("1970-01-01 01:00:00.250000"), 0).unwrap(),
            H + 250
        );
        assert_eq!(parse_time(None, 7).unwrap(), 7);
        assert!(parse_time(Some("1970-01-01 01:00:00"), 0).is_err());
        assert!(parse_time(Some("yesterday"), 0).is_err());
    }

    #[test]
    fn sums_deleted_and_running_servers_per_project() {
        let store = Store::memory();
        let servers = store
            .write(|c| {
                for (id, project, created, launched, terminated) in [
                    ("a", "p1", 1, Some(0), None),
                    ("b", "p1", 2, Some(H), Some(2 * H)),
                    ("c", "p2", 3, Some(0), None),
                    ("d", "p2", 4, None, None),
                ] {
                    let s = TestServer {
                        id,
                        project_id: project,
                        flavor: json!({"original_name": "m1.small", "vcpus": 2, "ram": 1024, "disk": 10, "ephemeral": 0}),
                        created_ms: created,
                        launched_ms: launched,
                        terminated_ms: terminated,
                        deleted: terminated.is_some(),
                        ..TestServer::default()
                    };
                    c.test_server(&s);
                }
                servers_in_period(c, 0, 4 * H, None, 1000, None)
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            servers.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        let sums = summaries(&servers, 0, 4 * H, true, 4 * H);
        assert_eq!(sums.len(), 2);
        assert_eq!(sums[0]["tenant_id"], "p1");
        assert_eq!(sums[0]["total_hours"], 5.0);
        assert_eq!(sums[0]["total_vcpus_usage"], 10.0);
        assert_eq!(sums[0]["server_usages"][1]["state"], "terminated");
        assert_eq!(sums[0]["server_usages"][1]["uptime"], 3600);
        assert_eq!(sums[1]["total_memory_mb_usage"], 4096.0);
        let page = store
            .read(|c| servers_in_period(c, 0, 4 * H, None, 1, Some("a")))
            .unwrap()
            .unwrap();
        assert_eq!(page[0].id, "b");
        assert!(store
            .read(|c| servers_in_period(c, 0, 4 * H, None, 1, Some("zz")))
            .unwrap()
            .is_none());
    }
}
