//! os-migrations (every server move this cloud recorded: resizes, on the one host) and the
//! server's live migrations (`/servers/{id}/migrations`, from 2.23), of which there are
//! never any here: nothing migrates live between hosts of a one-host cloud.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::servers::model;
use super::services::naive_micros;
use super::{param, reply, Call, Compute, Urls};

type Svc = Arc<Compute>;

/// A migration as stored, with its flavors' internal ids.
#[derive(Debug, Clone)]
pub struct Migration {
    pub id: i64,
    pub uuid: String,
    pub server_id: String,
    pub project_id: String,
    pub user_id: String,
    pub migration_type: String,
    pub status: String,
    pub source_compute: String,
    pub dest_compute: String,
    pub old_flavor: Option<i64>,
    pub new_flavor: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A resize to record: the server's, from one flavor to another on this host.
pub struct Resize<'a> {
    pub uuid: String,
    pub server_id: &'a str,
    pub project_id: &'a str,
    pub user_id: &'a str,
    pub host: &'a str,
    pub old_flavor_id: &'a str,
    pub new_flavor_id: &'a str,
    pub now_ms: i64,
}

/// The address of this host as Nova records a move's `dest_host` (`my_ip`).
fn host_ip() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

fn view(m: &Migration, call: &Call, ip: &str) -> Value {
    let mut v = json!({
        "id": m.id,
        "status": m.status,
        "instance_uuid": m.server_id,
        "source_node": m.source_compute,
        "source_compute": m.source_compute,
        "dest_node": m.dest_compute,
        "dest_compute": m.dest_compute,
        "dest_host": ip,
        "old_instance_type_id": m.old_flavor,
        "new_instance_type_id": m.new_flavor,
        "created_at": naive_micros(m.created_ms),
        "updated_at": naive_micros(m.updated_ms),
    });
    if call.version.at_least(23) {
        v["migration_type"] = json!(m.migration_type);
    }
    if call.version.at_least(59) {
        v["uuid"] = json!(m.uuid);
    }
    if call.version.at_least(80) {
        v["user_id"] = json!(m.user_id);
        v["project_id"] = json!(m.project_id);
    }
    // The hosts are the admin's (os-migrations:index:host); a project manager sees nulls.
    if !call.is_admin() {
        for key in [
            "source_node",
            "source_compute",
            "dest_node",
            "dest_compute",
            "dest_host",
        ] {
            v[key] = Value::Null;
        }
    }
    v
}

/// What the query asks for, as Nova's `migration_get_all_by_filters` reads it.
#[derive(Debug, Default)]
struct Filters {
    status: Option<String>,
    host: Option<String>,
    source_compute: Option<String>,
    migration_type: Option<String>,
    instance_uuid: Option<String>,
    changes_since: Option<i64>,
    changes_before: Option<i64>,
    user_id: Option<String>,
    project_id: Option<String>,
}

impl Filters {
    fn keep(&self, m: &Migration) -> bool {
        let eq = |f: &Option<String>, v: &str| f.as_deref().is_none_or(|f| f == v);
        eq(&self.status, &m.status)
            && self
                .host
                .as_deref()
                .is_none_or(|h| h == m.source_compute || h == m.dest_compute)
            && eq(&self.source_compute, &m.source_compute)
            && eq(&self.migration_type, &m.migration_type)
            && eq(&self.instance_uuid, &m.server_id)
            && self.changes_since.is_none_or(|t| m.updated_ms >= t)
            && self.changes_before.is_none_or(|t| m.updated_ms <= t)
            && eq(&self.user_id, &m.user_id)
            && eq(&self.project_id, &m.project_id)
    }
}

/// A query timestamp (`format: date-time`), in unix ms.
fn timestamp(req: &Request, name: &str) -> Result<Option<i64>, Fault> {
    let Some(raw) = req.query_param(name) else {
        return Ok(None);
    };
    let parsed = parse_date_time(raw);
    match parsed {
        Some(t) => Ok(Some(t)),
        None => Err(Fault::bad_request(format!(
            "Invalid input for query parameters {name}. Value: {raw}. '{raw}' is not a 'date-time'"
        ))),
    }
}

