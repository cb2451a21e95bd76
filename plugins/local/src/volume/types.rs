//! Volume types: the store's rows, how a request's `volume_type` (name or id) resolves
//! for a project (private types only where granted), and the types API.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::VolumeTypeRepo;
use super::{body, param, reply, reply_empty, Call, Volumes, DEFAULT_TYPE};
use crate::store::{Outcome, Unique};

/// The type store the lookups here work on.
type Repo<'a> = &'a dyn VolumeTypeRepo;

#[derive(Debug, Clone)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub extra_specs: Map<String, Value>,
    pub created_ms: i64,
    /// The QoS specs associated with the type (`qos.rs`).
    pub qos_specs_id: Option<String>,
}

impl VolumeType {
    /// Cinder's multiattach volume types: extra spec `multiattach = "<is> True"`.
    pub fn multiattach(&self) -> bool {
        self.extra_specs
            .get("multiattach")
            .and_then(Value::as_str)
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("<is> true"))
    }
}

/// Cinder's 404 for a type looked up by id.
pub fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Volume type {id} could not be found."))
}

/// Cinder's 404 for a type looked up by name.
pub fn not_found_by_name(name: &str) -> Fault {
    Fault::not_found(format!("Volume type with name {name} could not be found."))
}

/// The type `id`, whoever may see it.
pub fn find(c: Repo, id: &str) -> Outcome<Option<VolumeType>> {
    Ok(c.volume_type(id)?)
}

/// The type named `name`, whoever may see it.
pub fn find_by_name(c: Repo, name: &str) -> Outcome<Option<VolumeType>> {
    Ok(c.volume_type_by_name(name)?)
}

/// Whether `project_id` may use `t`: public, granted access, or an admin.
pub fn accessible(c: Repo, t: &VolumeType, project_id: &str, admin: bool) -> Outcome<bool> {
    if admin || t.is_public {
        return Ok(true);
    }
    Ok(c.has_type_access(&t.id, project_id)?)
}

/// The type `id` as `project_id` sees it (a private type without access is not found).
pub fn visible(c: Repo, id: &str, project_id: &str, admin: bool) -> Outcome<VolumeType> {
    match find(c, id)? {
        Some(t) if accessible(c, &t, project_id, admin)? => Ok(t),
        _ => Err(not_found(id).into()),
    }
}

/// The type a request names (by id or name, as Cinder's `get_by_name_or_id`), or the
/// default type when it names none: the project's own (3.62 `default-types`), else
/// `__DEFAULT__`. Private types resolve only for projects with access and for admins.
pub fn resolve(
    c: Repo,
    name_or_id: Option<&str>,
    project_id: &str,
    admin: bool,
) -> Outcome<VolumeType> {
    let Some(key) = name_or_id else {
        if let Some(id) = c.default_type_of(project_id)? {
            if let Some(t) = find(c, &id)? {
                return Ok(t);
            }
        }
        return find_by_name(c, DEFAULT_TYPE)?
            .ok_or_else(|| not_found_by_name(DEFAULT_TYPE).into());
    };
    let usable = |t: Option<VolumeType>| -> Outcome<Option<VolumeType>> {
        match t {
            Some(t) if accessible(c, &t, project_id, admin)? => Ok(Some(t)),
            _ => Ok(None),
        }
    };
    if uuid::Uuid::parse_str(key).is_ok() {
        // A type may be named like a UUID: the id first, then the name.
        if let Some(t) = usable(find(c, key)?)? {
            return Ok(t);
        }
        return usable(find_by_name(c, key)?)?.ok_or_else(|| not_found(key).into());
    }
    usable(find_by_name(c, key)?)?.ok_or_else(|| not_found_by_name(key).into())
}

/// The name of the type `id` (None if it is gone).
pub fn name_of(c: Repo, id: &str) -> Outcome<Option<String>> {
    Ok(c.volume_type(id)?.map(|t| t.name))
}

// ---------------------------------------------------------------- the types API

type Svc = Arc<Volumes>;

endpoint!(Svc; Types { on_get => list, on_post => create });
endpoint!(Svc; TypeDefault { on_get => show_default });
endpoint!(Svc; TypeItem { on_get => show, on_put => update, on_delete => delete });
endpoint!(Svc; ExtraSpecs { on_get => list_specs, on_post => create_specs });
endpoint!(Svc; ExtraSpec { on_get => show_spec, on_put => update_spec, on_delete => delete_spec });
endpoint!(Svc; TypeAccess { on_get => list_access });
endpoint!(Svc; TypeAction { on_post => action });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_volume_types" => Types,
        "v3_types_default" => TypeDefault,
        "v2_volume_type" => TypeItem,
        "v2_volume_type_extra_specs" => ExtraSpecs,
        "v2_volume_type_extra_spec" => ExtraSpec,
        "v2_volume_type_os_volume_type_access" => TypeAccess,
        "v2_volume_type_action" => TypeAction,
    }
    Ok(())
}

