//! Glance v2's metadata definition endpoints (`/v2/metadefs/...`). As Glance's default
//! policy has it, everybody may read public namespaces and their owner (or an admin) private
//! ones; only an admin changes anything. A namespace the caller may not see is 404.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::metadefs::{self as md, Association, Namespace, Object, Property};
use super::views;
use super::Images;
use crate::time::now_seconds_iso;

type Svc = Arc<Images>;

endpoint!(Svc; Namespaces { on_get => list_namespaces, on_post => create_namespace });
endpoint!(Svc; NamespaceItem { on_get => show_namespace, on_put => update_namespace, on_delete => delete_namespace });
endpoint!(Svc; Associations { on_get => list_associations, on_post => create_association });
endpoint!(Svc; AssociationItem { on_delete => delete_association });
endpoint!(Svc; Objects { on_get => list_objects, on_post => create_object, on_delete => delete_objects });
endpoint!(Svc; ObjectItem { on_get => show_object, on_put => update_object, on_delete => delete_object });
endpoint!(Svc; Properties { on_get => list_properties, on_post => create_property, on_delete => delete_properties });
endpoint!(Svc; PropertyItem { on_get => show_property, on_put => update_property, on_delete => delete_property });
endpoint!(Svc; Tags { on_get => list_tags, on_post => create_tags, on_delete => delete_tags });
endpoint!(Svc; TagItem { on_get => show_tag, on_post => create_tag, on_put => update_tag, on_delete => delete_tag });
endpoint!(Svc; ResourceTypes { on_get => list_resource_types });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_metadefs_namespaces" => Namespaces,
        "v2_metadefs_namespace" => NamespaceItem,
        "v2_metadefs_namespace_resource_types" => Associations,
        "v2_metadefs_namespace_resource_type" => AssociationItem,
        "v2_metadefs_namespace_objects" => Objects,
        "v2_metadefs_namespace_object" => ObjectItem,
        "v2_metadefs_namespace_properties" => Properties,
        "v2_metadefs_namespace_property" => PropertyItem,
        "v2_metadefs_namespace_tags" => Tags,
        "v2_metadefs_namespace_tag" => TagItem,
        "v2_metadefs_resource_types" => ResourceTypes,
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers

fn caller(req: &Request) -> Result<AuthContext, Fault> {
    req.context()
        .ok_or_else(|| Fault::unauthorized("The request you have made requires authentication."))
}

fn param<'a>(req: &'a Request, name: &str) -> Result<&'a str, Fault> {
    req.param(name)
        .ok_or_else(|| Fault::internal(format!("route without {{{name}}}")))
}

fn ok_json(resp: &mut Response, status: u16, v: &Value) -> HandlerResult {
    resp.set_status(status);
    resp.json(v);
    Ok(())
}

fn no_content(resp: &mut Response) -> HandlerResult {
    resp.set_status(204);
    Ok(())
}

fn bad(message: impl Into<String>) -> Fault {
    Fault::bad_request(message)
}

fn visible_in(
    conn: super::model::Repo,
    c: &AuthContext,
    name: &str,
) -> super::model::Result<Namespace> {
    let ns = md::get_namespace(conn, name)?;
    if !ns.visible_to(c.project_id.as_deref(), c.is_admin) {
        return Err(super::model::Error::NotFound(md::not_found_namespace(name)));
    }
    Ok(ns)
}

/// The namespace of the path, if the caller may see it.
fn namespace(svc: &Images, req: &Request, c: &AuthContext) -> Result<Namespace, Fault> {
    let name = param(req, "namespace_name")?;
    svc.read(|conn| visible_in(conn, c, name))
}

fn body_object(req: &Request) -> Result<Map<String, Value>, Fault> {
    match req.json::<Value>()? {
        Value::Object(m) => Ok(m),
        _ => Err(bad("The request body must be a JSON object")),
    }
}

fn unexpected(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), Fault> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        ))),
        None => Ok(()),
    }
}

fn opt_string(m: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, Fault> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(bad(format!("'{key}' is too long (at most {max})"))),
        Some(v) => Err(bad(format!("{v} is not of type 'string' ('{key}')"))),
    }
}

fn name_in(m: &Map<String, Value>, key: &str, max: usize) -> Result<String, Fault> {
    match opt_string(m, key, max)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(bad(format!("'{key}' must not be empty"))),
        None => Err(bad(format!("'{key}' is a required property"))),
    }
}

