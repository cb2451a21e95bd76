//! Placement's endpoints (the catalog's nicknames) and their handlers: each parses the
//! request as `placement/handlers/*.py` does for the requested microversion, asks the model
//! in one read or one write transaction, and renders the answer with `views`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::model::{
    self, code, AggregateFilter, ConsumerRequest, Group, Inventory, RequestWide, TraitFilter,
};
use super::{views, Placement, MAX, MIN};
use crate::microversion::Version;

type Svc = Arc<Placement>;

/// Placement's incomplete consumer (`incomplete_consumer_project_id` / `_user_id`): whose
/// allocations written before 1.8 are.
const INCOMPLETE_CONSUMER: &str = "00000000-0000-0000-0000-000000000000";

endpoint!(Svc; Root { on_get => root });
endpoint!(Svc; Providers { on_get => list_providers, on_post => create_provider });
endpoint!(Svc; ProviderItem {
    on_get => show_provider, on_put => update_provider, on_delete => delete_provider
});
endpoint!(Svc; Inventories {
    on_get => list_inventories, on_post => create_inventory, on_put => set_inventories,
    on_delete => delete_inventories
});
endpoint!(Svc; InventoryItem {
    on_get => show_inventory, on_put => update_inventory, on_delete => delete_inventory
});
endpoint!(Svc; ProviderUsages { on_get => provider_usages });
endpoint!(Svc; Usages { on_get => total_usages });
endpoint!(Svc; Classes { on_get => list_classes, on_post => create_class });
endpoint!(Svc; ClassItem { on_get => show_class, on_put => put_class, on_delete => delete_class });
endpoint!(Svc; Traits { on_get => list_traits });
endpoint!(Svc; TraitItem { on_get => show_trait, on_put => put_trait, on_delete => delete_trait });
endpoint!(Svc; ProviderTraits {
    on_get => provider_traits, on_put => set_provider_traits, on_delete => delete_provider_traits
});
endpoint!(Svc; ProviderAggregates { on_get => provider_aggregates, on_put => set_aggregates });
endpoint!(Svc; ProviderAllocations { on_get => provider_allocations });
endpoint!(Svc; Allocations { on_post => post_allocations });
endpoint!(Svc; AllocationItem {
    on_get => show_allocations, on_put => put_allocations, on_delete => delete_allocations
});
endpoint!(Svc; Candidates { on_get => allocation_candidates });
endpoint!(Svc; Reshaper { on_post => reshape });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "index" => Root,
        "resource_providers" => Providers,
        "resource_provider" => ProviderItem,
        "resource_provider_inventories" => Inventories,
        "resource_provider_inventory" => InventoryItem,
        "resource_provider_usages" => ProviderUsages,
        "usages" => Usages,
        "resource_classes" => Classes,
        "resource_class" => ClassItem,
        "traits" => Traits,
        "trait" => TraitItem,
        "resource_provider_traits" => ProviderTraits,
        "resource_provider_aggregates" => ProviderAggregates,
        "resource_provider_allocations" => ProviderAllocations,
        "allocations" => Allocations,
        "allocation" => AllocationItem,
        "allocation_candidates" => Candidates,
        "reshaper" => Reshaper,
    }
    Ok(())
}

// --- microversions, bodies, answers --------------------------------------------------------

/// The version a request asks for, as microversion_parse's middleware reads it: none is
/// 1.0, `latest` 1.39; a malformed one 400, one outside 1.0–1.39 406.
pub fn requested(req: &Request) -> Result<Version, Fault> {
    let named = req.header("OpenStack-API-Version").and_then(|h| {
        h.split(',').find_map(|entry| {
            let mut words = entry.split_whitespace();
            (words.next()?.eq_ignore_ascii_case("placement")).then(|| words.next().unwrap_or(""))
        })
    });
    let Some(named) = named.map(str::trim) else {
        return Ok(MIN);
    };
    if named == "latest" {
        return Ok(MAX);
    }
    let parsed = named.split_once('.').and_then(|(major, minor)| {
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !ok(major) || !ok(minor) {
            return None;
        }
        Some(Version(major.parse().ok()?, minor.parse().ok()?))
    });
    let Some(v) = parsed else {
        return Err(Fault::bad_request(format!(
            "Invalid microversion: invalid version string: {named}"
        )));
    };
    if v < MIN || v > MAX {
        // Placement's formatter tells a client that could not be served what it may ask
        // for (osc-placement negotiates down from it).
        return Err(Fault::new(
            406,
            format!("Invalid microversion: Unacceptable version header: {named}"),
        )
        .field("max_version", json!(MAX.to_string()))
        .field("min_version", json!(MIN.to_string())));
    }
    Ok(v)
}

/// The version of a request, stamped on its answer (errors included, as the middleware
/// adds the header to them too).
fn call(req: &Request, resp: &mut Response) -> Result<Version, Fault> {
    let v = negotiated(req, resp)?;
    if req.method == "GET" && !accepts_json(req.header("accept")) {
        // `check_accept('application/json')` on every GET handler.
        return Err(Fault::new(406, "Only application/json is provided"));
    }
    Ok(v)
}

/// The version, stamped on the answer.
fn negotiated(req: &Request, resp: &mut Response) -> Result<Version, Fault> {
    let v = requested(req)?;
    resp.set_header("OpenStack-API-Version", &format!("placement {v}"));
    resp.add_header("Vary", "openstack-api-version");
    Ok(v)
}

/// Whether an `Accept` header takes `application/json` (no header takes anything).
fn accepts_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return true;
    };
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q_zero = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !q_zero && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// 404 below the version an API appeared in (`version_handler`'s default).
fn since(v: Version, minor: u16) -> Result<(), Fault> {
    if v.at_least(minor) {
        Ok(())
    } else {
        Err(Fault::not_found("The resource could not be found."))
    }
}

/// From 1.15 every GET and PUT answer says when it changed and that it may not be cached.
fn stamp_modified(resp: &mut Response, v: Version) {
    if v.at_least(15) {
        let fmt = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        if let Ok(now) = time::OffsetDateTime::now_utc().format(&fmt) {
            resp.set_header("Last-Modified", &now);
        }
        resp.set_header("Cache-Control", "no-cache");
    }
}

fn reply(resp: &mut Response, v: Version, status: u16, body: &Value) -> HandlerResult {
    resp.set_status(status);
    stamp_modified(resp, v);
    resp.json(body);
    Ok(())
}

/// `Location`: webob makes Placement's relative URL absolute, and clients fetch it as is.
fn set_location(req: &Request, resp: &mut Response, path: &str) {
    resp.set_header("Location", &format!("{}{path}", req.base_url()));
}

fn no_content(resp: &mut Response) -> HandlerResult {
    resp.set_status(204);
    Ok(())
}

fn param<'a>(req: &'a Request, name: &str) -> Result<&'a str, Fault> {
    req.param(name)
        .ok_or_else(|| Fault::internal(format!("route without {{{name}}}")))
}

/// The JSON body of a PUT or POST: `require_content('application/json')`, then the JSON.
fn body(req: &Request) -> Result<Value, Fault> {
    let ctype = req.header("content-type").unwrap_or("");
    let media = ctype.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        let shown = if media.is_empty() { "None" } else { media };
        return Err(Fault::new(
            415,
            format!("The media type {shown} is not supported, use application/json"),
        ));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| Fault::bad_request(format!("Malformed JSON: {e}")))
}

/// A JSON-schema failure, in Placement's words.
fn invalid(why: impl std::fmt::Display) -> Fault {
    Fault::bad_request(format!("JSON does not validate: {why}"))
}

/// The body must be an object with only `allowed` keys and every `required` one.
fn object<'a>(
    v: &'a Value,
    allowed: &[&str],
    required: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, Fault> {
    let Some(o) = v.as_object() else {
        return Err(invalid(format!("{v} is not of type 'object'")));
    };
    for k in required {
        if !o.contains_key(*k) {
            return Err(invalid(format!("'{k}' is a required property")));
        }
    }
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(invalid(format!(
                "Additional properties are not allowed ('{k}' was unexpected)"
            )));
        }
    }
    Ok(o)
}

