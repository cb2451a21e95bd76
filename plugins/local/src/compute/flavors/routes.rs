//! Nova's flavor endpoints: flavors (list, detail, show, create, update, delete), their
//! extra specs (`os-extra_specs`) and who may use a private one (`os-flavor-access`,
//! `addTenantAccess`/`removeTenantAccess`).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::{FlavorPlace as Place, FlavorRepo};
use super::{get, not_found, usable, validate, Flavor};
use crate::compute::{body, param, reply, reply_empty, Call, Compute, Result, Urls};

type Svc = Arc<Compute>;

endpoint!(Svc; Flavors { on_get => list, on_post => create });
endpoint!(Svc; FlavorsDetail { on_get => list_detail });
endpoint!(Svc; FlavorItem { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; FlavorAccess { on_get => list_access });
endpoint!(Svc; FlavorAction { on_post => action });
endpoint!(Svc; ExtraSpecs { on_get => list_specs, on_post => create_specs });
endpoint!(Svc; ExtraSpec { on_get => show_spec, on_put => update_spec, on_delete => delete_spec });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_flavors" => Flavors,
        "v2_tenant_flavors" => Flavors,
        "v2_flavors_detail" => FlavorsDetail,
        "v2_tenant_flavors_detail" => FlavorsDetail,
        "v2_flavor" => FlavorItem,
        "v2_tenant_flavor" => FlavorItem,
        "v2_flavor_os_flavor_access" => FlavorAccess,
        "v2_flavor_action" => FlavorAction,
        "v2_os_extra_specs_flavor" => ExtraSpecs,
        "v2_os_extra_specs_flavor_key" => ExtraSpec,
    }
    Ok(())
}

/// Nova's `osapi_max_limit`.
const MAX_LIMIT: usize = 1000;

// ---------------------------------------------------------------- views

fn brief(call: &Call, urls: &Urls, f: &Flavor) -> Value {
    let mut v = json!({
        "id": f.id,
        "name": f.name,
        "links": urls.links("flavors", &f.id),
    });
    if call.version.at_least(55) {
        v["description"] = json!(f.description);
    }
    v
}

fn detail(call: &Call, urls: &Urls, f: &Flavor) -> Value {
    // Before 2.75 Nova wrote a swap of 0 as "".
    let swap = if f.swap == 0 && !call.version.at_least(75) {
        json!("")
    } else {
        json!(f.swap)
    };
    let mut v = json!({
        "id": f.id,
        "name": f.name,
        "ram": f.ram,
        "disk": f.disk,
        "swap": swap,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
        "OS-FLV-DISABLED:disabled": f.disabled,
        "vcpus": f.vcpus,
        "os-flavor-access:is_public": f.is_public,
        "rxtx_factor": f.rxtx_factor,
        "links": urls.links("flavors", &f.id),
    });
    if call.version.at_least(55) {
        v["description"] = json!(f.description);
    }
    if call.version.at_least(61) {
        v["extra_specs"] = Value::Object(f.extra_specs.clone());
    }
    v
}

fn field_error(field: &str, value: &Value, why: &str) -> Fault {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Fault::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {shown}. {why}"
    ))
}

fn query_error(name: &str, value: &str, why: &str) -> Fault {
    Fault::bad_request(format!(
        "Invalid input for query parameters {name}. Value: {value}. {why}"
    ))
}

fn additional(extra: &str) -> Fault {
    Fault::bad_request(format!(
        "Additional properties are not allowed ('{extra}' was unexpected)"
    ))
}

/// The one object a body must consist of, `{"<key>": {...}}`.
fn object_body<'a>(
    body: &'a Value,
    key: &str,
) -> std::result::Result<&'a Map<String, Value>, Fault> {
    if let Some(extra) = body.as_object().and_then(|o| o.keys().find(|k| *k != key)) {
        return Err(additional(extra));
    }
    match body.get(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(v) => Err(field_error(key, v, &format!("{v} is not of type 'object'"))),
        None => Err(field_error(
            key,
            body,
            &format!("'{key}' is a required property"),
        )),
    }
}

