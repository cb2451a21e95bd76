//! os-quota-sets, os-quota-class-sets and limits, each body as Nova writes it for the
//! requested microversion.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::{
    class_resources, default_limit, invalid_input, limit, not_a_bool, nova_bool, project_limit,
    py_repr, set_resources, settable, unexpected, usage, user_usage, NETWORK,
};
use crate::compute::{body, reply, reply_empty, Call, Compute};

type Svc = Arc<Compute>;

endpoint!(Svc; QuotaSet { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; QuotaDefaults { on_get => defaults });
endpoint!(Svc; QuotaDetail { on_get => detail });
endpoint!(Svc; QuotaClass { on_get => show_class, on_put => update_class });
endpoint!(Svc; Limits { on_get => limits });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_quota_sets_target" => QuotaSet,
        "v2_os_tenant_quota_sets" => QuotaSet,
        "v1_os_quota_sets_target" => QuotaSet,
        // `/os-quota-sets/default` is a project named "default" to Nova.
        "v2_os_quota_sets_default" => QuotaSet,
        "v2_os_quota_sets_target_defaults" => QuotaDefaults,
        "v1_os_quota_sets_target_defaults" => QuotaDefaults,
        "v2_os_quota_sets_target_detail" => QuotaDetail,
        "v2_os_quota_class_set" => QuotaClass,
        "v2_limits" => Limits,
    }
    Ok(())
}

/// The project a quota-set URL names.
fn target(req: &Request) -> String {
    req.param("target_id")
        .or_else(|| req.param("account_id"))
        .unwrap_or("default")
        .to_string()
}

/// `?user_id=`, as Nova reads it (an empty one is none).
fn user_param(req: &Request) -> Option<String> {
    req.query_param("user_id")
        .filter(|u| !u.is_empty())
        .map(str::to_string)
}