/// The attributes a property's schema document may have (Glance's property schema).
const PROPERTY_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "operators",
    "type",
    "readonly",
    "default",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "items",
    "uniqueItems",
    "minItems",
    "maxItems",
    "additionalItems",
];
const TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

/// A property's schema document (without its name), checked as Glance's schema does.
fn property_schema(name: &str, mut m: Map<String, Value>) -> Result<Map<String, Value>, Fault> {
    unexpected(&m, PROPERTY_KEYS)?;
    m.remove("name");
    match m.get("title") {
        Some(Value::String(_)) => {}
        Some(_) => return Err(bad(format!("Property {name}: 'title' must be a string"))),
        None => {
            return Err(bad(format!(
                "Property {name}: 'title' is a required property"
            )))
        }
    }
    match m.get("type").and_then(Value::as_str) {
        Some(t) if TYPES.contains(&t) => {}
        Some(t) => {
            return Err(bad(format!(
                "Property {name}: '{t}' is not one of {TYPES:?}"
            )))
        }
        None => {
            return Err(bad(format!(
                "Property {name}: 'type' is a required property"
            )))
        }
    }
    if m.get("enum").is_some_and(|e| !e.is_array()) {
        return Err(bad(format!("Property {name}: 'enum' must be an array")));
    }
    Ok(m)
}

/// `{name: schema}` of a namespace or object body.
fn properties_in(v: Option<&Value>) -> Result<Vec<Property>, Fault> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::Object(doc) => Ok(Property {
                    name: k.clone(),
                    schema: property_schema(k, doc.clone())?,
                }),
                _ => Err(bad(format!("Property {k} must be an object"))),
            })
            .collect(),
        Some(_) => Err(bad("'properties' must be an object")),
    }
}

fn object_from(m: &Map<String, Value>, now: &str) -> Result<Object, Fault> {
    unexpected(
        m,
        &[
            "name",
            "description",
            "required",
            "properties",
            "schema",
            "self",
            "created_at",
            "updated_at",
        ],
    )?;
    let required = match m.get("required") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("'required' must be a list of strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("'required' must be a list of strings")),
    };
    Ok(Object {
        name: name_in(m, "name", 255)?,
        description: opt_string(m, "description", usize::MAX)?,
        required,
        properties: properties_in(m.get("properties"))?
            .into_iter()
            .map(|p| (p.name, Value::Object(p.schema)))
            .collect(),
        created_at: now.into(),
        updated_at: now.into(),
    })
}

fn association_from(m: &Map<String, Value>, now: &str) -> Result<Association, Fault> {
    unexpected(
        m,
        &[
            "name",
            "prefix",
            "properties_target",
            "created_at",
            "updated_at",
        ],
    )?;
    Ok(Association {
        name: name_in(m, "name", 80)?,
        prefix: opt_string(m, "prefix", 80)?,
        properties_target: opt_string(m, "properties_target", 80)?,
        created_at: now.into(),
        updated_at: now.into(),
    })
}

fn tag_names(v: Option<&Value>) -> Result<Vec<String>, Fault> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| match t {
                Value::Object(m) => name_in(m, "name", 255),
                _ => Err(bad("A tag must be an object with a 'name'")),
            })
            .collect(),
        Some(_) => Err(bad("'tags' must be a list")),
    }
}

/// The namespace attributes of a POST or PUT body; Glance's defaults for what is left out.
fn namespace_from(m: &Map<String, Value>, c: &AuthContext, now: &str) -> Result<Namespace, Fault> {
    unexpected(
        m,
        &[
            "namespace",
            "display_name",
            "description",
            "visibility",
            "protected",
            "owner",
            "resource_type_associations",
            "properties",
            "objects",
            "tags",
            "schema",
            "self",
            "created_at",
            "updated_at",
        ],
    )?;
    let visibility = opt_string(m, "visibility", 20)?.unwrap_or_else(|| "private".into());
    if !["public", "private"].contains(&visibility.as_str()) {
        return Err(bad(format!(
            "'{visibility}' is not one of ['public', 'private']"
        )));
    }
    let protected = match m.get("protected") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(bad(format!("{v} is not of type 'boolean' ('protected')"))),
    };
    Ok(Namespace {
        id: 0,
        namespace: name_in(m, "namespace", 80)?,
        display_name: opt_string(m, "display_name", 80)?,
        description: opt_string(m, "description", usize::MAX)?,
        visibility,
        protected,
        owner: opt_string(m, "owner", 255)?.or_else(|| c.project_id.clone()),
        created_at: now.into(),
        updated_at: now.into(),
    })
}

