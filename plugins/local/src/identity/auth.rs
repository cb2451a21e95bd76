//! Authentication: `POST /v3/auth/tokens` with the password, token and
//! application_credential methods and every scope; `POST /v2.0/tokens`; validating and
//! revoking tokens; the validator the host's auth hook asks.

use std::sync::Arc;

use jumpgate_plugin_api::{AuthContext, Fault, Request, Validator};
use serde_json::{json, Map, Value};

use super::catalog;
use super::model::{self, Target, User};
use super::token::{self, Claims, Revocation};
use super::Identity;
use crate::time::{iso_micros, iso_seconds, now_ms};

/// Keystone says no more than this to a failed login, whatever failed.
pub const UNAUTHORIZED: &str = "The request you have made requires authentication.";

fn unauthorized() -> Fault {
    Fault::unauthorized(UNAUTHORIZED)
}

/// The scope a token asks for.
#[derive(Debug, Clone, PartialEq)]
enum Scope {
    Unscoped,
    Project(model::Project),
    Domain(model::Domain),
    System,
}

/// Who authenticated, and how.
struct Authenticated {
    user: User,
    methods: Vec<String>,
    /// Audit ids inherited from a token being rescoped.
    parent_audit: Option<String>,
    /// Expiry capped by the token or credential authenticated with.
    max_exp: Option<i64>,
    app_cred: Option<model::AppCred>,
}

