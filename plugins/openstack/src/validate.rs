//! `validate_tokens = true`: the host's auth hook asks the upstream Keystone about each
//! token (`GET /v3/auth/tokens`, the token as its own subject) and keeps the answer for
//! `token_cache_time`, so a burst of requests costs Keystone one validation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jumpgate_plugin_api::{AuthContext, Validator};
use serde_json::Value;

/// Entries kept before the cache is emptied: a bound on memory, not a tuning knob.
const CACHE_ENTRIES: usize = 10_000;

pub struct UpstreamKeystone {
    agent: ureq::Agent,
    url: String,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Option<AuthContext>)>>,
}

impl UpstreamKeystone {
    pub fn new(agent: ureq::Agent, identity: &str, ttl: Duration) -> UpstreamKeystone {
        UpstreamKeystone {
            agent,
            url: format!("{identity}/v3/auth/tokens"),
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn ask(&self, token: &str) -> Result<Option<AuthContext>, String> {
        let mut answer = self
            .agent
            .get(&self.url)
            .header("X-Auth-Token", token)
            .header("X-Subject-Token", token)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| format!("validating a token at {}: {e}", self.url))?;
        match answer.status().as_u16() {
            200 => {
                let body: Value = answer
                    .body_mut()
                    .read_json()
                    .map_err(|e| format!("Keystone's token at {}: {e}", self.url))?;
                Ok(context(&body["token"]))
            }
            401 | 403 | 404 => Ok(None),
            other => Err(format!("validating a token at {}: HTTP {other}", self.url)),
        }
    }
}

impl Validator for UpstreamKeystone {
    fn validate(&self, token: &str) -> Result<Option<AuthContext>, String> {
        let now = Instant::now();
        if let Some((at, ctx)) = lock(&self.cache).get(token) {
            if now.duration_since(*at) < self.ttl {
                return Ok(ctx.clone());
            }
        }
        let ctx = self.ask(token)?;
        let mut cache = lock(&self.cache);
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(token.to_string(), (now, ctx.clone()));
        Ok(ctx)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The caller a Keystone v3 token body names.
fn context(token: &Value) -> Option<AuthContext> {
    let s = |v: &Value| v.as_str().map(str::to_string);
    let user = &token["user"];
    let roles: Vec<String> = token["roles"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| s(&x["name"])).collect())
        .unwrap_or_default();
    Some(AuthContext {
        user_id: s(&user["id"])?,
        user_name: s(&user["name"]).unwrap_or_default(),
        user_domain_id: s(&user["domain"]["id"]).unwrap_or_default(),
        user_domain_name: s(&user["domain"]["name"]).unwrap_or_default(),
        project_id: s(&token["project"]["id"]),
        project_name: s(&token["project"]["name"]),
        project_domain_id: s(&token["project"]["domain"]["id"]),
        project_domain_name: s(&token["project"]["domain"]["name"]),
        domain_id: s(&token["domain"]["id"]),
        domain_name: s(&token["domain"]["name"]),
        system_scope: token.get("system").is_some(),
        is_admin: roles.iter().any(|r| r == "admin"),
        roles,
        expires_at: s(&token["expires_at"]),
        audit_id: token["audit_ids"].get(0).and_then(s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_keystone_token_names_its_caller() {
        let t = json!({"user": {"id": "u1", "name": "admin", "domain": {"id": "default", "name": "Default"}},
            "project": {"id": "p1", "name": "admin", "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "r", "name": "admin"}, {"id": "m", "name": "member"}],
            "expires_at": "2026-11-23T10:00:00.000000Z", "audit_ids": ["a1"]});
        let c = context(&t).unwrap();
        assert_eq!(c.user_id, "u1");
        assert_eq!(c.project_id.as_deref(), Some("p1"));
        assert!(c.is_admin);
        assert_eq!(c.audit_id.as_deref(), Some("a1"));
        assert!(context(&json!({})).is_none());
    }
}