fn limits_of(
    svc: &Compute,
    project: &str,
    user: Option<&str>,
    resources: &[&'static str],
) -> Result<Map<String, Value>, Fault> {
    svc.read(|c| {
        let mut out = Map::new();
        for &r in resources {
            let v = match user {
                Some(u) => limit(c, project, u, r)?,
                None => project_limit(c, project, r)?,
            };
            out.insert(r.into(), json!(v));
        }
        Ok(out)
    })
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project = target(req);
    let user = user_param(req);
    let mut set = limits_of(svc, &project, user.as_deref(), &set_resources(call.version))?;
    set.insert("id".into(), json!(project));
    reply(resp, &call, 200, &json!({ "quota_set": set }))
}

fn detail(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project = target(req);
    let user = user_param(req);
    let resources = set_resources(call.version);
    let caller = call.caller.user_id.clone();
    let mut set = svc.read(|c| {
        let mut out = Map::new();
        for &r in &resources {
            let (lim, used) = match user.as_deref() {
                Some(u) => (limit(c, &project, u, r)?, user_usage(c, &project, u, r)?),
                // Keypairs belong to users: a project's view counts the caller's.
                None => (
                    project_limit(c, &project, r)?,
                    usage(c, &project, &caller, r)?,
                ),
            };
            out.insert(
                r.into(),
                json!({"in_use": used, "limit": lim, "reserved": 0}),
            );
        }
        Ok(out)
    })?;
    set.insert("id".into(), json!(project));
    reply(resp, &call, 200, &json!({ "quota_set": set }))
}

fn defaults(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project = target(req);
    let resources = set_resources(call.version);
    let mut set = svc.read(|c| {
        let mut out = Map::new();
        for &r in &resources {
            out.insert(r.into(), json!(default_limit(c, r)?));
        }
        Ok(out)
    })?;
    set.insert("id".into(), json!(project));
    reply(resp, &call, 200, &json!({ "quota_set": set }))
}

/// The limits a body sets, by resource.
type SetValues = Vec<(String, i64)>;

/// Checks a `{"<wrapper>": {resource: value, …}}` body against Nova's schema for the
/// version: the values it sets (as integers, empty ones skipped) and `force`.
fn limits_in_body(
    body: &Value,
    wrapper: &str,
    allowed: &[&str],
    extra: &[&str],
) -> Result<(SetValues, Option<bool>), Fault> {
    let top = body
        .as_object()
        .ok_or_else(|| Fault::bad_request(format!("{} is not of type 'object'", py_repr(body))))?;
    let set = match top.get(wrapper) {
        None => {
            return Err(Fault::bad_request(format!(
                "'{wrapper}' is a required property"
            )))
        }
        Some(v) => v,
    };
    let fields = set.as_object().ok_or_else(|| {
        invalid_input(
            wrapper,
            set,
            &format!("{} is not of type 'object'", py_repr(set)),
        )
    })?;
    let mut values = Vec::new();
    let mut force = None;
    for &name in allowed.iter().chain(extra) {
        let Some(v) = fields.get(name) else { continue };
        if name == "force" {
            force = Some(nova_bool(v).ok_or_else(|| invalid_input(name, v, &not_a_bool(v)))?);
            continue;
        }
        let n = match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().unwrap_or(i64::MAX),
            Value::String(s) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid_input(
                        name,
                        v,
                        &format!("{} does not match '^-?[0-9]+$'", py_repr(v)),
                    ));
                }
                s.parse::<i64>().unwrap_or(i64::MAX)
            }
            _ => {
                return Err(invalid_input(
                    name,
                    v,
                    &format!("{} is not of type 'integer', 'string'", py_repr(v)),
                ))
            }
        };
        if v.is_number() && n < -1 {
            return Err(invalid_input(
                name,
                v,
                &format!("{n} is less than the minimum of -1"),
            ));
        }
        if v.is_number() && n > 0x7FFF_FFFF {
            return Err(invalid_input(
                name,
                v,
                &format!("{n} is greater than the maximum of 2147483647"),
            ));
        }
        values.push((name.to_string(), n));
    }
    let extras: Vec<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k) && !extra.contains(k))
        .collect();
    if !extras.is_empty() {
        return Err(invalid_input(wrapper, set, &unexpected(&extras)));
    }
    let top_extras: Vec<&str> = top
        .keys()
        .map(String::as_str)
        .filter(|k| *k != wrapper && *k != "type")
        .collect();
    if !top_extras.is_empty() {
        return Err(Fault::bad_request(unexpected(&top_extras)));
    }
    Ok((values, force))
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project = target(req);
    let user = user_param(req);
    let body = body(req)?;
    let resources = set_resources(call.version);
    // Below 2.36 the schema still names nova-network's `networks`, to refuse it.
    let extra: &[&str] = if call.version.at_least(36) {
        &["force"]
    } else {
        &["networks", "force"]
    };
    let (values, force) = limits_in_body(&body, "quota_set", &resources, extra)?;
    if values.iter().any(|(k, _)| k == "networks") {
        return Err(Fault::bad_request("The networks quota is disabled"));
    }
    let force = force.unwrap_or(false);
    let set = svc.write(|c| {
        if !force {
            for (resource, value) in &values {
                let (min, max) = settable(c, &project, user.as_deref(), resource)?;
                let inf = |v: i64| if v == -1 { i64::MAX } else { v };
                if inf(*value) < inf(min) {
                    return Err(Fault::bad_request(format!(
                        "Quota limit {value} for {resource} must be greater than or equal to already used and reserved {min}."
                    ))
                    .into());
                }
                if inf(*value) > inf(max) {
                    return Err(Fault::bad_request(format!(
                        "Quota limit {value} for {resource} must be less than or equal to {max}."
                    ))
                    .into());
                }
            }
        }
        for (resource, value) in &values {
            c.set_quota_limit(&project, user.as_deref(), resource, *value)?;
        }
        let mut out = Map::new();
        for &r in &resources {
            let v = match user.as_deref() {
                Some(u) => limit(c, &project, u, r)?,
                None => project_limit(c, &project, r)?,
            };
            out.insert(r.into(), json!(v));
        }
        Ok(out)
    })?;
    reply(resp, &call, 200, &json!({ "quota_set": set }))
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project = target(req);
    let user = user_param(req);
    svc.write(|c| Ok(c.clear_quota_limits(&project, user.as_deref())?))?;
    reply_empty(resp, &call, 202)
}

// ---------------------------------------------------------------- quota classes