/// An integer field within `min..=max`.
fn int_in(
    o: &serde_json::Map<String, Value>,
    key: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, Fault> {
    let Some(v) = o.get(key) else {
        return Ok(None);
    };
    let Some(n) = v.as_i64().filter(|_| !v.is_f64()) else {
        return Err(invalid(format!("{v} is not of type 'integer'")));
    };
    if n < min {
        return Err(invalid(format!("{n} is less than the minimum of {min}")));
    }
    if n > max {
        return Err(invalid(format!("{n} is greater than the maximum of {max}")));
    }
    Ok(Some(n))
}

fn string<'a>(o: &'a serde_json::Map<String, Value>, key: &str) -> Result<Option<&'a str>, Fault> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(invalid(format!("{v} is not of type 'string'"))),
    }
}

/// A uuid as Placement accepts it (`uuidutils.is_uuid_like`), in its canonical form.
fn uuid_like(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s).ok().map(|u| u.to_string())
}

/// An object key that must be a uuid (a provider or consumer), as the schemas'
/// `patternProperties` with `additionalProperties: false` check it.
fn uuid_key(key: &str) -> Result<String, Fault> {
    uuid_like(key).ok_or_else(|| {
        invalid(format!(
            "Additional properties are not allowed ('{key}' was unexpected)"
        ))
    })
}

/// Only these query parameters (the handler's schema has `additionalProperties: false`).
fn only_query(req: &Request, allowed: &[&str]) -> Result<(), Fault> {
    for p in req.query_params.iter() {
        if !allowed.contains(&p.name.as_str()) {
            return Err(Fault::bad_request(format!(
                "Invalid query string parameters: Additional properties are not allowed ('{}' was unexpected)",
                p.name
            )));
        }
    }
    Ok(())
}

/// The one value of a query parameter that may not repeat.
fn single<'a>(req: &'a Request, name: &'a str) -> Result<Option<&'a str>, Fault> {
    let mut values = req.query_values(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(Fault::bad_request(format!(
            "Invalid query string parameters: Query parameter '{name}' may only be specified once"
        )));
    }
    Ok(first)
}

// --- query filters ------------------------------------------------------------------------

/// `resources=VCPU:2,MEMORY_MB:1024`.
fn parse_resources(qs: &str) -> Result<Vec<(String, i64)>, Fault> {
    let bad = |got: &str| {
        Fault::bad_request(format!(
            "Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: {got}."
        ))
    };
    if qs.is_empty() {
        return Err(bad("empty string"));
    }
    let mut out: Vec<(String, i64)> = Vec::new();
    for part in qs.split(',') {
        let Some((rc, amount)) = part.split_once(':') else {
            return Err(bad(part));
        };
        let Ok(n) = amount.trim().parse::<i64>() else {
            return Err(bad(part));
        };
        if n < 1 {
            return Err(Fault::bad_request(format!(
                "Requested resource {rc} expected positive integer amount. Got: {n}."
            )));
        }
        if out.iter().any(|(r, _)| r == rc) {
            return Err(Fault::bad_request(format!(
                "Badly formed resources parameter. Resource class {rc} may only be specified once."
            )));
        }
        out.push((rc.to_string(), n));
    }
    Ok(out)
}

/// `required=A,!B` (forbidden from 1.22), or `in:A,B` (1.39), as
/// `normalize_traits_qs_params` reads them: before 1.39 only the last `required` counts,
/// from 1.39 each is a further condition.
fn parse_required(values: &[&str], v: Version, key: &str) -> Result<TraitFilter, Fault> {
    let f = parse_required_unchecked(values, v)?;
    if v.at_least(22) {
        let conflicts = conflicting_traits(&f, key);
        if !conflicts.is_empty() {
            return Err(Fault::bad_request(format!(
                "Conflicting required and forbidden traits found in the following traits keys: {}",
                conflicts.join(", ")
            )));
        }
    }
    Ok(f)
}

/// `required` values read, without the check for traits both required and forbidden.
fn parse_required_unchecked(values: &[&str], v: Version) -> Result<TraitFilter, Fault> {
    let values = if v.at_least(39) {
        values
    } else {
        &values[values.len().saturating_sub(1)..]
    };
    let mut f = TraitFilter::default();
    for val in values {
        if let Some(any) = val.strip_prefix("in:") {
            if !v.at_least(39) {
                return Err(Fault::bad_request(format!(
                    "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: {val}"
                )));
            }
            let mut names: Vec<String> = any.split(',').map(|s| s.trim().to_string()).collect();
            if names.iter().any(String::is_empty) {
                return Err(Fault::bad_request(format!(
                    "Invalid query string parameters: Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {val}"
                )));
            }
            if names.iter().any(|n| n.starts_with('!')) {
                return Err(Fault::bad_request(format!(
                    "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: {val}"
                )));
            }
            names.sort();
            names.dedup();
            f.any_of.push(names);
            continue;
        }
        let all: Vec<&str> = val.split(',').map(str::trim).collect();
        // Any run of `!` marks a forbidden trait (Placement's `lstrip('!')`).
        let forbidden: Vec<&str> = all
            .iter()
            .filter(|t| t.starts_with('!'))
            .map(|t| t.trim_start_matches('!'))
            .collect();
        if all.iter().chain(&forbidden).any(|t| t.is_empty()) {
            let form = if v.at_least(22) {
                "HW_CPU_X86_VMX,!CUSTOM_MAGIC"
            } else {
                "HW_CPU_X86_VMX,CUSTOM_MAGIC"
            };
            return Err(Fault::bad_request(format!(
                "Invalid query string parameters: Expected 'required' parameter value of the form: {form}. Got an empty trait in: {val}"
            )));
        }
        if !forbidden.is_empty() && !v.at_least(22) {
            return Err(Fault::bad_request(format!(
                "Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {val}"
            )));
        }
        for t in all.iter().filter(|t| !t.starts_with('!')) {
            if !f.required.iter().any(|r| r == t) {
                f.required.push(t.to_string());
            }
        }
        for t in forbidden {
            if !f.forbidden.iter().any(|r| r == t) {
                f.forbidden.push(t.to_string());
            }
        }
    }
    Ok(f)
}

/// `_check_forbidden`: a required trait (or every trait of an `in:` list) also forbidden.
fn conflicting_traits(f: &TraitFilter, key: &str) -> Vec<String> {
    let mut sets: Vec<Vec<String>> = f.required.iter().map(|t| vec![t.clone()]).collect();
    sets.extend(f.any_of.iter().cloned());
    let mut out: Vec<String> = sets
        .into_iter()
        .filter(|s| s.iter().all(|t| f.forbidden.contains(t)))
        .map(|mut s| {
            s.sort();
            format!("{key}: ({})", s.join(", "))
        })
        .collect();
    out.sort();
    out
}

/// `member_of=<uuid>` or `in:<uuid>,<uuid>`; repeated from 1.24; `!` from 1.32
/// (`normalize_member_of_qs_params`); `key` is the parameter's name with its suffix.
fn parse_member_of(values: &[&str], v: Version, key: &str) -> Result<AggregateFilter, Fault> {
    if values.len() > 1 && !v.at_least(24) {
        return Err(Fault::bad_request(format!(
            "Multiple {key} parameters are not supported"
        )));
    }
    let mut f = AggregateFilter::default();
    for val in values {
        // `normalize_member_of_qs_param`: one uuid, `!uuid`, `in:a,b` or `!in:a,b`.
        if val.contains(',') && !(val.starts_with("in:") || val.starts_with("!in:")) {
            return Err(Fault::bad_request(format!(
                "Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: {val}"
            )));
        }
        let (negated, list) = match val.strip_prefix('!') {
            Some(r) => (true, r.strip_prefix("in:").unwrap_or(r)),
            None => (false, val.strip_prefix("in:").unwrap_or(val)),
        };
        let mut uuids = Vec::new();
        for u in list.split(',') {
            match uuid_like(u.trim()) {
                Some(u) => uuids.push(u),
                None => {
                    return Err(Fault::bad_request(format!(
                        "Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: {u}"
                    )))
                }
            }
        }
        if negated {
            if !v.at_least(32) {
                return Err(Fault::bad_request(format!(
                    "Forbidden {key} parameters are not supported in the specified microversion"
                )));
            }
            f.forbidden.extend(uuids);
        } else {
            f.any_of.push(uuids);
        }
    }
    Ok(f)
}