/// A flavor the caller may see: admins every one, others public ones and private ones
/// shared with their project (404 otherwise, as Nova).
fn visible(c: &dyn FlavorRepo, call: &Call, id: &str) -> Result<Flavor> {
    let f = get(c, id)?;
    if usable(c, &f, &call.project_id, call.is_admin())? {
        Ok(f)
    } else {
        Err(not_found(id).into())
    }
}

// ---------------------------------------------------------------- list

/// Nova's `sort_key` values (`nova/api/openstack/compute/schemas/flavors.py`).
const SORT_KEYS: &[&str] = &[
    "created_at",
    "description",
    "disabled",
    "ephemeral_gb",
    "flavorid",
    "id",
    "is_public",
    "memory_mb",
    "name",
    "root_gb",
    "rxtx_factor",
    "swap",
    "updated_at",
    "vcpu_weight",
    "vcpus",
];

fn compare(key: &str, a: &Flavor, b: &Flavor, pa: Place, pb: Place) -> Ordering {
    let by_key = match key {
        "flavorid" => a.id.cmp(&b.id),
        "name" => a.name.cmp(&b.name),
        "memory_mb" => a.ram.cmp(&b.ram),
        "root_gb" => a.disk.cmp(&b.disk),
        "ephemeral_gb" => a.ephemeral.cmp(&b.ephemeral),
        "swap" => a.swap.cmp(&b.swap),
        "vcpus" => a.vcpus.cmp(&b.vcpus),
        "rxtx_factor" => a.rxtx_factor.total_cmp(&b.rxtx_factor),
        "is_public" => a.is_public.cmp(&b.is_public),
        "disabled" => a.disabled.cmp(&b.disabled),
        "description" => a.description.cmp(&b.description),
        "created_at" => pa.created_ms.cmp(&pb.created_ms),
        // `id` is the row itself; flavors are never updated but for their description,
        // and carry no vcpu_weight: those fall to the tie-breaker.
        _ => Ordering::Equal,
    };
    by_key.then(pa.row.cmp(&pb.row))
}

/// `is_public` as an admin may give it: absent means public ones (and those shared with
/// the admin's project), `none` or `all` every flavor.
fn is_public_filter(raw: Option<&str>) -> std::result::Result<Option<bool>, Fault> {
    let Some(raw) = raw else {
        return Ok(Some(true));
    };
    match raw.to_ascii_lowercase().as_str() {
        "none" | "all" => Ok(None),
        "1" | "t" | "true" | "on" | "y" | "yes" => Ok(Some(true)),
        "0" | "f" | "false" | "off" | "n" | "no" => Ok(Some(false)),
        _ => Err(Fault::bad_request(format!(
            "Invalid is_public filter [{raw}]"
        ))),
    }
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list_flavors(svc, req, resp, false)
}

fn list_detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    list_flavors(svc, req, resp, true)
}

