//! Volume type encryption (Cinder's `volume_type_encryption` extension): at most one
//! encryption spec per type, set by admins while no volume uses the type.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::VolumeTypeRepo;
use super::types::{self, invalid};
use super::{body, param, reply, reply_empty, timestamp, Call, Volumes};
use crate::store::Outcome;

/// A type's encryption spec (Cinder's `Encryption` model).
#[derive(Debug, Clone, PartialEq)]
pub struct Encryption {
    pub type_id: String,
    pub encryption_id: String,
    pub provider: String,
    pub control_location: String,
    pub cipher: Option<String>,
    pub key_size: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// The encryption of the type `type_id`, if it has one.
pub fn of_type(c: &dyn VolumeTypeRepo, type_id: &str) -> Outcome<Option<Encryption>> {
    Ok(c.encryption(type_id)?)
}

fn not_found(type_id: &str) -> Fault {
    Fault::not_found(format!(
        "Volume type encryption for type {type_id} does not exist."
    ))
}

/// Everything Cinder's `GET /types/{id}/encryption` shows: the row as stored, soft-delete
/// columns included. `updated_at` stays null until the spec is first updated.
fn view(e: &Encryption) -> Map<String, Value> {
    let updated = (e.updated_ms != e.created_ms).then(|| timestamp(e.updated_ms));
    let v = json!({
        "volume_type_id": e.type_id,
        "encryption_id": e.encryption_id,
        "provider": e.provider,
        "control_location": e.control_location,
        "cipher": e.cipher,
        "key_size": e.key_size,
        "deleted": false,
        "created_at": timestamp(e.created_ms),
        "updated_at": updated,
        "deleted_at": null,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The fields of a create or update, checked as Cinder's schema
/// `volume_type_encryption.create`/`update` does (other keys are let through, unstored).
#[derive(Debug, Default, PartialEq)]
struct Fields {
    provider: Option<String>,
    control_location: Option<String>,
    /// Present and null is `Some(None)`.
    cipher: Option<Option<String>>,
    key_size: Option<Option<i64>>,
}

/// Reads `{"encryption": {…}}`; `create` requires `provider` and `control_location`.
/// Returns the fields and the `encryption` object with `key_size` made an integer (what
/// Cinder echoes back).
fn fields(b: &Value, create: bool) -> std::result::Result<(Fields, Map<String, Value>), Fault> {
    let Value::Object(top) = b else {
        return Err(invalid("", b, &format!("{b} is not of type 'object'")));
    };
    if let Some(k) = top.keys().find(|k| *k != "encryption") {
        return Err(invalid(
            "",
            b,
            &format!("Additional properties are not allowed ('{k}' was unexpected)"),
        ));
    }
    let Some(enc) = top.get("encryption") else {
        return Err(invalid("", b, "'encryption' is a required property"));
    };
    let Value::Object(m) = enc else {
        return Err(invalid(
            "encryption",
            enc,
            &format!("{enc} is not of type 'object'"),
        ));
    };
    if create {
        for required in ["provider", "control_location"] {
            if !m.contains_key(required) {
                return Err(invalid(
                    "encryption",
                    enc,
                    &format!("'{required}' is a required property"),
                ));
            }
        }
    }
    let mut f = Fields::default();
    let string = |key: &str, v: &Value| match v {
        Value::String(s) if s.chars().count() <= 255 => Ok(s.clone()),
        Value::String(_) => Err(invalid(key, v, &format!("{v} is too long"))),
        _ => Err(invalid(key, v, &format!("{v} is not of type 'string'"))),
    };
    if let Some(v) = m.get("provider") {
        f.provider = Some(string("provider", v)?);
    }
    if let Some(v) = m.get("control_location") {
        match v.as_str() {
            Some(s @ ("front-end" | "back-end")) => f.control_location = Some(s.to_string()),
            _ => {
                return Err(invalid(
                    "control_location",
                    v,
                    &format!("{v} is not one of ['front-end', 'back-end']"),
                ))
            }
        }
    }
    if let Some(v) = m.get("cipher") {
        f.cipher = Some(match v {
            Value::Null => None,
            v => Some(string("cipher", v)?),
        });
    }
    let mut echoed = m.clone();
    if let Some(v) = m.get("key_size") {
        let size = key_size(v)?;
        f.key_size = Some(size);
        echoed.insert("key_size".into(), json!(size));
    }
    Ok((f, echoed))
}

/// Cinder's `key_size`: an integer or an integer string, 0 to 2^31-1, or null.
fn key_size(v: &Value) -> std::result::Result<Option<i64>, Fault> {
    let n = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64(),
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return Err(Fault::bad_request(
                    "Invalid input received: key_size must be an integer.",
                ))
            }
        },
        _ => {
            return Err(invalid(
                "key_size",
                v,
                &format!("{v} is not of type 'string', 'integer', 'null'"),
            ))
        }
    };
    match n {
        Some(n) if n < 0 => Err(invalid(
            "key_size",
            v,
            &format!("{v} is less than the minimum of 0"),
        )),
        Some(n) if n > i64::from(i32::MAX) => Err(invalid(
            "key_size",
            v,
            &format!("{v} is greater than the maximum of {}", i32::MAX),
        )),
        Some(n) => Ok(Some(n)),
        None => Err(invalid(
            "key_size",
            v,
            &format!("{v} is not of type 'string', 'integer', 'null'"),
        )),
    }
}

// ---------------------------------------------------------------- the API

type Svc = Arc<Volumes>;

endpoint!(Svc; TypeEncryption { on_get => index, on_post => create });
endpoint!(Svc; TypeEncryptionItem { on_get => show, on_put => update, on_delete => delete });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_volume_type_encryption" => TypeEncryption,
        "v2_volume_type_encryption_item" => TypeEncryptionItem,
    }
    Ok(())
}

