//! os-aggregates: host aggregates over the one compute host of this cloud (`svc.host`).
//! An aggregate's availability zone lives in its metadata (`availability_zone`), as Nova
//! keeps it. Image cache requests (2.81) are checked and accepted; there is no cache to
//! warm.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::quotas::{invalid_input, py_repr, unexpected};
use super::repo::AggregateRepo;
use super::services::naive_micros;
use super::{body, param, reply, reply_empty, Call, Compute};

type Svc = Arc<Compute>;

/// An aggregate as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub metadata: Map<String, Value>,
    pub hosts: Vec<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Aggregate {
    pub fn zone(&self) -> Option<&str> {
        self.metadata
            .get("availability_zone")
            .and_then(Value::as_str)
    }

    /// Nova's marshalled aggregate; `full` adds hosts and metadata (all but create).
    fn view(&self, call: &Call, full: bool) -> Value {
        let mut v = json!({
            "created_at": naive_micros(self.created_ms),
            // Never updated: the row's two times are equal.
            "updated_at": if self.updated_ms > self.created_ms {
                json!(naive_micros(self.updated_ms))
            } else {
                Value::Null
            },
            "deleted_at": null,
            "deleted": false,
            "id": self.id,
            "name": self.name,
            "availability_zone": self.zone(),
        });
        if call.version.at_least(41) {
            v["uuid"] = json!(self.uuid);
        }
        if full {
            v["hosts"] = json!(self.hosts);
            v["metadata"] = Value::Object(self.metadata.clone());
        }
        v
    }
}

/// The availability zone of `host`: that of an aggregate holding it, else the default.
pub fn zone_of_host(c: &dyn AggregateRepo, host: &str) -> super::Result<String> {
    Ok(c.aggregates()?
        .iter()
        .filter(|a| a.hosts.iter().any(|h| h == host))
        .find_map(|a| a.zone().map(str::to_string))
        .unwrap_or_else(|| super::ZONE.to_string()))
}

/// A time after the aggregate's creation, so that `updated_at` shows.
fn touched(a: &Aggregate) -> i64 {
    crate::time::now_ms().max(a.created_ms + 1)
}

fn name_exists(name: &str) -> Fault {
    Fault::conflict(format!("Aggregate {name} already exists."))
}

fn not_found(id: i64) -> Fault {
    Fault::not_found(format!("Aggregate {id} could not be found."))
}

/// `utils.validate_integer(id, 'id')`.
fn aggregate_id(req: &Request) -> Result<i64, Fault> {
    let raw = param(req, "aggregate_id")?;
    raw.trim()
        .parse::<i64>()
        .map_err(|_| Fault::bad_request("Invalid input received: id must be an integer"))
}

endpoint!(Svc; Collection { on_get => list, on_post => create });
endpoint!(Svc; Item { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; Action { on_post => action });
endpoint!(Svc; Images { on_post => images });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_aggregates" => Collection,
        "v2_os_aggregate" => Item,
        "v2_os_aggregate_action" => Action,
        "v2_os_aggregate_images" => Images,
    }
    Ok(())
}

// ---------------------------------------------------------------- validation

/// The object under `key` of a body that may hold only that key.
fn wrapped(body: &Value, key: &str) -> Result<Map<String, Value>, Fault> {
    let obj = body
        .as_object()
        .ok_or_else(|| Fault::bad_request(format!("{} is not of type 'object'", py_repr(body))))?;
    let Some(inner) = obj.get(key) else {
        return Err(Fault::bad_request(format!(
            "'{key}' is a required property"
        )));
    };
    let inner = inner.as_object().ok_or_else(|| {
        invalid_input(
            key,
            inner,
            &format!("{} is not of type 'object'", py_repr(inner)),
        )
    })?;
    let extras: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| *k != key)
        .collect();
    if !extras.is_empty() {
        return Err(Fault::bad_request(unexpected(&extras)));
    }
    Ok(inner.clone())
}