fn list_flavors(svc: &Svc, req: &Request, resp: &mut Response, detailed: bool) -> HandlerResult {
    let call = Call::of(req)?;
    if call.version.at_least(75) {
        const KNOWN: &[&str] = &[
            "limit",
            "marker",
            "is_public",
            "minRam",
            "minDisk",
            "sort_key",
            "sort_dir",
        ];
        if let Some(p) = req
            .query_params
            .iter()
            .find(|p| !KNOWN.contains(&p.name.as_str()))
        {
            return Err(Fault::bad_request(format!(
                "Invalid input for query parameters. Additional properties are not allowed ('{}' was unexpected)",
                p.name
            )));
        }
    }
    let sort_key = req.query_param("sort_key").unwrap_or("flavorid");
    if !SORT_KEYS.contains(&sort_key) {
        return Err(query_error(
            "sort_key",
            sort_key,
            &format!("'{sort_key}' is not one of {SORT_KEYS:?}").replace('"', "'"),
        ));
    }
    let sort_dir = req.query_param("sort_dir").unwrap_or("asc");
    if sort_dir != "asc" && sort_dir != "desc" {
        return Err(query_error(
            "sort_dir",
            sort_dir,
            &format!("'{sort_dir}' is not one of ['asc', 'desc']"),
        ));
    }
    let limit_given = req.query_param("limit");
    let limit = match limit_given {
        None => MAX_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(0) => MAX_LIMIT,
            Ok(n) => n.min(MAX_LIMIT),
            Err(_) => {
                return Err(query_error(
                    "limit",
                    raw,
                    &format!("'{raw}' does not match '^[0-9]*$'"),
                ))
            }
        },
    };
    let marker = req.query_param("marker").map(str::to_string);
    let admin = call.is_admin();
    let public = if admin {
        is_public_filter(req.query_param("is_public"))?
    } else {
        Some(true)
    };
    let minimum = |name: &str| -> std::result::Result<i64, Fault> {
        match req.query_param(name) {
            None => Ok(0),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| Fault::bad_request(format!("Invalid {name} filter [{raw}]"))),
        }
    };
    let (min_ram, min_disk) = (minimum("minRam")?, minimum("minDisk")?);

    let project = call.project_id.clone();
    let page = svc.read(|c| {
        let shared: HashSet<String> = c.flavors_shared_with(&project)?.into_iter().collect();
        let places: HashMap<String, Place> = c.flavor_places()?.into_iter().collect();
        let place = |f: &Flavor| places.get(&f.id).copied().unwrap_or_default();
        // Every flavor the caller may see, in the order asked; the page is the matching
        // ones after the marker.
        let mut seen: Vec<Flavor> = c
            .flavors()?
            .into_iter()
            .filter(|f| admin || f.is_public || shared.contains(&f.id))
            .collect();
        seen.sort_by(|a, b| {
            let o = compare(sort_key, a, b, place(a), place(b));
            if sort_dir == "desc" {
                o.reverse()
            } else {
                o
            }
        });
        let start = match &marker {
            None => 0,
            Some(m) => {
                seen.iter()
                    .position(|f| &f.id == m)
                    .ok_or_else(|| Fault::bad_request(format!("marker [{m}] not found")))?
                    + 1
            }
        };
        let matches = |f: &Flavor| {
            let by_public = match public {
                None => true,
                Some(true) => f.is_public || shared.contains(&f.id),
                Some(false) => !f.is_public,
            };
            by_public && (admin || !f.disabled) && f.ram >= min_ram && f.disk >= min_disk
        };
        Ok(seen
            .into_iter()
            .skip(start)
            .filter(|f| matches(f))
            .take(limit)
            .collect::<Vec<_>>())
    })?;

    let urls = Urls::of(svc, req)?;
    let view = |f: &Flavor| {
        if detailed {
            detail(&call, &urls, f)
        } else {
            brief(&call, &urls, f)
        }
    };
    let mut out = json!({ "flavors": page.iter().map(view).collect::<Vec<_>>() });
    // Nova links the next page whenever this one is full.
    if page.len() == limit {
        if let Some(last) = page.last() {
            let collection = if detailed {
                "flavors/detail"
            } else {
                "flavors"
            };
            out["flavors_links"] = urls.next(req, collection, &last.id);
        }
    }
    reply(resp, &call, 200, &out)
}

// ---------------------------------------------------------------- show, create, update, delete

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    let f = svc.read(|c| visible(c, &call, &id))?;
    let urls = Urls::of(svc, req)?;
    reply(
        resp,
        &call,
        200,
        &json!({ "flavor": detail(&call, &urls, &f) }),
    )
}

/// `ram`, `vcpus`, `disk`, `swap`, `OS-FLV-EXT-DATA:ephemeral`: an integer, or a string of
/// digits, from `min` to 2^31-1.
fn flavor_int(
    o: &Map<String, Value>,
    field: &str,
    min: i64,
    default: Option<i64>,
) -> std::result::Result<i64, Fault> {
    let v = match (o.get(field), default) {
        (Some(v), _) => v,
        (None, Some(d)) => return Ok(d),
        (None, None) => {
            return Err(field_error(
                "flavor",
                &Value::Object(o.clone()),
                &format!("'{field}' is a required property"),
            ))
        }
    };
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() => {
            Some(s.parse::<i64>().unwrap_or(i64::MAX))
        }
        Value::String(s) => {
            return Err(field_error(
                field,
                v,
                &format!("'{s}' does not match '^[0-9]*$'"),
            ))
        }
        _ => {
            return Err(field_error(
                field,
                v,
                &format!("{v} is not of type 'integer', 'string'"),
            ))
        }
    };
    match n {
        Some(n) if n < min => Err(field_error(
            field,
            v,
            &format!("{n} is less than the minimum of {min}"),
        )),
        Some(n) if n > i32::MAX as i64 => Err(field_error(
            field,
            v,
            &format!("{n} is greater than the maximum of {}", i32::MAX),
        )),
        Some(n) => Ok(n),
        None => Err(field_error(
            field,
            v,
            &format!("{v} is not of type 'integer', 'string'"),
        )),
    }
}

fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "True" | "TRUE" | "true" | "1" | "ON" | "On" | "on" | "YES" | "Yes" | "yes" | "y"
            | "t" => Some(true),
            "False" | "FALSE" | "false" | "0" | "OFF" | "Off" | "off" | "NO" | "No" | "no"
            | "n" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `description` (2.55): a string up to 65535 characters, or null.
fn description(v: &Value) -> std::result::Result<Option<String>, Fault> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= 65535 => Ok(Some(s.clone())),
        Value::String(s) => Err(field_error("description", v, &format!("'{s}' is too long"))),
        _ => Err(field_error(
            "description",
            v,
            &format!("{v} is not of type 'string', 'null'"),
        )),
    }
}

/// The flavor a create body describes, checked as Nova's schema checks it.
fn new_flavor(call: &Call, o: &Map<String, Value>) -> std::result::Result<Flavor, Fault> {
    let mut allowed = vec![
        "name",
        "id",
        "ram",
        "vcpus",
        "disk",
        "OS-FLV-EXT-DATA:ephemeral",
        "swap",
        "rxtx_factor",
        "os-flavor-access:is_public",
    ];
    if call.version.at_least(55) {
        allowed.push("description");
    }
    if let Some(extra) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(additional(extra));
    }
    let name = match o.get("name") {
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if n == 0 || n > 255 {
                let why = if n == 0 {
                    "is too short"
                } else {
                    "is too long"
                };
                return Err(field_error("name", &json!(s), &format!("'{s}' {why}")));
            }
            if s.trim() != s || s.chars().any(|c| c.is_control()) {
                return Err(field_error(
                    "name",
                    &json!(s),
                    "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.",
                ));
            }
            s.clone()
        }
        Some(v) => {
            return Err(field_error(
                "name",
                v,
                &format!("{v} is not of type 'string'"),
            ))
        }
        None => {
            return Err(field_error(
                "flavor",
                &Value::Object(o.clone()),
                "'name' is a required property",
            ))
        }
    };
    let id = match o.get("id") {
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(v @ Value::String(s)) => {
            let ok = (1..=255).contains(&s.chars().count())
                && !s.starts_with(' ')
                && !s.ends_with(' ')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ". _-".contains(c));
            if !ok {
                return Err(field_error(
                    "id",
                    v,
                    &format!("'{s}' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'"),
                ));
            }
            s.clone()
        }
        Some(v) => {
            return Err(field_error(
                "id",
                v,
                &format!("{v} is not of type 'string', 'number', 'null'"),
            ))
        }
    };
    let rxtx_factor = match o.get("rxtx_factor") {
        None => 1.0,
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => {
                    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
                    let ok = match s.split_once('.') {
                        Some((a, b)) => digits(a) && digits(b),
                        None => digits(s),
                    };
                    if ok {
                        s.parse().ok()
                    } else {
                        None
                    }
                }
                _ => None,
            };
            match n {
                Some(n) if n > 0.0 && n <= 3.40282e38 => n,
                _ => {
                    return Err(field_error(
                        "rxtx_factor",
                        v,
                        &format!("{v} is not a positive number up to 3.40282e+38"),
                    ))
                }
            }
        }
    };
    let is_public = match o.get("os-flavor-access:is_public") {
        None => true,
        Some(v) => parse_bool(v).ok_or_else(|| {
            field_error(
                "os-flavor-access:is_public",
                v,
                &format!("{v} is not of type 'boolean', 'string'"),
            )
        })?,
    };
    let description = match o.get("description") {
        Some(v) if call.version.at_least(55) => description(v)?,
        _ => None,
    };
    let f = Flavor {
        id,
        name,
        ram: flavor_int(o, "ram", 1, None)?,
        vcpus: flavor_int(o, "vcpus", 1, None)?,
        disk: flavor_int(o, "disk", 0, None)?,
        ephemeral: flavor_int(o, "OS-FLV-EXT-DATA:ephemeral", 0, Some(0))?,
        swap: flavor_int(o, "swap", 0, Some(0))?,
        rxtx_factor,
        is_public,
        disabled: false,
        description,
        extra_specs: Map::new(),
    };
    validate(&f).map_err(Fault::bad_request)?;
    Ok(f)
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let body = body(req)?;
    let f = new_flavor(&call, object_body(&body, "flavor")?)?;
    svc.write(|c| {
        if c.flavor(&f.id)?.is_some() {
            return Err(Fault::conflict(format!("Flavor with ID {} already exists.", f.id)).into());
        }
        if c.flavor_named(&f.name)? {
            return Err(
                Fault::conflict(format!("Flavor with name {} already exists.", f.name)).into(),
            );
        }
        Ok(c.insert_flavor(&f, crate::time::now_ms())?)
    })?;
    let urls = Urls::of(svc, req)?;
    reply(
        resp,
        &call,
        200,
        &json!({ "flavor": detail(&call, &urls, &f) }),
    )
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    // Flavors became updatable (their description only) in 2.55.
    if !call.version.at_least(55) {
        return Err(Fault::not_found("The resource could not be found."));
    }
    let id = param(req, "flavor_id")?.to_string();
    let body = body(req)?;
    let o = object_body(&body, "flavor")?;
    if let Some(extra) = o.keys().find(|k| *k != "description") {
        return Err(additional(extra));
    }
    let wanted = description(o.get("description").ok_or_else(|| {
        field_error(
            "flavor",
            &Value::Object(o.clone()),
            "'description' is a required property",
        )
    })?)?;
    let f = svc.write(|c| {
        let mut f = visible(c, &call, &id)?;
        c.set_flavor_description(&f.id, wanted.as_deref())?;
        f.description = wanted.clone();
        Ok(f)
    })?;
    let urls = Urls::of(svc, req)?;
    reply(
        resp,
        &call,
        200,
        &json!({ "flavor": detail(&call, &urls, &f) }),
    )
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    svc.write(|c| {
        if !c.delete_flavor(&id)? {
            return Err(not_found(&id).into());
        }
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

// ---------------------------------------------------------------- os-flavor-access

fn access_view(id: &str, projects: &[String]) -> Value {
    json!({
        "flavor_access": projects
            .iter()
            .map(|p| json!({ "flavor_id": id, "tenant_id": p }))
            .collect::<Vec<_>>(),
    })
}

fn list_access(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    let projects = svc.read(|c| {
        let f = visible(c, &call, &id)?;
        if f.is_public {
            return Err(Fault::not_found("Access list not available for public flavors.").into());
        }
        Ok(c.flavor_access(&id)?)
    })?;
    reply(resp, &call, 200, &access_view(&id, &projects))
}

fn action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    let body = body(req)?;
    let name = body
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_default();
    let adding = match name.as_str() {
        "addTenantAccess" => true,
        "removeTenantAccess" => false,
        _ => {
            return Err(Fault::bad_request(format!(
                "There is no such action: {name}"
            )))
        }
    };
    let o = object_body(&body, &name)?;
    if let Some(extra) = o.keys().find(|k| *k != "tenant") {
        return Err(additional(extra));
    }
    let tenant = match o.get("tenant") {
        Some(Value::String(t)) if !t.is_empty() && t.chars().count() <= 255 => t.clone(),
        Some(v) => {
            return Err(field_error(
                "tenant",
                v,
                "It must be a string from 1 to 255 characters.",
            ))
        }
        None => {
            return Err(field_error(
                &name,
                &Value::Object(o.clone()),
                "'tenant' is a required property",
            ))
        }
    };
    let projects = svc.write(|c| {
        let f = visible(c, &call, &id)?;
        let granted = c.flavor_access(&id)?.contains(&tenant);
        if adding {
            // Nova refuses access to a public flavor from 2.7; before, it was recorded.
            if call.version.at_least(7) && f.is_public {
                return Err(Fault::conflict("Can not add access to a public flavor.").into());
            }
            if granted {
                return Err(Fault::conflict(format!(
                    "Flavor access already exists for flavor {id} and project {tenant} combination."
                ))
                .into());
            }
            c.grant_flavor_access(&id, &tenant)?;
        } else {
            if !granted {
                return Err(Fault::not_found(format!(
                    "Flavor access not found for {id} / {tenant} combination."
                ))
                .into());
            }
            c.revoke_flavor_access(&id, &tenant)?;
        }
        Ok(c.flavor_access(&id)?)
    })?;
    reply(resp, &call, 200, &access_view(&id, &projects))
}

// ---------------------------------------------------------------- os-extra_specs

/// Checks extra specs as Nova's schema: keys of 1–255 of `[a-zA-Z0-9-_:. ]`, values
/// strings, numbers or booleans of at most 255 characters; stores them as strings.
fn spec_values(specs: &Map<String, Value>) -> std::result::Result<Map<String, Value>, Fault> {
    let mut out = Map::new();
    for (k, v) in specs {
        let key_ok = (1..=255).contains(&k.chars().count())
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c));
        if !key_ok {
            return Err(Fault::bad_request(format!(
                "Invalid input for field/attribute extra_specs. Value: {}. Additional properties are not allowed ('{k}' was unexpected)",
                Value::Object(specs.clone())
            )));
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            // Nova keeps a boolean as Python writes it.
            Value::Bool(true) => "True".to_string(),
            Value::Bool(false) => "False".to_string(),
            _ => {
                return Err(field_error(
                    k,
                    v,
                    &format!("{v} is not of type 'string', 'number', 'boolean'"),
                ))
            }
        };
        if text.chars().count() > 255 {
            return Err(field_error(k, v, &format!("'{text}' is too long")));
        }
        out.insert(k.clone(), Value::String(text));
    }
    Ok(out)
}