impl Identity {
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(model::Repo) -> model::Result<T>,
    ) -> Result<T, Fault> {
        self.store.read(|c| f(c)).map_err(|e| self.fault(e))
    }

    /// `POST /v3/auth/tokens`: 201 and the token in `X-Subject-Token`.
    pub fn issue_v3(&self, req: &Request) -> Result<(String, Value), Fault> {
        let body: Value = req.json()?;
        let auth = body
            .get("auth")
            .and_then(Value::as_object)
            .ok_or_else(|| Fault::bad_request("'auth' is a required property"))?;
        let identity = auth
            .get("identity")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                Fault::bad_request(
                    "Invalid input for field 'auth': 'identity' is a required property",
                )
            })?;
        let methods: Vec<String> = identity
            .get("methods")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if methods.is_empty() {
            return Err(Fault::bad_request(
                "Invalid input for field 'identity': 'methods' is a required property",
            ));
        }
        let who = self.authenticate(identity, &methods)?;
        let scope = match (auth.get("scope"), &who.app_cred) {
            (Some(_), Some(_)) => {
                return Err(Fault::unauthorized(
                    "Application credentials cannot request a scope.",
                ))
            }
            (_, Some(ac)) => Scope::Project(self.read(|c| model::get_project(c, &ac.project_id))?),
            (Some(s), None) => self.scope(s)?,
            (None, None) => self.default_scope(&who.user)?,
        };
        let claims = self.claims(&who, &scope)?;
        let token = self.sealer.seal(&claims).map_err(Fault::internal)?;
        let nocatalog = super::routes::flag(req, "nocatalog");
        Ok((token, self.render_v3(req, &claims, !nocatalog)?))
    }

    fn authenticate(
        &self,
        identity: &Map<String, Value>,
        methods: &[String],
    ) -> Result<Authenticated, Fault> {
        let mut found: Option<Authenticated> = None;
        for method in methods {
            let section = identity
                .get(method)
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    Fault::bad_request(format!(
                        "Invalid input for field 'identity': '{method}' is a required property"
                    ))
                })?;
            let who = match method.as_str() {
                "password" => self.by_password(section)?,
                "token" => self.by_token(section)?,
                "application_credential" => self.by_app_cred(section)?,
                _ => {
                    return Err(Fault::unauthorized(
                        "Attempted to authenticate with an unsupported method.",
                    ))
                }
            };
            // Several methods must agree on the user.
            if let Some(prev) = &found {
                if prev.user.id != who.user.id {
                    return Err(unauthorized());
                }
            }
            found = Some(match found {
                None => who,
                Some(prev) => Authenticated {
                    methods: prev.methods.into_iter().chain(who.methods).collect(),
                    parent_audit: prev.parent_audit.or(who.parent_audit),
                    max_exp: match (prev.max_exp, who.max_exp) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    },
                    app_cred: prev.app_cred.or(who.app_cred),
                    ..prev
                },
            });
        }
        let mut who = found.ok_or_else(unauthorized)?;
        let inherited = std::mem::take(&mut who.methods);
        who.methods = methods.to_vec();
        for m in inherited {
            if !who.methods.contains(&m) {
                who.methods.push(m);
            }
        }
        let domain = self.read(|c| model::get_domain(c, &who.user.domain_id))?;
        if !who.user.enabled || !domain.enabled {
            return Err(unauthorized());
        }
        Ok(who)
    }

    /// A user named by id, or by name within a domain named by id or name.
    fn find_user(&self, user: &Map<String, Value>) -> Result<Option<User>, Fault> {
        let lookup = |c: model::Repo| -> model::Result<Option<User>> {
            if let Some(id) = user.get("id").and_then(Value::as_str) {
                return Ok(model::get_user(c, id).ok());
            }
            let Some(name) = user.get("name").and_then(Value::as_str) else {
                return Ok(None);
            };
            let domain = user.get("domain").and_then(Value::as_object);
            let domain_id = match domain {
                Some(d) => match (
                    d.get("id").and_then(Value::as_str),
                    d.get("name").and_then(Value::as_str),
                ) {
                    (Some(id), _) => id.to_string(),
                    (None, Some(name)) => match model::find_domain_by_name(c, name) {
                        Ok(d) => d.id,
                        Err(_) => return Ok(None),
                    },
                    _ => return Ok(None),
                },
                None => return Err(model::Error::Invalid("Expected domain ID or Name".into())),
            };
            Ok(model::find_user(c, name, &domain_id).ok())
        };
        self.read(lookup)
    }

    fn by_password(&self, section: &Map<String, Value>) -> Result<Authenticated, Fault> {
        let user = section
            .get("user")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                Fault::bad_request(
                    "Invalid input for field 'password': 'user' is a required property",
                )
            })?;
        let password = user
            .get("password")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let found = self.find_user(user)?;
        // The same work whether or not the user exists.
        let ok = self.hasher.verify(
            password,
            found.as_ref().and_then(|u| u.password_hash.as_deref()),
        );
        match found {
            Some(user) if ok => Ok(Authenticated {
                user,
                methods: vec![],
                parent_audit: None,
                max_exp: None,
                app_cred: None,
            }),
            _ => Err(unauthorized()),
        }
    }

    fn by_token(&self, section: &Map<String, Value>) -> Result<Authenticated, Fault> {
        let id = section.get("id").and_then(Value::as_str).ok_or_else(|| {
            Fault::bad_request("Invalid input for field 'token': 'id' is a required property")
        })?;
        let claims = self.open_valid(id).ok_or_else(unauthorized)?;
        if claims.ac.is_some() {
            return Err(Fault::forbidden(
                "A token created with an application credential cannot be rescoped.",
            ));
        }
        let user = self
            .read(|c| model::get_user(c, &claims.u.0))
            .map_err(|_| unauthorized())?;
        Ok(Authenticated {
            user,
            // A rescoped token keeps the methods of the one it came from.
            methods: claims.m.clone(),
            parent_audit: claims.a.first().cloned(),
            max_exp: Some(claims.exp),
            app_cred: None,
        })
    }

    fn by_app_cred(&self, section: &Map<String, Value>) -> Result<Authenticated, Fault> {
        let secret = section
            .get("secret")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let found = match section.get("id").and_then(Value::as_str) {
            Some(id) => self.read(|c| Ok(model::get_app_cred(c, id).ok()))?,
            None => {
                let name = section
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let user = section
                    .get("user")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                match self.find_user(&user)? {
                    Some(u) => self.read(|c| Ok(model::find_app_cred(c, &u.id, name).ok()))?,
                    None => None,
                }
            }
        };
        let ok = self
            .hasher
            .verify(secret, found.as_ref().map(|a| a.secret_hash.as_str()));
        let Some(ac) = found.filter(|_| ok) else {
            return Err(unauthorized());
        };
        let expires = ac
            .expires_at
            .as_deref()
            .and_then(crate::time::parse_iso)
            .map(|s| s * 1000);
        if expires.is_some_and(|e| e <= now_ms()) {
            return Err(unauthorized());
        }
        let user = self
            .read(|c| model::get_user(c, &ac.user_id))
            .map_err(|_| unauthorized())?;
        Ok(Authenticated {
            user,
            methods: vec![],
            parent_audit: None,
            max_exp: expires,
            app_cred: Some(ac),
        })
    }

    fn scope(&self, scope: &Value) -> Result<Scope, Fault> {
        // Explicitly unscoped (Horizon's login asks for it): keystone takes the string
        // "unscoped", or a scope object naming it, and then ignores the default project.
        if scope.as_str() == Some("unscoped") || scope.get("unscoped").is_some() {
            return Ok(Scope::Unscoped);
        }
        let by_name_or_id = |obj: &Map<String, Value>| -> (Option<String>, Option<String>) {
            (
                obj.get("id").and_then(Value::as_str).map(str::to_string),
                obj.get("name").and_then(Value::as_str).map(str::to_string),
            )
        };
        if let Some(p) = scope.get("project").and_then(Value::as_object) {
            let project = self.read(|c| match by_name_or_id(p) {
                (Some(id), _) => model::get_project(c, &id),
                (None, Some(name)) => {
                    let d = p
                        .get("domain")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    let domain_id = match by_name_or_id(&d) {
                        (Some(id), _) => id,
                        (None, Some(n)) => model::find_domain_by_name(c, &n)?.id,
                        _ => {
                            return Err(model::Error::Invalid("Expected domain ID or Name".into()))
                        }
                    };
                    model::find_project(c, &name, &domain_id)
                }
                _ => Err(model::Error::Invalid("Expected project ID or Name".into())),
            });
            return match project {
                Ok(p) if p.enabled => Ok(Scope::Project(p)),
                Ok(_) => Err(unauthorized()),
                Err(f) if f.status == 400 => Err(f),
                Err(_) => Err(Fault::unauthorized(format!(
                    "{UNAUTHORIZED} (the project to scope to was not found)"
                ))),
            };
        }
        if let Some(d) = scope.get("domain").and_then(Value::as_object) {
            let domain = self.read(|c| match by_name_or_id(d) {
                (Some(id), _) => model::get_domain(c, &id),
                (None, Some(n)) => model::find_domain_by_name(c, &n),
                _ => Err(model::Error::Invalid("Expected domain ID or Name".into())),
            });
            return match domain {
                Ok(d) if d.enabled => Ok(Scope::Domain(d)),
                Err(f) if f.status == 400 => Err(f),
                _ => Err(unauthorized()),
            };
        }
        if scope
            .get("system")
            .is_some_and(|s| s.get("all") == Some(&Value::Bool(true)))
        {
            return Ok(Scope::System);
        }
        if scope.get("OS-TRUST:trust").is_some() {
            return Err(Fault::forbidden("Trusts are not supported by this cloud."));
        }
        Err(Fault::bad_request(
            "Invalid input for field 'scope': expected project, domain or system",
        ))
    }

    /// Without a scope, Keystone scopes to the user's default project if they may use it.
    fn default_scope(&self, user: &User) -> Result<Scope, Fault> {
        let Some(pid) = &user.default_project_id else {
            return Ok(Scope::Unscoped);
        };
        let project = self.read(|c| {
            let p = model::get_project(c, pid)?;
            let roles = model::effective_role_ids(c, &user.id, &Target::Project(p.id.clone()))?;
            Ok((!roles.is_empty() && p.enabled).then_some(p))
        })?;
        Ok(project.map(Scope::Project).unwrap_or(Scope::Unscoped))
    }

    fn claims(&self, who: &Authenticated, scope: &Scope) -> Result<Claims, Fault> {
        let user = &who.user;
        let (user_domain, roles) = self.read(|c| {
            let d = model::get_domain(c, &user.domain_id)?;
            let target = match scope {
                Scope::Unscoped => return Ok((d, vec![])),
                Scope::Project(p) => Target::Project(p.id.clone()),
                Scope::Domain(dom) => Target::Domain(dom.id.clone()),
                Scope::System => Target::System,
            };
            let mut ids = model::effective_role_ids(c, &user.id, &target)?;
            if let Some(ac) = &who.app_cred {
                ids.retain(|r| ac.roles.contains(r));
            }
            let roles = model::roles_by_ids(c, &ids)?;
            Ok((d, roles))
        })?;
        if roles.is_empty() && *scope != Scope::Unscoped {
            let what = match scope {
                Scope::Project(p) => format!("project {}", p.id),
                Scope::Domain(d) => format!("domain {}", d.id),
                _ => "the system".to_string(),
            };
            return Err(Fault::unauthorized(format!(
                "User {} has no access to {what}",
                user.id
            )));
        }
        let now = now_ms();
        let exp = now + self.token_ttl * 1000;
        let exp = who.max_exp.map_or(exp, |m| m.min(exp));
        let (p, d) = match scope {
            Scope::Project(p) => {
                let pd = self.read(|c| model::get_domain(c, &p.domain_id))?;
                (Some((p.id.clone(), p.name.clone(), pd.id, pd.name)), None)
            }
            Scope::Domain(dom) => (None, Some((dom.id.clone(), dom.name.clone()))),
            _ => (None, None),
        };
        let mut audit = vec![token::audit_id()];
        audit.extend(who.parent_audit.clone());
        Ok(Claims {
            u: (
                user.id.clone(),
                user.name.clone(),
                user_domain.id,
                user_domain.name,
            ),
            p,
            d,
            s: *scope == Scope::System,
            r: roles.into_iter().map(|r| (r.id, r.name)).collect(),
            m: who.methods.clone(),
            iat: now,
            exp,
            a: audit,
            ac: who.app_cred.as_ref().map(|a| a.id.clone()),
        })
    }

    /// A token's claims if it opens, has not expired and is not revoked.
    pub fn open_valid(&self, token: &str) -> Option<Claims> {
        let claims = self.sealer.open(token)?;
        if claims.exp <= now_ms() {
            return None;
        }
        match self.revocations.revoked(&self.store, &claims) {
            Ok(false) => Some(claims),
            Ok(true) => None,
            Err(e) => {
                self.app.log(
                    jumpgate_plugin_api::LogLevel::Error,
                    &format!("revocation check: {e}"),
                );
                None
            }
        }
    }

    /// Keystone v3's token body.
    pub fn render_v3(&self, req: &Request, c: &Claims, with_catalog: bool) -> Result<Value, Fault> {
        let mut t = json!({
            "methods": c.m,
            "user": {
                "id": c.u.0, "name": c.u.1,
                "domain": {"id": c.u.2, "name": c.u.3},
                "password_expires_at": null,
            },
            "audit_ids": c.a,
            "expires_at": iso_micros(c.exp),
            "issued_at": iso_micros(c.iat),
        });
        let scoped = c.p.is_some() || c.d.is_some() || c.s;
        if let Some((id, name, did, dname)) = &c.p {
            t["project"] = json!({"id": id, "name": name, "domain": {"id": did, "name": dname}});
            t["is_domain"] = json!(false);
        }
        if let Some((id, name)) = &c.d {
            t["domain"] = json!({"id": id, "name": name});
        }
        if c.s {
            t["system"] = json!({"all": true});
        }
        if scoped {
            t["roles"] =
                c.r.iter()
                    .map(|(id, name)| json!({"id": id, "name": name}))
                    .collect();
            if with_catalog {
                let entries = self.catalog(req, c.p.as_ref().map(|p| p.0.as_str()))?;
                t["catalog"] = catalog::v3(&entries);
            }
        }
        if let Some(ac) = &c.ac {
            let app_cred = self.read(|conn| Ok(model::get_app_cred(conn, ac).ok()))?;
            t["application_credential"] = json!({
                "id": ac,
                "name": app_cred.as_ref().map(|a| a.name.clone()),
                "restricted": !app_cred.as_ref().is_some_and(|a| a.unrestricted),
            });
        }
        Ok(json!({ "token": t }))
    }

    /// `DELETE /v3/auth/tokens`: revokes the subject token (and its rescoped children,
    /// which carry its audit id).
    pub fn revoke(&self, claims: &Claims) -> Result<(), Fault> {
        let event = Revocation {
            audit_id: claims.a.first().cloned(),
            user_id: None,
            project_id: None,
            app_cred_id: None,
            issued_before: now_ms(),
        };
        self.record(&event)
    }

    /// Records a revocation event now, and makes this host see it at once.
    pub fn record(&self, event: &Revocation) -> Result<(), Fault> {
        let ttl = self.token_ttl * 1000;
        self.store
            .write(|tx| token::record(tx, event, ttl))
            .map_err(|e| self.fault(e.into()))?;
        self.revocations.invalidate();
        Ok(())
    }

    /// Every token of `user_id` issued so far stops working (password change, disable, delete).
    pub fn revoke_user_in(&self, tx: model::Repo, user_id: &str) -> model::Result<()> {
        let event = Revocation {
            audit_id: None,
            user_id: Some(user_id.into()),
            project_id: None,
            app_cred_id: None,
            issued_before: now_ms(),
        };
        token::record(tx, &event, self.token_ttl * 1000)?;
        Ok(())
    }

    /// After a transaction that recorded revocations committed.
    pub fn revocations_changed(&self) {
        self.revocations.invalidate();
    }

    // ------------------------------------------------------------ v2.0

    /// `POST /v2.0/tokens`: password or token, scoped to a tenant by id or name (users of
    /// the default domain only, as Keystone's v2.0 was).
    pub fn issue_v2(&self, req: &Request) -> Result<Value, Fault> {
        let body: Value = req.json()?;
        let auth = body
            .get("auth")
            .and_then(Value::as_object)
            .ok_or_else(|| Fault::bad_request("Expecting to find auth in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error."))?;
        let who = if let Some(pc) = auth.get("passwordCredentials").and_then(Value::as_object) {
            let mut user = Map::new();
            if let Some(id) = pc.get("userId") {
                user.insert("id".into(), id.clone());
            }
            if let Some(name) = pc.get("username") {
                user.insert("name".into(), name.clone());
                user.insert("domain".into(), json!({"id": model::DEFAULT_DOMAIN}));
            }
            user.insert(
                "password".into(),
                pc.get("password").cloned().unwrap_or(Value::Null),
            );
            let mut section = Map::new();
            section.insert("user".into(), Value::Object(user));
            self.by_password(&section)?
        } else if let Some(t) = auth.get("token").and_then(Value::as_object) {
            self.by_token(t)?
        } else {
            return Err(Fault::bad_request(
                "Expecting to find passwordCredentials or token in auth.",
            ));
        };
        if who.user.domain_id != model::DEFAULT_DOMAIN {
            return Err(unauthorized());
        }
        let who = Authenticated {
            methods: vec!["password".into()],
            ..who
        };
        let project = match (
            auth.get("tenantId").and_then(Value::as_str),
            auth.get("tenantName").and_then(Value::as_str),
        ) {
            (Some(id), _) => Some(
                self.read(|c| model::get_project(c, id))
                    .map_err(|_| unauthorized())?,
            ),
            (None, Some(name)) => Some(
                self.read(|c| model::find_project(c, name, model::DEFAULT_DOMAIN))
                    .map_err(|_| unauthorized())?,
            ),
            _ => None,
        };
        let scope = project.map(Scope::Project).unwrap_or(Scope::Unscoped);
        let claims = self.claims(&who, &scope)?;
        let token = self.sealer.seal(&claims).map_err(Fault::internal)?;
        self.render_v2(req, &token, &claims, true)
    }

    /// Keystone v2.0's `access`.
    pub fn render_v2(
        &self,
        req: &Request,
        token: &str,
        c: &Claims,
        with_catalog: bool,
    ) -> Result<Value, Fault> {
        let mut token_body = json!({
            "id": token,
            "issued_at": iso_seconds(c.iat / 1000),
            "expires": iso_seconds(c.exp / 1000),
            "audit_ids": c.a,
        });
        let mut catalog = json!([]);
        if let Some((id, name, _, _)) = &c.p {
            let project = self.read(|conn| model::get_project(conn, id))?;
            token_body["tenant"] = json!({"id": id, "name": name, "enabled": project.enabled, "description": project.description});
            if with_catalog {
                catalog = catalog::v2(&self.catalog(req, Some(id))?);
            }
        }
        Ok(json!({"access": {
            "token": token_body,
            "serviceCatalog": catalog,
            "user": {
                "id": c.u.0,
                "name": c.u.1,
                "username": c.u.1,
                "roles": c.r.iter().map(|(_, name)| json!({"name": name})).collect::<Vec<_>>(),
                "roles_links": [],
            },
            "metadata": {
                "is_admin": 0,
                "roles": c.r.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
            },
        }}))
    }
}