fn only(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), Fault> {
    let extras: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if extras.is_empty() {
        Ok(())
    } else {
        Err(Fault::bad_request(unexpected(&extras)))
    }
}

/// `parameter_types.name`: 1–255 printable characters, no surrounding whitespace.
fn check_name(v: &Value) -> Result<String, Fault> {
    let Some(s) = v.as_str() else {
        return Err(invalid_input(
            "name",
            v,
            &format!("{} is not of type 'string'", py_repr(v)),
        ));
    };
    if s.is_empty() {
        return Err(invalid_input(
            "name",
            v,
            &format!("{} is too short", py_repr(v)),
        ));
    }
    if s.chars().count() > 255 {
        return Err(invalid_input(
            "name",
            v,
            &format!("{} is too long", py_repr(v)),
        ));
    }
    if s.trim() != s || s.chars().any(char::is_control) {
        return Err(invalid_input(
            "name",
            v,
            &format!("{} is not a 'name'", py_repr(v)),
        ));
    }
    Ok(s.to_string())
}

/// `availability_zone`: an `az_name` (no `:`, no surrounding whitespace) or null.
fn check_zone(v: &Value) -> Result<Option<String>, Fault> {
    if v.is_null() {
        return Ok(None);
    }
    let ok = v.as_str().is_some_and(|s| {
        !s.is_empty() && s.chars().count() <= 255 && !s.contains(':') && s.trim() == s
    });
    if !ok {
        return Err(invalid_input(
            "availability_zone",
            v,
            &format!("{} is not valid under any of the given schemas", py_repr(v)),
        ));
    }
    Ok(v.as_str().map(str::to_string))
}

/// `parameter_types.hostname` for add_host/remove_host.
fn check_host(v: &Value) -> Result<String, Fault> {
    let Some(s) = v.as_str() else {
        return Err(invalid_input(
            "host",
            v,
            &format!("{} is not of type 'string'", py_repr(v)),
        ));
    };
    if s.is_empty() {
        return Err(invalid_input(
            "host",
            v,
            &format!("{} is too short", py_repr(v)),
        ));
    }
    if s.chars().count() > 255 {
        return Err(invalid_input(
            "host",
            v,
            &format!("{} is too long", py_repr(v)),
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(invalid_input(
            "host",
            v,
            &format!("{} does not match '^[a-zA-Z0-9-._]*$'", py_repr(v)),
        ));
    }
    Ok(s.to_string())
}

/// Nova's `metadata_with_null`: keys of 1–255 of `[a-zA-Z0-9-_:. ]`, values strings of at
/// most 255 or null.
fn check_metadata(v: &Value) -> Result<Map<String, Value>, Fault> {
    let Some(obj) = v.as_object() else {
        return Err(invalid_input(
            "metadata",
            v,
            &format!("{} is not of type 'object'", py_repr(v)),
        ));
    };
    let key_ok = |k: &str| {
        !k.is_empty()
            && k.chars().count() <= 255
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c))
    };
    let bad: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !key_ok(k))
        .collect();
    if !bad.is_empty() {
        return Err(invalid_input("metadata", v, &unexpected(&bad)));
    }
    for (k, val) in obj {
        match val {
            Value::Null => {}
            Value::String(s) if s.chars().count() <= 255 => {}
            Value::String(_) => {
                return Err(invalid_input(
                    &format!("metadata/{k}"),
                    val,
                    &format!("{} is too long", py_repr(val)),
                ))
            }
            other => {
                return Err(invalid_input(
                    &format!("metadata/{k}"),
                    other,
                    &format!("{} is not of type 'string', 'null'", py_repr(other)),
                ))
            }
        }
    }
    Ok(obj.clone())
}

