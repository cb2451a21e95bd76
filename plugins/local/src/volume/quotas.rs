//! Cinder's quotas: limits per project (falling back to the `default` class, then to
//! Cinder's built-in defaults) and usage counted from the rows themselves, so a check made
//! in the creating transaction cannot be overshot by a concurrent create.

use std::collections::BTreeMap;
use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::VolumeQuotaRepo;
use super::{body, param, reply, reply_empty, Call, Volumes};
use crate::store::Outcome;

/// The quota store every function here works on.
type Repo<'a> = &'a dyn VolumeQuotaRepo;

/// Cinder's `quota_*` defaults, in the order its quota sets list them.
pub const DEFAULTS: [(&str, i64); 7] = [
    ("volumes", 10),
    ("snapshots", 10),
    ("gigabytes", 1000),
    ("backups", 10),
    ("backup_gigabytes", 1000),
    ("per_volume_gigabytes", -1),
    ("groups", 10),
];

/// The resources every volume type has a quota of (`volumes_<type>`, …), unlimited by default.
pub const PER_TYPE: [&str; 3] = ["volumes", "gigabytes", "snapshots"];

/// Where a quota class's limits are stored: `default` in the defaults row, any other
/// class under a key no project id can take.
fn class_key(name: &str) -> String {
    if name == "default" {
        String::new()
    } else {
        format!("class:{name}")
    }
}

/// What a request would add to a project's usage.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub volumes: i64,
    pub gigabytes: i64,
    pub snapshots: i64,
    pub backups: i64,
    pub backup_gigabytes: i64,
}

/// Fails with Cinder's 413 if `want` would take `project_id` over a limit: its own,
/// and those of `volume_type` (a name or id) when given. Call it in the creating
/// transaction BEFORE inserting the row: usage is counted from the rows.
pub fn check(c: Repo, project_id: &str, want: &Usage, volume_type: Option<&str>) -> Outcome<()> {
    let used = in_use(c, project_id)?;
    let mut deltas = vec![
        ("volumes".to_string(), want.volumes),
        ("snapshots".to_string(), want.snapshots),
        ("backups".to_string(), want.backups),
        ("gigabytes".to_string(), want.gigabytes),
        ("backup_gigabytes".to_string(), want.backup_gigabytes),
    ];
    if let Some(t) = volume_type {
        if let Some(name) = c.quota_type_name(t)? {
            deltas.push((format!("volumes_{name}"), want.volumes));
            deltas.push((format!("gigabytes_{name}"), want.gigabytes));
            deltas.push((format!("snapshots_{name}"), want.snapshots));
        }
    }
    for (resource, delta) in deltas {
        if delta <= 0 {
            continue;
        }
        let quota = limit(c, project_id, &resource)?;
        let consumed = used.get(&resource).copied().unwrap_or(0);
        if quota >= 0 && consumed + delta > quota {
            return Err(over_quota(&resource, delta, quota, consumed).into());
        }
    }
    Ok(())
}

/// Fails with Cinder's 413 when one volume of `size` GiB exceeds `per_volume_gigabytes`
/// (volume create and extend check it, with the new size).
pub fn check_size(c: Repo, project_id: &str, size: i64) -> Outcome<()> {
    let quota = limit(c, project_id, "per_volume_gigabytes")?;
    if quota >= 0 && size > quota {
        return Err(quota_error(format!(
            "Requested volume size {size}G is larger than maximum allowed limit {quota}G."
        ))
        .into());
    }
    Ok(())
}

/// Cinder's QuotaError: 413 `overLimit`, retry at once.
fn quota_error(message: String) -> Fault {
    Fault::too_large(message)
        .kind("overLimit")
        .header("Retry-After", "0")
}

