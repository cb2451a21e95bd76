//! QoS specs (Cinder's `qos-specs`, admin only): named sets of limits with a consumer,
//! each associated with any number of volume types (a type with at most one).

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::quotas::truthy;
use super::repo::QosRepo;
use super::snapshots::{page, sort_of};
use super::types::{self, invalid};
use super::{body, param, reply, reply_empty, Call, Urls, Volumes};
use crate::store::Outcome;

#[derive(Debug, Clone)]
pub struct QosSpecs {
    pub id: String,
    pub name: String,
    pub consumer: String,
    pub specs: Map<String, Value>,
    pub created_ms: i64,
}

/// Who applies the limits (Cinder's `QoSConsumerValues`); `back-end` unless told.
const CONSUMERS: [&str; 3] = ["front-end", "back-end", "both"];

fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("No such QoS spec {id}."))
}

fn find(c: &dyn QosRepo, id: &str) -> Outcome<QosSpecs> {
    c.qos_specs(id)?.ok_or_else(|| not_found(id).into())
}

fn view(q: &QosSpecs) -> Value {
    json!({
        "id": q.id,
        "name": q.name,
        "consumer": q.consumer,
        "specs": q.specs,
    })
}

/// Cinder's `InvalidQoSSpecs` for a consumer it does not know.
fn consumer_of(v: &Value) -> std::result::Result<String, Fault> {
    match v.as_str() {
        Some(s) if CONSUMERS.contains(&s) => Ok(s.to_string()),
        _ => Err(Fault::bad_request(format!(
            "Invalid qos specs: Valid consumer of QoS specs are: ['{}']",
            CONSUMERS.join("', '")
        ))),
    }
}

/// `{"qos_specs": {…}}`, the only key allowed at the top (the schemas'
/// `additionalProperties: False`).
fn the_specs(b: &Value) -> std::result::Result<&Map<String, Value>, Fault> {
    one_key(b, "qos_specs")?
        .as_object()
        .ok_or_else(|| invalid("qos_specs", &b["qos_specs"], "is not of type 'object'"))
}

/// The value of `key`, the body's one property.
fn one_key<'a>(b: &'a Value, key: &str) -> std::result::Result<&'a Value, Fault> {
    let Value::Object(top) = b else {
        return Err(Fault::bad_request(format!("{b} is not of type 'object'")));
    };
    if let Some(k) = top.keys().find(|k| *k != key) {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        )));
    }
    top.get(key)
        .ok_or_else(|| Fault::bad_request(format!("'{key}' is a required property")))
}

/// Cinder's `validate_dictionary_string_length` over a create's specs: keys of 1–255
/// characters, string values of at most 255 (null allowed).
fn string_specs(m: &Map<String, Value>) -> std::result::Result<(), Fault> {
    let input = |why: String| Fault::bad_request(format!("Invalid input received: {why}"));
    for (k, v) in m {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(input(format!(
                "Key \"{k}\" has a length that is not between 1 and 255 characters."
            )));
        }
        match v {
            Value::Null => {}
            Value::String(s) if s.chars().count() <= 255 => {}
            Value::String(_) => {
                return Err(input(format!(
                    "Value for key \"{k}\" has more than 255 characters."
                )))
            }
            _ => {
                return Err(input(format!(
                    "Value for key \"{k}\" is not a string or unicode"
                )))
            }
        }
    }
    Ok(())
}