/// Nova's `is_safe_to_update_az`: an aggregate's zone may not be emptied, nor differ from
/// the zone another aggregate gives the same hosts.
fn safe_zone_change(
    c: &dyn AggregateRepo,
    a: &Aggregate,
    zone: Option<&Value>,
    hosts: &[String],
    refuse: impl Fn(String) -> Fault,
) -> super::Result<()> {
    let Some(zone) = zone else { return Ok(()) };
    let Some(zone) = zone.as_str().filter(|z| !z.is_empty()) else {
        return Err(refuse(format!(
            "Aggregate {} does not support empty named availability zone",
            a.name
        ))
        .into());
    };
    let others = c.aggregates()?;
    let conflicting: Vec<String> = others
        .iter()
        .filter(|o| o.id != a.id && o.hosts.iter().any(|h| hosts.contains(h)))
        .filter_map(|o| o.zone().filter(|z| *z != zone).map(str::to_string))
        .collect();
    if !conflicting.is_empty() {
        let list = conflicting
            .iter()
            .map(|z| py_repr(&json!(z)))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(refuse(format!(
            "One or more hosts already in availability zone(s) [{list}]"
        ))
        .into());
    }
    Ok(())
}

// ---------------------------------------------------------------- handlers

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let list = svc.read(|c| Ok(c.aggregates()?))?;
    let shown: Vec<Value> = list.iter().map(|a| a.view(&call, true)).collect();
    reply(resp, &call, 200, &json!({ "aggregates": shown }))
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let agg = wrapped(&b, "aggregate")?;
    let name = match agg.get("name") {
        Some(v) => check_name(v)?,
        None => return Err(Fault::bad_request("'name' is a required property")),
    };
    let zone = match agg.get("availability_zone") {
        Some(v) => check_zone(v)?,
        None => None,
    };
    only(&agg, &["name", "availability_zone"])?;
    let a = svc.write(|c| {
        if c.aggregate_named(&name, 0)? {
            return Err(name_exists(&name).into());
        }
        let mut metadata = Map::new();
        if let Some(z) = &zone {
            metadata.insert("availability_zone".into(), json!(z));
        }
        let now = crate::time::now_ms();
        let mut a = Aggregate {
            id: 0,
            uuid: uuid::Uuid::new_v4().to_string(),
            name: name.clone(),
            metadata,
            hosts: vec![],
            created_ms: now,
            updated_ms: now,
        };
        a.id = c.insert_aggregate(&a)?;
        Ok(a)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({ "aggregate": a.view(&call, false) }),
    )
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = aggregate_id(req)?;
    let a = svc
        .read(|c| Ok(c.aggregate(id)?))?
        .ok_or_else(|| not_found(id))?;
    reply(
        resp,
        &call,
        200,
        &json!({ "aggregate": a.view(&call, true) }),
    )
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let agg = wrapped(&b, "aggregate")?;
    let name = agg.get("name").map(check_name).transpose()?;
    if let Some(v) = agg.get("availability_zone") {
        check_zone(v)?;
    }
    only(&agg, &["name", "availability_zone"])?;
    if name.is_none() && !agg.contains_key("availability_zone") {
        return Err(invalid_input(
            "aggregate",
            &Value::Object(agg.clone()),
            &format!(
                "{} is not valid under any of the given schemas",
                py_repr(&Value::Object(agg.clone()))
            ),
        ));
    }
    let id = aggregate_id(req)?;
    let a = svc.write(|c| {
        let mut a = c.aggregate(id)?.ok_or_else(|| not_found(id))?;
        if let Some(name) = &name {
            if c.aggregate_named(name, id)? {
                return Err(name_exists(name).into());
            }
            a.name = name.clone();
        }
        let zone = agg.get("availability_zone");
        let hosts = a.hosts.clone();
        safe_zone_change(c, &a, zone, &hosts, |reason| {
            Fault::bad_request(format!("Cannot update aggregate {id}. Reason: {reason}."))
        })?;
        if let Some(z) = zone {
            a.metadata.insert("availability_zone".into(), z.clone());
        }
        a.updated_ms = touched(&a);
        c.update_aggregate(&a)?;
        Ok(a)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({ "aggregate": a.view(&call, true) }),
    )
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = aggregate_id(req)?;
    svc.write(|c| {
        let a = c.aggregate(id)?.ok_or_else(|| not_found(id))?;
        if !a.hosts.is_empty() {
            // InvalidAggregateActionDelete, answered 400 by Nova.
            return Err(Fault::bad_request(format!(
                "Cannot delete aggregate {id}. Reason: Host aggregate is not empty."
            ))
            .into());
        }
        Ok(c.delete_aggregate(id)?)
    })?;
    reply_empty(resp, &call, 200)
}

fn action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let name = b
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_default();
    match name.as_str() {
        "add_host" => add_host(svc, req, resp, &call, &b),
        "remove_host" => remove_host(svc, req, resp, &call, &b),
        "set_metadata" => set_metadata(svc, req, resp, &call, &b),
        other => Err(Fault::bad_request(format!(
            "There is no such action: {other}"
        ))),
    }
}