/// The exception `process_reserve_over_quota` raises for the first resource over.
fn over_quota(resource: &str, requested: i64, quota: i64, consumed: i64) -> Fault {
    quota_error(if resource == "backup_gigabytes" {
        format!(
            "Requested backup exceeds allowed Backup gigabytes quota. Requested {requested}G, \
             quota is {quota}G and {consumed}G has been consumed."
        )
    } else if resource.contains("gigabytes") {
        format!(
            "Requested volume or snapshot exceeds allowed {resource} quota. Requested \
             {requested}G, quota is {quota}G and {consumed}G has been consumed."
        )
    } else if resource.starts_with("volumes") {
        format!("Maximum number of volumes allowed ({quota}) exceeded for quota '{resource}'.")
    } else if resource.starts_with("snapshots") {
        format!("Maximum number of snapshots allowed ({quota}) exceeded")
    } else if resource == "backups" {
        format!("Maximum number of backups allowed ({quota}) exceeded")
    } else {
        format!("Maximum number of groups allowed ({quota}) exceeded")
    })
}

/// Every quota resource: Cinder's fixed ones, then three per volume type.
pub fn resources(c: Repo) -> Outcome<Vec<String>> {
    let mut all: Vec<String> = DEFAULTS.iter().map(|(r, _)| r.to_string()).collect();
    for name in c.quota_type_names()? {
        all.extend(PER_TYPE.iter().map(|r| format!("{r}_{name}")));
    }
    Ok(all)
}

/// The built-in default of `resource` (per-type quotas are unlimited).
fn builtin(resource: &str) -> i64 {
    DEFAULTS
        .iter()
        .find(|(r, _)| *r == resource)
        .map_or(-1, |(_, v)| *v)
}

/// The limit of one resource for `project_id`: its own, else the default class's, else
/// Cinder's built-in default. `project_id` "" reads the defaults.
pub fn limit(c: Repo, project_id: &str, resource: &str) -> Outcome<i64> {
    Ok(c.quota_limit(project_id, resource)?
        .unwrap_or_else(|| builtin(resource)))
}

/// Every resource's limit for `project_id` ("" for the defaults).
pub fn limits(c: Repo, project_id: &str) -> Outcome<BTreeMap<String, i64>> {
    resources(c)?
        .into_iter()
        .map(|r| Ok((r.clone(), limit(c, project_id, &r)?)))
        .collect()
}

/// What `project_id` uses of every resource, counted from its rows. Snapshots count
/// toward `gigabytes` as in Cinder (`no_snapshot_gb_quota` false).
pub fn in_use(c: Repo, project_id: &str) -> Outcome<BTreeMap<String, i64>> {
    let held = c.holdings(project_id)?;
    let mut used = BTreeMap::new();
    used.insert("volumes".to_string(), held.volumes.count);
    used.insert(
        "gigabytes".to_string(),
        held.volumes.gigabytes + held.snapshots.gigabytes,
    );
    used.insert("snapshots".to_string(), held.snapshots.count);
    used.insert("backups".to_string(), held.backups.count);
    used.insert("backup_gigabytes".to_string(), held.backups.gigabytes);
    used.insert("per_volume_gigabytes".to_string(), 0);
    used.insert("groups".to_string(), held.groups);
    for (counted, rows) in [
        ("volumes", &held.volumes_by_type),
        ("snapshots", &held.snapshots_by_type),
    ] {
        for (name, n) in rows {
            *used.entry(format!("{counted}_{name}")).or_insert(0) += n.count;
            *used.entry(format!("gigabytes_{name}")).or_insert(0) += n.gigabytes;
        }
    }
    Ok(used)
}

// ---------------------------------------------------------------- the quota APIs

type Svc = Arc<Volumes>;

endpoint!(Svc; QuotaSet { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; QuotaSetDefaults { on_get => defaults });
endpoint!(Svc; QuotaClassSet { on_get => show_class, on_put => update_class });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_quota_set" => QuotaSet,
        "v2_os_quota_set_defaults" => QuotaSetDefaults,
        "v2_os_quota_class_set" => QuotaClassSet,
    }
    Ok(())
}

/// Keys a quota set body may carry besides the resources.
const NON_QUOTA_KEYS: [&str; 3] = ["tenant_id", "id", "skip_validation"];

/// Cinder's 2^31 - 1 (`db.MAX_INT`).
const MAX_INT: i64 = 2_147_483_647;

fn limits_object(limits: BTreeMap<String, i64>) -> Map<String, Value> {
    limits.into_iter().map(|(k, v)| (k, json!(v))).collect()
}

