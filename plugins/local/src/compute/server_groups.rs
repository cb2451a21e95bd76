//! Server groups (`os-server-groups`): a project's named (anti-)affinity policies that
//! servers join when created with the `group` scheduler hint.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Map, Value};

use super::repo::ServerGroupRepo;
use super::servers::routes::{check_name, invalid};
use super::{body, param, quotas, reply, reply_empty, Call, Compute, Result};
use crate::store::Tx;

type Svc = Arc<Compute>;

endpoint!(Svc; Groups { on_get => list, on_post => create });
endpoint!(Svc; GroupItem { on_get => show, on_delete => delete });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_server_groups" => Groups,
        "v2_os_server_group" => GroupItem,
    }
    Ok(())
}

/// Nova's `osapi_max_limit`.
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub policy: String,
    pub rules: Map<String, Value>,
}

/// A group as Nova's `InstanceGroup.get_by_uuid` finds it for the caller: its query
/// (`_instance_group_get_query`, nova/objects/instance_group.py) filters on the context's
/// project unless the context is admin, so another project's group is not found at all.
fn find_for(c: &dyn ServerGroupRepo, call: &Call, id: &str) -> Result<Option<Group>> {
    Ok(c.server_group(id)?
        .filter(|g| call.is_admin() || g.project_id == call.project_id))
}

fn not_found(id: &str) -> Fault {
    Fault::not_found(format!("Instance group {id} could not be found."))
}

/// Puts a new server in a group (server create's `group` hint) and answers the group's
/// policy. A group the caller cannot see (unknown, or another project's) is a 400, as
/// Nova's server create turns `InstanceGroupNotFound` into; a group already holding
/// `server_group_members` of the user's servers is a 403.
pub fn add_member(c: &dyn Tx, call: &Call, group_id: &str, server_id: &str) -> Result<String> {
    let (project_id, user_id) = (call.project_id.as_str(), call.caller.user_id.as_str());
    let group = find_for(c, call, group_id)?.ok_or_else(|| {
        Fault::bad_request(format!("Instance group {group_id} could not be found."))
    })?;
    let limit = quotas::limit(c, project_id, user_id, "server_group_members")?;
    if limit >= 0 {
        let used = c.count_user_members(group_id, user_id, server_id)? as i64;
        if used + 1 > limit {
            return Err(quotas::exceeded("server_group_members", 1, used, limit).into());
        }
    }
    c.add_server_group_member(group_id, server_id)?;
    Ok(group.policy)
}

fn view(call: &Call, g: &Group, members: Vec<String>) -> Value {
    let mut v = json!({ "id": g.id, "name": g.name, "members": members });
    if call.version.at_least(64) {
        v["policy"] = json!(g.policy);
        v["rules"] = Value::Object(g.rules.clone());
    } else {
        v["policies"] = json!([g.policy]);
        // Nova showed an always-empty metadata until 2.64 removed it.
        v["metadata"] = json!({});
    }
    if call.version.at_least(13) {
        v["project_id"] = json!(g.project_id);
        v["user_id"] = json!(g.user_id);
    }
    v
}

// ---------------------------------------------------------------- handlers

fn query_error(name: &str, value: &str, why: &str) -> Fault {
    Fault::bad_request(format!(
        "Invalid input for query parameters {name}. Value: {value}. {why}"
    ))
}

