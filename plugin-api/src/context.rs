//! The request env: the keys hooks write into `Request::env`, and the authenticated caller
//! they describe. Kept as name/value pairs so new keys need no ABI change.

use crate::abi::Pair;

/// Keys of `Request::env`.
pub mod env {
    /// `req-<uuid>`, also sent back as `X-OpenStack-Request-Id`.
    pub const REQUEST_ID: &str = "request_id";
    /// The client's address, `ip:port`.
    pub const REMOTE_ADDR: &str = "remote_addr";
    /// `https` when the client reached the host over TLS, else `http` (WSGI's
    /// `wsgi.url_scheme`): the scheme of every URL handed back, unless a proxy says
    /// otherwise (`X-Forwarded-Proto`).
    pub const URL_SCHEME: &str = "url_scheme";
    /// The project that fills `{tenant_id}` in URLs: the token's project unless a hook says otherwise.
    pub const TENANT_ID: &str = "tenant_id";
    /// The `X-Auth-Token` that was accepted.
    pub const AUTH_TOKEN: &str = "auth_token";
    pub const USER_ID: &str = "user_id";
    pub const USER_NAME: &str = "user_name";
    pub const USER_DOMAIN_ID: &str = "user_domain_id";
    pub const USER_DOMAIN_NAME: &str = "user_domain_name";
    pub const PROJECT_ID: &str = "project_id";
    pub const PROJECT_NAME: &str = "project_name";
    pub const PROJECT_DOMAIN_ID: &str = "project_domain_id";
    pub const PROJECT_DOMAIN_NAME: &str = "project_domain_name";
    pub const DOMAIN_ID: &str = "domain_id";
    pub const DOMAIN_NAME: &str = "domain_name";
    /// `all` for a system-scoped token.
    pub const SYSTEM_SCOPE: &str = "system_scope";
    /// Role names, comma separated.
    pub const ROLES: &str = "roles";
    /// `true` or `false`.
    pub const IS_ADMIN: &str = "is_admin";
    /// ISO 8601, UTC.
    pub const EXPIRES_AT: &str = "expires_at";
    pub const AUDIT_ID: &str = "audit_id";
}

/// Who is calling, as the token validator described them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthContext {
    pub user_id: String,
    pub user_name: String,
    pub user_domain_id: String,
    pub user_domain_name: String,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub project_domain_id: Option<String>,
    pub project_domain_name: Option<String>,
    pub domain_id: Option<String>,
    pub domain_name: Option<String>,
    pub system_scope: bool,
    pub roles: Vec<String>,
    pub is_admin: bool,
    pub expires_at: Option<String>,
    pub audit_id: Option<String>,
}

impl AuthContext {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The env entries describing this caller.
    pub fn to_env(&self) -> Vec<Pair> {
        let mut out = vec![
            Pair::new(env::USER_ID, self.user_id.as_str()),
            Pair::new(env::USER_NAME, self.user_name.as_str()),
            Pair::new(env::USER_DOMAIN_ID, self.user_domain_id.as_str()),
            Pair::new(env::USER_DOMAIN_NAME, self.user_domain_name.as_str()),
            Pair::new(env::ROLES, self.roles.join(",")),
            Pair::new(env::IS_ADMIN, if self.is_admin { "true" } else { "false" }),
        ];
        let optional = [
            (env::PROJECT_ID, &self.project_id),
            (env::PROJECT_NAME, &self.project_name),
            (env::PROJECT_DOMAIN_ID, &self.project_domain_id),
            (env::PROJECT_DOMAIN_NAME, &self.project_domain_name),
            (env::DOMAIN_ID, &self.domain_id),
            (env::DOMAIN_NAME, &self.domain_name),
            (env::EXPIRES_AT, &self.expires_at),
            (env::AUDIT_ID, &self.audit_id),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                out.push(Pair::new(key, v.as_str()));
            }
        }
        if self.system_scope {
            out.push(Pair::new(env::SYSTEM_SCOPE, "all"));
        }
        out
    }

    /// The caller described by `entries`, or `None` when no user is named (no auth ran).
    pub fn from_env(entries: &[Pair]) -> Option<AuthContext> {
        let get = |key: &str| {
            entries
                .iter()
                .rev()
                .find(|p| p.name == key)
                .map(|p| p.value.to_string())
        };
        let user_id = get(env::USER_ID)?;
        Some(AuthContext {
            user_id,
            user_name: get(env::USER_NAME).unwrap_or_default(),
            user_domain_id: get(env::USER_DOMAIN_ID).unwrap_or_default(),
            user_domain_name: get(env::USER_DOMAIN_NAME).unwrap_or_default(),
            project_id: get(env::PROJECT_ID),
            project_name: get(env::PROJECT_NAME),
            project_domain_id: get(env::PROJECT_DOMAIN_ID),
            project_domain_name: get(env::PROJECT_DOMAIN_NAME),
            domain_id: get(env::DOMAIN_ID),
            domain_name: get(env::DOMAIN_NAME),
            system_scope: get(env::SYSTEM_SCOPE).is_some_and(|s| s == "all"),
            roles: get(env::ROLES)
                .map(|r| {
                    r.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            is_admin: get(env::IS_ADMIN).is_some_and(|s| s == "true"),
            expires_at: get(env::EXPIRES_AT),
            audit_id: get(env::AUDIT_ID),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_env() {
        let ctx = AuthContext {
            user_id: "u1".into(),
            user_name: "alice".into(),
            project_id: Some("p1".into()),
            roles: vec!["member".into(), "reader".into()],
            system_scope: true,
            ..Default::default()
        };
        assert_eq!(AuthContext::from_env(&ctx.to_env()), Some(ctx));
    }

    #[test]
    fn no_user_means_no_context() {
        assert_eq!(
            AuthContext::from_env(&[Pair::new(env::REQUEST_ID, "req-1")]),
            None
        );
    }
}