/// oslo's `bool_from_string` (lenient: anything else is false).
pub fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "on" | "y" | "yes"
    )
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project_id = param(req, "project_id")?.to_string();
    let usage = req.query_param("usage").is_some_and(truthy);
    let mut set = svc.read(|c| {
        let limits = limits(c, &project_id)?;
        if !usage {
            return Ok(limits_object(limits));
        }
        let used = in_use(c, &project_id)?;
        Ok(limits
            .into_iter()
            .map(|(k, limit)| {
                let in_use = used.get(&k).copied().unwrap_or(0);
                let v = json!({"limit": limit, "in_use": in_use, "reserved": 0, "allocated": 0});
                (k, v)
            })
            .collect::<Map<_, _>>())
    })?;
    set.insert("id".into(), json!(project_id));
    reply(resp, &call, 200, &json!({ "quota_set": set }))
}

/// oslo's `validate_integer`, as Cinder answers it: an integer (or its string) from -1.
fn quota_value(key: &str, v: &Value) -> std::result::Result<i64, Fault> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| Fault::bad_request(format!("{key} must be an integer")))?;
    if n < -1 {
        return Err(Fault::bad_request(format!("{key} must be >= -1")));
    }
    if n > MAX_INT {
        return Err(Fault::bad_request(format!("{key} must be <= {MAX_INT}")));
    }
    Ok(n)
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project_id = param(req, "project_id")?.to_string();
    let b = body(req)?;
    let Some(Value::Object(set)) = b.get("quota_set") else {
        return Err(Fault::bad_request(
            "Missing required element quota_set in request body.",
        ));
    };
    // Cinder checks the limits against usage only when told to (`skip_validation` false).
    let validate = match b
        .get("skip_validation")
        .or_else(|| set.get("skip_validation"))
    {
        Some(Value::Bool(skip)) => !skip,
        Some(Value::String(s)) => !truthy(s),
        _ => false,
    };
    let set = set.clone();
    let limits = svc.write(|c| {
        let known = resources(c)?;
        let bad: Vec<&str> = set
            .keys()
            .filter(|k| !known.contains(k) && !NON_QUOTA_KEYS.contains(&k.as_str()))
            .map(String::as_str)
            .collect();
        if !bad.is_empty() {
            return Err(
                Fault::bad_request(format!("Bad key(s) in quota set: {}", bad.join(","))).into(),
            );
        }
        let mut values = Vec::new();
        for (k, v) in &set {
            if !NON_QUOTA_KEYS.contains(&k.as_str()) {
                values.push((k.clone(), quota_value(k, v)?));
            }
        }
        if validate {
            let used = in_use(c, &project_id)?;
            for (k, limit) in &values {
                let usage = used.get(k).copied().unwrap_or(0);
                if k != "per_volume_gigabytes" && *limit != -1 && *limit < usage {
                    return Err(Fault::bad_request(format!(
                        "Quota {k} limit must be equal or greater than existing resources. \
                         Current usage is {usage} and the requested limit is {limit}."
                    ))
                    .into());
                }
            }
        }
        c.set_quota_limits(&project_id, &values)?;
        limits(c, &project_id)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({ "quota_set": limits_object(limits) }),
    )
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project_id = param(req, "project_id")?.to_string();
    if project_id.is_empty() {
        return Err(Fault::bad_request("A project id is required."));
    }
    svc.write(|c| {
        c.delete_quota_limits(&project_id)?;
        Ok(())
    })?;
    reply_empty(resp, &call, 200)
}

fn defaults(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let project_id = param(req, "project_id")?.to_string();
    let mut set = svc.read(|c| Ok(limits_object(limits(c, "")?)))?;
    set.insert("id".into(), json!(project_id));
    reply(resp, &call, 200, &json!({ "quota_set": set }))
}

fn class_name(req: &Request) -> std::result::Result<String, Fault> {
    let name = param(req, "quota_class_name")?;
    if name.is_empty() || name.chars().count() > 255 {
        return Err(Fault::bad_request(
            "quota_class_name has a minimum character requirement of 1 and a maximum of 255.",
        ));
    }
    Ok(name.to_string())
}

