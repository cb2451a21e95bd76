//! Per-project default volume types (Cinder 3.62 `default-types`): the type a project's
//! new volumes get when they name none, set by admins.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::types::{self, invalid};
use super::{body, param, reply, reply_empty, Call, Volumes};

/// The default type id set for `project_id`, if any.
fn view(project_id: &str, type_id: &str) -> Value {
    json!({"project_id": project_id, "volume_type_id": type_id})
}

// ---------------------------------------------------------------- the API

type Svc = Arc<Volumes>;

endpoint!(Svc; DefaultTypes { on_get => list });
endpoint!(Svc; DefaultType { on_get => show, on_put => set, on_delete => unset });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v3_default_types" => DefaultTypes,
        "v3_default_type" => DefaultType,
    }
    Ok(())
}

/// The caller at 3.62 or later (below, Cinder knows no such method: 404).
fn call_of(req: &Request) -> std::result::Result<Call, Fault> {
    let call = Call::of(req)?;
    call.requires(62)?;
    Ok(call)
}

/// The `volume_type` of `{"default_type": {"volume_type": name-or-id}}` (schema
/// `default_types.create_or_update`).
fn volume_type_in(b: &Value) -> std::result::Result<String, Fault> {
    let Some(dt) = b.get("default_type") else {
        return Err(Fault::bad_request("'default_type' is a required property"));
    };
    let Some(m) = dt.as_object() else {
        return Err(invalid(
            "default_type",
            dt,
            &format!("{dt} is not of type 'object'"),
        ));
    };
    if let Some(k) = m.keys().find(|k| *k != "volume_type") {
        return Err(invalid(
            "default_type",
            dt,
            &format!("Additional properties are not allowed ('{k}' was unexpected)"),
        ));
    }
    match m.get("volume_type") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 => Ok(s.clone()),
        Some(v @ Value::String(_)) => Err(invalid(
            "volume_type",
            v,
            "An invalid 'name' value was provided.",
        )),
        Some(v) => Err(invalid(
            "volume_type",
            v,
            &format!("{v} is not of type 'string'"),
        )),
        None => Err(invalid(
            "default_type",
            dt,
            "'volume_type' is a required property",
        )),
    }
}

/// `PUT /default-types/{project_id}`: 200 with the mapping.
fn set(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let project_id = param(req, "project_id")?.to_string();
    let wanted = volume_type_in(&body(req)?)?;
    let type_id = svc.write(|c| {
        let t = types::resolve(c, Some(&wanted), &project_id, true)?;
        c.set_default_type(&project_id, &t.id)?;
        Ok(t.id)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({"default_type": view(&project_id, &type_id)}),
    )
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let project_id = param(req, "project_id")?;
    let type_id = svc
        .read(|c| Ok(c.default_type_of(project_id)?))?
        .ok_or_else(|| {
            Fault::not_found(format!("Default type for project {project_id} not found."))
        })?;
    reply(
        resp,
        &call,
        200,
        &json!({"default_type": view(project_id, &type_id)}),
    )
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let all: Vec<Value> = svc
        .read(|c| Ok(c.default_types()?))?
        .iter()
        .map(|(project, t)| view(project, t))
        .collect();
    reply(resp, &call, 200, &json!({ "default_types": all }))
}

/// `DELETE /default-types/{project_id}`: 204, whether or not one was set (as Cinder).
fn unset(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = call_of(req)?;
    let project_id = param(req, "project_id")?.to_string();
    svc.write(|c| {
        c.unset_default_type(&project_id)?;
        Ok(())
    })?;
    reply_empty(resp, &call, 204)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_one_volume_type() {
        let ok = json!({"default_type": {"volume_type": "gold"}});
        assert_eq!(volume_type_in(&ok).unwrap(), "gold");
        for bad in [
            json!({}),
            json!({"default_type": "gold"}),
            json!({"default_type": {}}),
            json!({"default_type": {"volume_type": ""}}),
            json!({"default_type": {"volume_type": 1}}),
            json!({"default_type": {"volume_type": "gold", "x": 1}}),
        ] {
            assert!(volume_type_in(&bad).is_err(), "{bad}");
        }
    }
}