/// Minimal percent-encoding for the values of a `next` link.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------- namespaces

fn list_namespaces(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let q = |k: &str| req.query_param(k).map(str::to_string);
    let limit = match q("limit") {
        None => 25,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => n.min(1000) as usize,
            Ok(_) => return Err(bad("Limit param must be positive")),
            Err(_) => return Err(bad("Limit param must be an integer")),
        },
    };
    let sort_key = q("sort_key").unwrap_or_else(|| "created_at".into());
    if !["created_at", "updated_at", "namespace", "display_name"].contains(&sort_key.as_str()) {
        return Err(bad(format!("Invalid sort key: {sort_key}.")));
    }
    let sort_dir = q("sort_dir").unwrap_or_else(|| "desc".into());
    if !["asc", "desc"].contains(&sort_dir.as_str()) {
        return Err(bad(format!(
            "Invalid sort direction: {sort_dir}. It must be one of the following: asc, desc."
        )));
    }
    let visibility = q("visibility");
    if let Some(v) = &visibility {
        if !["public", "private"].contains(&v.as_str()) {
            return Err(bad(format!("Invalid visibility value: {v}")));
        }
    }
    let types: Vec<String> = q("resource_types")
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let (all, assocs) = svc.read(|conn| {
        let all = md::list_namespaces(conn)?;
        let mut with = Vec::with_capacity(all.len());
        for ns in all {
            if ns.visible_to(c.project_id.as_deref(), c.is_admin) {
                let a = md::associations(conn, ns.id)?;
                with.push((ns, a));
            }
        }
        Ok((with, md::all_associations(conn)?))
    })?;
    let mut out: Vec<_> = all
        .into_iter()
        .filter(|(ns, _)| visibility.as_ref().is_none_or(|v| &ns.visibility == v))
        .filter(|(ns, _)| {
            types.is_empty()
                || assocs
                    .iter()
                    .any(|(id, t)| *id == ns.id && types.contains(t))
        })
        .collect();
    let key = |ns: &Namespace| -> String {
        match sort_key.as_str() {
            "updated_at" => ns.updated_at.clone(),
            "namespace" => ns.namespace.clone(),
            "display_name" => ns.display_name.clone().unwrap_or_default(),
            _ => ns.created_at.clone(),
        }
    };
    out.sort_by(|(a, _), (b, _)| {
        let o = key(a)
            .cmp(&key(b))
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id));
        if sort_dir == "desc" {
            o.reverse()
        } else {
            o
        }
    });
    if let Some(marker) = q("marker") {
        let at = out
            .iter()
            .position(|(ns, _)| ns.namespace == marker)
            .ok_or_else(|| bad(format!("Invalid marker: {marker}")))?;
        out.drain(..=at);
    }
    let more = out.len() > limit;
    out.truncate(limit);
    let mut body = json!({
        "namespaces": out.iter().map(|(ns, a)| views::metadef_namespace(ns, a)).collect::<Vec<_>>(),
        "first": "/v2/metadefs/namespaces",
        "schema": "/v2/schemas/metadefs/namespaces",
    });
    if more {
        if let Some((last, _)) = out.last() {
            let mut query: Vec<String> = req
                .query_params
                .iter()
                .filter(|p| p.name != "marker")
                .map(|p| format!("{}={}", encode(&p.name), encode(&p.value)))
                .collect();
            query.push(format!("marker={}", encode(&last.namespace)));
            body["next"] = format!("/v2/metadefs/namespaces?{}", query.join("&")).into();
        }
    }
    ok_json(resp, 200, &body)
}

fn create_namespace(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let m = body_object(req)?;
    let now = now_seconds_iso();
    let mut ns = namespace_from(&m, &c, &now)?;
    let assocs = match m.get("resource_type_associations") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::Object(o) => association_from(o, &now),
                _ => Err(bad("A resource type association must be an object")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(bad("'resource_type_associations' must be a list")),
    };
    let properties = properties_in(m.get("properties"))?;
    let objects = match m.get("objects") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::Object(o) => object_from(o, &now),
                _ => Err(bad("An object must be a JSON object")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(bad("'objects' must be a list")),
    };
    let tags = tag_names(m.get("tags"))?;
    let detail = svc.write(|tx| {
        ns.id = md::create_namespace(tx, &ns)?;
        for a in &assocs {
            md::associate(tx, &ns, a)?;
        }
        for p in &properties {
            md::create_property(tx, &ns, p, &now)?;
        }
        for o in &objects {
            md::create_object(tx, &ns, o)?;
        }
        for t in &tags {
            md::create_tag(tx, &ns, t, &now)?;
        }
        md::detail(tx, ns.clone())
    })?;
    ok_json(resp, 201, &views::metadef_namespace_detail(&detail, None))
}