/// Extra specs every project may read (Cinder's `USER_VISIBLE_EXTRA_SPECS`); the rest
/// are for admins (`types_extra_specs:read_sensitive`).
const USER_VISIBLE_EXTRA_SPECS: [&str; 3] = [
    "RESKEY:availability_zones",
    "multiattach",
    "replication_enabled",
];

/// The extra specs `call` may read.
fn readable_specs(call: &Call, specs: &Map<String, Value>) -> Map<String, Value> {
    specs
        .iter()
        .filter(|(k, _)| call.is_admin() || USER_VISIBLE_EXTRA_SPECS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Which of Cinder's extensions decorate a view: show and list carry the access
/// extension's flag and (for admins) `qos_specs_id`, create only the flag, update neither.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Show,
    Create,
    Update,
}

fn view(call: &Call, t: &VolumeType, shape: Shape) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "is_public": t.is_public,
        "description": t.description,
        "extra_specs": readable_specs(call, &t.extra_specs),
    });
    if shape != Shape::Update {
        v["os-volume-type-access:is_public"] = json!(t.is_public);
    }
    if shape == Shape::Show && call.is_admin() {
        v["qos_specs_id"] = json!(t.qos_specs_id);
    }
    v
}

/// Answers `{"volume_type": …}` in `shape`.
fn answer(resp: &mut Response, call: &Call, t: &VolumeType, shape: Shape) -> HandlerResult {
    reply(
        resp,
        call,
        200,
        &json!({"volume_type": view(call, t, shape)}),
    )
}

/// Cinder's JSON-schema fault for the value at `field`.
pub fn invalid(field: &str, value: &Value, reason: &str) -> Fault {
    Fault::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {value}. {reason}"
    ))
}

/// A type's name or description as the schemas allow (a string of at most 255).
fn text(v: &Value, field: &str, nullable: bool) -> std::result::Result<Option<String>, Fault> {
    match v {
        Value::Null if nullable => Ok(None),
        Value::String(s) if s.chars().count() <= 255 => Ok(Some(s.clone())),
        Value::String(_) => Err(invalid(field, v, &format!("{v} is too long"))),
        _ => Err(invalid(field, v, &format!("{v} is not of type 'string'"))),
    }
}

/// Extra specs as Cinder's schema takes them: keys of 1–255 characters, scalar values
/// (stored as strings).
fn specs_of(v: &Value) -> std::result::Result<Map<String, Value>, Fault> {
    let Value::Object(m) = v else {
        return Err(invalid(
            "extra_specs",
            v,
            &format!("{v} is not of type 'object'"),
        ));
    };
    let mut specs = Map::new();
    for (k, val) in m {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(invalid(
                "extra_specs",
                v,
                &format!("'{k}' is not a valid key"),
            ));
        }
        let s = match val {
            Value::String(s) => s.clone(),
            Value::Bool(_) | Value::Number(_) => val.to_string(),
            _ => {
                return Err(invalid(
                    &format!("extra_specs/{k}"),
                    val,
                    &format!("{val} is not of type 'string'"),
                ))
            }
        };
        if s.chars().count() > 255 {
            return Err(invalid(&format!("extra_specs/{k}"), val, "is too long"));
        }
        specs.insert(k.clone(), Value::String(s));
    }
    Ok(specs)
}

fn the_object<'a>(b: &'a Value, key: &str) -> std::result::Result<&'a Map<String, Value>, Fault> {
    b.get(key).and_then(Value::as_object).ok_or_else(|| {
        Fault::bad_request(format!("Missing required element '{key}' in request body."))
    })
}

/// Cinder's `_allow_update`: a type's specs (and encryption) are fixed while volumes use
/// it; `message` is the 400's.
pub fn unused(c: Repo, id: &str, message: &str) -> Outcome<()> {
    if c.volume_type_in_use(id)? {
        return Err(Fault::bad_request(message).into());
    }
    Ok(())
}