/// ISO 8601 date-time, with `Z` or an offset (or, as oslo's parser allows, none).
fn parse_date_time(raw: &str) -> Option<i64> {
    let s = raw.trim();
    let (main, offset_s) = match s.rfind(['+', '-']) {
        Some(i) if i > 10 => {
            let (m, o) = s.split_at(i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let o = &o[1..];
            let (h, mi) = o
                .split_once(':')
                .unwrap_or((o.get(..2)?, o.get(2..).unwrap_or("0")));
            let secs = h.parse::<i64>().ok()? * 3600 + mi.parse::<i64>().unwrap_or(0) * 60;
            (m, sign * secs)
        }
        _ => (s, 0),
    };
    let main = main.replace(' ', "T");
    if !main.contains('T') {
        return None;
    }
    let base = crate::time::parse_iso(&main)?;
    let frac_ms = main
        .split_once('.')
        .map(|(_, f)| {
            let digits: String = f.chars().take_while(char::is_ascii_digit).take(3).collect();
            format!("{digits:0<3}").parse::<i64>().unwrap_or(0)
        })
        .unwrap_or(0);
    Some((base - offset_s) * 1000 + frac_ms)
}

endpoint!(Svc; List { on_get => list });
endpoint!(Svc; ServerMigrations { on_get => server_list });
endpoint!(Svc; ServerMigration { on_get => server_show, on_delete => server_abort });
endpoint!(Svc; ServerMigrationAction { on_post => server_action });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_migrations" => List,
        "v2_server_migrations" => ServerMigrations,
        "v2_server_migration" => ServerMigration,
        "v2_server_migration_action" => ServerMigrationAction,
    }
    Ok(())
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let v = call.version;
    let paged = v.at_least(59);
    let text = |name: &str| req.query_param(name).map(str::to_string);
    let mut f = Filters {
        status: text("status"),
        host: text("host"),
        source_compute: text("source_compute"),
        migration_type: text("migration_type"),
        instance_uuid: text("instance_uuid"),
        ..Filters::default()
    };
    let mut page = None;
    if paged {
        page = Some(Page::from_request(req, 1000).map_err(|_| {
            let raw = req.query_param("limit").unwrap_or_default();
            Fault::bad_request(format!(
                "Invalid input for query parameters limit. Value: {raw}. '{raw}' does not match '^[0-9]+$'"
            ))
        })?);
        f.changes_since = timestamp(req, "changes-since")?;
        if v.at_least(66) {
            f.changes_before = timestamp(req, "changes-before")?;
            if let (Some(a), Some(b)) = (f.changes_since, f.changes_before) {
                if b < a {
                    return Err(Fault::bad_request(
                        "The value of changes-since must be less than or equal to changes-before.",
                    ));
                }
            }
        }
    }
    if v.at_least(80) {
        f.user_id = text("user_id");
        f.project_id = text("project_id");
    }
    // A project manager lists their own project's moves, and must say so with
    // `project_id` (Nova's index:all_projects otherwise, until a microversion changes it).
    if req.query_param("project_id") != Some(call.project_id.as_str()) {
        call.admin("os_compute_api:os-migrations:index:all_projects")?;
    }
    if !call.is_admin() {
        f.project_id = Some(call.project_id.clone());
    }
    let mut list: Vec<Migration> = svc
        .read(|c| Ok(c.migrations()?))?
        .into_iter()
        .filter(|m| f.keep(m))
        .collect();
    let mut out = json!({});
    if let Some(page) = page {
        // Newest first (created_at, id descending).
        list.sort_by_key(|m| std::cmp::Reverse((m.created_ms, m.id)));
        if let Some(marker) = &page.marker {
            let Some(at) = list.iter().position(|m| m.uuid == *marker) else {
                return Err(Fault::bad_request(format!(
                    "Marker {marker} could not be found."
                )));
            };
            list.drain(..=at);
        }
        list.truncate(page.limit);
        if page.limit > 0 && list.len() == page.limit {
            let urls = Urls::of(svc, req)?;
            out["migrations_links"] = urls.next(req, "os-migrations", &list[list.len() - 1].uuid);
        }
    }
    let ip = host_ip();
    out["migrations"] = list.iter().map(|m| view(m, &call, &ip)).collect();
    reply(resp, &call, 200, &out)
}