fn add_host(
    svc: &Svc,
    req: &Request,
    resp: &mut Response,
    call: &Call,
    b: &Value,
) -> HandlerResult {
    let inner = wrapped(b, "add_host")?;
    let host = match inner.get("host") {
        Some(v) => check_host(v)?,
        None => return Err(Fault::bad_request("'host' is a required property")),
    };
    only(&inner, &["host"])?;
    let id = aggregate_id(req)?;
    let a = svc.write(|c| {
        if host != svc.host {
            return Err(
                Fault::not_found(format!("Compute host {host} could not be found.")).into(),
            );
        }
        let mut a = c.aggregate(id)?.ok_or_else(|| not_found(id))?;
        let zone = a.metadata.get("availability_zone").cloned();
        safe_zone_change(
            c,
            &a,
            zone.as_ref(),
            std::slice::from_ref(&host),
            |reason| {
                Fault::conflict(format!(
                    "Cannot add host to aggregate {id}. Reason: {reason}."
                ))
            },
        )?;
        if a.hosts.contains(&host) {
            return Err(Fault::conflict(format!("Aggregate {id} already has host {host}.")).into());
        }
        a.hosts.push(host.clone());
        c.update_aggregate(&a)?;
        Ok(a)
    })?;
    reply(resp, call, 200, &json!({ "aggregate": a.view(call, true) }))
}

fn remove_host(
    svc: &Svc,
    req: &Request,
    resp: &mut Response,
    call: &Call,
    b: &Value,
) -> HandlerResult {
    let inner = wrapped(b, "remove_host")?;
    let host = match inner.get("host") {
        Some(v) => check_host(v)?,
        None => return Err(Fault::bad_request("'host' is a required property")),
    };
    only(&inner, &["host"])?;
    let id = aggregate_id(req)?;
    let a = svc.write(|c| {
        let missing = || Fault::not_found(format!("Cannot remove host {host} in aggregate {id}"));
        let mut a = c.aggregate(id)?.ok_or_else(missing)?;
        if host != svc.host || !a.hosts.contains(&host) {
            return Err(missing().into());
        }
        a.hosts.retain(|h| *h != host);
        c.update_aggregate(&a)?;
        Ok(a)
    })?;
    reply(resp, call, 200, &json!({ "aggregate": a.view(call, true) }))
}