/// An admin's `is_public` filter: absent lists public types and those shared with the
/// caller's project, `none` every type.
fn is_public_filter(req: &Request) -> std::result::Result<Option<bool>, Fault> {
    match req.query_param("is_public") {
        None => Ok(Some(true)),
        Some(s) if s.eq_ignore_ascii_case("none") => Ok(None),
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => Ok(Some(true)),
            "0" | "f" | "false" | "off" | "n" | "no" => Ok(Some(false)),
            _ => Err(Fault::bad_request(format!(
                "Invalid is_public filter [{s}]"
            ))),
        },
    }
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let filter = if call.is_admin() {
        is_public_filter(req)?
    } else {
        Some(true)
    };
    let types = svc.read(|c| Ok(c.volume_types(filter, &call.project_id)?))?;
    let all: Vec<Value> = types.iter().map(|t| view(&call, t, Shape::Show)).collect();
    reply(resp, &call, 200, &json!({ "volume_types": all }))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?;
    let t = svc.read(|c| {
        if id == "default" {
            resolve(c, None, &call.project_id, call.is_admin())
        } else {
            visible(c, id, &call.project_id, call.is_admin())
        }
    })?;
    answer(resp, &call, &t, Shape::Show)
}

/// `GET /types/default` (3.62): the type a volume gets when it names none.
fn show_default(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let t = svc.read(|c| resolve(c, None, &call.project_id, call.is_admin()))?;
    answer(resp, &call, &t, Shape::Show)
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let vt = the_object(&b, "volume_type")?;
    let name = match vt.get("name") {
        Some(v) => text(v, "name", false)?.unwrap_or_default(),
        None => String::new(),
    };
    if name.trim().is_empty() {
        return Err(Fault::bad_request("Volume type name can not be empty."));
    }
    let description = match vt.get("description") {
        Some(v) => text(v, "description", true)?,
        None => None,
    };
    let is_public = match vt.get("os-volume-type-access:is_public") {
        None => true,
        v => super::snapshots::flag(v, "os-volume-type-access:is_public")?,
    };
    let extra_specs = match vt.get("extra_specs") {
        None | Some(Value::Null) => Map::new(),
        Some(v) => specs_of(v)?,
    };
    let t = VolumeType {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        description,
        is_public,
        extra_specs,
        created_ms: crate::time::now_ms(),
        qos_specs_id: None,
    };
    svc.write(|c| {
        if find_by_name(c, &t.name)?.is_some() {
            return Err(exists(&t.name).into());
        }
        c.insert_volume_type(&t)?;
        Ok(())
    })?;
    answer(resp, &call, &t, Shape::Create)
}

fn exists(name: &str) -> Fault {
    Fault::conflict(format!("Volume Type {name} already exists."))
}

fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?.to_string();
    let b = body(req)?;
    let vt = the_object(&b, "volume_type")?;
    let name = match vt.get("name") {
        Some(v) => text(v, "name", true)?,
        None => None,
    };
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(Fault::bad_request("Volume type name can not be empty."));
    }
    let description = match vt.get("description") {
        Some(v) => Some(text(v, "description", true)?),
        None => None,
    };
    let is_public = match vt.get("is_public") {
        None | Some(Value::Null) => None,
        v => Some(super::snapshots::flag(v, "is_public")?),
    };
    if name.is_none() && description.is_none() && is_public.is_none() {
        return Err(Fault::bad_request(
            "Specify volume type name, description, is_public or a combination thereof.",
        ));
    }
    let t = svc.write(|c| {
        let mut t = find(c, &id)?.ok_or_else(|| not_found(&id))?;
        if let Some(name) = name {
            if name != t.name {
                if t.name == DEFAULT_TYPE {
                    return Err(
                        Fault::bad_request("The default volume type cannot be renamed.").into(),
                    );
                }
                if find_by_name(c, &name)?.is_some() {
                    return Err(exists(&name).into());
                }
                // The type's quotas follow its name.
                for r in super::quotas::PER_TYPE {
                    c.rename_quota_resource(&format!("{r}_{}", t.name), &format!("{r}_{name}"))?;
                }
                t.name = name;
            }
        }
        if let Some(d) = description {
            t.description = d;
        }
        if let Some(p) = is_public {
            t.is_public = p;
        }
        c.update_volume_type(&t)?;
        Ok(t)
    })?;
    answer(resp, &call, &t, Shape::Update)
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?;
    svc.write(|c| {
        let t = find(c, id)?.ok_or_else(|| not_found(id))?;
        if t.name == DEFAULT_TYPE {
            return Err(Fault::bad_request(format!(
                "The volume type {} is the default volume type and cannot be deleted.",
                t.id
            ))
            .into());
        }
        if c.is_a_default_type(&t.id)? {
            return Err(Fault::bad_request(format!(
                "The volume type {} is a default volume type and cannot be deleted.",
                t.id
            ))
            .into());
        }
        unused(c, &t.id, "Target volume type is still in use.")?;
        // Its encryption goes with it (the table's ON DELETE CASCADE), as in Cinder.
        for r in super::quotas::PER_TYPE {
            c.delete_quota_resource(&format!("{r}_{}", t.name))?;
        }
        c.delete_volume_type(&t.id)?;
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

// ---------------------------------------------------------------- extra specs

fn spec_not_found(type_id: &str, key: &str) -> Fault {
    Fault::not_found(format!(
        "Volume Type {type_id} has no extra specs with key {key}."
    ))
}

const SPECS_IN_USE: &str = "Volume Type is currently in use.";

fn list_specs(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?;
    let t = svc.read(|c| visible(c, id, &call.project_id, call.is_admin()))?;
    reply(
        resp,
        &call,
        200,
        &json!({"extra_specs": readable_specs(&call, &t.extra_specs)}),
    )
}

fn create_specs(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?.to_string();
    let b = body(req)?;
    let specs = match b.get("extra_specs") {
        Some(v) => specs_of(v)?,
        None => {
            return Err(invalid(
                "extra_specs",
                &b,
                "'extra_specs' is a required property",
            ))
        }
    };
    svc.write(|c| {
        unused(c, &id, SPECS_IN_USE)?;
        let mut t = find(c, &id)?.ok_or_else(|| not_found(&id))?;
        t.extra_specs.extend(specs.clone());
        Ok(c.set_extra_specs(&t)?)
    })?;
    reply(resp, &call, 200, &json!({"extra_specs": specs}))
}

fn show_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?;
    let key = param(req, "key")?;
    let t = svc.read(|c| visible(c, id, &call.project_id, call.is_admin()))?;
    let value = readable_specs(&call, &t.extra_specs)
        .remove(key)
        .ok_or_else(|| spec_not_found(id, key))?;
    reply(resp, &call, 200, &json!({ key: value }))
}

fn update_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?.to_string();
    let key = param(req, "key")?.to_string();
    let b = body(req)?;
    let specs = specs_of(&b)?;
    if specs.len() > 1 {
        return Err(invalid("", &b, &format!("{b} has too many properties")));
    }
    if !specs.contains_key(&key) {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    }
    svc.write(|c| {
        unused(c, &id, SPECS_IN_USE)?;
        let mut t = find(c, &id)?.ok_or_else(|| not_found(&id))?;
        t.extra_specs.extend(specs.clone());
        Ok(c.set_extra_specs(&t)?)
    })?;
    reply(resp, &call, 200, &Value::Object(specs))
}

