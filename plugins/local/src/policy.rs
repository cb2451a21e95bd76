//! Who may call what: one policy table per service (`plugins/local/policies/<service>.policy`),
//! data read at setup, asked by every handler before it runs. Each row names an endpoint
//! (the catalog's nickname), a method, for action endpoints the action (the body's key),
//! the role the service's default policy asks for, and the policy's own name, which a
//! refusal quotes as the real service does.
//!
//! The roles are OpenStack's defaults (`nova/policies/base.py`, `cinder/policies/base.py`,
//! `glance/policies/base.py`, `neutron/conf/policies/base.py`,
//! `keystone/common/policies/base.py`): tokens carry implied roles (admin → manager →
//! member → reader), so a rule asks for the least role it needs. What the table cannot
//! say, whose resource a request names, each handler still decides by scoping its lookups
//! to the caller's project: another project's resource is the service's 404.

use jumpgate_plugin_api::prelude::*;
use jumpgate_plugin_api::{Dispatcher, Error as SetupError};

/// The caller of an authenticated request (401 without one).
pub fn caller(req: &Request) -> Result<AuthContext, Fault> {
    req.context()
        .ok_or_else(|| Fault::unauthorized("The request you have made requires authentication."))
}

/// Whether the token carries the `member` role (itself or implied by another).
pub fn is_member(caller: &AuthContext) -> bool {
    caller.has_role("member")
}

/// The least a caller needs, before any binding to a path parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No token: version documents, issuing a token.
    Public,
    /// Any token, whatever its roles (Nova's key pairs, Keystone's own-user rules).
    Any,
    /// `reader` (or a role implying it): the services' `PROJECT_READER`.
    Reader,
    /// `member`: the services' `PROJECT_MEMBER`, every ordinary change.
    Member,
    /// `manager`: the project manager of the 2024 defaults.
    Manager,
    /// `admin`.
    Admin,
    /// `admin` or `service` (Placement's `ADMIN_OR_SERVICE`: the services' own users, such
    /// as Nova's, hold the `service` role).
    Service,
}

/// A rule may bind the caller to a path parameter: the user the path names must be the
/// caller (`@user:user_id`), or the project it names the caller's project
/// (`@project:tenant_id`). An admin passes every binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    None,
    User(String),
    Project(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub role: Role,
    pub binding: Binding,
    /// The real service's policy name: `os_compute_api:servers:delete`.
    pub name: String,
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub endpoint: String,
    pub method: String,
    /// For action endpoints: the body's key this row polices (`reboot`).
    pub action: Option<String>,
    pub rule: Rule,
}

/// The table of `service`, as compiled into this build.
pub fn table_text(service: &str) -> Option<&'static str> {
    Some(match service {
        "identity" => include_str!("../policies/identity.policy"),
        "compute" => include_str!("../policies/compute.policy"),
        "image" => include_str!("../policies/image.policy"),
        "volume" => include_str!("../policies/volume.policy"),
        "network" => include_str!("../policies/network.policy"),
        "placement" => include_str!("../policies/placement.policy"),
        _ => return None,
    })
}

/// Parses a table: one row a line, `endpoint method action role name`, `-` for no action,
/// `#` to the end of a line a comment.
pub fn parse(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [endpoint, method, action, role, name] = cols[..] else {
            return Err(format!(
                "line {}: want 5 columns, got {}",
                n + 1,
                cols.len()
            ));
        };
        let (role, binding) = match role.split_once('@') {
            None => (role, Binding::None),
            Some((role, bound)) => match bound.split_once(':') {
                Some(("user", param)) => (role, Binding::User(param.into())),
                Some(("project", param)) => (role, Binding::Project(param.into())),
                _ => return Err(format!("line {}: bad binding {bound:?}", n + 1)),
            },
        };
        let role = match role {
            "public" => Role::Public,
            "any" => Role::Any,
            "reader" => Role::Reader,
            "member" => Role::Member,
            "manager" => Role::Manager,
            "admin" => Role::Admin,
            "service" => Role::Service,
            other => return Err(format!("line {}: unknown role {other:?}", n + 1)),
        };
        if !matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE") {
            return Err(format!("line {}: unknown method {method:?}", n + 1));
        }
        rows.push(Row {
            endpoint: endpoint.into(),
            method: method.into(),
            action: (action != "-").then(|| action.to_string()),
            rule: Rule {
                role,
                binding,
                name: name.into(),
            },
        });
    }
    Ok(rows)
}