fn set_metadata(
    svc: &Svc,
    req: &Request,
    resp: &mut Response,
    call: &Call,
    b: &Value,
) -> HandlerResult {
    let inner = wrapped(b, "set_metadata")?;
    let metadata = match inner.get("metadata") {
        Some(v) => check_metadata(v)?,
        None => return Err(Fault::bad_request("'metadata' is a required property")),
    };
    only(&inner, &["metadata"])?;
    let id = aggregate_id(req)?;
    let a = svc.write(|c| {
        let mut a = c.aggregate(id)?.ok_or_else(|| not_found(id))?;
        let hosts = a.hosts.clone();
        safe_zone_change(c, &a, metadata.get("availability_zone"), &hosts, |reason| {
            Fault::bad_request(format!(
                "Cannot update metadata of aggregate {id}. Reason: {reason}."
            ))
        })?;
        for (k, v) in &metadata {
            if v.is_null() {
                a.metadata.remove(k);
            } else {
                a.metadata.insert(k.clone(), v.clone());
            }
        }
        a.updated_ms = touched(&a);
        c.update_aggregate(&a)?;
        Ok(a)
    })?;
    reply(resp, call, 200, &json!({ "aggregate": a.view(call, true) }))
}

/// `POST /os-aggregates/{id}/images` (2.81): every image must exist; the hosts would
/// fetch them in the background, which here is nothing to do.
fn images(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    if !call.version.at_least(81) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    let b = body(req)?;
    let obj = b
        .as_object()
        .ok_or_else(|| Fault::bad_request(format!("{} is not of type 'object'", py_repr(&b))))?;
    let Some(cache) = obj.get("cache") else {
        return Err(Fault::bad_request("'cache' is a required property"));
    };
    only(obj, &["cache"])?;
    let Some(items) = cache.as_array() else {
        return Err(invalid_input(
            "cache",
            cache,
            &format!("{} is not of type 'array'", py_repr(cache)),
        ));
    };
    if items.is_empty() {
        return Err(invalid_input("cache", cache, "[] is too short"));
    }
    let mut ids: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("cache/{i}");
        let Some(o) = item.as_object() else {
            return Err(invalid_input(
                &field,
                item,
                &format!("{} is not of type 'object'", py_repr(item)),
            ));
        };
        let Some(id) = o.get("id") else {
            return Err(invalid_input(&field, item, "'id' is a required property"));
        };
        let extras: Vec<&str> = o
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "id")
            .collect();
        if !extras.is_empty() {
            return Err(invalid_input(&field, item, &unexpected(&extras)));
        }
        let ok = id
            .as_str()
            .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok());
        if !ok {
            return Err(invalid_input(
                &format!("{field}/id"),
                id,
                &format!("{} is not a 'uuid'", py_repr(id)),
            ));
        }
        ids.push(id.as_str().unwrap_or_default().to_string());
    }
    let agg = aggregate_id(req)?;
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != ids.len() {
        return Err(Fault::bad_request("Duplicate images in request"));
    }
    svc.read(|c| {
        c.aggregate(agg)?.ok_or_else(|| not_found(agg))?;
        for id in &ids {
            if c.image(id)?.is_none() {
                return Err(Fault::bad_request(format!("Image {id} could not be found.")).into());
            }
        }
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn aggregates_hold_zones_and_hosts() {
        let store = Store::memory();
        let zone = store
            .write(|c| {
                assert_eq!(zone_of_host(c, "h")?, "nova");
                let id = c.insert_aggregate(&Aggregate {
                    id: 0,
                    uuid: "u".into(),
                    name: "a".into(),
                    metadata: json!({"availability_zone": "z1"})
                        .as_object()
                        .unwrap()
                        .clone(),
                    hosts: vec!["h".into()],
                    created_ms: 5,
                    updated_ms: 5,
                })?;
                let a = c.aggregate(id)?.unwrap();
                assert_eq!(a.zone(), Some("z1"));
                assert!(touched(&a) > 5);
                zone_of_host(c, "h")
            })
            .unwrap();
        assert_eq!(zone, "z1");
        assert!(check_name(&json!("")).is_err());
        assert!(check_name(&json!("a".repeat(256))).is_err());
        assert!(check_name(&json!("ok name")).is_ok());
        assert!(check_zone(&json!("a:b")).is_err());
        assert!(check_metadata(&json!({"k": null, "k2": "v"})).is_ok());
        assert!(check_metadata(&json!({"bad/key": "v"})).is_err());
    }
}