// --- root ----------------------------------------------------------------------------------

fn root(_: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    // The version document answers whatever the client accepts (no `check_accept`).
    let v = negotiated(req, resp)?;
    reply(
        resp,
        v,
        200,
        &json!({"versions": [{
            "id": format!("v{MIN}"),
            "max_version": MAX.to_string(),
            "min_version": MIN.to_string(),
            "status": "CURRENT",
            "links": [{"rel": "self", "href": ""}],
        }]}),
    )
}

// --- resource providers ----------------------------------------------------------------------

fn list_providers(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let mut allowed = vec!["name", "uuid"];
    for (minor, key) in [
        (3, "member_of"),
        (4, "resources"),
        (14, "in_tree"),
        (18, "required"),
    ] {
        if v.at_least(minor) {
            allowed.push(key);
        }
    }
    only_query(req, &allowed)?;
    let mut f = model::ProviderFilter {
        name: single(req, "name")?.map(str::to_string),
        ..Default::default()
    };
    if let Some(u) = single(req, "uuid")? {
        f.uuid = Some(uuid_like(u).ok_or_else(|| {
            Fault::bad_request(format!(
                "Invalid query string parameters: '{u}' is not a 'uuid'"
            ))
        })?);
    }
    if let Some(t) = single(req, "in_tree")? {
        f.in_tree = Some(uuid_like(t).ok_or_else(|| {
            Fault::bad_request(format!(
                "Invalid query string parameters: '{t}' is not a 'uuid'"
            ))
        })?);
    }
    if let Some(r) = single(req, "resources")? {
        f.resources = parse_resources(r)?;
    }
    let member_of: Vec<&str> = req.query_values("member_of").collect();
    f.member_of = parse_member_of(&member_of, v, "member_of")?;
    // Repeated: the last counts before 1.39, each is a further condition from 1.39.
    let required: Vec<&str> = req.query_values("required").collect();
    f.traits = parse_required(&required, v, "required")?;
    let found = svc.read(|c| model::list_providers(c, &f))?;
    reply(resp, v, 200, &views::providers(&svc.prefix, &found, v))
}

/// The name and parent fields of a provider body (POST or PUT).
struct ProviderBody {
    name: Option<String>,
    uuid: Option<String>,
    parent: Option<Option<String>>,
}

fn provider_body(req: &Request, v: Version, create: bool) -> Result<ProviderBody, Fault> {
    let b = body(req)?;
    let mut allowed = vec!["name"];
    if create {
        allowed.push("uuid");
    }
    if v.at_least(14) {
        allowed.push("parent_provider_uuid");
    }
    let o = object(&b, &allowed, &["name"])?;
    let name = string(o, "name")?.map(str::to_string);
    if let Some(n) = &name {
        if n.chars().count() > 200 {
            return Err(invalid(format!("'{n}' is too long")));
        }
        if n.is_empty() {
            return Err(invalid("'' is too short"));
        }
    }
    let uuid = match string(o, "uuid")? {
        None => None,
        Some(u) => Some(uuid_like(u).ok_or_else(|| invalid(format!("'{u}' is not a 'uuid'")))?),
    };
    let parent = match o.get("parent_provider_uuid") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(u)) => Some(Some(
            uuid_like(u).ok_or_else(|| invalid(format!("'{u}' is not a 'uuid'")))?,
        )),
        Some(other) => {
            return Err(invalid(format!(
                "{other} is not valid under any of the given schemas"
            )))
        }
    };
    Ok(ProviderBody { name, uuid, parent })
}

fn create_provider(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let b = provider_body(req, v, true)?;
    let uuid = b.uuid.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let name = b.name.unwrap_or_default();
    let parent = b.parent.flatten();
    let p = svc.write(|c| model::create_provider(c, &uuid, &name, parent.as_deref()))?;
    set_location(
        req,
        resp,
        &format!("{}/resource_providers/{}", svc.prefix, p.uuid),
    );
    if v.at_least(20) {
        reply(resp, v, 200, &views::provider(&svc.prefix, &p, v))
    } else {
        resp.set_status(201);
        Ok(())
    }
}

fn show_provider(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    let p = svc.read(|c| model::get(c, &uuid))?;
    reply(resp, v, 200, &views::provider(&svc.prefix, &p, v))
}

fn update_provider(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    // The provider is looked up before the body is read, as Placement does.
    svc.read(|c| model::get(c, &uuid))?;
    let b = provider_body(req, v, false)?;
    let p = svc.write(|c| {
        model::update_provider(
            c,
            &uuid,
            model::ProviderUpdate {
                name: b.name.as_deref(),
                parent: b.parent.as_ref().map(|p| p.as_deref()),
                may_reparent: v.at_least(37),
            },
        )
    })?;
    reply(resp, v, 200, &views::provider(&svc.prefix, &p, v))
}

fn delete_provider(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    svc.write(|c| model::delete_provider(c, &uuid))?;
    no_content(resp)
}

// --- inventories -------------------------------------------------------------------------

const INVENTORY_FIELDS: &[&str] = &[
    "resource_provider_generation",
    "total",
    "reserved",
    "min_unit",
    "max_unit",
    "step_size",
    "allocation_ratio",
];

/// One inventory record of a body, Placement's defaults for what it leaves out.
fn inventory_of(rc: &str, o: &serde_json::Map<String, Value>) -> Result<Inventory, Fault> {
    use model::MAX_INT;
    let total =
        int_in(o, "total", 1, MAX_INT)?.ok_or_else(|| invalid("'total' is a required property"))?;
    let mut i = Inventory::of(rc, total);
    if let Some(n) = int_in(o, "reserved", 0, MAX_INT)? {
        i.reserved = n;
    }
    if let Some(n) = int_in(o, "min_unit", 1, MAX_INT)? {
        i.min_unit = n;
    }
    if let Some(n) = int_in(o, "max_unit", 1, MAX_INT)? {
        i.max_unit = n;
    }
    if let Some(n) = int_in(o, "step_size", 1, MAX_INT)? {
        i.step_size = n;
    }
    if let Some(r) = o.get("allocation_ratio") {
        let Some(f) = r.as_f64().filter(|f| f.is_finite()) else {
            return Err(invalid(format!("{r} is not of type 'number'")));
        };
        if f > model::MAX_RATIO {
            return Err(invalid(format!(
                "{f} is greater than the maximum of {}",
                model::MAX_RATIO
            )));
        }
        i.allocation_ratio = f;
    }
    Ok(i)
}

/// `{"resource_provider_generation": N, "inventories": {class: record}}` (PUT
/// …/inventories, and each provider of a reshape).
fn inventories_body(b: &Value) -> Result<(i64, Vec<Inventory>), Fault> {
    let o = object(
        b,
        &["resource_provider_generation", "inventories"],
        &["resource_provider_generation", "inventories"],
    )?;
    let generation = generation_of(o)?.unwrap_or_default();
    let Some(records) = o.get("inventories").and_then(Value::as_object) else {
        return Err(invalid("'inventories' is not of type 'object'"));
    };
    let mut inv = Vec::new();
    for (rc, record) in records {
        if !model::well_formed(rc) {
            return Err(invalid(format!(
                "Additional properties are not allowed ('{rc}' was unexpected)"
            )));
        }
        inv.push(inventory_of(
            rc,
            object(record, INVENTORY_FIELDS, &["total"])?,
        )?);
    }
    Ok((generation, inv))
}