/// What the host's auth hook calls for every protected request.
pub struct TokenCheck(pub Arc<Identity>);

impl Validator for TokenCheck {
    fn validate(&self, token: &str) -> Result<Option<AuthContext>, String> {
        Ok(self.0.open_valid(token).map(|c| context(&c)))
    }
}

/// The request env the auth hook sets from a token.
pub fn context(c: &Claims) -> AuthContext {
    let roles: Vec<String> = c.r.iter().map(|(_, name)| name.clone()).collect();
    AuthContext {
        user_id: c.u.0.clone(),
        user_name: c.u.1.clone(),
        user_domain_id: c.u.2.clone(),
        user_domain_name: c.u.3.clone(),
        project_id: c.p.as_ref().map(|p| p.0.clone()),
        project_name: c.p.as_ref().map(|p| p.1.clone()),
        project_domain_id: c.p.as_ref().map(|p| p.2.clone()),
        project_domain_name: c.p.as_ref().map(|p| p.3.clone()),
        domain_id: c.d.as_ref().map(|d| d.0.clone()),
        domain_name: c.d.as_ref().map(|d| d.1.clone()),
        system_scope: c.s,
        is_admin: roles.iter().any(|r| r == "admin"),
        roles,
        expires_at: Some(iso_micros(c.exp)),
        audit_id: c.a.first().cloned(),
    }
}