fn show_namespace(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let name = param(req, "namespace_name")?;
    let detail = svc.read(|conn| md::detail(conn, visible_in(conn, &c, name)?))?;
    // `?resource_type=`: property names as that resource type knows them (with its prefix).
    let prefix = req.query_param("resource_type").and_then(|t| {
        detail
            .associations
            .iter()
            .find(|a| a.name == t)
            .and_then(|a| a.prefix.clone())
    });
    ok_json(
        resp,
        200,
        &views::metadef_namespace_detail(&detail, prefix.as_deref()),
    )
}

fn update_namespace(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let old = namespace(svc, req, &c)?;
    let m = body_object(req)?;
    let now = now_seconds_iso();
    let mut ns = namespace_from(&m, &c, &now)?;
    ns.id = old.id;
    ns.created_at = old.created_at;
    let detail = svc.write(|tx| {
        md::update_namespace(tx, &ns)?;
        md::detail(tx, ns.clone())
    })?;
    ok_json(resp, 200, &views::metadef_namespace_detail(&detail, None))
}

fn delete_namespace(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    if ns.protected {
        return Err(Fault::forbidden(format!(
            "Metadata definition namespace={} is protected and cannot be deleted.",
            ns.namespace
        )));
    }
    svc.write(|tx| md::delete_namespace(tx, ns.id))?;
    no_content(resp)
}

// ---------------------------------------------------------------- resource types

fn list_resource_types(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    caller(req)?;
    let types = svc.read(md::resource_types)?;
    ok_json(
        resp,
        200,
        &json!({"resource_types": types.iter().map(views::metadef_resource_type).collect::<Vec<_>>()}),
    )
}

fn list_associations(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let assocs = svc.read(|conn| md::associations(conn, ns.id))?;
    ok_json(
        resp,
        200,
        &json!({"resource_type_associations": assocs.iter().map(views::metadef_association).collect::<Vec<_>>()}),
    )
}

fn create_association(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let a = association_from(&body_object(req)?, &now_seconds_iso())?;
    svc.write(|tx| md::associate(tx, &ns, &a))?;
    ok_json(resp, 201, &views::metadef_association(&a))
}

fn delete_association(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let name = param(req, "name")?;
    svc.write(|tx| md::dissociate(tx, &ns, name))?;
    no_content(resp)
}

// ---------------------------------------------------------------- properties

fn list_properties(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let props = svc.read(|conn| md::properties(conn, ns.id))?;
    ok_json(resp, 200, &views::metadef_properties(&props))
}

fn property_from(m: Map<String, Value>) -> Result<Property, Fault> {
    let name = name_in(&m, "name", 255)?;
    let schema = property_schema(&name, m)?;
    Ok(Property { name, schema })
}

fn create_property(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let p = property_from(body_object(req)?)?;
    svc.write(|tx| md::create_property(tx, &ns, &p, &now_seconds_iso()))?;
    ok_json(resp, 201, &views::metadef_property(&p, None))
}

fn show_property(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let mut name = param(req, "property_name")?.to_string();
    let resource_type = req.query_param("resource_type").map(str::to_string);
    let p = svc.read(|conn| {
        // `?resource_type=`: the name as that resource type knows it, prefix and all.
        if let Some(t) = &resource_type {
            let prefix = md::associations(conn, ns.id)?
                .into_iter()
                .find(|a| &a.name == t)
                .and_then(|a| a.prefix);
            if let Some(prefix) = prefix {
                name = name
                    .strip_prefix(&prefix)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        super::model::Error::NotFound(format!(
                            "Property {name} does not start with the expected resource type association prefix of '{prefix}'."
                        ))
                    })?;
            }
        }
        md::get_property(conn, &ns, &name)
    })?;
    ok_json(resp, 200, &views::metadef_property(&p, None))
}

fn update_property(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let old = param(req, "property_name")?;
    let p = property_from(body_object(req)?)?;
    svc.write(|tx| md::update_property(tx, &ns, old, &p, &now_seconds_iso()))?;
    ok_json(resp, 200, &views::metadef_property(&p, None))
}

