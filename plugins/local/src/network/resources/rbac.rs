//! RBAC policies: a network's owner shares it (`access_as_shared`) or offers it as an
//! external network (`access_as_external`) to one project or to all (`*`). A wildcard
//! policy is what makes a network `shared` (or `router:external`) for everyone.

use serde_json::{json, Map, Value};

use jumpgate_plugin_api::prelude::*;

use crate::network::api::{self, Kind};
use crate::network::resources::quotas;
use crate::network::store::{self, Scope};
use crate::network::{bad, denied, Ctx, Net, Result, Svc};
use crate::store::Tx;

pub struct RbacPolicy;

const OBJECT_TYPES: &[&str] = &["network"];
const ACTIONS: &[&str] = &["access_as_external", "access_as_shared"];

/// Whether a policy lets `project_id` use a network as a shared one.
pub fn shared_with(c: &dyn Tx, network_id: &str, project_id: &str) -> Result<bool> {
    grants(c, network_id, "access_as_shared", project_id)
}

/// Whether a policy lets `project_id` use a network as an external one.
pub fn external_for(c: &dyn Tx, network_id: &str, project_id: &str) -> Result<bool> {
    grants(c, network_id, "access_as_external", project_id)
}

fn grants(c: &dyn Tx, object_id: &str, action: &str, project_id: &str) -> Result<bool> {
    Ok(c.rbac_grants(object_id, action, project_id)?)
}

/// The policies on one object.
fn policies_on(c: &dyn Tx, object_id: &str) -> Result<Vec<Value>> {
    Ok(c.rbac_policies_on(object_id)?)
}

/// Removes every policy on an object (it is being deleted).
pub fn remove_for_object(c: &dyn Tx, object_id: &str) -> Result<()> {
    for p in policies_on(c, object_id)? {
        store::remove(c, "rbac_policy", p["id"].as_str().unwrap_or_default())?;
    }
    Ok(())
}

/// Makes a network's wildcard policies match its `shared` and `router:external` flags: a
/// network created or changed with those flags gets (or loses) the policy Neutron makes
/// for it.
pub fn sync_network_flags(c: &dyn Tx, network: &Value) -> Result<()> {
    let id = network["id"].as_str().unwrap_or_default();
    let owner = network["project_id"].as_str().unwrap_or_default();
    for (flag, action) in [
        ("shared", "access_as_shared"),
        ("router:external", "access_as_external"),
    ] {
        let wanted = network[flag] == json!(true);
        let existing: Vec<Value> = policies_on(c, id)?
            .into_iter()
            .filter(|p| p["action"] == action && p["target_tenant"] == "*")
            .collect();
        if wanted && existing.is_empty() {
            let policy = json!({
                "id": crate::network::new_id(),
                "project_id": owner,
                "tenant_id": owner,
                "object_type": "network",
                "object_id": id,
                "action": action,
                "target_tenant": "*",
            });
            store::insert(c, "rbac_policy", &policy)?;
        } else if !wanted {
            for p in existing {
                store::remove(c, "rbac_policy", p["id"].as_str().unwrap_or_default())?;
            }
        }
    }
    Ok(())
}

fn required<'a>(input: &'a Map<String, Value>, key: &str) -> Result<&'a str> {
    match input.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(v) if !v.is_null() => Err(bad(format!("'{v}' is not a valid string")).into()),
        _ => Err(Fault::bad_request(format!(
            "Failed to parse request. Required attribute '{key}' not specified"
        ))
        .kind("HTTPBadRequest")
        .into()),
    }
}

fn one_of(attr: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let list: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    Err(bad(format!(
        "Invalid input for {attr}. Reason: '{value}' is not in [{}]",
        list.join(", ")
    ))
    .into())
}

/// A non-admin may not offer anything to every project (Neutron's `restrict_wildcard`).
fn check_target(ctx: &Ctx, target: &str, action: &str) -> Result<()> {
    if target == "*" && !ctx.admin {
        return Err(denied(&format!("{action}_rbac_policy:target_tenant")).into());
    }
    Ok(())
}

