//! Group types (3.11): what kind of generic volume group a group is, with its group specs;
//! admins manage them, everyone lists the public ones. `default_group_type` is seeded with
//! the store, as a deployment with Cinder's `default_group_type` option set has it.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::GroupRepo;
use super::snapshots::{flag, page, sort_of};
use super::types::invalid;
use super::{body, param, reply, reply_empty, Call, Result, Urls, Volumes};

type Svc = Arc<Volumes>;

/// The group type `GET /group_types/default` answers.
pub const DEFAULT_GROUP_TYPE: &str = "default_group_type";

#[derive(Debug, Clone)]
pub struct GroupType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub group_specs: Map<String, Value>,
}

pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Group type {id} could not be found."))
}

pub fn find(c: &dyn GroupRepo, id: &str) -> Result<Option<GroupType>> {
    Ok(c.group_type(id)?)
}

/// The group type a request names, by id or name (Cinder's `get_by_name_or_id`); a
/// private one only for admins (this cloud keeps no group type access lists).
pub fn resolve(c: &dyn GroupRepo, key: &str, call: &Call) -> Result<GroupType> {
    let found = match find(c, key)? {
        Some(t) => Some(t),
        None => c.group_type_by_name(key)?,
    };
    match found {
        Some(t) if t.is_public || call.is_admin() => Ok(t),
        _ => Err(not_found(key).into()),
    }
}

fn seed_default(c: &dyn GroupRepo) -> Result<()> {
    let t = GroupType {
        id: uuid::Uuid::new_v4().to_string(),
        name: DEFAULT_GROUP_TYPE.into(),
        description: Some("Default group type".into()),
        is_public: true,
        group_specs: Map::new(),
    };
    c.seed_group_type(&t, crate::time::now_ms())?;
    Ok(())
}

endpoint!(Svc; GroupTypes { on_get => list, on_post => create });
endpoint!(Svc; GroupTypeDefault { on_get => show_default });
endpoint!(Svc; GroupTypeItem { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; GroupSpecs { on_get => list_specs, on_post => create_specs });
endpoint!(Svc; GroupSpec { on_get => show_spec, on_put => update_spec, on_delete => delete_spec });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    svc.store
        .write(|c| seed_default(c))
        .map_err(|e| Error(svc.fault(e).message))?;
    routes! {
        disp, svc;
        "v3_group_types" => GroupTypes,
        "v3_group_types_default" => GroupTypeDefault,
        "v3_group_type" => GroupTypeItem,
        "v3_group_type_group_specs" => GroupSpecs,
        "v3_group_type_group_spec" => GroupSpec,
    }
    Ok(())
}

/// Cinder shows group specs to those its `group:access_group_types_specs` allows: admins.
fn view(call: &Call, t: &GroupType) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
    });
    if call.is_admin() {
        v["group_specs"] = Value::Object(t.group_specs.clone());
    }
    v
}

/// A name or description as Cinder's schema takes it: a string of at most 255.
fn text(v: &Value, field: &str) -> std::result::Result<Option<String>, Fault> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= 255 => Ok(Some(s.clone())),
        Value::String(_) => Err(invalid(field, v, &format!("{v} is too long"))),
        _ => Err(invalid(field, v, &format!("{v} is not of type 'string'"))),
    }
}

/// Group specs as Cinder's schema takes them: keys of 1–255 characters, string values.
fn specs_of(v: &Value) -> std::result::Result<Map<String, Value>, Fault> {
    let Value::Object(m) = v else {
        return Err(invalid(
            "group_specs",
            v,
            &format!("{v} is not of type 'object'"),
        ));
    };
    for (k, val) in m {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(invalid(
                "group_specs",
                v,
                &format!("'{k}' is not a valid key"),
            ));
        }
        match val {
            Value::String(s) if s.chars().count() <= 255 => {}
            _ => {
                return Err(invalid(
                    &format!("group_specs/{k}"),
                    val,
                    &format!("{val} is not of type 'string'"),
                ))
            }
        }
    }
    Ok(m.clone())
}