/// The `extra_specs_with_null` schema a `PUT` takes: keys matching
/// `^[a-zA-Z0-9-_:. /]{1,255}$`, values strings of at most 255 or null.
fn settable_specs(m: &Map<String, Value>) -> std::result::Result<(), Fault> {
    let whole = Value::Object(m.clone());
    for (k, v) in m {
        let key_ok = (1..=255).contains(&k.chars().count())
            && k.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_:. /".contains(ch));
        if !key_ok {
            return Err(invalid(
                "qos_specs",
                &whole,
                &format!("Additional properties are not allowed ('{k}' was unexpected)"),
            ));
        }
        match v {
            Value::Null => {}
            Value::String(s) if s.chars().count() <= 255 => {}
            Value::String(_) => return Err(invalid(k, v, &format!("{v} is too long"))),
            _ => {
                return Err(invalid(
                    k,
                    v,
                    &format!("{v} is not of type 'string', 'null'"),
                ))
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- the API

type Svc = Arc<Volumes>;

endpoint!(Svc; Specs { on_get => list, on_post => create });
endpoint!(Svc; Spec { on_get => show, on_put => set_keys, on_delete => delete });
endpoint!(Svc; Associations { on_get => associations });
endpoint!(Svc; Associate { on_get => associate });
endpoint!(Svc; Disassociate { on_get => disassociate });
endpoint!(Svc; DisassociateAll { on_get => disassociate_all });
endpoint!(Svc; DeleteKeys { on_put => delete_keys });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_qos_specs" => Specs,
        "v2_qos_spec" => Spec,
        "v2_qos_spec_associations" => Associations,
        "v2_qos_spec_associate" => Associate,
        "v2_qos_spec_disassociate" => Disassociate,
        "v2_qos_spec_disassociate_all" => DisassociateAll,
        "v2_qos_spec_delete_keys" => DeleteKeys,
    }
    Ok(())
}

/// `{"qos_specs": {…}, "links": […]}`.
fn answer(
    svc: &Svc,
    req: &Request,
    resp: &mut Response,
    call: &Call,
    q: &QosSpecs,
) -> HandlerResult {
    let links = Urls::of(svc, req, call)?.links("qos-specs", &q.id);
    reply(
        resp,
        call,
        200,
        &json!({"qos_specs": view(q), "links": links}),
    )
}

/// Listing filters Cinder allows (`id`, `name`, `consumer`), exact matches.
const FILTERS: [&str; 3] = ["id", "name", "consumer"];

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let sort = sort_of(
        req,
        &[
            ("created_at", "created_at"),
            ("id", "id"),
            ("name", "name"),
            ("consumer", "consumer"),
        ],
    )?;
    let all = svc.read(|c| Ok(c.all_qos_specs(&sort)?))?;
    let all: Vec<QosSpecs> = all
        .into_iter()
        .filter(|q| {
            FILTERS.iter().all(|f| match req.query_param(f) {
                None => true,
                Some(want) => {
                    let have = match *f {
                        "id" => &q.id,
                        "name" => &q.name,
                        _ => &q.consumer,
                    };
                    have == want
                }
            })
        })
        .collect();
    let (shown, next) = page(all, req, |q| q.id.as_str())?;
    let mut out = json!({"qos_specs": shown.iter().map(view).collect::<Vec<_>>()});
    if let Some(marker) = next {
        out["qos_specs_links"] = Urls::of(svc, req, &call)?.next(req, "qos-specs", &marker);
    }
    reply(resp, &call, 200, &out)
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let b = body(req)?;
    let given = the_specs(&b)?;
    let name = match given.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) => {
            return Err(Fault::bad_request(
                "An invalid 'name' value was provided. The 'name' can not be None.",
            ))
        }
        Some(v) => return Err(invalid("name", v, &format!("{v} is not of type 'string'"))),
        None => {
            return Err(invalid(
                "qos_specs",
                &b["qos_specs"],
                "'name' is a required property",
            ))
        }
    };
    let mut specs = given.clone();
    specs.remove("name");
    string_specs(&specs)?;
    let consumer = match specs.remove("consumer") {
        None | Some(Value::Null) => "back-end".to_string(),
        Some(v) => consumer_of(&v)?,
    };
    let q = QosSpecs {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        consumer,
        specs,
        created_ms: crate::time::now_ms(),
    };
    svc.write(|c| {
        if c.qos_specs_named(&q.name)? {
            return Err(Fault::conflict(format!("QoS Specs {} already exists.", q.name)).into());
        }
        c.insert_qos_specs(&q)?;
        Ok(())
    })?;
    answer(svc, req, resp, &call, &q)
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "qos_id")?;
    let q = svc.read(|c| find(c, id))?;
    answer(svc, req, resp, &call, &q)
}

/// `PUT /qos-specs/{id}`: sets (or with `consumer`, changes) keys; answers the body.
fn set_keys(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "qos_id")?.to_string();
    let b = body(req)?;
    let mut given = the_specs(&b)?.clone();
    settable_specs(&given)?;
    let consumer = match given.remove("consumer") {
        None => None,
        Some(v) => Some(consumer_of(&v)?),
    };
    svc.write(|c| {
        let mut q = find(c, &id)?;
        if let Some(consumer) = consumer {
            q.consumer = consumer;
        }
        q.specs.extend(given);
        Ok(c.update_qos_specs(&q)?)
    })?;
    reply(resp, &call, 200, &b)
}