fn generation_of(o: &serde_json::Map<String, Value>) -> Result<Option<i64>, Fault> {
    int_in(o, "resource_provider_generation", i64::MIN, i64::MAX)
}

fn list_inventories(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    let (p, inv) = svc.read(|c| Ok((model::get(c, &uuid)?, c.inventories(&uuid)?)))?;
    reply(resp, v, 200, &views::inventories(&inv, p.generation))
}

fn create_inventory(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    svc.read(|c| model::get(c, &uuid))?;
    let b = body(req)?;
    let mut allowed = INVENTORY_FIELDS.to_vec();
    allowed.push("resource_class");
    let o = object(&b, &allowed, &["total", "resource_class"])?;
    let rc = string(o, "resource_class")?.unwrap_or_default().to_string();
    if !model::well_formed(&rc) {
        return Err(invalid(format!("'{rc}' does not match '^[A-Z0-9_]+$'")));
    }
    let generation = generation_of(o)?;
    let i = inventory_of(&rc, o)?;
    let (p, i) = svc.write(|c| model::add_inventory(c, &uuid, generation, i, v.at_least(26)))?;
    set_location(
        req,
        resp,
        &format!("{}/resource_providers/{uuid}/inventories/{rc}", svc.prefix),
    );
    reply(resp, v, 201, &views::inventory(&i, p.generation))
}

fn set_inventories(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    svc.read(|c| model::get(c, &uuid))?;
    let b = body(req)?;
    let (generation, inv) = inventories_body(&b)?;
    let (p, inv) =
        svc.write(|c| model::set_inventories(c, &uuid, generation, inv, v.at_least(26)))?;
    reply(resp, v, 200, &views::inventories(&inv, p.generation))
}

fn delete_inventories(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    if !v.at_least(5) {
        return Err(Fault::new(
            405,
            "The method specified is not allowed for this resource.",
        ));
    }
    let uuid = param(req, "uuid")?.to_string();
    svc.write(|c| model::delete_inventories(c, &uuid))?;
    no_content(resp)
}

fn show_inventory(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    let rc = param(req, "resource_class")?.to_string();
    let (p, inv) = svc.read(|c| {
        let p = c.provider(&uuid)?.ok_or_else(|| {
            model::Error::NotFound(format!(
                "No resource provider with uuid {uuid} found : No resource provider with uuid {uuid} found"
            ))
        })?;
        Ok((p, c.inventories(&uuid)?))
    })?;
    let Some(i) = inv.iter().find(|i| i.resource_class == rc) else {
        return Err(Fault::not_found(format!(
            "No inventory of class {rc} for {uuid}"
        )));
    };
    reply(resp, v, 200, &views::inventory(i, p.generation))
}

fn update_inventory(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    let rc = param(req, "resource_class")?.to_string();
    svc.read(|c| model::get(c, &uuid))?;
    let b = body(req)?;
    let o = object(
        &b,
        INVENTORY_FIELDS,
        &["total", "resource_provider_generation"],
    )?;
    let generation = generation_of(o)?.unwrap_or_default();
    let i = inventory_of(&rc, o)?;
    let (p, i) = svc.write(|c| model::update_inventory(c, &uuid, generation, i, v.at_least(26)))?;
    reply(resp, v, 200, &views::inventory(&i, p.generation))
}

fn delete_inventory(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    let rc = param(req, "resource_class")?.to_string();
    svc.write(|c| model::delete_inventory(c, &uuid, &rc))?;
    no_content(resp)
}

// --- usages ------------------------------------------------------------------------------

fn provider_usages(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    let (p, inv, used) = svc.read(|c| {
        let p = c.provider(&uuid)?.ok_or_else(|| {
            model::Error::NotFound(format!("No resource provider with uuid {uuid} found"))
        })?;
        Ok((p, c.inventories(&uuid)?, model::usages(c, &uuid)?))
    })?;
    reply(
        resp,
        v,
        200,
        &views::provider_usages(&inv, &used, p.generation),
    )
}

fn total_usages(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 9)?;
    let mut allowed = vec!["project_id", "user_id"];
    if v.at_least(38) {
        allowed.push("consumer_type");
    }
    only_query(req, &allowed)?;
    let Some(project) = single(req, "project_id")?.map(str::to_string) else {
        return Err(Fault::bad_request(
            "Invalid query string parameters: 'project_id' is a required property",
        ));
    };
    // `admin or (reader and project_id:%(project_id)s)`: a reader only of their project.
    let caller = crate::policy::caller(req)?;
    if !caller.is_admin && caller.project_id.as_deref() != Some(project.as_str()) {
        return Err(Fault::forbidden(
            "Policy does not allow placement:usages to be performed.",
        ));
    }
    let user = single(req, "user_id")?.map(str::to_string);
    let consumer_type = single(req, "consumer_type")?.map(str::to_string);
    let rows = svc.read(|c| Ok(c.project_allocations(&project, user.as_deref())?))?;
    if !v.at_least(38) {
        let mut usages: BTreeMap<String, i64> = BTreeMap::new();
        for (_, rc, used) in rows {
            let slot = usages.entry(rc).or_insert(0i64);
            *slot = slot.saturating_add(used);
        }
        return reply(resp, v, 200, &json!({ "usages": usages }));
    }
    // 1.38: grouped by consumer type, each with its consumer count.
    let mut by_type: BTreeMap<String, (BTreeSet<String>, BTreeMap<String, i64>)> = BTreeMap::new();
    for (consumer, rc, used) in rows {
        let kind = consumer
            .consumer_type
            .clone()
            .unwrap_or_else(|| "unknown".into());
        let wanted = match consumer_type.as_deref() {
            None | Some("all") => true,
            Some(t) => t == kind,
        };
        if !wanted {
            continue;
        }
        let slot = by_type.entry(kind).or_default();
        slot.0.insert(consumer.uuid);
        let sum = slot.1.entry(rc).or_insert(0i64);
        *sum = sum.saturating_add(used);
    }
    let mut usages = serde_json::Map::new();
    for (kind, (consumers, sums)) in by_type {
        let mut entry = json!({"consumer_count": consumers.len()});
        for (rc, used) in sums {
            entry[rc] = json!(used);
        }
        usages.insert(kind, entry);
    }
    reply(resp, v, 200, &json!({ "usages": usages }))
}

// --- resource classes ----------------------------------------------------------------------

fn list_classes(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 2)?;
    let names = svc.read(model::classes)?;
    let list: Vec<Value> = names
        .iter()
        .map(|n| views::resource_class(&svc.prefix, n))
        .collect();
    reply(resp, v, 200, &json!({ "resource_classes": list }))
}

fn class_name_body(req: &Request) -> Result<String, Fault> {
    let b = body(req)?;
    let o = object(&b, &["name"], &["name"])?;
    let name = string(o, "name")?.unwrap_or_default().to_string();
    if name.len() > 255 {
        return Err(invalid(format!("'{name}' is too long")));
    }
    if !model::custom_name(&name) {
        return Err(invalid(format!(
            "'{name}' does not match '^CUSTOM_[A-Z0-9_]+$'"
        )));
    }
    Ok(name)
}

fn create_class(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 2)?;
    let name = class_name_body(req)?;
    if !svc.write(|c| model::create_class(c, &name))? {
        return Err(
            Fault::conflict(format!("Conflicting resource class already exists: {name}"))
                .kind(model::code::DUPLICATE_NAME),
        );
    }
    set_location(
        req,
        resp,
        &format!("{}/resource_classes/{name}", svc.prefix),
    );
    resp.set_status(201);
    Ok(())
}

fn show_class(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 2)?;
    let name = param(req, "name")?.to_string();
    if !svc.read(|c| model::class_exists(c, &name))? {
        return Err(Fault::not_found(format!("No such resource class {name}.")));
    }
    reply(resp, v, 200, &views::resource_class(&svc.prefix, &name))
}

