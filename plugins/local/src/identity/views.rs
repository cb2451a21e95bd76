//! Keystone's JSON: one renderer per resource, and request bodies read the way Keystone's
//! schemas read them.

use jumpgate_plugin_api::Fault;
use serde_json::{json, Map, Value};

use super::model::{
    AppCred, Consumer, Credential, Domain, EndpointGroup, Group, Policy, Project, Role, User,
};

/// `http://host/v3`, the prefix of every `links.self`.
pub struct Links<'a>(pub &'a str);

impl Links<'_> {
    pub fn of(&self, path: &str) -> Value {
        json!({ "self": format!("{}/{path}", self.0) })
    }

    /// The `links` of a collection.
    pub fn collection(&self, path: &str) -> Value {
        json!({ "self": format!("{}/{path}", self.0), "previous": null, "next": null })
    }
}

pub fn domain(l: &Links, d: &Domain) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "enabled": d.enabled,
        "tags": d.tags,
        "options": {},
        "links": l.of(&format!("domains/{}", d.id)),
    })
}

pub fn project(l: &Links, p: &Project) -> Value {
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "domain_id": p.domain_id,
        "description": p.description,
        "enabled": p.enabled,
        "parent_id": p.parent_id.clone().unwrap_or_else(|| p.domain_id.clone()),
        "is_domain": false,
        "tags": p.tags,
        "options": {},
        "links": l.of(&format!("projects/{}", p.id)),
    });
    merge_extra(&mut v, &p.extra);
    v
}

/// A domain as the projects API shows it: a root project acting as a domain.
pub fn domain_project(l: &Links, d: &Domain) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "domain_id": null,
        "description": d.description,
        "enabled": d.enabled,
        "parent_id": null,
        "is_domain": true,
        "tags": d.tags,
        "options": {},
        "links": l.of(&format!("projects/{}", d.id)),
    })
}

pub fn project_or_domain(l: &Links, p: &super::model::ProjectOrDomain) -> Value {
    match p {
        super::model::ProjectOrDomain::Project(p) => project(l, p),
        super::model::ProjectOrDomain::Domain(d) => domain_project(l, d),
    }
}

pub fn user(l: &Links, u: &User) -> Value {
    let mut v = json!({
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "enabled": u.enabled,
        "password_expires_at": null,
        "options": {},
        "links": l.of(&format!("users/{}", u.id)),
    });
    if let Some(p) = &u.default_project_id {
        v["default_project_id"] = json!(p);
    }
    merge_extra(&mut v, &u.extra);
    v
}

pub fn group(l: &Links, g: &Group) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description,
        "links": l.of(&format!("groups/{}", g.id)),
    })
}

pub fn role(l: &Links, r: &Role) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "domain_id": r.domain_id,
        "description": r.description,
        "options": {},
        "links": l.of(&format!("roles/{}", r.id)),
    })
}

/// A role as an implication names it: id, name, links only.
pub fn role_ref(l: &Links, r: &Role) -> Value {
    json!({ "id": r.id, "name": r.name, "links": l.of(&format!("roles/{}", r.id)) })
}

pub fn app_cred(l: &Links, a: &AppCred, roles: &[Role]) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "user_id": a.user_id,
        "project_id": a.project_id,
        "expires_at": a.expires_at,
        "unrestricted": a.unrestricted,
        "system": null,
        "access_rules": a.access_rules,
        "roles": roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": r.domain_id})).collect::<Vec<_>>(),
        "links": l.of(&format!("users/{}/application_credentials/{}", a.user_id, a.id)),
    })
}

pub fn credential(l: &Links, c: &Credential) -> Value {
    let mut v = json!({
        "id": c.id,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "type": c.kind,
        "blob": c.blob,
        "links": l.of(&format!("credentials/{}", c.id)),
    });
    merge_extra(&mut v, &c.extra);
    v
}

/// An EC2 credential as the `OS-EC2` API shows it: its blob's keys, the project as
/// `tenant_id`, and a link by access key.
pub fn ec2_credential(l: &Links, c: &Credential) -> Value {
    let blob: Value = serde_json::from_str(&c.blob).unwrap_or(Value::Null);
    json!({
        "user_id": c.user_id,
        "tenant_id": c.project_id,
        "access": blob["access"],
        "secret": blob["secret"],
        "trust_id": blob["trust_id"],
        "links": l.of(&format!(
            "users/{}/credentials/OS-EC2/{}",
            c.user_id,
            blob["access"].as_str().unwrap_or_default()
        )),
    })
}

pub fn policy(l: &Links, p: &Policy) -> Value {
    let mut v = json!({
        "id": p.id,
        "type": p.kind,
        "blob": p.blob,
        "links": l.of(&format!("policies/{}", p.id)),
    });
    merge_extra(&mut v, &p.extra);
    v
}