/// Only the `default` class means anything to Nova (it is the defaults); other classes'
/// values are kept (`compute_quota_classes`) and shown, as nothing else reads them.
fn class_values(
    svc: &Compute,
    class: &str,
    resources: &[&'static str],
) -> Result<Map<String, Value>, Fault> {
    svc.read(|c| {
        let mut out = Map::new();
        for &r in resources {
            let set = c.quota_class_limit(class, r)?;
            let v = match set {
                Some(v) if class != "default" => v,
                _ => default_limit(c, r)?,
            };
            out.insert(r.into(), json!(v));
        }
        Ok(out)
    })
}

fn show_class(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let class = crate::compute::param(req, "id")?.to_string();
    let mut set = class_values(svc, &class, &class_resources(call.version))?;
    set.insert("id".into(), json!(class));
    reply(resp, &call, 200, &json!({ "quota_class_set": set }))
}

fn update_class(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let class = crate::compute::param(req, "id")?.to_string();
    let body = body(req)?;
    let resources = class_resources(call.version);
    // Nova's class schema accepts the server group resources in every version (it only
    // hides them below 2.50), and nova-network's until 2.50.
    let mut accepted: Vec<&str> = super::DEFAULTS
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| !(call.version.at_least(50) && NETWORK.contains(r)))
        .filter(|r| !(call.version.at_least(57) && super::INJECTED.contains(r)))
        .collect();
    if !call.version.at_least(50) {
        accepted.push("networks");
    }
    let (mut values, _) = limits_in_body(&body, "quota_class_set", &accepted, &[])?;
    values.retain(|(r, _)| r != "networks");
    if class == "default" {
        svc.write(|c| {
            for (r, v) in &values {
                c.set_quota_default(r, *v)?;
            }
            Ok(())
        })?;
    } else {
        svc.write(|c| {
            for (r, v) in &values {
                c.set_quota_class_limit(&class, r, *v)?;
            }
            Ok(())
        })?;
    }
    let set = class_values(svc, &class, &resources)?;
    reply(resp, &call, 200, &json!({ "quota_class_set": set }))
}

// ---------------------------------------------------------------- limits

fn limits(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project = match req.query_param("tenant_id").filter(|t| !t.is_empty()) {
        Some(t) if t != call.project_id => {
            call.admin("os_compute_api:limits:other_project")?;
            t.to_string()
        }
        _ => call.project_id.clone(),
    };
    let v = call.version;
    let user = call.caller.user_id.clone();
    let absolute = svc.read(|c| {
        let lim = |r: &str| project_limit(c, &project, r);
        let used = |r: &str| usage(c, &project, &user, r);
        let mut a = Map::new();
        a.insert("maxServerMeta".into(), json!(lim("metadata_items")?));
        a.insert("maxTotalInstances".into(), json!(lim("instances")?));
        a.insert("maxTotalCores".into(), json!(lim("cores")?));
        a.insert("maxTotalRAMSize".into(), json!(lim("ram")?));
        a.insert("maxTotalKeypairs".into(), json!(lim("key_pairs")?));
        a.insert("maxServerGroups".into(), json!(lim("server_groups")?));
        a.insert(
            "maxServerGroupMembers".into(),
            json!(lim("server_group_members")?),
        );
        a.insert("totalInstancesUsed".into(), json!(used("instances")?));
        a.insert("totalCoresUsed".into(), json!(used("cores")?));
        a.insert("totalRAMUsed".into(), json!(used("ram")?));
        a.insert(
            "totalServerGroupsUsed".into(),
            json!(used("server_groups")?),
        );
        if !v.at_least(36) {
            a.insert("maxSecurityGroups".into(), json!(lim("security_groups")?));
            a.insert(
                "maxSecurityGroupRules".into(),
                json!(lim("security_group_rules")?),
            );
            a.insert("maxTotalFloatingIps".into(), json!(lim("floating_ips")?));
            a.insert("totalSecurityGroupsUsed".into(), json!(0));
            a.insert("totalFloatingIpsUsed".into(), json!(0));
        }
        if !v.at_least(39) {
            a.insert("maxImageMeta".into(), json!(lim("metadata_items")?));
        }
        if !v.at_least(57) {
            a.insert("maxPersonality".into(), json!(lim("injected_files")?));
            a.insert(
                "maxPersonalitySize".into(),
                json!(lim("injected_file_content_bytes")?),
            );
        }
        Ok(a)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({"limits": {"rate": [], "absolute": absolute}}),
    )
}