impl Rule {
    /// Whether `caller` (None: no token) passes, for a request whose path parameters
    /// `param` reads.
    pub fn allows<'a>(
        &self,
        caller: Option<&AuthContext>,
        param: impl Fn(&str) -> Option<&'a str>,
    ) -> bool {
        let Some(c) = caller else {
            return self.role == Role::Public;
        };
        if c.is_admin {
            return true;
        }
        let role = match self.role {
            Role::Public | Role::Any => true,
            Role::Reader => c.has_role("reader"),
            Role::Member => c.has_role("member"),
            Role::Manager => c.has_role("manager"),
            Role::Admin => false,
            Role::Service => c.has_role("service"),
        };
        role && match &self.binding {
            Binding::None => true,
            Binding::User(p) => param(p) == Some(c.user_id.as_str()),
            Binding::Project(p) => param(p).is_some() && param(p) == c.project_id.as_deref(),
        }
    }
}

/// The 403 each service sends when its enforcer refuses `name`, in its own words.
/// Neutron hides what a caller may not read: a refused `GET` of one resource is its 404
/// (neutron/api/v2/base.py, "pretend that it doesn't exist").
pub fn denied(service: &str, method: &str, name: &str) -> Fault {
    match service {
        "network" if matches!(method, "GET" | "HEAD") => {
            Fault::not_found("The resource could not be found.").kind("HTTPNotFound")
        }
        "identity" => Fault::forbidden(format!(
            "You are not authorized to perform the requested action: {name}."
        )),
        "image" => Fault::forbidden(format!("You are not authorized to complete {name} action.")),
        "network" => Fault::forbidden(format!("(rule:{name}) is disallowed by policy"))
            .kind("PolicyNotAuthorized"),
        // placement/exception.py, PolicyNotAuthorized.
        "placement" => Fault::forbidden(format!("Policy does not allow {name} to be performed.")),
        // oslo.policy's PolicyNotAuthorized, as Nova and Cinder word it.
        _ => Fault::forbidden(format!("Policy doesn't allow {name} to be performed.")),
    }
}

/// A handler behind its rows of the service's table: the rules are asked before the
/// handler runs, so a refused caller never reaches a lookup, a body parser or a write.
pub struct Policed<H> {
    inner: H,
    service: String,
    rows: Vec<Row>,
}

impl<H: Handler> Policed<H> {
    /// `inner` as the endpoint `nickname` of `disp`'s service. Every method the handler
    /// answers must have a row: an endpoint without one is a setup error, so no endpoint
    /// can be served unpoliced.
    pub fn new(disp: &Dispatcher, nickname: &str, inner: H) -> Result<Self, SetupError> {
        let service = disp.service();
        let text = table_text(&service)
            .ok_or_else(|| SetupError(format!("no policy table for service {service}")))?;
        let rows: Vec<Row> = parse(text)
            .map_err(|e| SetupError(format!("policies/{service}.policy: {e}")))?
            .into_iter()
            .filter(|r| r.endpoint == nickname)
            .collect();
        for method in inner.allowed_methods() {
            if !rows.iter().any(|r| r.method == *method) {
                return Err(SetupError(format!(
                    "policies/{service}.policy has no row for {method} {nickname}"
                )));
            }
        }
        Ok(Policed {
            inner,
            service,
            rows,
        })
    }

    /// The rules a request must pass: its method's row, or on an action endpoint the rows
    /// of every action its body names (an action the table does not know is left to the
    /// handler, which answers the service's 400).
    fn check(&self, req: &Request) -> Result<(), Fault> {
        let method = req.method.as_str();
        let rows = || self.rows.iter().filter(move |r| r.method == method);
        // Only an action endpoint reads its body here, and only the top-level keys.
        let keys = if rows().any(|r| r.action.is_some()) {
            body_keys(&req.body)
        } else {
            Vec::new()
        };
        let named = |r: &Row| r.action.as_ref().is_some_and(|a| keys.contains(a));
        let by_action = rows().any(named);
        let caller = req.context();
        for row in rows().filter(|r| {
            if by_action {
                named(r)
            } else {
                r.action.is_none()
            }
        }) {
            if !row.rule.allows(caller.as_ref(), |p| req.param(p)) {
                return Err(match caller {
                    None => {
                        Fault::unauthorized("The request you have made requires authentication.")
                    }
                    Some(_) => denied(&self.service, method, &row.rule.name),
                });
            }
        }
        Ok(())
    }
}

/// The top-level keys of a JSON object body; none for anything else (the handler then
/// answers the malformed body).
fn body_keys(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<std::collections::HashMap<String, serde::de::IgnoredAny>>(body)
        .map(|m| m.into_keys().collect())
        .unwrap_or_default()
}