fn delete_property(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    remove_member(svc, req, resp, md::Member::Property, Some("property_name"))
}

fn delete_properties(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    remove_member(svc, req, resp, md::Member::Property, None)
}

// ---------------------------------------------------------------- objects

fn list_objects(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let objects = svc.read(|conn| md::objects(conn, ns.id))?;
    ok_json(
        resp,
        200,
        &json!({
            "objects": objects.iter().map(|o| views::metadef_object(&ns.namespace, o)).collect::<Vec<_>>(),
            "schema": "/v2/schemas/metadefs/objects",
        }),
    )
}

fn create_object(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let o = object_from(&body_object(req)?, &now_seconds_iso())?;
    svc.write(|tx| md::create_object(tx, &ns, &o))?;
    ok_json(resp, 201, &views::metadef_object(&ns.namespace, &o))
}

fn show_object(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let name = param(req, "object_name")?;
    let o = svc.read(|conn| md::get_object(conn, &ns, name))?;
    ok_json(resp, 200, &views::metadef_object(&ns.namespace, &o))
}

fn update_object(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let old = param(req, "object_name")?;
    let mut o = object_from(&body_object(req)?, &now_seconds_iso())?;
    let o = svc.write(|tx| {
        o.created_at = md::get_object(tx, &ns, old)?.created_at;
        md::update_object(tx, &ns, old, &o)?;
        Ok(o)
    })?;
    ok_json(resp, 200, &views::metadef_object(&ns.namespace, &o))
}

fn delete_object(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    remove_member(svc, req, resp, md::Member::Object, Some("object_name"))
}

fn delete_objects(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    remove_member(svc, req, resp, md::Member::Object, None)
}

// ---------------------------------------------------------------- tags

fn tags_body(tags: &[md::Tag]) -> Value {
    json!({"tags": tags.iter().map(views::metadef_tag).collect::<Vec<_>>()})
}

fn list_tags(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let tags = svc.read(|conn| md::tags(conn, ns.id))?;
    ok_json(resp, 200, &tags_body(&tags))
}

/// `POST .../tags`: the tags of the body replace the namespace's, or are added to them
/// with `X-Openstack-Append: true`.
fn create_tags(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let m = body_object(req)?;
    unexpected(&m, &["tags"])?;
    let names = tag_names(m.get("tags"))?;
    let append = req
        .header("X-Openstack-Append")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let now = now_seconds_iso();
    let tags = svc.write(|tx| {
        if !append {
            md::delete_members(tx, md::Member::Tag, &ns)?;
        }
        names
            .iter()
            .map(|n| md::create_tag(tx, &ns, n, &now))
            .collect::<super::model::Result<Vec<_>>>()
    })?;
    ok_json(resp, 201, &tags_body(&tags))
}

fn delete_tags(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    remove_member(svc, req, resp, md::Member::Tag, None)
}

fn create_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let name = param(req, "tag_name")?;
    let tag = svc.write(|tx| md::create_tag(tx, &ns, name, &now_seconds_iso()))?;
    ok_json(resp, 201, &views::metadef_tag(&tag))
}

fn show_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let name = param(req, "tag_name")?;
    let tag = svc.read(|conn| md::get_tag(conn, &ns, name))?;
    ok_json(resp, 200, &views::metadef_tag(&tag))
}

fn update_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    let old = param(req, "tag_name")?;
    let m = body_object(req)?;
    unexpected(&m, &["name", "created_at", "updated_at"])?;
    let new = name_in(&m, "name", 255)?;
    let tag = svc.write(|tx| md::rename_tag(tx, &ns, old, &new, &now_seconds_iso()))?;
    ok_json(resp, 200, &views::metadef_tag(&tag))
}

fn delete_tag(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    remove_member(svc, req, resp, md::Member::Tag, Some("tag_name"))
}

/// Deletes one member (`name_param` names it) or all members of `kind`, in a namespace the
/// caller can see (the table asks for an admin: metadef_admin).
fn remove_member(
    svc: &Svc,
    req: &mut Request,
    resp: &mut Response,
    kind: md::Member,
    name_param: Option<&str>,
) -> HandlerResult {
    let c = caller(req)?;
    let ns = namespace(svc, req, &c)?;
    match name_param {
        Some(p) => {
            let name = param(req, p)?;
            svc.write(|tx| md::delete_member(tx, kind, &ns, name))?;
        }
        None => svc.write(|tx| md::delete_members(tx, kind, &ns))?,
    }
    no_content(resp)
}