fn put_class(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 2)?;
    let name = param(req, "name")?.to_string();
    if !v.at_least(7) {
        // 1.2–1.6: renames a custom class to the body's name.
        let new = class_name_body(req)?;
        svc.write(|c| model::rename_class(c, &name, &new))?;
        return reply(resp, v, 200, &views::resource_class(&svc.prefix, &new));
    }
    // 1.7: a bodiless create-or-verify.
    if model::is_standard_class(&name) {
        return Err(Fault::bad_request(format!(
            "Cannot update standard resource class {name}"
        )));
    }
    if !model::custom_name(&name) {
        return Err(Fault::bad_request(format!(
            "JSON does not validate: '{name}' does not match '^CUSTOM_[A-Z0-9_]+$'"
        )));
    }
    let created = svc.write(|c| model::create_class(c, &name))?;
    if created {
        set_location(
            req,
            resp,
            &format!("{}/resource_classes/{name}", svc.prefix),
        );
        resp.set_status(201);
    } else {
        resp.set_status(204);
    }
    stamp_modified(resp, v);
    Ok(())
}

fn delete_class(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 2)?;
    let name = param(req, "name")?.to_string();
    svc.write(|c| model::delete_class(c, &name))?;
    no_content(resp)
}

// --- traits --------------------------------------------------------------------------------

fn list_traits(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 6)?;
    only_query(req, &["name", "associated"])?;
    let name = single(req, "name")?.map(str::to_string);
    let associated = match single(req, "associated")? {
        None => None,
        Some(a) if a.eq_ignore_ascii_case("true") => Some(true),
        Some(a) if a.eq_ignore_ascii_case("false") => Some(false),
        Some(a) => {
            return Err(Fault::bad_request(format!(
                "The query parameter \"associated\" only accepts \"true\" or \"false\". Got: {a}"
            )))
        }
    };
    enum NameFilter {
        In(Vec<String>),
        StartsWith(String),
    }
    let filter = match name.as_deref() {
        None => None,
        Some(n) => {
            if let Some(list) = n.strip_prefix("in:") {
                Some(NameFilter::In(
                    list.split(',').map(str::to_string).collect(),
                ))
            } else if let Some(p) = n.strip_prefix("startswith:") {
                Some(NameFilter::StartsWith(p.to_string()))
            } else {
                return Err(Fault::bad_request(format!(
                    "Badly formatted name parameter. Expected name query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: \"{n}\""
                )));
            }
        }
    };
    let (all, used) = svc.read(|c| {
        let used: BTreeSet<String> = c
            .all_provider_traits()?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        Ok((model::traits(c)?, used))
    })?;
    let list: Vec<&String> = all
        .iter()
        .filter(|t| match &filter {
            None => true,
            Some(NameFilter::In(names)) => names.contains(t),
            Some(NameFilter::StartsWith(p)) => t.starts_with(p.as_str()),
        })
        .filter(|t| associated.is_none_or(|a| used.contains(*t) == a))
        .collect();
    reply(resp, v, 200, &json!({ "traits": list }))
}

fn show_trait(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 6)?;
    let name = param(req, "name")?.to_string();
    if !svc.read(|c| model::trait_exists(c, &name))? {
        return Err(Fault::not_found(format!("No such trait(s): {name}")));
    }
    stamp_modified(resp, v);
    no_content(resp)
}

fn put_trait(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 6)?;
    let name = param(req, "name")?.to_string();
    let created = svc.write(|c| model::create_trait(c, &name))?;
    set_location(req, resp, &format!("{}/traits/{name}", svc.prefix));
    stamp_modified(resp, v);
    resp.set_status(if created { 201 } else { 204 });
    Ok(())
}

fn delete_trait(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 6)?;
    let name = param(req, "name")?.to_string();
    svc.write(|c| model::delete_trait(c, &name))?;
    no_content(resp)
}

fn provider_traits_body(p: &model::Provider, traits: &[String]) -> Value {
    json!({"traits": traits, "resource_provider_generation": p.generation})
}

fn provider_traits(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 6)?;
    let uuid = param(req, "uuid")?.to_string();
    let (p, traits) = svc.read(|c| Ok((model::get(c, &uuid)?, c.provider_traits(&uuid)?)))?;
    reply(resp, v, 200, &provider_traits_body(&p, &traits))
}

fn set_provider_traits(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 6)?;
    let uuid = param(req, "uuid")?.to_string();
    svc.read(|c| model::get(c, &uuid))?;
    let b = body(req)?;
    let o = object(
        &b,
        &["traits", "resource_provider_generation"],
        &["traits", "resource_provider_generation"],
    )?;
    let generation = generation_of(o)?.unwrap_or_default();
    let Some(list) = o.get("traits").and_then(Value::as_array) else {
        return Err(invalid("'traits' is not of type 'array'"));
    };
    let mut traits: Vec<String> = Vec::new();
    for t in list {
        let Some(s) = t.as_str() else {
            return Err(invalid(format!("{t} is not of type 'string'")));
        };
        if !model::well_formed(s) || s.len() > 255 {
            return Err(invalid(format!("'{s}' does not match '^[A-Z0-9_]+$'")));
        }
        if traits.iter().any(|x| x == s) {
            return Err(invalid(format!("{list:?} has non-unique elements")));
        }
        traits.push(s.to_string());
    }
    traits.sort();
    let p = svc.write(|c| model::set_provider_traits(c, &uuid, generation, &traits))?;
    reply(resp, v, 200, &provider_traits_body(&p, &traits))
}

fn delete_provider_traits(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 6)?;
    let uuid = param(req, "uuid")?.to_string();
    svc.write(|c| model::delete_provider_traits(c, &uuid))?;
    no_content(resp)
}

// --- aggregates ----------------------------------------------------------------------------

fn aggregates_body(p: &model::Provider, aggregates: &[String], v: Version) -> Value {
    let mut out = json!({ "aggregates": aggregates });
    if v.at_least(19) {
        out["resource_provider_generation"] = json!(p.generation);
    }
    out
}

fn provider_aggregates(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 1)?;
    let uuid = param(req, "uuid")?.to_string();
    let (p, aggs) = svc.read(|c| Ok((model::get(c, &uuid)?, c.provider_aggregates(&uuid)?)))?;
    reply(resp, v, 200, &aggregates_body(&p, &aggs, v))
}

fn set_aggregates(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 1)?;
    let uuid = param(req, "uuid")?.to_string();
    svc.read(|c| model::get(c, &uuid))?;
    let b = body(req)?;
    // 1.1–1.18: a bare list; 1.19: with the provider's generation.
    let (list, generation) = if v.at_least(19) {
        let o = object(
            &b,
            &["aggregates", "resource_provider_generation"],
            &["aggregates", "resource_provider_generation"],
        )?;
        (
            o.get("aggregates").cloned().unwrap_or(Value::Null),
            generation_of(o)?,
        )
    } else {
        (b, None)
    };
    let Some(items) = list.as_array() else {
        return Err(invalid(format!("{list} is not of type 'array'")));
    };
    let mut aggs: Vec<String> = Vec::new();
    for a in items {
        let u = a
            .as_str()
            .and_then(uuid_like)
            .ok_or_else(|| invalid(format!("{a} is not a 'uuid'")))?;
        if aggs.contains(&u) {
            return Err(invalid(format!("{list} has non-unique elements")));
        }
        aggs.push(u);
    }
    aggs.sort();
    let p = svc.write(|c| model::set_provider_aggregates(c, &uuid, generation, &aggs))?;
    reply(resp, v, 200, &aggregates_body(&p, &aggs, v))
}

// --- allocations ---------------------------------------------------------------------------

fn provider_allocations(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let uuid = param(req, "uuid")?.to_string();
    let (p, rows, generations) = svc.read(|c| {
        let p = c.provider(&uuid)?.ok_or_else(|| {
            model::Error::NotFound(format!(
                "Resource provider '{uuid}' not found: No resource provider with uuid {uuid} found"
            ))
        })?;
        let rows = c.provider_allocations(&uuid)?;
        let mut generations = BTreeMap::new();
        for (consumer, _, _) in &rows {
            if !generations.contains_key(consumer) {
                generations.insert(
                    consumer.clone(),
                    c.consumer(consumer)?.map(|x| x.generation),
                );
            }
        }
        Ok((p, rows, generations))
    })?;
    reply(
        resp,
        v,
        200,
        &views::provider_allocations(&rows, &generations, p.generation, v),
    )
}