fn non_negative(name: &str, raw: Option<&str>) -> std::result::Result<Option<usize>, Fault> {
    raw.map(|v| {
        v.parse::<usize>()
            .map_err(|_| query_error(name, v, &format!("'{v}' does not match '^[0-9]*$'")))
    })
    .transpose()
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    if call.version.at_least(75) {
        if let Some(p) = req
            .query_params
            .iter()
            .find(|p| !["all_projects", "limit", "offset"].contains(&p.name.as_str()))
        {
            return Err(Fault::bad_request(format!(
                "Invalid input for query parameters. Additional properties are not allowed ('{}' was unexpected)",
                p.name
            ))
            );
        }
    }
    let all = req.query_param("all_projects").is_some();
    if all {
        call.admin("os_compute_api:os-server-groups:index:all_projects")?;
    }
    let limit = match non_negative("limit", req.query_param("limit"))? {
        None | Some(0) => MAX_LIMIT,
        Some(n) => n.min(MAX_LIMIT),
    };
    let offset = non_negative("offset", req.query_param("offset"))?.unwrap_or(0);
    let project_id = call.project_id.clone();
    let groups = svc.read(|c| {
        c.server_groups(all, &project_id, limit, offset)?
            .into_iter()
            .map(|g| {
                let m = c.server_group_members(&g.id)?;
                Ok((g, m))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let out: Vec<Value> = groups
        .into_iter()
        .map(|(g, m)| view(&call, &g, m))
        .collect();
    reply(resp, &call, 200, &json!({ "server_groups": out }))
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "server_group_id")?.to_string();
    let (g, m) = svc.read(|c| {
        let g = find_for(c, &call, &id)?.ok_or_else(|| not_found(&id))?;
        let m = c.server_group_members(&id)?;
        Ok((g, m))
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({ "server_group": view(&call, &g, m) }),
    )
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let id = param(req, "server_group_id")?.to_string();
    svc.write(|c| {
        // Nova looks the group up first (404 for what the caller cannot see), then checks
        // the delete policy against it.
        find_for(c, &call, &id)?.ok_or_else(|| not_found(&id))?;
        Ok(c.delete_server_group(&id)?)
    })?;
    reply_empty(resp, &call, 204)
}

fn required(field: &str, within: &Value) -> Fault {
    invalid(
        field.rsplit('/').next().unwrap_or(field),
        within,
        &format!("'{field}' is a required property"),
    )
}

/// The policy and rules a create body asks for, as the request's version spells them.
fn policy_of(
    call: &Call,
    sg: &Map<String, Value>,
) -> std::result::Result<(String, Map<String, Value>), Fault> {
    let whole = Value::Object(sg.clone());
    let mut known: Vec<&str> = vec!["affinity", "anti-affinity"];
    if call.version.at_least(15) {
        known.extend(["soft-anti-affinity", "soft-affinity"]);
    }
    let check = |v: &Value, field: &str| -> std::result::Result<String, Fault> {
        match v.as_str() {
            Some(p) if known.contains(&p) => Ok(p.to_string()),
            _ => Err(invalid(
                field,
                v,
                &format!("{v} is not one of {known:?}").replace('"', "'"),
            )),
        }
    };
    if !call.version.at_least(64) {
        let policies = sg
            .get("policies")
            .ok_or_else(|| required("policies", &whole))?;
        let Some(list) = policies.as_array() else {
            return Err(invalid(
                "policies",
                policies,
                &format!("{policies} is not of type 'array'"),
            ));
        };
        if list.len() != 1 {
            let why = if list.is_empty() {
                "[] is too short".to_string()
            } else {
                format!("{policies} is too long")
            };
            return Err(invalid("policies", policies, &why));
        }
        return Ok((check(&list[0], "policies/0")?, Map::new()));
    }
    let policy = check(
        sg.get("policy").ok_or_else(|| required("policy", &whole))?,
        "policy",
    )?;
    let mut rules = Map::new();
    match sg.get("rules") {
        None => {}
        Some(Value::Object(given)) => {
            for (k, v) in given {
                if k != "max_server_per_host" {
                    return Err(invalid(
                        "rules",
                        &Value::Object(given.clone()),
                        &format!("Additional properties are not allowed ('{k}' was unexpected)"),
                    ));
                }
                let n = match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                        s.parse().ok()
                    }
                    _ => None,
                };
                match n {
                    Some(n) if n >= 1 => {
                        rules.insert(k.clone(), json!(n));
                    }
                    _ => {
                        return Err(invalid(
                            "rules/max_server_per_host",
                            v,
                            &format!("{v} is less than the minimum of 1"),
                        ))
                    }
                }
            }
        }
        Some(v) => return Err(invalid("rules", v, &format!("{v} is not of type 'object'"))),
    }
    if policy != "anti-affinity" && !rules.is_empty() {
        return Err(Fault::bad_request(
            "Only anti-affinity policy supports rules.",
        ));
    }
    Ok((policy, rules))
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let body = body(req)?;
    let Some(Value::Object(sg)) = body.get("server_group") else {
        return Err(required("server_group", &body));
    };
    if let Some(extra) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "server_group"))
    {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{extra}' was unexpected)"
        )));
    }
    let allowed: &[&str] = if call.version.at_least(64) {
        &["name", "policy", "rules"]
    } else {
        &["name", "policies"]
    };
    if let Some(extra) = sg.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{extra}' was unexpected)"
        )));
    }
    let name = check_name(
        "name",
        sg.get("name")
            .ok_or_else(|| required("name", &Value::Object(sg.clone())))?,
    )?;
    let (policy, rules) = policy_of(&call, sg)?;
    let group = Group {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        project_id: call.project_id.clone(),
        user_id: call.caller.user_id.clone(),
        policy,
        rules,
    };
    svc.write(|c| {
        quotas::enforce(
            c,
            &group.project_id,
            &group.user_id,
            &[("server_groups", 1)],
        )?;
        Ok(c.insert_server_group(&group, crate::time::now_ms())?)
    })?;
    reply(
        resp,
        &call,
        200,
        &json!({ "server_group": view(&call, &group, vec![]) }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::microversion::Version;
    use crate::store::sql::fixtures::TestServer;
    use crate::store::Store;

    fn call(minor: u16) -> Call {
        Call {
            caller: AuthContext::default(),
            version: Version(2, minor),
            project_id: "p".into(),
        }
    }

    #[test]
    fn members_join_leave_and_count_against_quota() {
        let store = Store::memory();
        store
            .write(|c| -> Result<()> {
                let g = Group {
                    id: "g".into(),
                    name: "g".into(),
                    project_id: "p".into(),
                    user_id: "u".into(),
                    policy: "anti-affinity".into(),
                    rules: Map::new(),
                };
                c.insert_server_group(&g, 0)?;
                c.set_quota_limit("p", None, "server_group_members", 2)?;
                for id in ["s1", "s2", "s3"] {
                    let s = TestServer {
                        id,
                        ..TestServer::default()
                    };
                    c.test_server(&s);
                }
                let mut u = call(1);
                u.caller.user_id = "u".into();
                assert_eq!(add_member(c, &u, "g", "s1")?, "anti-affinity");
                add_member(c, &u, "g", "s2")?;
                match add_member(c, &u, "g", "s3") {
                    Err(crate::compute::Error::Fault(f)) => assert_eq!(f.status, 403),
                    other => panic!("{other:?}"),
                }
                match add_member(c, &u, "nope", "s3") {
                    Err(crate::compute::Error::Fault(f)) => assert_eq!(f.status, 400),
                    other => panic!("{other:?}"),
                }
                // Another project's group is not found, as an unknown one; an admin's
                // context finds it.
                let mut other = call(1);
                other.project_id = "q".into();
                match add_member(c, &other, "g", "s3") {
                    Err(crate::compute::Error::Fault(f)) => {
                        assert_eq!(f.status, 400);
                        assert_eq!(f.message, "Instance group g could not be found.");
                    }
                    other => panic!("{other:?}"),
                }
                other.caller.is_admin = true;
                assert!(find_for(c, &other, "g")?.is_some());
                assert_eq!(c.groups_of_server("s1")?, vec!["g".to_string()]);
                assert_eq!(
                    c.server_group_members("g")?,
                    vec!["s1".to_string(), "s2".to_string()]
                );
                crate::compute::servers::repo::ServerRepo::leave_server_groups(c, "s1")?;
                assert!(c.groups_of_server("s1")?.is_empty());
                add_member(c, &u, "g", "s3")?;
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn bodies_follow_the_microversion() {
        let g = Group {
            id: "g".into(),
            name: "n".into(),
            project_id: "p".into(),
            user_id: "u".into(),
            policy: "affinity".into(),
            rules: Map::new(),
        };
        let keys = |v: Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k.join(",")
        };
        assert_eq!(
            keys(view(&call(1), &g, vec![])),
            "id,members,metadata,name,policies"
        );
        assert_eq!(
            keys(view(&call(13), &g, vec![])),
            "id,members,metadata,name,policies,project_id,user_id"
        );
        assert_eq!(
            keys(view(&call(64), &g, vec![])),
            "id,members,name,policy,project_id,rules,user_id"
        );
    }

    #[test]
    fn policies_are_checked_per_version() {
        let body = |v: Value| v.as_object().unwrap().clone();
        assert!(policy_of(&call(1), &body(json!({"policies": ["affinity"]}))).is_ok());
        assert!(policy_of(&call(1), &body(json!({"policies": ["soft-affinity"]}))).is_err());
        assert!(policy_of(&call(15), &body(json!({"policies": ["soft-affinity"]}))).is_ok());
        assert!(policy_of(&call(15), &body(json!({"policies": ["a", "b"]}))).is_err());
        let (p, r) = policy_of(
            &call(64),
            &body(json!({"policy": "anti-affinity", "rules": {"max_server_per_host": "3"}})),
        )
        .unwrap();
        assert_eq!(
            (p.as_str(), r["max_server_per_host"].clone()),
            ("anti-affinity", json!(3))
        );
        let f = policy_of(
            &call(64),
            &body(json!({"policy": "affinity", "rules": {"max_server_per_host": 3}})),
        )
        .unwrap_err();
        assert_eq!(f.message, "Only anti-affinity policy supports rules.");
        assert!(policy_of(
            &call(64),
            &body(json!({"policy": "anti-affinity", "rules": {"max_server_per_host": 0}}))
        )
        .is_err());
    }
}