fn show_class(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let name = class_name(req)?;
    let mut set = svc.read(|c| Ok(limits_object(limits(c, &class_key(&name))?)))?;
    set.insert("id".into(), json!(name));
    reply(resp, &call, 200, &json!({ "quota_class_set": set }))
}

fn update_class(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let name = class_name(req)?;
    let b = body(req)?;
    let Some(Value::Object(set)) = b.get("quota_class_set") else {
        return Err(Fault::bad_request(
            "Missing required element quota_class_set in request body.",
        ));
    };
    let set = set.clone();
    let key = class_key(&name);
    let limits = svc.write(|c| {
        // Cinder ignores keys that name no resource.
        let known = resources(c)?;
        let mut values = Vec::new();
        for (k, v) in &set {
            if known.contains(k) {
                values.push((k.clone(), quota_value(k, v)?));
            }
        }
        c.set_quota_limits(&key, &values)?;
        limits(c, &key)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({ "quota_class_set": limits_object(limits) }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Tx;
    use crate::volume::fixtures;

    fn with_db(test: impl FnOnce(&dyn Tx)) {
        let store = crate::store::Store::memory();
        store
            .write(|c| -> Outcome<()> {
                fixtures::volume_type(c, "t1", "fast");
                test(c);
                Ok(())
            })
            .unwrap();
    }

    fn volume(c: &dyn Tx, id: &str, project: &str, size: i64) -> crate::volume::model::Volume {
        fixtures::volume(c, id, project, "t1", size)
    }

    fn message(r: Outcome<()>) -> (u16, String) {
        match r {
            Err(crate::store::Failure::Fault(f)) => (f.status, f.message),
            _ => (0, String::new()),
        }
    }

    #[test]
    fn volumes_over_the_project_limit_fail_with_cinders_message() {
        with_db(|c| {
            c.set_quota_limits("p", &[("volumes".into(), 1)]).unwrap();
            let one = Usage {
                volumes: 1,
                gigabytes: 1,
                ..Default::default()
            };
            assert!(check(c, "p", &one, None).is_ok());
            volume(c, "v1", "p", 1);
            assert_eq!(
                message(check(c, "p", &one, None)),
                (
                    413,
                    "Maximum number of volumes allowed (1) exceeded for quota 'volumes'.".into()
                )
            );
            // Another project keeps the defaults.
            assert!(check(c, "q", &one, None).is_ok());
        });
    }

    #[test]
    fn gigabytes_count_volumes_and_snapshots_and_fall_back_to_the_default_class() {
        with_db(|c| {
            c.set_quota_limits("", &[("gigabytes".into(), 3)]).unwrap();
            let v = volume(c, "v1", "p", 1);
            let s = crate::volume::snapshots::Snapshot::new(
                "s1",
                &v,
                "u",
                None,
                None,
                Default::default(),
                0,
            );
            c.insert_snapshot(&s, 0).unwrap();
            let two = Usage {
                volumes: 1,
                gigabytes: 2,
                ..Default::default()
            };
            assert_eq!(
                message(check(c, "p", &two, None)),
                (
                    413,
                    "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, \
                     quota is 3G and 2G has been consumed."
                        .into()
                )
            );
            assert_eq!(in_use(c, "p").unwrap()["gigabytes_fast"], 2);
            assert_eq!(in_use(c, "p").unwrap()["snapshots_fast"], 1);
        });
    }

    #[test]
    fn per_type_quotas_name_the_type() {
        with_db(|c| {
            c.set_quota_limits("p", &[("volumes_fast".into(), 0)])
                .unwrap();
            let one = Usage {
                volumes: 1,
                gigabytes: 1,
                ..Default::default()
            };
            assert!(check(c, "p", &one, None).is_ok());
            assert_eq!(
                message(check(c, "p", &one, Some("fast"))),
                (
                    413,
                    "Maximum number of volumes allowed (0) exceeded for quota 'volumes_fast'."
                        .into()
                )
            );
            c.set_quota_limits("p", &[("per_volume_gigabytes".into(), 5)])
                .unwrap();
            assert_eq!(message(check_size(c, "p", 6)).0, 413);
            assert!(check_size(c, "p", 5).is_ok());
        });
    }
}