/// An OAuth1 consumer, without its secret (only its creation shows that).
pub fn consumer(l: &Links, c: &Consumer) -> Value {
    let mut v = json!({
        "id": c.id,
        "description": c.description,
        "links": l.of(&format!("OS-OAUTH1/consumers/{}", c.id)),
    });
    merge_extra(&mut v, &c.extra);
    v
}

pub fn endpoint_group(l: &Links, g: &EndpointGroup) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "filters": g.filters,
        "links": l.of(&format!("OS-EP-FILTER/endpoint_groups/{}", g.id)),
    })
}

/// Unknown attributes come back at top level, as Keystone's `extra`.
fn merge_extra(v: &mut Value, extra: &Map<String, Value>) {
    if let Value::Object(obj) = v {
        for (k, val) in extra {
            obj.entry(k.clone()).or_insert_with(|| val.clone());
        }
    }
}

/// The version entries of `GET /` (v3 first) and of `GET /v3` or `GET /v2.0` alone.
pub fn v3_version(v3_url: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{v3_url}/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

pub fn v2_version(v2_url: &str) -> Value {
    json!({
        "id": "v2.0",
        "status": "deprecated",
        "updated": "2016-08-04T00:00:00Z",
        "links": [
            {"rel": "self", "href": format!("{v2_url}/")},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}],
    })
}

// ---------------------------------------------------------------- reading bodies

/// Keystone's schema errors: 400, "Invalid input for field 'x': …".
pub fn invalid(field: &str, why: &str) -> Fault {
    Fault::bad_request(format!("Invalid input for field '{field}': {why}"))
}

/// The object under `key` of a JSON body: `{"project": {...}}`.
pub fn object(body: &Value, key: &str) -> Result<Map<String, Value>, Fault> {
    match body.get(key) {
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(invalid(key, &format!("{other} is not of type 'object'"))),
        None => Err(Fault::bad_request(format!(
            "'{key}' is a required property"
        ))),
    }
}

/// An optional string field; `null` counts as absent where `nullable`.
pub fn string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, Fault> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(key, &format!("{other} is not of type 'string'"))),
    }
}

/// A required string field.
pub fn required_string(m: &Map<String, Value>, key: &str) -> Result<String, Fault> {
    string(m, key)?.ok_or_else(|| Fault::bad_request(format!("'{key}' is a required property")))
}

/// Longest names Keystone's schemas take: 64 for projects, domains and groups, 255 for
/// users and roles.
pub fn max_name(kind: &str) -> usize {
    match kind {
        "project" | "domain" | "group" => 64,
        _ => 255,
    }
}

/// A required, non-empty name, at most `max` characters.
pub fn name(m: &Map<String, Value>, key: &str, max: usize) -> Result<String, Fault> {
    let n = required_string(m, key)?;
    check_name(key, &n, max)?;
    Ok(n)
}

/// A `name` an update may change, checked as on create for a `kind`.
pub fn optional_name(m: &Map<String, Value>, kind: &str) -> Result<Option<String>, Fault> {
    let name = string(m, "name")?;
    if let Some(n) = &name {
        check_name("name", n, max_name(kind))?;
    }
    Ok(name)
}

pub fn check_name(key: &str, n: &str, max: usize) -> Result<(), Fault> {
    if n.trim().is_empty() {
        return Err(invalid(key, &format!("'{n}' does not match '[\\S]+'")));
    }
    if n.chars().count() > max {
        return Err(invalid(key, &format!("'{n}' is too long")));
    }
    Ok(())
}

pub fn boolean(m: &Map<String, Value>, key: &str) -> Result<Option<bool>, Fault> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(invalid(key, &format!("{other} is not of type 'boolean'"))),
    }
}

pub fn tags(m: &Map<String, Value>) -> Result<Option<Vec<String>>, Fault> {
    match m.get("tags") {
        None => Ok(None),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for t in a {
                let Some(s) = t.as_str() else {
                    return Err(invalid("tags", &format!("{t} is not of type 'string'")));
                };
                if s.is_empty() || s.len() > 255 || s.contains('/') || s.contains(',') {
                    return Err(invalid("tags", &format!("'{s}' is not a valid tag")));
                }
                if !out.iter().any(|x| x == s) {
                    out.push(s.to_string());
                }
            }
            if out.len() > 80 {
                return Err(invalid("tags", "too many tags (at most 80)"));
            }
            Ok(Some(out))
        }
        Some(other) => Err(invalid("tags", &format!("{other} is not of type 'array'"))),
    }
}

/// The attributes outside `known`, kept as Keystone keeps them.
pub fn extra(m: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    m.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