fn consumer_uuid(req: &Request) -> Result<String, Fault> {
    let raw = param(req, "consumer_uuid")?;
    uuid_like(raw).ok_or_else(|| Fault::bad_request(format!("Malformed consumer_uuid: {raw}")))
}

fn show_allocations(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let consumer = param(req, "consumer_uuid")?.to_string();
    let (rows, c) = svc.read(|c| {
        let mut rows = Vec::new();
        for a in c.consumer_allocations(&consumer)? {
            if let Some(p) = c.provider(&a.provider)? {
                rows.push((p, a.resource_class, a.used));
            }
        }
        Ok((rows, c.consumer(&consumer)?))
    })?;
    reply(
        resp,
        v,
        200,
        &views::consumer_allocations(&rows, c.as_ref(), v),
    )
}

/// `{rp_uuid: {"resources": {class: amount}}}` (1.12 on, and POST /allocations).
fn allocation_dict(v: &Value) -> Result<BTreeMap<String, BTreeMap<String, i64>>, Fault> {
    let Some(o) = v.as_object() else {
        return Err(invalid(format!("{v} is not of type 'object'")));
    };
    let mut out = BTreeMap::new();
    for (rp, entry) in o {
        let rp_uuid = uuid_key(rp)?;
        let eo = object(entry, &["resources", "generation"], &["resources"])?;
        out.insert(
            rp_uuid,
            resources_of(eo.get("resources").unwrap_or(&Value::Null))?,
        );
    }
    Ok(out)
}

fn resources_of(v: &Value) -> Result<BTreeMap<String, i64>, Fault> {
    let Some(o) = v.as_object() else {
        return Err(invalid(format!("{v} is not of type 'object'")));
    };
    if o.is_empty() {
        return Err(invalid("{} does not have enough properties"));
    }
    let mut out = BTreeMap::new();
    for (rc, n) in o {
        if !model::well_formed(rc) {
            return Err(invalid(format!(
                "Additional properties are not allowed ('{rc}' was unexpected)"
            )));
        }
        let Some(n) = n.as_i64().filter(|_| !n.is_f64()) else {
            return Err(invalid(format!("{n} is not of type 'integer'")));
        };
        if n < 1 {
            return Err(invalid(format!("{n} is less than the minimum of 1")));
        }
        if n > model::MAX_INT {
            return Err(invalid(format!(
                "{n} is greater than the maximum of {}",
                model::MAX_INT
            )));
        }
        out.insert(rc.clone(), n);
    }
    Ok(out)
}

/// One consumer's part of a PUT or POST body, for the requested version.
fn consumer_request(
    consumer: &str,
    b: &Value,
    v: Version,
    in_post: bool,
) -> Result<ConsumerRequest, Fault> {
    let mut allowed = vec!["allocations"];
    let mut required = vec!["allocations"];
    if v.at_least(8) {
        allowed.extend(["project_id", "user_id"]);
        required.extend(["project_id", "user_id"]);
    }
    if v.at_least(28) {
        allowed.push("consumer_generation");
        required.push("consumer_generation");
    }
    if v.at_least(34) {
        // Which request group each provider satisfied: accepted and not kept, as Placement.
        allowed.push("mappings");
    }
    if v.at_least(38) {
        allowed.push("consumer_type");
        required.push("consumer_type");
    }
    let o = object(b, &allowed, &required)?;
    let raw = o.get("allocations").unwrap_or(&Value::Null);
    let allocations = if v.at_least(12) || in_post {
        let a = allocation_dict(raw)?;
        if a.is_empty() && !v.at_least(28) && !in_post {
            return Err(invalid("{} does not have enough properties"));
        }
        a
    } else {
        // 1.0–1.11: a list of {"resource_provider": {"uuid"}, "resources"}.
        let Some(list) = raw.as_array() else {
            return Err(invalid(format!("{raw} is not of type 'array'")));
        };
        if list.is_empty() {
            return Err(invalid("[] is too short"));
        }
        let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for item in list {
            let io = object(
                item,
                &["resource_provider", "resources"],
                &["resource_provider", "resources"],
            )?;
            let rp = io.get("resource_provider").unwrap_or(&Value::Null);
            let ro = object(rp, &["uuid"], &["uuid"])?;
            let u = string(ro, "uuid")?
                .and_then(uuid_like)
                .ok_or_else(|| invalid("the resource provider's uuid is not a 'uuid'"))?;
            out.entry(u)
                .or_default()
                .extend(resources_of(io.get("resources").unwrap_or(&Value::Null))?);
        }
        out
    };
    let text = |key: &str, max: usize| -> Result<Option<String>, Fault> {
        match string(o, key)? {
            Some(s) if s.is_empty() || s.len() > max => {
                Err(invalid(format!("'{s}' is not a valid {key}")))
            }
            s => Ok(s.map(str::to_string)),
        }
    };
    let project_id = text("project_id", 255)?.unwrap_or_else(|| INCOMPLETE_CONSUMER.into());
    let user_id = text("user_id", 255)?.unwrap_or_else(|| INCOMPLETE_CONSUMER.into());
    let generation = if v.at_least(28) {
        match o.get("consumer_generation") {
            Some(Value::Null) | None => Some(None),
            Some(g) => match g.as_i64().filter(|_| !g.is_f64()) {
                Some(n) => Some(Some(n)),
                None => return Err(invalid(format!("{g} is not of type 'integer', 'null'"))),
            },
        }
    } else {
        None
    };
    let consumer_type = match text("consumer_type", 255)? {
        Some(t) if !model::well_formed(&t) => {
            return Err(invalid(format!("'{t}' does not match '^[A-Z0-9_]+$'")))
        }
        t => t,
    };
    Ok(ConsumerRequest {
        consumer: consumer.to_string(),
        allocations,
        project_id,
        user_id,
        generation,
        consumer_type,
    })
}

fn put_allocations(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    let consumer = consumer_uuid(req)?;
    let b = body(req)?;
    let r = consumer_request(&consumer, &b, v, false)?;
    svc.write(|c| model::set_allocations(c, std::slice::from_ref(&r)))?;
    no_content(resp)
}

fn post_allocations(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 13)?;
    let b = body(req)?;
    let Some(o) = b.as_object() else {
        return Err(invalid(format!("{b} is not of type 'object'")));
    };
    if o.is_empty() {
        return Err(invalid("{} does not have enough properties"));
    }
    let mut requests = Vec::new();
    for (consumer, part) in o {
        let u = uuid_key(consumer)?;
        requests.push(consumer_request(&u, part, v, true)?);
    }
    svc.write(|c| model::set_allocations(c, &requests))?;
    no_content(resp)
}

fn delete_allocations(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    call(req, resp)?;
    let consumer = param(req, "consumer_uuid")?.to_string();
    svc.write(|c| model::delete_allocations(c, &consumer))?;
    no_content(resp)
}

fn reshape(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 30)?;
    let b = body(req)?;
    let o = object(
        &b,
        &["inventories", "allocations"],
        &["inventories", "allocations"],
    )?;
    let Some(by_rp) = o.get("inventories").and_then(Value::as_object) else {
        return Err(invalid("'inventories' is not of type 'object'"));
    };
    if by_rp.is_empty() {
        return Err(invalid("{} does not have enough properties"));
    }
    let mut inventories = Vec::new();
    for (rp, part) in by_rp {
        let uuid = uuid_key(rp)?;
        let (generation, inv) = inventories_body(part)?;
        inventories.push((uuid, generation, inv));
    }
    let Some(by_consumer) = o.get("allocations").and_then(Value::as_object) else {
        return Err(invalid("'allocations' is not of type 'object'"));
    };
    let mut requests = Vec::new();
    for (consumer, part) in by_consumer {
        let u = uuid_key(consumer)?;
        requests.push(consumer_request(&u, part, v, true)?);
    }
    svc.write(|c| model::reshape(c, inventories, &requests))?;
    no_content(resp)
}

