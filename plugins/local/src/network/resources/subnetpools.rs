//! Subnet pools: prefixes that subnets take their CIDRs from, with default, minimum and
//! maximum prefix lengths; `add_prefixes`/`remove_prefixes`. Allocation walks the pool's
//! prefixes for the first aligned block no subnet of the pool overlaps.

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::ipam::{self, fault, Cidr};
use super::networks::{flag, text};
use super::subnets::{cidr_attr, required};
use crate::network::api::{self, serve, Kind};
use crate::network::store::{self, Scope};
use crate::network::{bad, bad_value, denied, Ctx, Net, Result, Svc};
use crate::store::Tx;

pub struct SubnetPool;

endpoint!(Svc; AddPrefixes { on_put => add_prefixes });
endpoint!(Svc; RemovePrefixes { on_put => remove_prefixes });

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    serve::<SubnetPool>(disp, svc, "v2_subnetpools", "v2_subnetpool")?;
    let svc = svc.clone();
    routes! {
        disp, svc;
        "v2_subnetpool_add_prefixes" => AddPrefixes,
        "v2_subnetpool_remove_prefixes" => RemovePrefixes,
    }
    Ok(())
}

/// Neutron's defaults for a family's prefix bounds.
fn bounds(v6: bool) -> (i64, i64) {
    if v6 {
        (64, 128)
    } else {
        (8, 32)
    }
}

fn illegal_bounds(kind: &str, len: i64, base_kind: &str, base: i64) -> crate::network::Error {
    fault(
        400,
        "IllegalSubnetPoolPrefixBounds",
        format!("Illegal prefix bounds: {kind}={len}, {base_kind}={base}."),
    )
    .into()
}

fn int(input: &Map<String, Value>, key: &str) -> Result<Option<i64>> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| bad_value(key, v, "is not an integer").into()),
    }
}

/// Prefixes as Neutron keeps them: one family, merged (`netaddr.cidr_merge`).
fn prefixes(v: &Value) -> Result<Vec<Cidr>> {
    let Some(list) = v.as_array() else {
        return Err(bad_value("prefixes", v, "is not a list").into());
    };
    let mut out: Vec<Cidr> = list.iter().map(cidr_attr).collect::<Result<_>>()?;
    if out.windows(2).any(|w| w[0].v6 != w[1].v6) {
        return Err(fault(
            400,
            "PrefixVersionMismatch",
            "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.",
        )
        .into());
    }
    Ok(merge(&mut out))
}

/// The smallest list of CIDRs covering the same addresses.
pub fn merge(list: &mut [Cidr]) -> Vec<Cidr> {
    list.sort_by_key(|c| (c.first, c.prefix));
    let mut out: Vec<Cidr> = Vec::new();
    for c in list.iter() {
        if out
            .last()
            .is_some_and(|l| l.contains(c.first) && l.contains(c.last()))
        {
            continue;
        }
        out.push(*c);
        // Two halves of one block become the block.
        while out.len() >= 2 {
            let (a, b) = (out[out.len() - 2], out[out.len() - 1]);
            let size = a.size();
            let parent = a.prefix.checked_sub(1);
            match parent {
                Some(p)
                    if a.prefix == b.prefix
                        && a.first % (size * 2) == 0
                        && b.first == a.first + size =>
                {
                    out.truncate(out.len() - 2);
                    out.push(Cidr {
                        first: a.first,
                        prefix: p,
                        v6: a.v6,
                    });
                }
                _ => break,
            }
        }
    }
    out
}

fn strings(list: &[Cidr]) -> Value {
    Value::Array(list.iter().map(|c| json!(c.to_string())).collect())
}

