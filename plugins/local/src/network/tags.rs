//! Neutron's tag API (`standard-attr-tag`): `/{resource_type}/{resource_id}/tags[/{tag}]`
//! for every kind with standard attributes.

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::api::{get, Kind};
use super::resources::{
    floatingips::FloatingIp, networks::Network, ports::Port, routers::Router,
    security_groups::SecurityGroup, subnetpools::SubnetPool, subnets::Subnet,
};
use super::{store, Ctx, Result, Svc};
use crate::store::Tx;

endpoint!(Svc; Tags { on_get => list, on_put => replace, on_delete => clear });
endpoint!(Svc; Tag { on_get => check, on_put => add, on_delete => remove });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_tags" => Tags,
        "v2_tag" => Tag,
    }
    Ok(())
}

/// Neutron's limit on one tag's length.
const MAX_LEN: usize = 255;

/// The document a tag request names, loaded as its kind shows it to the caller.
fn document<K: Kind>(c: &dyn Tx, ctx: &Ctx, id: &str) -> Result<(Value, &'static str)> {
    Ok((get::<K>(c, ctx, id)?, K::SINGULAR))
}

fn target(c: &dyn Tx, ctx: &Ctx, req: &Request) -> Result<(Value, &'static str)> {
    let kind = req.param("resource_type").unwrap_or_default();
    let id = req.param("resource_id").unwrap_or_default();
    match kind {
        "networks" => document::<Network>(c, ctx, id),
        "subnets" => document::<Subnet>(c, ctx, id),
        "ports" => document::<Port>(c, ctx, id),
        "routers" => document::<Router>(c, ctx, id),
        "subnetpools" => document::<SubnetPool>(c, ctx, id),
        "security-groups" => document::<SecurityGroup>(c, ctx, id),
        "floatingips" => document::<FloatingIp>(c, ctx, id),
        other => Err(
            Fault::not_found(format!("Resource type {other} does not support tags."))
                .kind("HTTPNotFound")
                .into(),
        ),
    }
}

fn check_tag(tag: &str) -> std::result::Result<(), Fault> {
    if tag.is_empty() || tag.chars().count() > MAX_LEN || tag.contains(',') {
        return Err(Fault::bad_request(format!(
            "Invalid input for operation: '{tag}' is not a valid tag (1 to {MAX_LEN} characters, no commas)."
        ))
        .kind("InvalidInput"));
    }
    Ok(())
}

fn tags_of(doc: &Value) -> Vec<String> {
    doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Changes a document's tags (owners and admins only) and saves it.
fn change(
    svc: &Svc,
    req: &Request,
    f: impl FnOnce(&mut Vec<String>) -> std::result::Result<(), Fault>,
) -> std::result::Result<Vec<String>, Fault> {
    let ctx = Ctx::of(req)?;
    svc.write(|c| {
        let (mut doc, kind) = target(c, &ctx, req)?;
        if !ctx.owns(&doc) {
            return Err(super::denied("update_tags").into());
        }
        let mut tags = tags_of(&doc);
        f(&mut tags)?;
        doc["tags"] = json!(tags);
        store::save(c, kind, &mut doc)?;
        Ok(tags)
    })
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let (doc, _) = svc.read(|c| target(c, &ctx, req))?;
    resp.json(&json!({"tags": tags_of(&doc)}));
    Ok(())
}

fn replace(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| {
        Fault::bad_request("Malformed JSON in request body.").kind("HTTPBadRequest")
    })?;
    let new: Vec<String> = body
        .get("tags")
        .and_then(Value::as_array)
        .ok_or_else(|| Fault::bad_request("Invalid tags body").kind("HTTPBadRequest"))?
        .iter()
        .map(|t| {
            t.as_str()
                .map(str::to_string)
                .ok_or_else(|| Fault::bad_request("Invalid tags body").kind("HTTPBadRequest"))
        })
        .collect::<std::result::Result<_, _>>()?;
    for t in &new {
        check_tag(t)?;
    }
    let tags = change(svc, req, |tags| {
        tags.clear();
        for t in new {
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        Ok(())
    })?;
    resp.json(&json!({"tags": tags}));
    Ok(())
}

fn clear(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    change(svc, req, |tags| {
        tags.clear();
        Ok(())
    })?;
    resp.set_status(204);
    Ok(())
}

fn not_found(tag: &str) -> Fault {
    Fault::not_found(format!("Tag {tag} could not be found.")).kind("TagNotFound")
}

fn check(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let tag = req.param("tag").unwrap_or_default().to_string();
    let (doc, _) = svc.read(|c| target(c, &ctx, req))?;
    if !tags_of(&doc).contains(&tag) {
        return Err(not_found(&tag));
    }
    resp.set_status(204);
    Ok(())
}

fn add(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let tag = req.param("tag").unwrap_or_default().to_string();
    check_tag(&tag)?;
    change(svc, req, |tags| {
        if !tags.contains(&tag) {
            tags.push(tag.clone());
        }
        Ok(())
    })?;
    resp.set_status(201);
    Ok(())
}

fn remove(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let tag = req.param("tag").unwrap_or_default().to_string();
    change(svc, req, |tags| {
        let before = tags.len();
        tags.retain(|t| *t != tag);
        if tags.len() == before {
            return Err(not_found(&tag));
        }
        Ok(())
    })?;
    resp.set_status(204);
    Ok(())
}