// --- allocation candidates -------------------------------------------------------------------

/// What `GET /allocation_candidates` asks: its groups and the request-wide parameters.
struct CandidateQuery {
    groups: Vec<Group>,
    wide: RequestWide,
}

const GROUP_PARAMS: [&str; 4] = ["resources", "required", "member_of", "in_tree"];

/// The schema's check of a group key's suffix: a number from 1.25, any
/// `[a-zA-Z0-9_-]{1,64}` from 1.33.
fn group_key(name: &str, v: Version) -> Option<(&'static str, &str)> {
    let (base, suffix) = GROUP_PARAMS
        .iter()
        .find_map(|b| name.strip_prefix(b).map(|s| (*b, s)))?;
    if base == "in_tree" && !v.at_least(31) {
        return None;
    }
    if suffix.is_empty() {
        return Some((base, suffix));
    }
    let ok = if v.at_least(33) {
        suffix.len() <= 64
            && suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    } else {
        v.at_least(25) && !suffix.starts_with('0') && suffix.bytes().all(|b| b.is_ascii_digit())
    };
    ok.then_some((base, suffix))
}

/// The query's schema (`schemas/allocation_candidate.py`): which names it takes and the
/// values it checks (jsonschema sees the last of repeated values).
fn candidate_schema(req: &Request, v: Version) -> Result<(), Fault> {
    let bad = |why: String| Fault::bad_request(format!("Invalid query string parameters: {why}"));
    for p in req.query_params.iter() {
        let name = p.name.as_str();
        let known = match name {
            "limit" => v.at_least(16),
            "group_policy" => v.at_least(25),
            "root_required" => v.at_least(35),
            "same_subtree" => v.at_least(36),
            "required" if !v.at_least(25) => v.at_least(17),
            "member_of" if !v.at_least(25) => v.at_least(21),
            "resources" if !v.at_least(25) => true,
            _ if !v.at_least(25) => false,
            _ => group_key(name, v).is_some(),
        };
        if known {
            continue;
        }
        if !v.at_least(25) {
            return Err(bad(format!(
                "Additional properties are not allowed ('{name}' was unexpected)"
            )));
        }
        let suffix = if v.at_least(33) {
            "[a-zA-Z0-9_-]{1,64}"
        } else {
            "[1-9][0-9]*"
        };
        let bases: &[&str] = if v.at_least(31) {
            &["in_tree", "member_of", "required", "resources"]
        } else {
            &["member_of", "required", "resources"]
        };
        let patterns: Vec<String> = bases
            .iter()
            .map(|b| format!("'^{b}({suffix})?$'"))
            .collect();
        return Err(bad(format!(
            "'{name}' does not match any of the regexes: {}",
            patterns.join(", ")
        )));
    }
    if !v.at_least(25) && req.query_values("resources").next().is_none() {
        return Err(bad("'resources' is a required property".into()));
    }
    if let Some(l) = req.query_values("limit").last() {
        if !(l.starts_with(|c: char| ('1'..='9').contains(&c))
            && l.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad(format!(
                "'{l}' does not match '^[1-9][0-9]*$'\n\nFailed validating 'pattern' in schema['properties']['limit']"
            )));
        }
    }
    if let Some(g) = req.query_values("group_policy").last() {
        if g != "none" && g != "isolate" {
            return Err(bad(format!(
                "'{g}' is not one of ['none', 'isolate']\n\nFailed validating 'enum' in schema['properties']['group_policy']"
            )));
        }
    }
    Ok(())
}

/// A list as Python prints it, for messages that quote one.
fn py_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = items.into_iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// `RequestWideParams.from_request`: the first `limit` and `group_policy` count;
/// `root_required` once; `same_subtree` names suffixed groups only.
fn request_wide(req: &Request, v: Version) -> Result<RequestWide, Fault> {
    let limit = match req.query_values("limit").next() {
        None => None,
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            Fault::bad_request(format!(
                "Invalid query string parameters: '{l}' does not match '^[1-9][0-9]*$'"
            ))
        })?),
    };
    let isolate = req.query_values("group_policy").next() == Some("isolate");
    let roots: Vec<&str> = req.query_values("root_required").collect();
    if roots.len() > 1 {
        return Err(Fault::bad_request(
            "Query parameter 'root_required' may be specified only once.",
        )
        .kind(code::QUERYPARAM_DUPLICATE));
    }
    let mut root_required = TraitFilter::default();
    if let Some(r) = roots.first() {
        if r.starts_with("in:") && !v.at_least(39) {
            return Err(Fault::bad_request(format!(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: {r}"
            )));
        }
        // Placement reads root_required as the legacy form (no `in:` lists), `!` allowed.
        root_required = parse_required_unchecked(&[r], Version(1, 22))?;
        let conflicts: Vec<&str> = root_required
            .required
            .iter()
            .filter(|t| root_required.forbidden.contains(t))
            .map(String::as_str)
            .collect();
        if !conflicts.is_empty() {
            return Err(Fault::bad_request(format!(
                "Conflicting required and forbidden traits found in root_required: {}",
                conflicts.join(", ")
            ))
            .kind(code::QUERYPARAM_BAD_VALUE));
        }
    }
    let mut same_subtrees = Vec::new();
    for val in req.query_values("same_subtree") {
        let suffixes: BTreeSet<String> = val.split(',').map(|s| s.trim().to_string()).collect();
        if suffixes.contains("") {
            return Err(Fault::bad_request(
                "Empty string (unsuffixed group) can not be specified in `same_subtree` ",
            )
            .kind(code::QUERYPARAM_BAD_VALUE));
        }
        same_subtrees.push(suffixes);
    }
    Ok(RequestWide {
        isolate,
        root_required,
        same_subtrees,
        limit,
        nested_aware: v.at_least(29),
    })
}