/// The server of a `/servers/{id}/migrations` route (404 before `min`, and for a server
/// the caller cannot see).
fn server_call(svc: &Svc, req: &Request, min: u16) -> Result<(Call, String), Fault> {
    let call = Call::of(req)?;
    if !call.version.at_least(min) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    let id = param(req, "server_id")?.to_string();
    svc.read(|c| Ok(model::visible(c, &id, &call.project_id, call.is_admin())?))?;
    Ok((call, id))
}

fn server_list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let (call, _) = server_call(svc, req, 23)?;
    reply(resp, &call, 200, &json!({ "migrations": [] }))
}

fn server_show(svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    let (_, id) = server_call(svc, req, 23)?;
    let migration = param(req, "migration_id")?;
    Err(Fault::not_found(format!(
        "In-progress live migration {migration} is not found for server {id}."
    )))
}

/// A live-migration operation on a server that is not migrating: Nova's state check
/// fails first.
fn not_migrating(svc: &Svc, id: &str, action: &str, need_active: bool) -> Fault {
    let state = svc
        .read(|c| Ok(model::find(c, id)?))
        .ok()
        .flatten()
        .map(|s| (s.vm_state, s.task_state));
    let (vm, task) = state.unwrap_or_default();
    let (attr, value) = if need_active && vm != "active" {
        ("vm_state", vm)
    } else {
        ("task_state", task.unwrap_or_else(|| "None".into()))
    };
    Fault::conflict(format!(
        "Cannot '{action}' instance {id} while it is in {attr} {value}"
    ))
}

fn server_abort(svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    let (_, id) = server_call(svc, req, 24)?;
    Err(not_migrating(svc, &id, "abort live migration", false))
}

fn server_action(svc: &Svc, req: &mut Request, _resp: &mut Response) -> HandlerResult {
    let (_, id) = server_call(svc, req, 22)?;
    let b = super::body(req)?;
    if b.get("force_complete").is_none() {
        let name = b
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        return Err(Fault::bad_request(format!(
            "There is no such action: {name}"
        )));
    }
    Err(not_migrating(svc, &id, "force_complete", true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::flavors::Flavor;
    use crate::store::Store;

    #[test]
    fn lists_recorded_moves_with_flavor_ids() {
        let store = Store::memory();
        let list = store
            .write(|c| {
                let f: Flavor = serde_json::from_value(
                    json!({"id": "f1", "name": "one", "vcpus": 1, "ram": 64, "disk": 1}),
                )
                .unwrap();
                c.insert_flavor(&f, 0)?;
                c.record_resize(&Resize {
                    uuid: "m".into(),
                    server_id: "s",
                    project_id: "p",
                    user_id: "u",
                    host: "h",
                    old_flavor_id: "f1",
                    new_flavor_id: "gone",
                    now_ms: 1000,
                })?;
                c.close_resize("s", "confirmed", 2000)?;
                Ok::<_, crate::compute::Error>(c.migrations()?)
            })
            .unwrap();
        assert_eq!(list.len(), 1);
        assert!(list[0].old_flavor.is_some());
        assert_eq!(list[0].new_flavor, None);
        let f = Filters {
            host: Some("h".into()),
            changes_since: Some(1500),
            ..Filters::default()
        };
        assert!(f.keep(&list[0]));
        let f = Filters {
            changes_since: Some(2500),
            ..Filters::default()
        };
        assert!(!f.keep(&list[0]));
        assert_eq!(parse_date_time("1970-01-01T00:00:02Z"), Some(2000));
        assert_eq!(parse_date_time("1970-01-01T01:00:02+01:00"), Some(2000));
        assert_eq!(parse_date_time("1970-01-01T00:00:02.5"), Some(2500));
        assert_eq!(parse_date_time("nope"), None);
    }
}