/// The network a policy is about, which the caller must own unless an admin.
fn network_for(c: &dyn Tx, ctx: &Ctx, id: &str) -> Result<Value> {
    let net = store::fetch(c, "network", id)?.ok_or_else(|| {
        Fault::not_found(format!("Network {id} could not be found.")).kind("NetworkNotFound")
    })?;
    if !ctx.owns(&net) {
        // Neutron hides a network the caller cannot see; one it sees but does not own
        // is refused.
        if !crate::network::resources::networks::Network::visible(ctx, &net)
            && !shared_with(c, id, &ctx.project_id)?
        {
            return Err(
                Fault::not_found(format!("Network {id} could not be found."))
                    .kind("NetworkNotFound")
                    .into(),
            );
        }
        return Err(bad("Only admins can manipulate policies on objects they do not own").into());
    }
    Ok(net)
}

/// Sets a network's `shared` and `router:external` from its wildcard policies.
fn refresh_flags(c: &dyn Tx, network_id: &str, policies: &[Value]) -> Result<()> {
    let Some(mut net) = store::fetch(c, "network", network_id)? else {
        return Ok(());
    };
    let wildcard = |action: &str| {
        policies
            .iter()
            .any(|p| p["action"] == action && p["target_tenant"] == "*")
    };
    let shared = wildcard("access_as_shared");
    let external = wildcard("access_as_external");
    if net["shared"] != json!(shared) || net["router:external"] != json!(external) {
        net["shared"] = json!(shared);
        net["router:external"] = json!(external);
        store::save(c, "network", &mut net)?;
    }
    Ok(())
}

/// 409 if taking `policy` away (with `remaining` still in force) would strand another
/// project's ports or subnets on the shared network.
fn check_not_in_use(c: &dyn Tx, policy: &Value, remaining: &[Value]) -> Result<()> {
    if policy["action"] != "access_as_shared" {
        return Ok(());
    }
    let network_id = policy["object_id"].as_str().unwrap_or_default();
    let Some(net) = store::fetch(c, "network", network_id)? else {
        return Ok(());
    };
    let owner = net["project_id"].as_str().unwrap_or_default();
    let covered = |project: &str| {
        project == owner
            || remaining.iter().any(|p| {
                p["action"] == "access_as_shared"
                    && (p["target_tenant"] == "*" || p["target_tenant"] == project)
            })
    };
    let target = policy["target_tenant"].as_str().unwrap_or_default();
    let mut users = Vec::new();
    for kind in ["port", "subnet"] {
        for d in store::all(c, kind, Scope::Network(network_id))? {
            if kind == "port"
                && d["device_owner"]
                    .as_str()
                    .is_some_and(|o| o.starts_with("network:dhcp"))
            {
                continue;
            }
            let project = d["project_id"].as_str().unwrap_or_default();
            if (target == "*" || target == project) && !covered(project) {
                users.push(format!("{kind} {}", d["id"].as_str().unwrap_or_default()));
            }
        }
    }
    if users.is_empty() {
        return Ok(());
    }
    Err(Fault::conflict(format!(
        "RBAC policy on object {network_id} cannot be removed because other objects depend on it.\nDetails: {}",
        users.join(", ")
    ))
    .kind("RbacPolicyInUse")
    .into())
}