/// `PUT /qos-specs/{id}/delete_keys`: all the keys go, or (one missing) none.
fn delete_keys(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "qos_id")?.to_string();
    let b = body(req)?;
    let keys = one_key(&b, "keys")?;
    let Some(list) = keys.as_array() else {
        return Err(invalid(
            "keys",
            keys,
            &format!("{keys} is not of type 'array'"),
        ));
    };
    let mut names: Vec<String> = Vec::new();
    for k in list {
        match k.as_str() {
            Some(s) if (1..=255).contains(&s.chars().count()) => {
                if names.iter().any(|n| n == s) {
                    return Err(invalid(
                        "keys",
                        keys,
                        &format!("{keys} has non-unique elements"),
                    ));
                }
                names.push(s.to_string());
            }
            _ => return Err(invalid("keys", k, &format!("{k} is not a valid key"))),
        }
    }
    svc.write(|c| {
        let mut q = find(c, &id)?;
        for k in &names {
            if q.specs.remove(k).is_none() {
                return Err(
                    Fault::not_found(format!("QoS spec {id} has no spec with key {k}.")).into(),
                );
            }
        }
        Ok(c.update_qos_specs(&q)?)
    })?;
    reply_empty(resp, &call, 202)
}

/// `DELETE /qos-specs/{id}[?force=…]`: refused while types use the specs, unless forced
/// (then they are disassociated first).
fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "qos_id")?.to_string();
    let force = req.query_param("force").is_some_and(truthy);
    svc.write(|c| {
        find(c, &id)?;
        if !force && !c.qos_associations(&id)?.is_empty() {
            return Err(Fault::bad_request("Qos specs still in use.").into());
        }
        c.disassociate_all_qos(&id)?;
        c.delete_qos_specs(&id)?;
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

fn associations(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "qos_id")?;
    let types = svc.read(|c| {
        find(c, id)?;
        Ok(c.qos_associations(id)?)
    })?;
    let all: Vec<Value> = types
        .iter()
        .map(|(tid, name)| json!({"association_type": "volume_type", "name": name, "id": tid}))
        .collect();
    reply(resp, &call, 200, &json!({ "qos_associations": all }))
}

/// The `vol_type_id` query parameter associate and disassociate need.
fn vol_type_id(req: &Request) -> std::result::Result<String, Fault> {
    match req.query_param("vol_type_id") {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => Err(Fault::bad_request("Volume Type id must not be None.")),
    }
}

/// `GET /qos-specs/{id}/associate?vol_type_id=…`: a type already associated with other
/// specs is refused; with these, nothing changes.
fn associate(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "qos_id")?.to_string();
    let type_id = vol_type_id(req)?;
    svc.write(|c| {
        find(c, &id)?;
        let t = types::find(c, &type_id)?.ok_or_else(|| types::not_found(&type_id))?;
        match t.qos_specs_id {
            Some(other) if other != id => Err(Fault::bad_request(format!(
                "Invalid volume type: Type {type_id} is already associated with another qos specs: {other}"
            ))
            .into()),
            Some(_) => Ok(()),
            None => {
                c.associate_qos(&id, &type_id)?;
                Ok(())
            }
        }
    })?;
    reply_empty(resp, &call, 202)
}

fn disassociate(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "qos_id")?.to_string();
    let type_id = vol_type_id(req)?;
    svc.write(|c| {
        find(c, &id)?;
        types::find(c, &type_id)?.ok_or_else(|| types::not_found(&type_id))?;
        c.disassociate_qos(&id, &type_id)?;
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

fn disassociate_all(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "qos_id")?.to_string();
    svc.write(|c| {
        find(c, &id)?;
        c.disassociate_all_qos(&id)?;
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumers_are_cinders_three() {
        for ok in CONSUMERS {
            assert_eq!(consumer_of(&json!(ok)).unwrap(), ok);
        }
        assert!(consumer_of(&json!("middle")).is_err());
        assert!(consumer_of(&json!(1)).is_err());
    }

    #[test]
    fn create_specs_must_be_strings() {
        let ok = json!({"read_iops_sec": "2000", "x": null});
        assert!(string_specs(ok.as_object().unwrap()).is_ok());
        let bad = json!({"read_iops_sec": 2000});
        assert!(string_specs(bad.as_object().unwrap()).is_err());
    }

    #[test]
    fn set_keys_follow_the_extra_specs_pattern() {
        let ok = json!({"iops_bytes": "500", "a:b. c/d-e": null});
        assert!(settable_specs(ok.as_object().unwrap()).is_ok());
        let bad_key = json!({"a*b": "1"});
        assert!(settable_specs(bad_key.as_object().unwrap()).is_err());
        let long = json!({"k": "x".repeat(256)});
        assert!(settable_specs(long.as_object().unwrap()).is_err());
    }

    #[test]
    fn bodies_take_only_their_key() {
        assert!(one_key(&json!({"keys": []}), "keys").is_ok());
        assert!(one_key(&json!({"keys": [], "x": 1}), "keys").is_err());
        assert!(one_key(&json!({}), "keys").is_err());
    }
}