fn no_key(id: &str, key: &str) -> Fault {
    Fault::not_found(format!("Flavor {id} has no extra specs with key {key}."))
}

fn list_specs(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    let f = svc.read(|c| visible(c, &call, &id))?;
    reply(
        resp,
        &call,
        200,
        &json!({ "extra_specs": Value::Object(f.extra_specs) }),
    )
}

fn create_specs(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    let body = body(req)?;
    let specs = spec_values(object_body(&body, "extra_specs")?)?;
    svc.write(|c| {
        let mut f = visible(c, &call, &id)?;
        f.extra_specs.extend(specs);
        Ok(c.set_flavor_extra_specs(&f)?)
    })?;
    // Nova answers with the body it was given.
    reply(resp, &call, 200, &body)
}

fn show_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    let key = param(req, "key_id")?.to_string();
    let f = svc.read(|c| visible(c, &call, &id))?;
    let v = f
        .extra_specs
        .get(&key)
        .cloned()
        .ok_or_else(|| no_key(&id, &key))?;
    reply(resp, &call, 200, &json!({ key: v }))
}

fn update_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    let key = param(req, "key_id")?.to_string();
    let body = body(req)?;
    let Some(given) = body.as_object() else {
        return Err(Fault::bad_request(format!(
            "Invalid input for field/attribute. Value: {body}. {body} is not of type 'object'"
        )));
    };
    if given.len() != 1 {
        let why = if given.is_empty() {
            "{} does not have enough properties".to_string()
        } else {
            format!("{body} has too many properties")
        };
        return Err(Fault::bad_request(format!(
            "Invalid input for field/attribute. Value: {body}. {why}"
        )));
    }
    let specs = spec_values(given)?;
    if !specs.contains_key(&key) {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    }
    svc.write(|c| {
        let mut f = visible(c, &call, &id)?;
        f.extra_specs.extend(specs);
        Ok(c.set_flavor_extra_specs(&f)?)
    })?;
    reply(resp, &call, 200, &body)
}