fn group_type_object(b: &Value) -> std::result::Result<&Map<String, Value>, Fault> {
    b.get("group_type")
        .and_then(Value::as_object)
        .ok_or_else(|| Fault::bad_request("Missing required element 'group_type' in request body."))
}

fn exists(name: &str) -> Fault {
    Fault::conflict(format!("Group Type {name} already exists."))
}

/// Admins filter by `is_public` (absent: public only, `None`: all), as Cinder's
/// `_parse_is_public`; others always see the public types.
fn is_public_filter(req: &Request, call: &Call) -> std::result::Result<Option<bool>, Fault> {
    match req.query_param("is_public") {
        Some(_) if !call.is_admin() => Ok(Some(true)),
        None => Ok(Some(true)),
        Some(s) if s.eq_ignore_ascii_case("none") => Ok(None),
        Some(s) => flag(Some(&json!(s)), "is_public")
            .map(Some)
            .map_err(|_| Fault::bad_request(format!("Invalid is_public filter [{s}]"))),
    }
}

const SORT_KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("description", "description"),
    ("is_public", "is_public"),
    ("created_at", "created_at"),
];

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let public = is_public_filter(req, &call)?;
    let sort = sort_of(req, SORT_KEYS)?;
    let all = svc.read(|c| Ok(c.group_types(public, &sort)?))?;
    let (shown, next) = page(all, req, |t| t.id.as_str())?;
    let mut out = json!({"group_types": shown.iter().map(|t| view(&call, t)).collect::<Vec<_>>()});
    if let Some(marker) = next {
        out["group_type_links"] = Urls::of(svc, req, &call)?.next(req, "group_types", &marker);
    }
    reply(resp, &call, 200, &out)
}

fn default_type(c: &dyn GroupRepo) -> Result<GroupType> {
    Ok(c.group_type_by_name(DEFAULT_GROUP_TYPE)?
        .ok_or_else(|| Fault::not_found("Default group type can not be found."))?)
}