impl<H: Handler> Handler for Policed<H> {
    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.check(req)?;
        self.inner.on_get(req, resp)
    }

    fn on_head(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.check(req)?;
        self.inner.on_head(req, resp)
    }

    fn on_post(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.check(req)?;
        self.inner.on_post(req, resp)
    }

    fn on_put(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.check(req)?;
        self.inner.on_put(req, resp)
    }

    fn on_patch(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.check(req)?;
        self.inner.on_patch(req, resp)
    }

    fn on_delete(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        self.check(req)?;
        self.inner.on_delete(req, resp)
    }

    fn allowed_methods(&self) -> &'static [&'static str] {
        self.inner.allowed_methods()
    }

    fn streams_body(&self, req: &Request) -> bool {
        self.inner.streams_body(req)
    }

    fn is_nonblocking(&self) -> bool {
        self.inner.is_nonblocking()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(roles: &[&str], admin: bool) -> AuthContext {
        AuthContext {
            user_id: "u1".into(),
            project_id: Some("p1".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            is_admin: admin,
            ..Default::default()
        }
    }

    fn rule(text: &str) -> Rule {
        parse(text).unwrap().remove(0).rule
    }

    #[test]
    fn every_table_parses_and_names_every_policy() {
        for service in [
            "identity",
            "compute",
            "image",
            "volume",
            "network",
            "placement",
        ] {
            let rows = parse(table_text(service).unwrap()).unwrap();
            assert!(!rows.is_empty(), "{service}");
            for r in rows {
                assert_ne!(
                    r.rule.name, "TODO",
                    "{service}: {} {}",
                    r.method, r.endpoint
                );
            }
        }
    }

    #[test]
    fn a_row_is_five_columns_with_a_known_role_and_method() {
        let rows = parse("# c\nservers GET - reader os:index # why\n\n").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].action, None);
        assert_eq!(rows[0].rule.role, Role::Reader);
        let a = parse("server_action POST reboot member os:reboot").unwrap();
        assert_eq!(a[0].action.as_deref(), Some("reboot"));
        assert!(parse("servers GET - reader").is_err());
        assert!(parse("servers FETCH - reader x").is_err());
        assert!(parse("servers GET - owner x").is_err());
        assert!(parse("servers GET - any@group:g x").is_err());
    }

    #[test]
    fn each_role_passes_what_it_implies_and_admin_passes_all() {
        let none = |_: &str| None;
        let reader = token(&["reader"], false);
        let member = token(&["member", "reader"], false);
        let custom = token(&["auditor"], false);
        let admin = token(&["admin", "manager", "member", "reader"], true);
        let public = rule("e GET - public x");
        assert!(public.allows(None, none));
        assert!(public.allows(Some(&custom), none));
        let any = rule("e GET - any x");
        assert!(!any.allows(None, none));
        assert!(any.allows(Some(&custom), none));
        let read = rule("e GET - reader x");
        assert!(read.allows(Some(&reader), none));
        assert!(!read.allows(Some(&custom), none));
        let write = rule("e POST - member x");
        assert!(!write.allows(Some(&reader), none));
        assert!(write.allows(Some(&member), none));
        assert!(!rule("e POST - manager x").allows(Some(&member), none));
        let adm = rule("e POST - admin x");
        assert!(!adm.allows(Some(&member), none));
        assert!(adm.allows(Some(&admin), none));
        // Placement's ADMIN_OR_SERVICE: a service user (Nova's) without admin passes.
        let svc = rule("e POST - service x");
        assert!(svc.allows(Some(&token(&["service"], false)), none));
        assert!(svc.allows(Some(&admin), none));
        assert!(!svc.allows(Some(&member), none));
        assert!(!adm.allows(Some(&token(&["service"], false)), none));
    }

    #[test]
    fn a_binding_asks_the_path_for_the_callers_own_user_or_project() {
        let reader = token(&["reader"], false);
        let admin = token(&["admin"], true);
        let own_user = rule("e GET - any@user:user_id x");
        assert!(own_user.allows(Some(&reader), |p| (p == "user_id").then_some("u1")));
        assert!(!own_user.allows(Some(&reader), |p| (p == "user_id").then_some("u2")));
        assert!(!own_user.allows(Some(&reader), |_| None));
        assert!(own_user.allows(Some(&admin), |_| Some("u2")));
        let own_project = rule("e GET - reader@project:tenant_id x");
        assert!(own_project.allows(Some(&reader), |p| (p == "tenant_id").then_some("p1")));
        assert!(!own_project.allows(Some(&reader), |_| Some("p2")));
        assert!(!own_project.allows(Some(&token(&[], false)), |_| Some("p1")));
    }

    #[test]
    fn an_action_body_is_policed_by_each_action_it_names() {
        assert_eq!(
            body_keys(br#"{"reboot": {"type": "SOFT"}}"#),
            vec!["reboot"]
        );
        let mut both = body_keys(br#"{"a": 1, "b": [2]}"#);
        both.sort();
        assert_eq!(both, vec!["a", "b"]);
        assert!(body_keys(b"not json").is_empty());
        assert!(body_keys(b"[1]").is_empty());
    }
}
