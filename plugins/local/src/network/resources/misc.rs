//! Read-only facts: availability zones (one, `nova`, for networks and routers) and each
//! network's IP availability (addresses in its subnets' allocation pools, and those
//! taken).

use std::net::IpAddr;

use jumpgate_plugin_api::prelude::*;

use serde_json::{json, Value};

use crate::network::store::{self, Scope};
use crate::network::{Ctx, Result, Svc};
use crate::store::Tx;

fn reply(resp: &mut Response, v: &Value) -> HandlerResult {
    resp.set_status(200);
    resp.json(v);
    Ok(())
}

fn fields(req: &Request) -> Vec<&str> {
    req.query_values("fields")
        .flat_map(|f| f.split(','))
        .filter(|f| !f.is_empty())
        .collect()
}

fn only(v: Value, fields: &[&str]) -> Value {
    match v {
        Value::Object(m) if !fields.is_empty() => Value::Object(
            m.into_iter()
                .filter(|(k, _)| fields.contains(&k.as_str()))
                .collect(),
        ),
        other => other,
    }
}

/// Whether `doc` passes the request's filters on `keys` (each may repeat: any value).
fn passes(req: &Request, doc: &Value, keys: &[&str]) -> bool {
    keys.iter().all(|k| {
        let mut wanted = req.query_values(k).peekable();
        if wanted.peek().is_none() {
            return true;
        }
        let have = match &doc[*k] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        wanted.any(|w| w == have)
    })
}

// ------------------------------------------------------------------ availability zones

fn availability_zones(_svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    // get_availability_zone is `role:reader`: a list shows none to a token without it.
    let reads = Ctx::of(req)?.reads();
    let f = fields(req);
    let zones: Vec<Value> = ["network", "router"]
        .iter()
        .filter(|_| reads)
        .map(|r| json!({"name": "nova", "resource": r, "state": "available"}))
        .filter(|z| passes(req, z, &["name", "resource", "state"]))
        .map(|z| only(z, &f))
        .collect();
    reply(resp, &json!({ "availability_zones": zones }))
}

// ------------------------------------------------------------------- IP availability

/// How many addresses an allocation pool holds (0 for one that does not parse).
fn pool_size(pool: &Value) -> u128 {
    let parse = |k: &str| pool[k].as_str().and_then(|s| s.parse::<IpAddr>().ok());
    let n = |ip: IpAddr| match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    match (parse("start"), parse("end")) {
        (Some(s), Some(e)) if s.is_ipv4() == e.is_ipv4() && n(e) >= n(s) => n(e) - n(s) + 1,
        _ => 0,
    }
}

/// A count as JSON: IPv6 pools can hold more than 2^64 addresses; Neutron shows the
/// number, so we show the largest we can.
fn count(n: u128) -> Value {
    json!(u64::try_from(n).unwrap_or(u64::MAX))
}

fn used_in(c: &dyn Tx, subnet_id: &str) -> Result<u128> {
    Ok(u128::from(c.ips_held(subnet_id)?))
}

/// One network's availability, its subnets optionally limited to one IP version.
fn availability(c: &dyn Tx, net: &Value, ip_version: Option<&str>) -> Result<Value> {
    let id = net["id"].as_str().unwrap_or_default();
    let (mut total, mut used) = (0u128, 0u128);
    let mut subnets = Vec::new();
    for s in store::all(c, "subnet", Scope::Network(id))? {
        if ip_version.is_some_and(|v| v.parse::<i64>().ok() != s["ip_version"].as_i64()) {
            continue;
        }
        let sid = s["id"].as_str().unwrap_or_default();
        let t: u128 = s["allocation_pools"]
            .as_array()
            .map(|p| p.iter().map(pool_size).sum())
            .unwrap_or(0);
        let u = used_in(c, sid)?;
        total += t;
        used += u;
        subnets.push(json!({
            "subnet_id": sid,
            "subnet_name": s["name"],
            "cidr": s["cidr"],
            "ip_version": s["ip_version"],
            "total_ips": count(t),
            "used_ips": count(u),
        }));
    }
    Ok(json!({
        "network_id": id,
        "network_name": net["name"],
        "project_id": net["project_id"],
        "tenant_id": net["project_id"],
        "total_ips": count(total),
        "used_ips": count(used),
        "subnet_ip_availability": subnets,
    }))
}

fn ip_availabilities(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let ctx = Ctx::of(req)?;
    // Only admins may see these; Neutron filters everything else out of a listing.
    if !ctx.admin {
        return reply(resp, &json!({ "network_ip_availabilities": [] }));
    }
    let ip_version = req.query_param("ip_version");
    let items = svc.read(|c| {
        let mut out = Vec::new();
        for net in store::all(c, "network", Scope::All)? {
            let a = availability(c, &net, ip_version)?;
            if passes(
                req,
                &a,
                &["network_id", "network_name", "project_id", "tenant_id"],
            ) {
                out.push(a);
            }
        }
        Ok(out)
    })?;
    let f = fields(req);
    let items: Vec<Value> = items.into_iter().map(|a| only(a, &f)).collect();
    reply(resp, &json!({ "network_ip_availabilities": items }))
}

fn ip_availability(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let id = req.param("network_id").unwrap_or_default().to_string();
    let missing =
        || Fault::not_found(format!("Network {id} could not be found.")).kind("NetworkNotFound");
    let a = svc.read(|c| match store::fetch(c, "network", &id)? {
        Some(net) => availability(c, &net, None).map(Some),
        None => Ok(None),
    })?;
    let a = a.ok_or_else(missing)?;
    reply(
        resp,
        &json!({ "network_ip_availability": only(a, &fields(req)) }),
    )
}

endpoint!(Svc; AvailabilityZones { on_get => availability_zones } nonblocking);
endpoint!(Svc; IpAvailabilities { on_get => ip_availabilities });
endpoint!(Svc; IpAvailability { on_get => ip_availability });

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_availability_zones" => AvailabilityZones,
        "v2_network_ip_availabilities" => IpAvailabilities,
        "v2_network_ip_availability" => IpAvailability,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn availability_counts_pools_and_taken_addresses() {
        let store = Store::memory();
        store
            .write(|c| {
                let net = json!({"id": "n1", "name": "net", "project_id": "p"});
                store::insert(c, "network", &net)?;
                store::insert(
                    c,
                    "subnet",
                    &json!({"id": "s1", "network_id": "n1", "name": "s", "cidr": "10.0.0.0/24",
                            "ip_version": 4,
                            "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.254"}]}),
                )?;
                let _ = c.claim_ip("s1", "10.0.0.2", 2, "x")?;
                let a = availability(c, &net, None)?;
                assert_eq!(a["total_ips"], json!(253));
                assert_eq!(a["used_ips"], json!(1));
                assert_eq!(a["subnet_ip_availability"][0]["used_ips"], json!(1));
                assert_eq!(availability(c, &net, Some("6"))?["total_ips"], json!(0));
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
        let v6 = json!({"start": "2001:db8::2", "end": "2001:db8::ffff:ffff:ffff:ffff"});
        assert_eq!(pool_size(&v6), (1u128 << 64) - 2);
    }
}