fn delete_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "flavor_id")?.to_string();
    let key = param(req, "key_id")?.to_string();
    svc.write(|c| {
        let mut f = visible(c, &call, &id)?;
        if f.extra_specs.remove(&key).is_none() {
            return Err(no_key(&id, &key).into());
        }
        Ok(c.set_flavor_extra_specs(&f)?)
    })?;
    reply_empty(resp, &call, 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::microversion::Version;

    fn call(minor: u16) -> Call {
        Call {
            caller: AuthContext::default(),
            version: Version(2, minor),
            project_id: "p".into(),
        }
    }

    fn urls() -> Urls {
        Urls {
            root: "http://h/compute".into(),
            versioned: "http://h/compute/v2.1".into(),
            bookmark: "http://h/compute".into(),
        }
    }

    fn keys(v: &Value) -> String {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort();
        k.join(",")
    }

    fn flavor() -> Flavor {
        new_flavor(
            &call(1),
            json!({"name": "f", "ram": "512", "vcpus": 1, "disk": 0, "id": 7})
                .as_object()
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn bodies_follow_the_microversion() {
        let f = flavor();
        assert_eq!(f.id, "7");
        assert_eq!(f.ram, 512);
        let d = detail(&call(1), &urls(), &f);
        assert_eq!(
            keys(&d),
            "OS-FLV-DISABLED:disabled,OS-FLV-EXT-DATA:ephemeral,disk,id,links,name,os-flavor-access:is_public,ram,rxtx_factor,swap,vcpus"
        );
        assert_eq!(d["swap"], json!(""));
        assert_eq!(d["links"][0]["href"], "http://h/compute/v2.1/flavors/7");
        assert_eq!(d["links"][1]["href"], "http://h/compute/flavors/7");
        let d = detail(&call(61), &urls(), &f);
        assert_eq!(d["description"], Value::Null);
        assert_eq!(d["extra_specs"], json!({}));
        assert_eq!(d["swap"], json!(""));
        assert_eq!(detail(&call(75), &urls(), &f)["swap"], json!(0));
        assert_eq!(keys(&brief(&call(1), &urls(), &f)), "id,links,name");
        assert_eq!(
            keys(&brief(&call(55), &urls(), &f)),
            "description,id,links,name"
        );
    }

    #[test]
    fn create_bodies_are_checked() {
        let bad = |v: Value| {
            new_flavor(&call(55), v.as_object().unwrap())
                .unwrap_err()
                .status
        };
        assert_eq!(
            bad(json!({"name": "f", "ram": 0, "vcpus": 1, "disk": 0})),
            400
        );
        assert_eq!(
            bad(json!({"name": "f", "ram": "x", "vcpus": 1, "disk": 0})),
            400
        );
        assert_eq!(
            bad(json!({"name": " f", "ram": 1, "vcpus": 1, "disk": 0})),
            400
        );
        assert_eq!(bad(json!({"name": "f", "ram": 1, "vcpus": 1})), 400);
        assert_eq!(
            bad(json!({"name": "f", "ram": 1, "vcpus": 1, "disk": 0, "id": "a/b"})),
            400
        );
        assert_eq!(
            bad(json!({"name": "f", "ram": 1, "vcpus": 1, "disk": 0, "rxtx_factor": 0})),
            400
        );
        assert_eq!(
            bad(json!({"name": "f", "ram": 1, "vcpus": 1, "disk": 0, "extra": 1})),
            400
        );
        let f = new_flavor(
            &call(55),
            json!({"name": "f", "ram": 1, "vcpus": 1, "disk": 0, "id": null,
                   "os-flavor-access:is_public": "false", "description": "d"})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(f.id.len(), 36);
        assert!(!f.is_public);
        assert_eq!(f.description.as_deref(), Some("d"));
    }

    #[test]
    fn sorting_and_filters() {
        let mut a = flavor();
        a.ram = 2048;
        let b = flavor();
        let p = Place::default();
        assert_eq!(compare("memory_mb", &a, &b, p, p), Ordering::Greater);
        assert_eq!(is_public_filter(None).unwrap(), Some(true));
        assert_eq!(is_public_filter(Some("None")).unwrap(), None);
        assert_eq!(is_public_filter(Some("false")).unwrap(), Some(false));
        assert_eq!(is_public_filter(Some("maybe")).unwrap_err().status, 400);
        let specs = spec_values(json!({"a:b": 1, "c": true}).as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(specs), json!({"a:b": "1", "c": "True"}));
        assert!(spec_values(json!({"a/b": "1"}).as_object().unwrap()).is_err());
    }
}