fn doc_prefixes(doc: &Value) -> Vec<Cidr> {
    doc["prefixes"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|p| ipam::parse_cidr(p.as_str()?))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks min ≤ default ≤ max within the family, as Neutron's pool reader.
fn check_bounds(v6: bool, min: i64, default: i64, max: i64) -> Result<()> {
    let top = if v6 { 128 } else { 32 };
    if min < 0 {
        return Err(illegal_bounds("min_prefixlen", min, "prefixlen", 0));
    }
    if max > top {
        return Err(illegal_bounds("max_prefixlen", max, "ip_version_max", top));
    }
    if min > max {
        return Err(illegal_bounds("min_prefixlen", min, "max_prefixlen", max));
    }
    if default < min {
        return Err(illegal_bounds(
            "default_prefixlen",
            default,
            "min_prefixlen",
            min,
        ));
    }
    if default > max {
        return Err(illegal_bounds(
            "default_prefixlen",
            default,
            "max_prefixlen",
            max,
        ));
    }
    Ok(())
}

/// The subnets allocated from a pool.
fn pool_subnets(c: &dyn Tx, pool_id: &str) -> Result<Vec<Cidr>> {
    Ok(store::all(c, "subnet", Scope::All)?
        .iter()
        .filter(|s| s["subnetpool_id"].as_str() == Some(pool_id))
        .filter_map(ipam::cidr_of)
        .collect())
}

fn allocation_error(reason: &str) -> crate::network::Error {
    // Neutron's SubnetAllocationError has no HTTP status of its own (it answers 500);
    // running out of space is the caller's conflict, so 409.
    fault(
        409,
        "SubnetAllocationError",
        format!("Failed to allocate subnet: {reason}."),
    )
    .into()
}

/// A CIDR for a new subnet from a pool: the one asked for if it is free and inside the
/// pool, or the first free block of `prefixlen` (default: the pool's).
pub fn allocate(
    c: &dyn Tx,
    pool: &Value,
    wanted: Option<Cidr>,
    prefixlen: Option<i64>,
) -> Result<Cidr> {
    let id = pool["id"].as_str().unwrap_or_default();
    let min = pool["min_prefixlen"].as_i64().unwrap_or(0);
    let max = pool["max_prefixlen"].as_i64().unwrap_or(128);
    let len = wanted
        .map(|w| i64::from(w.prefix))
        .or(prefixlen)
        .unwrap_or(pool["default_prefixlen"].as_i64().unwrap_or(min));
    if len > max {
        return Err(fault(400, "MaxPrefixSubnetAllocationError", format!("Unable to allocate subnet with prefix length {len}, maximum allowed prefix is {max}.")).into());
    }
    if len < min {
        return Err(fault(400, "MinPrefixSubnetAllocationError", format!("Unable to allocate subnet with prefix length {len}, minimum allowed prefix is {min}.")).into());
    }
    let used = pool_subnets(c, id)?;
    let prefixes = doc_prefixes(pool);
    if let Some(w) = wanted {
        let inside = prefixes
            .iter()
            .any(|p| p.contains(w.first) && p.contains(w.last()));
        if !inside || used.iter().any(|u| u.overlaps(&w)) {
            return Err(allocation_error(
                "Cannot allocate requested subnet from the available set of prefixes",
            ));
        }
        return Ok(w);
    }
    let Some(v6) = prefixes.first().map(|p| p.v6) else {
        return Err(allocation_error(&format!(
            "Insufficient prefix space to allocate subnet size /{len}"
        )));
    };
    let len = len as u8;
    for p in &prefixes {
        if len < p.prefix {
            continue;
        }
        let block = Cidr {
            first: p.first,
            prefix: len,
            v6,
        };
        let size = block.size();
        let mut at = p.first;
        while at <= p.last() {
            let cand = Cidr {
                first: at,
                prefix: len,
                v6,
            };
            match used
                .iter()
                .filter(|u| u.overlaps(&cand))
                .map(|u| u.last())
                .max()
            {
                None => return Ok(cand),
                // Past the last subnet in the way, rounded up to the block size.
                Some(end) => match end
                    .checked_add(1)
                    .and_then(|n| n.div_ceil(size).checked_mul(size))
                {
                    Some(next) if next > at => at = next,
                    _ => break,
                },
            }
        }
    }
    Err(allocation_error(&format!(
        "Insufficient prefix space to allocate subnet size /{len}"
    )))
}

/// The project's default pool of a family, if there is one it can use.
pub fn default_pool(c: &dyn Tx, ctx: &Ctx, version: i64) -> Result<Option<String>> {
    Ok(store::all(c, "subnetpool", Scope::All)?
        .into_iter()
        .find(|p| {
            p["is_default"] == json!(true)
                && p["ip_version"].as_i64() == Some(version)
                && SubnetPool::visible(ctx, p)
        })
        .and_then(|p| p["id"].as_str().map(str::to_string)))
}

fn only_default(c: &dyn Tx, version: i64, except: &str) -> Result<()> {
    let taken = store::all(c, "subnetpool", Scope::All)?.iter().any(|p| {
        p["is_default"] == json!(true)
            && p["ip_version"].as_i64() == Some(version)
            && p["id"].as_str() != Some(except)
    });
    if taken {
        return Err(bad("A default subnetpool for this IP family has already been set. Only one default may exist per IP family").into());
    }
    Ok(())
}

/// A smaller prefix list must still hold every subnet of the pool.
fn check_removal(c: &dyn Tx, pool_id: &str, keep: &[Cidr]) -> Result<()> {
    for s in pool_subnets(c, pool_id)? {
        if !keep
            .iter()
            .any(|p| p.contains(s.first) && p.contains(s.last()))
        {
            return Err(fault(
                400,
                "IllegalSubnetPoolPrefixUpdate",
                format!("Illegal update to prefixes: prefix of subnet {s} would be removed."),
            )
            .into());
        }
    }
    Ok(())
}

impl Kind for SubnetPool {
    const SINGULAR: &'static str = "subnetpool";
    const COLLECTION: &'static str = "subnetpools";
    const NAME: &'static str = "Subnet pool";
    const MUTABLE: &'static [&'static str] = &[
        "name",
        "description",
        "prefixes",
        "default_prefixlen",
        "min_prefixlen",
        "max_prefixlen",
        "is_default",
        "default_quota",
        "address_scope_id",
    ];

    fn visible(ctx: &Ctx, doc: &Value) -> bool {
        ctx.sees(doc) || doc["shared"] == json!(true)
    }

    fn create(_net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        text(&input, "name", 255)?;
        text(&input, "description", 255)?;
        let list = prefixes(input.get("prefixes").ok_or_else(|| required("prefixes"))?)?;
        let Some(v6) = list.first().map(|p| p.v6) else {
            return Err(bad_value("prefixes", &json!([]), "is not a non-empty list").into());
        };
        let shared = flag(&input, "shared", false)?;
        let is_default = flag(&input, "is_default", false)?;
        if shared && !ctx.admin {
            return Err(denied("create_subnetpool:shared").into());
        }
        if is_default && !ctx.admin {
            return Err(denied("create_subnetpool:is_default").into());
        }
        if input.get("address_scope_id").is_some_and(|v| !v.is_null()) {
            return Err(bad("Address scopes are not supported by this cloud").into());
        }
        let (dmin, dmax) = bounds(v6);
        let min = int(&input, "min_prefixlen")?.unwrap_or(dmin);
        let max = int(&input, "max_prefixlen")?.unwrap_or(dmax);
        let default = int(&input, "default_prefixlen")?.unwrap_or(min);
        check_bounds(v6, min, default, max)?;
        let version = if v6 { 6 } else { 4 };
        if is_default {
            only_default(c, version, "")?;
        }
        crate::network::resources::quotas::enforce(c, ctx, "subnetpool", 1)?;
        let mut doc = store::common(ctx, &input)?;
        for (k, v) in [
            ("prefixes", strings(&list)),
            ("ip_version", json!(version)),
            ("min_prefixlen", json!(min)),
            ("max_prefixlen", json!(max)),
            ("default_prefixlen", json!(default)),
            ("shared", json!(shared)),
            ("is_default", json!(is_default)),
            ("address_scope_id", Value::Null),
            (
                "default_quota",
                int(&input, "default_quota")?.map_or(Value::Null, |q| json!(q)),
            ),
        ] {
            doc.insert(k.into(), v);
        }
        let doc = Value::Object(doc);
        store::insert(c, "subnetpool", &doc)?;
        Ok(doc)
    }

    fn update(
        _net: &Net,
        c: &dyn Tx,
        ctx: &Ctx,
        doc: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<()> {
        text(input, "name", 255)?;
        text(input, "description", 255)?;
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        let v6 = doc["ip_version"].as_i64() == Some(6);
        if let Some(v) = input.get("prefixes") {
            let new = prefixes(v)?;
            if new.first().is_some_and(|p| p.v6 != v6) {
                return Err(fault(
                    400,
                    "PrefixVersionMismatch",
                    "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.",
                )
                .into());
            }
            // Neutron: an update may only grow the pool.
            for old in doc_prefixes(doc) {
                if !new
                    .iter()
                    .any(|p| p.contains(old.first) && p.contains(old.last()))
                {
                    return Err(fault(400, "IllegalSubnetPoolPrefixUpdate", "Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.").into());
                }
            }
            doc["prefixes"] = strings(&new);
        }
        let min =
            int(input, "min_prefixlen")?.unwrap_or(doc["min_prefixlen"].as_i64().unwrap_or(0));
        let max =
            int(input, "max_prefixlen")?.unwrap_or(doc["max_prefixlen"].as_i64().unwrap_or(128));
        let default = int(input, "default_prefixlen")?
            .unwrap_or(doc["default_prefixlen"].as_i64().unwrap_or(min));
        check_bounds(v6, min, default, max)?;
        doc["min_prefixlen"] = json!(min);
        doc["max_prefixlen"] = json!(max);
        doc["default_prefixlen"] = json!(default);
        if input.contains_key("is_default") {
            let d = flag(input, "is_default", false)?;
            if !ctx.admin {
                return Err(denied("update_subnetpool:is_default").into());
            }
            if d {
                only_default(c, doc["ip_version"].as_i64().unwrap_or(4), &id)?;
            }
            doc["is_default"] = json!(d);
        }
        if input.get("address_scope_id").is_some_and(|v| !v.is_null()) {
            return Err(bad("Address scopes are not supported by this cloud").into());
        }
        if input.contains_key("default_quota") {
            doc["default_quota"] = int(input, "default_quota")?.map_or(Value::Null, |q| json!(q));
        }
        for key in ["name", "description"] {
            if let Some(v) = input.get(key) {
                doc[key] = json!(v.as_str().unwrap_or(""));
            }
        }
        Ok(())
    }

    fn delete(_net: &Net, c: &dyn Tx, _ctx: &Ctx, doc: &Value) -> Result<()> {
        let id = doc["id"].as_str().unwrap_or_default();
        if !pool_subnets(c, id)?.is_empty() {
            return Err(fault(
                400,
                "SubnetPoolDeleteError",
                "Unable to delete subnet pool: Subnet pool has existing allocations.",
            )
            .into());
        }
        store::remove(c, "subnetpool", id)
    }
}

/// `PUT .../add_prefixes` and `.../remove_prefixes`: `{"prefixes": [...]}` in and out.
fn change_prefixes(svc: &Svc, req: &mut Request, resp: &mut Response, add: bool) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    let action = if add {
        "add_prefixes"
    } else {
        "remove_prefixes"
    };
    let id = req.param("subnetpool_id").unwrap_or_default().to_string();
    let v: Value = serde_json::from_slice(&req.body).map_err(|_| {
        Fault::bad_request("Malformed JSON in request body.").kind("HTTPBadRequest")
    })?;
    let given = v
        .get("prefixes")
        .ok_or_else(|| required("prefixes"))?
        .clone();
    let doc = svc.write(|c| {
        let mut doc = api::get::<SubnetPool>(c, &ctx, &id)?;
        if !ctx.owns(&doc) {
            return Err(denied(action).into());
        }
        let change = prefixes(&given)?;
        let v6 = doc["ip_version"].as_i64() == Some(6);
        if change.first().is_some_and(|p| p.v6 != v6) {
            return Err(fault(
                400,
                "PrefixVersionMismatch",
                "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.",
            )
            .into());
        }
        let mut now = doc_prefixes(&doc);
        let list = if add {
            now.extend(change);
            merge(&mut now)
        } else {
            let keep = subtract(&now, &change);
            check_removal(c, &id, &keep)?;
            keep
        };
        doc["prefixes"] = strings(&list);
        store::save(c, "subnetpool", &mut doc)?;
        Ok(doc)
    })?;
    resp.set_status(200);
    resp.json(&json!({"prefixes": doc["prefixes"]}));
    Ok(())
}