/// The type `id` must exist (any admin may see it): Cinder's `_check_type`.
fn check_type(c: &dyn VolumeTypeRepo, id: &str) -> Outcome<()> {
    types::find(c, id)?.ok_or_else(|| types::not_found(id))?;
    Ok(())
}

/// `GET /types/{type_id}/encryption`: the spec, or `{}` when the type has none.
fn index(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?;
    let e = svc.read(|c| {
        check_type(c, id)?;
        of_type(c, id)
    })?;
    reply(
        resp,
        &call,
        200,
        &Value::Object(e.as_ref().map(view).unwrap_or_default()),
    )
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?.to_string();
    let (f, mut echoed) = fields(&body(req)?, true)?;
    let now = crate::time::now_ms();
    let e = Encryption {
        type_id: id.clone(),
        encryption_id: uuid::Uuid::new_v4().to_string(),
        provider: f.provider.unwrap_or_default(),
        control_location: f.control_location.unwrap_or_default(),
        cipher: f.cipher.flatten(),
        key_size: f.key_size.flatten(),
        created_ms: now,
        updated_ms: now,
    };
    svc.write(|c| {
        types::unused(
            c,
            &id,
            "Cannot create encryption specs. Volume type in use.",
        )?;
        check_type(c, &id)?;
        if of_type(c, &id)?.is_some() {
            return Err(Fault::bad_request(format!(
                "Volume type encryption for type {id} already exists."
            ))
            .into());
        }
        c.insert_encryption(&e)?;
        Ok(())
    })?;
    // Cinder answers the request's body, which its database call filled in with the ids.
    echoed.insert("volume_type_id".into(), json!(e.type_id));
    echoed.insert("encryption_id".into(), json!(e.encryption_id));
    reply(resp, &call, 200, &json!({ "encryption": echoed }))
}

/// `PUT /types/{type_id}/encryption/{encryption_id}`: changes the fields given.
fn update(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?.to_string();
    let (f, echoed) = fields(&body(req)?, false)?;
    svc.write(|c| {
        check_type(c, &id)?;
        types::unused(
            c,
            &id,
            "Cannot update encryption specs. Volume type in use.",
        )?;
        let mut e = of_type(c, &id)?.ok_or_else(|| not_found(&id))?;
        if let Some(p) = f.provider {
            e.provider = p;
        }
        if let Some(l) = f.control_location {
            e.control_location = l;
        }
        if let Some(cipher) = f.cipher {
            e.cipher = cipher;
        }
        if let Some(size) = f.key_size {
            e.key_size = size;
        }
        // Strictly later than created, so the view shows it was updated.
        e.updated_ms = crate::time::now_ms().max(e.created_ms + 1);
        c.update_encryption(&e)?;
        Ok(())
    })?;
    reply(resp, &call, 200, &json!({ "encryption": echoed }))
}

/// `GET /types/{type_id}/encryption/{key}`: one field of the spec, `{key: value}`.
fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?;
    let key = param(req, "encryption_id")?;
    let e = svc.read(|c| {
        check_type(c, id)?;
        of_type(c, id)
    })?;
    let value = e
        .as_ref()
        .map(view)
        .and_then(|mut m| m.remove(key))
        .ok_or_else(|| not_found(id))?;
    reply(resp, &call, 200, &json!({ key: value }))
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "type_id")?;
    svc.write(|c| {
        types::unused(c, id, "Cannot delete encryption specs. Volume type in use.")?;
        if !c.delete_encryption(id)? {
            return Err(not_found(id).into());
        }
        Ok(())
    })?;
    reply_empty(resp, &call, 202)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_requires_provider_and_control_location() {
        let b = json!({"encryption": {"provider": "luks"}});
        assert!(fields(&b, true).is_err());
        assert!(fields(&b, false).is_ok());
    }

    #[test]
    fn key_size_strings_become_integers_in_the_echo() {
        let b = json!({"encryption": {"provider": "luks", "control_location": "front-end",
                                      "key_size": "256", "extra": 1}});
        let (f, echoed) = fields(&b, true).unwrap();
        assert_eq!(f.key_size, Some(Some(256)));
        assert_eq!(echoed["key_size"], json!(256));
        // Cinder's schema lets unknown keys through and echoes them.
        assert_eq!(echoed["extra"], json!(1));
    }

    #[test]
    fn control_location_and_key_size_are_checked() {
        let bad_location = json!({"encryption": {"provider": "p", "control_location": "side"}});
        assert!(fields(&bad_location, true).is_err());
        for size in [json!(-1), json!("x"), json!(1.5), json!(4_294_967_296_i64)] {
            assert!(key_size(&size).is_err(), "{size}");
        }
        assert_eq!(key_size(&Value::Null).unwrap(), None);
    }

    #[test]
    fn updated_at_is_null_until_updated() {
        let mut e = Encryption {
            type_id: "t".into(),
            encryption_id: "e".into(),
            provider: "luks".into(),
            control_location: "front-end".into(),
            cipher: None,
            key_size: Some(256),
            created_ms: 1000,
            updated_ms: 1000,
        };
        assert_eq!(view(&e)["updated_at"], Value::Null);
        e.updated_ms = 2000;
        assert!(view(&e)["updated_at"].is_string());
    }
}