impl Kind for RbacPolicy {
    const SINGULAR: &'static str = "rbac_policy";
    const COLLECTION: &'static str = "rbac_policies";
    const NAME: &'static str = "RBAC policy";
    const MUTABLE: &'static [&'static str] = &["target_tenant"];

    fn create(_net: &Net, c: &dyn Tx, ctx: &Ctx, input: Map<String, Value>) -> Result<Value> {
        let object_type = required(&input, "object_type")?;
        let object_id = required(&input, "object_id")?;
        let action = required(&input, "action")?;
        let target = required(&input, "target_tenant")?;
        one_of("object_type", object_type, OBJECT_TYPES)?;
        one_of("action", action, ACTIONS)?;
        check_target(ctx, target, "create")?;
        network_for(c, ctx, object_id)?;
        if policies_on(c, object_id)?
            .iter()
            .any(|p| p["action"] == action && p["target_tenant"] == target)
        {
            return Err(
                Fault::conflict("An RBAC policy already exists with those values.")
                    .kind("DuplicateRbacPolicy")
                    .into(),
            );
        }
        let common = store::common(ctx, &input)?;
        let project = common["project_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        quotas::enforce_for(c, &project, "rbac_policy", 1)?;
        // RBAC policies have no name, description, tags or timestamps in Neutron.
        let doc = json!({
            "id": common["id"],
            "project_id": project,
            "tenant_id": project,
            "object_type": object_type,
            "object_id": object_id,
            "action": action,
            "target_tenant": target,
        });
        store::insert(c, "rbac_policy", &doc)?;
        if target == "*" {
            refresh_flags(c, object_id, &policies_on(c, object_id)?)?;
        }
        Ok(doc)
    }

    fn update(
        _net: &Net,
        c: &dyn Tx,
        ctx: &Ctx,
        doc: &mut Value,
        input: &Map<String, Value>,
    ) -> Result<()> {
        let target = required(input, "target_tenant")?;
        check_target(ctx, target, "update")?;
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        let object_id = doc["object_id"].as_str().unwrap_or_default().to_string();
        let mut changed = doc.clone();
        changed["target_tenant"] = json!(target);
        let mut others: Vec<Value> = policies_on(c, &object_id)?
            .into_iter()
            .filter(|p| p["id"] != json!(id))
            .collect();
        if others
            .iter()
            .any(|p| p["action"] == doc["action"] && p["target_tenant"] == target)
        {
            return Err(
                Fault::conflict("An RBAC policy already exists with those values.")
                    .kind("DuplicateRbacPolicy")
                    .into(),
            );
        }
        others.push(changed);
        check_not_in_use(c, doc, &others)?;
        if doc["target_tenant"] == "*" || target == "*" {
            refresh_flags(c, &object_id, &others)?;
        }
        doc["target_tenant"] = json!(target);
        Ok(())
    }

    fn delete(_net: &Net, c: &dyn Tx, _ctx: &Ctx, doc: &Value) -> Result<()> {
        let id = doc["id"].as_str().unwrap_or_default();
        let object_id = doc["object_id"].as_str().unwrap_or_default();
        let others: Vec<Value> = policies_on(c, object_id)?
            .into_iter()
            .filter(|p| p["id"] != json!(id))
            .collect();
        check_not_in_use(c, doc, &others)?;
        store::remove(c, "rbac_policy", id)?;
        if doc["target_tenant"] == "*" {
            refresh_flags(c, object_id, &others)?;
        }
        Ok(())
    }
}

pub fn setup(disp: &Dispatcher, svc: &Svc) -> std::result::Result<(), Error> {
    api::serve::<RbacPolicy>(disp, svc, "v2_rbac_policies", "v2_rbac_policy")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn wildcard_and_project_policies_share_a_network() {
        let store = Store::memory();
        store
            .write(|c| {
                store::insert(
                    c,
                    "network",
                    &json!({"id": "n1", "project_id": "owner", "shared": false, "router:external": false}),
                )?;
                assert!(!shared_with(c, "n1", "p2")?);
                store::insert(
                    c,
                    "rbac_policy",
                    &json!({"id": "r1", "project_id": "owner", "object_type": "network",
                            "object_id": "n1", "action": "access_as_shared", "target_tenant": "p2"}),
                )?;
                assert!(shared_with(c, "n1", "p2")?);
                assert!(!shared_with(c, "n1", "p3")?);
                assert!(!external_for(c, "n1", "p2")?);
                let net = json!({"id": "n1", "project_id": "owner", "shared": true, "router:external": false});
                sync_network_flags(c, &net)?;
                assert!(shared_with(c, "n1", "p3")?);
                remove_for_object(c, "n1")?;
                assert!(!shared_with(c, "n1", "p2")?);
                Ok::<_, crate::network::Error>(())
            })
            .unwrap();
    }
}