/// `have` minus the addresses of `take`, as CIDRs.
fn subtract(have: &[Cidr], take: &[Cidr]) -> Vec<Cidr> {
    let mut out = Vec::new();
    let mut work: Vec<Cidr> = have.to_vec();
    while let Some(c) = work.pop() {
        if take
            .iter()
            .any(|t| t.contains(c.first) && t.contains(c.last()))
        {
            continue;
        }
        if take.iter().any(|t| t.overlaps(&c)) && c.prefix < c.bits() {
            // Split in halves until each half is wholly kept or wholly taken.
            let p = c.prefix + 1;
            let half = Cidr {
                first: c.first,
                prefix: p,
                v6: c.v6,
            };
            work.push(half);
            work.push(Cidr {
                first: c.first + half.size(),
                prefix: p,
                v6: c.v6,
            });
            continue;
        }
        out.push(c);
    }
    merge(&mut out)
}

fn add_prefixes(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    change_prefixes(svc, req, resp, true)
}

fn remove_prefixes(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    change_prefixes(svc, req, resp, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(l: &[&str]) -> Vec<Cidr> {
        l.iter().map(|s| ipam::parse_cidr(s).unwrap()).collect()
    }

    #[test]
    fn prefixes_merge_and_subtract() {
        let mut l = cidrs(&["10.0.1.0/24", "10.0.0.0/24", "10.0.0.128/25"]);
        assert_eq!(merge(&mut l), cidrs(&["10.0.0.0/23"]));
        let left = subtract(&cidrs(&["10.0.0.0/23"]), &cidrs(&["10.0.1.0/24"]));
        assert_eq!(left, cidrs(&["10.0.0.0/24"]));
    }
}
