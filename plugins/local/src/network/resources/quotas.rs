//! Neutron's quotas: a limit per project and resource (`net_quotas` holds those set by an
//! admin; the rest are the defaults), usage counted from the documents the project owns.

use jumpgate_plugin_api::prelude::*;

use serde_json::{json, Map, Value};

use crate::network::store;
use crate::network::{bad, object_body, Ctx, Result, Svc};
use crate::store::Tx;

/// Each resource with its default limit (-1: unlimited), as Neutron's configuration
/// defaults. The resource names are also the document kinds that count against them.
pub const DEFAULTS: &[(&str, i64)] = &[
    ("network", 100),
    ("subnet", 100),
    ("port", 500),
    ("router", 10),
    ("floatingip", 50),
    ("security_group", 10),
    ("security_group_rule", 100),
    ("subnetpool", -1),
    ("rbac_policy", 10),
];

/// The largest limit Neutron stores (its database column is a 32-bit integer).
const MAX_LIMIT: i64 = 2_147_483_647;

/// A project's limit for one resource.
pub fn limit(c: &dyn Tx, project_id: &str, resource: &str) -> Result<i64> {
    let set = c.quota(project_id, resource)?;
    Ok(set.unwrap_or_else(|| {
        DEFAULTS
            .iter()
            .find(|(r, _)| *r == resource)
            .map_or(-1, |(_, d)| *d)
    }))
}

/// A project's limits for every resource.
fn limits(c: &dyn Tx, project_id: &str) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (resource, _) in DEFAULTS {
        out.insert((*resource).into(), json!(limit(c, project_id, resource)?));
    }
    Ok(out)
}

/// Checks that a project may have `n` more of `resource` (409 OverQuota otherwise).
pub fn enforce(c: &dyn Tx, ctx: &Ctx, resource: &str, n: i64) -> Result<()> {
    enforce_for(c, &ctx.project_id, resource, n)
}

/// `enforce` for the project that will own the new resources (an admin may create them
/// for another project).
pub fn enforce_for(c: &dyn Tx, project_id: &str, resource: &str, n: i64) -> Result<()> {
    let max = limit(c, project_id, resource)?;
    if max < 0 {
        return Ok(());
    }
    if store::count(c, resource, project_id)? + n > max {
        return Err(
            Fault::conflict(format!("Quota exceeded for resources: ['{resource}']."))
                .kind("OverQuota")
                .into(),
        );
    }
    Ok(())
}

fn reply(resp: &mut Response, status: u16, v: &Value) -> HandlerResult {
    resp.set_status(status);
    resp.json(v);
    Ok(())
}

fn project_param(req: &Request) -> String {
    req.param("project_id").unwrap_or_default().to_string()
}

fn list(svc: &Svc, _req: &mut Request, resp: &mut Response) -> HandlerResult {
    let quotas = svc.read(|c| {
        let projects = c.quota_projects()?;
        let mut out = Vec::new();
        for p in projects {
            let mut q = limits(c, &p)?;
            q.insert("project_id".into(), json!(p));
            q.insert("tenant_id".into(), json!(p));
            out.push(Value::Object(q));
        }
        Ok(out)
    })?;
    reply(resp, 200, &json!({ "quotas": quotas }))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let project = project_param(req);
    let q = svc.read(|c| limits(c, &project))?;
    reply(resp, 200, &json!({ "quota": q }))
}

fn defaults(_svc: &Svc, _req: &mut Request, resp: &mut Response) -> HandlerResult {
    let q: Map<String, Value> = DEFAULTS
        .iter()
        .map(|(r, d)| ((*r).to_string(), json!(d)))
        .collect();
    reply(resp, 200, &json!({ "quota": q }))
}

fn details(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let project = project_param(req);
    let q = svc.read(|c| {
        let mut out = Map::new();
        for (resource, _) in DEFAULTS {
            out.insert(
                (*resource).into(),
                json!({
                    "limit": limit(c, &project, resource)?,
                    "used": store::count(c, resource, &project)?,
                    // Changes here are single transactions: nothing is ever held back.
                    "reserved": 0,
                }),
            );
        }
        Ok(out)
    })?;
    reply(resp, 200, &json!({ "quota": q }))
}

/// A limit as Neutron's `convert_to_int` and range check take it.
fn limit_value(resource: &str, v: &Value) -> std::result::Result<i64, Fault> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        let shown = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        bad(format!("'{shown}' is not an integer"))
    })?;
    if !(-1..=MAX_LIMIT).contains(&n) {
        return Err(Fault::bad_request(format!(
            "Invalid input for {resource}. Reason: {n} is not in range -1 through {MAX_LIMIT}."
        ))
        .kind("HTTPBadRequest"));
    }
    Ok(n)
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let project = project_param(req);
    let input = object_body(req, "quota")?;
    let unknown: Vec<&str> = input
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "check_limit" && !DEFAULTS.iter().any(|(r, _)| r == k))
        .collect();
    if !unknown.is_empty() {
        return Err(Fault::bad_request(format!(
            "Unrecognized attribute(s) '{}'",
            unknown.join(", ")
        ))
        .kind("HTTPBadRequest"));
    }
    let check = crate::network::resources::networks::flag(&input, "check_limit", false)
        .map_err(|e| svc.fault(e))?;
    let mut changes = Vec::new();
    for (resource, v) in input.iter().filter(|(k, _)| *k != "check_limit") {
        changes.push((resource.clone(), limit_value(resource, v)?));
    }
    let q = svc.write(|c| {
        for (resource, n) in &changes {
            // quota-check-limit: a limit below what is already used is refused.
            if check && *n >= 0 {
                let used = store::count(c, resource, &project)?;
                if *n < used {
                    return Err(bad(format!(
                        "Quota limit {n} for {resource} must be greater than or equal to already used and reserved {used}"
                    ))
                    .into());
                }
            }
            c.set_quota(&project, resource, *n)?;
        }
        limits(c, &project)
    })?;
    reply(resp, 200, &json!({ "quota": q }))
}

fn reset(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let project = project_param(req);
    svc.write(|c| Ok(c.reset_quotas(&project)?))?;
    resp.set_status(204);
    Ok(())
}

endpoint!(Svc; Quotas { on_get => list });
endpoint!(Svc; QuotaItem { on_get => show, on_put => update, on_delete => reset });
endpoint!(Svc; QuotaDefault { on_get => defaults } nonblocking);
endpoint!(Svc; QuotaDetails { on_get => details });

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_quotas" => Quotas,
        "v2_quota" => QuotaItem,
        "v2_quota_default" => QuotaDefault,
        "v2_quota_details" => QuotaDetails,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn limits_default_until_set_and_usage_is_counted() {
        let store = Store::memory();
        store
            .write(|c| {
                assert_eq!(limit(c, "p", "network")?, 100);
                assert_eq!(limit(c, "p", "subnetpool")?, -1);
                c.set_quota("p", "network", 1)?;
                enforce_for(c, "p", "network", 1)?;
                store::insert(c, "network", &json!({"id": "n1", "project_id": "p"}))?;
                match enforce_for(c, "p", "network", 1) {
                    Err(crate::network::Error::Fault(f)) => {
                        assert_eq!(f.status, 409);
                        assert_eq!(f.message, "Quota exceeded for resources: ['network'].");
                    }
                    other => panic!("{other:?}"),
                }
                // Another project is not affected.
                enforce_for(c, "q", "network", 1)?;
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }
}