fn delete_spec(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?.to_string();
    let key = param(req, "key")?.to_string();
    svc.write(|c| {
        let mut t = find(c, &id)?.ok_or_else(|| not_found(&id))?;
        unused(c, &id, SPECS_IN_USE)?;
        if t.extra_specs.remove(&key).is_none() {
            return Err(spec_not_found(&id, &key).into());
        }
        Ok(c.set_extra_specs(&t)?)
    })?;
    reply_empty(resp, &call, 202)
}

// ---------------------------------------------------------------- access

fn list_access(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?;
    let projects = svc.read(|c| {
        let t = find(c, id)?.ok_or_else(|| not_found(id))?;
        if t.is_public {
            return Err(
                Fault::not_found("Access list not available for public volume types.").into(),
            );
        }
        Ok(c.type_access(id)?)
    })?;
    let access: Vec<Value> = projects
        .iter()
        .map(|p| json!({"volume_type_id": id, "project_id": p}))
        .collect();
    reply(resp, &call, 200, &json!({ "volume_type_access": access }))
}

/// `addProjectAccess` / `removeProjectAccess`.
fn action(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?.to_string();
    let b = body(req)?;
    let (add, args) = match (b.get("addProjectAccess"), b.get("removeProjectAccess")) {
        (Some(a), None) => (true, a),
        (None, Some(r)) => (false, r),
        _ => return Err(Fault::bad_request("There is no such action: None")),
    };
    let project = match args.get("project") {
        Some(Value::String(p)) if !p.is_empty() && p.len() <= 255 => p.clone(),
        Some(v) => {
            return Err(invalid(
                "project",
                v,
                &format!("{v} is not of type 'string'"),
            ))
        }
        None => return Err(invalid("project", args, "'project' is a required property")),
    };
    svc.write(|c| {
        let t = find(c, &id)?.ok_or_else(|| not_found(&id))?;
        if t.is_public {
            return Err(Fault::bad_request(
                "Invalid volume type: Type access modification is not applicable to public volume type.",
            )
            .into());
        }
        if add {
            if c.add_type_access(&id, &project)? == Unique::Taken {
                return Err(Fault::conflict(format!(
                    "Volume type access for {id} / {project} combination already exists."
                ))
                .into());
            }
        } else {
            if !c.remove_type_access(&id, &project)? {
                return Err(Fault::not_found(format!(
                    "Volume type access not found for {id} / {project} combination."
                ))
                .into());
            }
        }
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}