fn candidate_query(req: &Request, v: Version) -> Result<CandidateQuery, Fault> {
    candidate_schema(req, v)?;
    let wide = request_wide(req, v)?;
    // `RequestGroup._parse_request_items`: groups in the order their suffixes first appear.
    let mut groups: Vec<Group> = Vec::new();
    for p in req.query_params.iter() {
        let Some((base, suffix)) = group_key(&p.name, v) else {
            continue;
        };
        let at = match groups.iter().position(|g| g.suffix == suffix) {
            Some(i) => i,
            None => {
                groups.push(Group {
                    suffix: suffix.to_string(),
                    ..Default::default()
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[at];
        let values: Vec<&str> = req.query_values(&p.name).collect();
        match base {
            // Repeated, the last one counts (each overwrites the group's resources).
            "resources" => g.resources = parse_resources(&p.value)?,
            "required" => g.traits = parse_required_unchecked(&values, v)?,
            "member_of" => g.member_of = parse_member_of(&values, v, &p.name)?,
            _ => {
                let u = uuid_like(&p.value).ok_or_else(|| {
                    Fault::bad_request(format!(
                        "Invalid query string parameters: Expected '{}' parameter to be a format of uuid. Got: {}",
                        p.name, p.value
                    ))
                })?;
                g.in_tree = Some(u);
            }
        }
    }
    if v.at_least(36) {
        let resourceless: Vec<&str> = groups
            .iter()
            .filter(|g| g.resources.is_empty())
            .map(|g| g.suffix.as_str())
            .collect();
        if resourceless.len() == groups.len() {
            return Err(Fault::bad_request(
                "There must be at least one resources or resources[$S] parameter.",
            )
            .kind(code::QUERYPARAM_MISSING_VALUE));
        }
        let named: BTreeSet<&str> = wide
            .same_subtrees
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let bad: Vec<&str> = resourceless
            .iter()
            .copied()
            .filter(|s| !named.contains(s))
            .collect();
        if !bad.is_empty() {
            return Err(Fault::bad_request(format!(
                "Resourceless suffixed group request should be specified in `same_subtree` query param: bad group(s) - {}.",
                py_list(bad)
            ))
            .kind(code::QUERYPARAM_BAD_VALUE));
        }
        let unknown: Vec<&str> = named
            .iter()
            .copied()
            .filter(|s| !groups.iter().any(|g| g.suffix == *s))
            .collect();
        if !unknown.is_empty() {
            return Err(Fault::bad_request(format!(
                "Real suffixes should be specified in `same_subtree`: {} not found in {}.",
                py_list(unknown),
                py_list(groups.iter().map(|g| g.suffix.as_str()))
            ))
            .kind(code::QUERYPARAM_BAD_VALUE));
        }
    } else {
        // `_check_for_orphans`.
        let orphans = |what: fn(&Group) -> bool, key: &str| -> Vec<String> {
            groups
                .iter()
                .filter(|g| g.resources.is_empty() && what(g))
                .map(|g| format!("{key}{}", g.suffix))
                .collect()
        };
        let traits = orphans(|g| !g.traits.names().is_empty(), "required");
        if !traits.is_empty() {
            return Err(Fault::bad_request(format!(
                "All traits parameters must be associated with resources.  Found the following orphaned traits keys: {}",
                traits.join(", ")
            )));
        }
        let aggs = orphans(
            |g| !g.member_of.any_of.is_empty() || !g.member_of.forbidden.is_empty(),
            "member_of",
        );
        if !aggs.is_empty() {
            return Err(Fault::bad_request(format!(
                "All member_of parameters must be associated with resources. Found the following orphaned member_of keys: {}",
                aggs.join(", ")
            )));
        }
        if groups.iter().any(|g| g.resources.is_empty()) {
            return Err(Fault::bad_request(
                "All request groups must specify resources.",
            ));
        }
        if groups.is_empty() {
            return Err(Fault::bad_request(
                "At least one request group (`resources` or `resources{$S}`) is required.",
            ));
        }
    }
    if v.at_least(22) {
        let mut conflicts: Vec<String> = groups
            .iter()
            .flat_map(|g| conflicting_traits(&g.traits, &format!("required{}", g.suffix)))
            .collect();
        conflicts.sort();
        if !conflicts.is_empty() {
            return Err(Fault::bad_request(format!(
                "Conflicting required and forbidden traits found in the following traits keys: {}",
                conflicts.join(", ")
            )));
        }
    }
    let granular = groups.iter().filter(|g| !g.suffix.is_empty()).count();
    if granular > 1 && req.query_values("group_policy").next().is_none() {
        return Err(Fault::bad_request(
            "The \"group_policy\" parameter is required when specifying more than one \"resources{N}\" parameter.",
        ));
    }
    Ok(CandidateQuery { groups, wide })
}

fn allocation_candidates(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let v = call(req, resp)?;
    since(v, 10)?;
    let q = candidate_query(req, v)?;
    let found = svc.read(|c| model::candidates(c, &q.groups, &q.wide))?;
    reply(
        resp,
        v,
        200,
        &views::allocation_candidates(&q.groups, &found, v),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(version: Option<&str>) -> Request {
        let mut req = Request::new("GET", "/placement/");
        if let Some(v) = version {
            req.headers
                .push(Pair::new("OpenStack-API-Version", format!("placement {v}")));
        }
        req
    }

    #[test]
    fn microversions_are_negotiated_as_placements_middleware_does() {
        assert_eq!(requested(&asking(None)).unwrap(), Version(1, 0));
        assert_eq!(requested(&asking(Some("latest"))).unwrap(), MAX);
        assert_eq!(requested(&asking(Some("1.28"))).unwrap(), Version(1, 28));
        let too_new = requested(&asking(Some("1.40"))).unwrap_err();
        assert_eq!(too_new.status, 406);
        assert!(too_new
            .fields
            .iter()
            .any(|(k, v)| k == "max_version" && v == "1.39"));
        assert_eq!(requested(&asking(Some("2.0"))).unwrap_err().status, 406);
        for bad in ["1", "x.y", "1.a", "-1.2", "1.2.3", ""] {
            assert_eq!(
                requested(&asking(Some(bad))).unwrap_err().status,
                400,
                "{bad}"
            );
        }
        // Another service's entry is not ours.
        let mut req = Request::new("GET", "/");
        req.headers
            .push(Pair::new("OpenStack-API-Version", "compute 2.90"));
        assert_eq!(requested(&req).unwrap(), Version(1, 0));
    }

    #[test]
    fn gets_answer_only_json() {
        for (accept, ok) in [
            (None, true),
            (Some("application/json"), true),
            (Some("text/html, */*;q=0.1"), true),
            (Some("application/*"), true),
            (Some("text/html"), false),
            (Some("application/json;q=0"), false),
        ] {
            assert_eq!(accepts_json(accept), ok, "{accept:?}");
        }
    }

    #[test]
    fn resources_are_class_colon_positive_amount_once_each() {
        assert_eq!(
            parse_resources("VCPU:1,MEMORY_MB:512").unwrap(),
            vec![("VCPU".to_string(), 1), ("MEMORY_MB".to_string(), 512)]
        );
        for bad in [
            "",
            "VCPU",
            "VCPU:x",
            "VCPU:0",
            "VCPU:-1",
            "VCPU:1,VCPU:2",
            "VCPU:99999999999999999999",
        ] {
            assert_eq!(parse_resources(bad).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn required_traits_forbidden_and_any_of_follow_the_version() {
        let f = parse_required(&["A,!B"], Version(1, 22), "required").unwrap();
        assert_eq!(
            (f.required, f.forbidden),
            (vec!["A".to_string()], vec!["B".to_string()])
        );
        // Before 1.22 a `!` is a malformed value.
        assert!(parse_required(&["!B"], Version(1, 21), "required").is_err());
        // Before 1.39 the last `required` counts; from 1.39 each adds to the filter.
        let f = parse_required(&["A", "B"], Version(1, 38), "required").unwrap();
        assert_eq!(f.required, vec!["B".to_string()]);
        let f = parse_required(&["A", "B"], Version(1, 39), "required").unwrap();
        assert_eq!(f.required, vec!["A".to_string(), "B".to_string()]);
        let f = parse_required(&["in:A,B"], Version(1, 39), "required").unwrap();
        assert_eq!(f.any_of, vec![vec!["A".to_string(), "B".to_string()]]);
        assert!(parse_required(&["in:A,B"], Version(1, 38), "required").is_err());
        assert!(parse_required(&["A,!A"], Version(1, 22), "required").is_err());
        assert!(parse_required(&["A,,B"], Version(1, 22), "required").is_err());
    }

    #[test]
    fn member_of_takes_uuids_in_groups_and_negations_from_1_32() {
        let a = "a0000000-0000-4000-8000-000000000001";
        let b = "b0000000-0000-4000-8000-000000000002";
        let f = parse_member_of(&[&format!("in:{a},{b}")], Version(1, 3), "member_of").unwrap();
        assert_eq!(f.any_of, vec![vec![a.to_string(), b.to_string()]]);
        assert!(parse_member_of(&[a, b], Version(1, 23), "member_of").is_err());
        assert_eq!(
            parse_member_of(&[a, b], Version(1, 24), "member_of")
                .unwrap()
                .any_of
                .len(),
            2
        );
        let f = parse_member_of(&[&format!("!{a}")], Version(1, 32), "member_of").unwrap();
        assert_eq!(f.forbidden, vec![a.to_string()]);
        assert!(parse_member_of(&["not-a-uuid"], Version(1, 39), "member_of").is_err());
        assert!(parse_member_of(&[&format!("!{a},{b}")], Version(1, 32), "member_of").is_err());
        let old = parse_member_of(&[&format!("!{a}")], Version(1, 31), "member_of").unwrap_err();
        assert!(old
            .message
            .starts_with("Forbidden member_of parameters are not supported"));
    }
}