fn show_default(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let t = svc.read(|c| default_type(c))?;
    reply(resp, &call, 200, &json!({"group_type": view(&call, &t)}))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let id = param(req, "group_type_id")?;
    let t = svc.read(|c| match find(c, id)? {
        Some(t) if t.is_public || call.is_admin() => Ok(t),
        _ => Err(not_found(id).into()),
    })?;
    reply(resp, &call, 200, &json!({"group_type": view(&call, &t)}))
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let b = body(req)?;
    let o = group_type_object(&b)?;
    let name = match o.get("name") {
        Some(v) => text(v, "name")?.unwrap_or_default(),
        None => {
            return Err(invalid(
                "group_type",
                &Value::Object(o.clone()),
                "'name' is a required property",
            ))
        }
    };
    if name.trim().is_empty() {
        return Err(invalid("name", &json!(name), "Name can not be empty."));
    }
    let description = match o.get("description") {
        Some(v) => text(v, "description")?,
        None => None,
    };
    let is_public = match o.get("is_public") {
        None => true,
        v => flag(v, "is_public")?,
    };
    let group_specs = match o.get("group_specs") {
        None | Some(Value::Null) => Map::new(),
        Some(v) => specs_of(v)?,
    };
    let t = GroupType {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        description,
        is_public,
        group_specs,
    };
    svc.write(|c| {
        if c.group_type_by_name(&t.name)?.is_some() {
            return Err(exists(&t.name).into());
        }
        c.insert_group_type(&t, crate::time::now_ms())?;
        Ok(())
    })?;
    reply(resp, &call, 202, &json!({"group_type": view(&call, &t)}))
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let id = param(req, "group_type_id")?.to_string();
    let b = body(req)?;
    let o = group_type_object(&b)?;
    let name = match o.get("name") {
        Some(v) => text(v, "name")?,
        None => None,
    };
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(Fault::bad_request("Group type name can not be empty."));
    }
    let description = match o.get("description") {
        Some(v) => text(v, "description")?,
        None => None,
    };
    let is_public = match o.get("is_public") {
        None | Some(Value::Null) => None,
        v => Some(flag(v, "is_public")?),
    };
    if name.is_none() && description.is_none() && is_public.is_none() {
        return Err(Fault::bad_request(
            "Specify group type name, description or a combination thereof.",
        ));
    }
    let t = svc.write(|c| {
        let mut t = find(c, &id)?.ok_or_else(|| not_found(&id))?;
        if let Some(name) = name {
            if name != t.name && c.group_type_by_name(&name)?.is_some() {
                return Err(exists(&name).into());
            }
            t.name = name;
        }
        if description.is_some() {
            t.description = description;
        }
        if let Some(p) = is_public {
            t.is_public = p;
        }
        c.update_group_type(&t)?;
        Ok(t)
    })?;
    reply(resp, &call, 200, &json!({"group_type": view(&call, &t)}))
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let id = param(req, "group_type_id")?;
    svc.write(|c| {
        let t = find(c, id)?.ok_or_else(|| not_found(id))?;
        if c.group_type_in_use(&t.id)? {
            return Err(Fault::bad_request("Target group type is still in use.").into());
        }
        c.delete_group_type(&t.id)?;
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

// ---------------------------------------------------------------- group specs

fn spec_not_found(id: &str, key: &str) -> Fault {
    Fault::not_found(format!("Group Type {id} has no specs with key {key}."))
}

/// Changes a group type's specs in one transaction; `f` returns what to answer.
fn change_specs<T>(
    svc: &Volumes,
    id: &str,
    f: impl FnOnce(&mut Map<String, Value>) -> std::result::Result<T, Fault>,
) -> std::result::Result<T, Fault> {
    svc.write(|c| {
        let mut t = find(c, id)?.ok_or_else(|| not_found(id))?;
        let out = f(&mut t.group_specs)?;
        c.set_group_specs(&t)?;
        Ok(out)
    })
}

fn list_specs(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let id = param(req, "group_type_id")?;
    let t = svc.read(|c| Ok(find(c, id)?.ok_or_else(|| not_found(id))?))?;
    reply(resp, &call, 200, &json!({"group_specs": t.group_specs}))
}

fn create_specs(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let id = param(req, "group_type_id")?.to_string();
    let b = body(req)?;
    let specs = match b.get("group_specs") {
        Some(v) => specs_of(v)?,
        None => {
            return Err(invalid(
                "group_specs",
                &b,
                "'group_specs' is a required property",
            ))
        }
    };
    change_specs(svc, &id, |m| {
        m.extend(specs.clone());
        Ok(())
    })?;
    reply(resp, &call, 202, &json!({"group_specs": specs}))
}

fn show_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let id = param(req, "group_type_id")?;
    let key = param(req, "spec_id")?;
    let t = svc.read(|c| Ok(find(c, id)?.ok_or_else(|| not_found(id))?))?;
    let value = t
        .group_specs
        .get(key)
        .ok_or_else(|| spec_not_found(id, key))?;
    reply(resp, &call, 200, &json!({ key: value }))
}

fn update_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let id = param(req, "group_type_id")?.to_string();
    let key = param(req, "spec_id")?.to_string();
    let specs = specs_of(&body(req)?)?;
    if !specs.contains_key(&key) {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    }
    if specs.len() > 1 {
        return Err(Fault::bad_request("Request body contains too many items."));
    }
    change_specs(svc, &id, |m| {
        m.extend(specs.clone());
        Ok(())
    })?;
    reply(resp, &call, 200, &Value::Object(specs))
}

fn delete_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    call.requires(11)?;
    let id = param(req, "group_type_id")?.to_string();
    let key = param(req, "spec_id")?.to_string();
    change_specs(svc, &id, |m| {
        m.remove(&key)
            .map(|_| ())
            .ok_or_else(|| spec_not_found(&id, &key))
    })?;
    reply_empty(resp, &call, 202)
}
