//! Tokens: self-contained and sealed with AES-256-GCM under a key derived from
//! `secret_key` (HKDF-SHA256). They carry the caller (user, scope, roles, methods, times,
//! audit id), so validating one needs no store, only the cached revocation list.
//! `previous_secret_keys` still open tokens sealed before a rotation.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::repo::IdentityRepo;
use crate::store::{Store, StoreError};

/// The first byte of every token: the format, also authenticated.
const VERSION: u8 = 1;

/// What a token says. Short field names: it travels in every request's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// user id, name, domain id, domain name
    pub u: (String, String, String, String),
    /// project id, name, domain id, domain name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<(String, String, String, String)>,
    /// domain id, name (domain scope)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<(String, String)>,
    /// system scope
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub s: bool,
    /// role (id, name)
    pub r: Vec<(String, String)>,
    /// methods
    pub m: Vec<String>,
    /// issued at, expires at (unix milliseconds: a password change and the login right
    /// after it fall in the same second)
    pub iat: i64,
    pub exp: i64,
    /// audit ids: this token's, then the one it was rescoped from
    pub a: Vec<String>,
    /// application credential id
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ac: Option<String>,
}

/// Seals and opens tokens.
pub struct Sealer {
    current: Aes256Gcm,
    previous: Vec<Aes256Gcm>,
}

fn cipher(secret: &str) -> Aes256Gcm {
    let hk = Hkdf::<Sha256>::new(Some(b"jumpgate"), secret.as_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit; expand cannot fail here.
    let _ = hk.expand(b"token encryption v1", &mut key);
    Aes256Gcm::new(&key.into())
}

impl Sealer {
    pub fn new(secret: &str, previous: &[String]) -> Sealer {
        Sealer {
            current: cipher(secret),
            previous: previous.iter().map(|s| cipher(s)).collect(),
        }
    }

    pub fn seal(&self, claims: &Claims) -> Result<String, String> {
        let plain = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|e| format!("no randomness: {e}"))?;
        let sealed = self
            .current
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &[VERSION],
                },
            )
            .map_err(|_| "sealing a token failed".to_string())?;
        let mut raw = Vec::with_capacity(1 + 12 + sealed.len());
        raw.push(VERSION);
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(raw))
    }

    /// The claims of a token sealed with the current or a previous key; `None` for anything
    /// else (forged, corrupted, another cloud's).
    pub fn open(&self, token: &str) -> Option<Claims> {
        let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if raw.len() < 1 + 12 + 16 || raw[0] != VERSION {
            return None;
        }
        let (nonce, sealed) = raw[1..].split_at(12);
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find_map(|c| {
                c.decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &[VERSION],
                    },
                )
                .ok()
            })
            .and_then(|plain| serde_json::from_slice(&plain).ok())
    }
}

/// A revocation event: tokens issued at or before `issued_before` that match every field
/// given are revoked.
#[derive(Debug, Clone, PartialEq)]
pub struct Revocation {
    pub audit_id: Option<String>,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub app_cred_id: Option<String>,
    pub issued_before: i64,
}

impl Revocation {
    fn matches(&self, c: &Claims) -> bool {
        c.iat <= self.issued_before
            && self.audit_id.as_ref().is_none_or(|a| c.a.contains(a))
            && self.user_id.as_ref().is_none_or(|u| *u == c.u.0)
            && self
                .project_id
                .as_ref()
                .is_none_or(|p| c.p.as_ref().is_some_and(|cp| cp.0 == *p))
            && self
                .app_cred_id
                .as_ref()
                .is_none_or(|a| c.ac.as_deref() == Some(a.as_str()))
    }
}

/// Revocation events, cached: re-read from the store only when its revision changed, and
/// that is looked at most once per `REFRESH`, so validation costs no store round trip.
/// Another host sharing the store sees a revocation within `REFRESH`.
pub struct Revocations {
    cache: RwLock<Cached>,
}

struct Cached {
    rev: i64,
    events: Vec<Revocation>,
    checked: Option<Instant>,
}

const REFRESH: Duration = Duration::from_millis(500);

impl Revocations {
    pub fn new() -> Revocations {
        Revocations {
            cache: RwLock::new(Cached {
                rev: -1,
                events: Vec::new(),
                checked: None,
            }),
        }
    }

    /// Whether `claims` are revoked.
    pub fn revoked(&self, store: &Store, claims: &Claims) -> Result<bool, StoreError> {
        let stale = {
            let c = self.cache.read().unwrap_or_else(|e| e.into_inner());
            c.checked.is_none_or(|t| t.elapsed() > REFRESH)
        };
        if stale {
            self.refresh(store)?;
        }
        let c = self.cache.read().unwrap_or_else(|e| e.into_inner());
        Ok(c.events.iter().any(|e| e.matches(claims)))
    }

    /// Re-reads the events if the store's revision moved.
    pub fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let rev = store.read(|c| c.revocation_rev())?;
        let known = self.cache.read().unwrap_or_else(|e| e.into_inner()).rev;
        let events = if rev != known {
            Some(store.read(|c| c.revocations(now_ms()))?)
        } else {
            None
        };
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if let Some(events) = events {
            c.events = events;
            c.rev = rev;
        }
        c.checked = Some(Instant::now());
        Ok(())
    }

    /// Forces the next check to look at the store (after this host revoked something).
    pub fn invalidate(&self) {
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .checked = None;
    }
}

/// Records a revocation in the caller's transaction. `ttl_ms` bounds how long it is kept:
/// no token it could match outlives it.
pub fn record(tx: &dyn IdentityRepo, r: &Revocation, ttl_ms: i64) -> Result<(), StoreError> {
    // A minute's grace past expiry, for hosts whose clocks run a little behind.
    tx.record_revocation(r, r.issued_before + ttl_ms + 1000, now_ms() - 60_000)
}

pub use crate::time::now_ms;

/// A fresh audit id: 22 characters of URL-safe base64, as Keystone's.
pub fn audit_id() -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            u: (
                "u1".into(),
                "alice".into(),
                "default".into(),
                "Default".into(),
            ),
            p: Some((
                "p1".into(),
                "demo".into(),
                "default".into(),
                "Default".into(),
            )),
            d: None,
            s: false,
            r: vec![("r1".into(), "member".into())],
            m: vec!["password".into()],
            iat: 100,
            exp: 200,
            a: vec![audit_id()],
            ac: None,
        }
    }

    #[test]
    fn seal_then_open() {
        let s = Sealer::new("k", &[]);
        let c = claims();
        let t = s.seal(&c).unwrap();
        assert_eq!(s.open(&t), Some(c));
    }

    #[test]
    fn another_key_cannot_open_and_a_flipped_bit_fails() {
        let t = Sealer::new("k", &[]).seal(&claims()).unwrap();
        assert_eq!(Sealer::new("other", &[]).open(&t), None);
        let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(
            Sealer::new("k", &[]).open(&URL_SAFE_NO_PAD.encode(raw)),
            None
        );
        assert_eq!(Sealer::new("k", &[]).open("garbage"), None);
    }

    #[test]
    fn previous_keys_still_open_after_rotation() {
        let c = claims();
        let old = Sealer::new("old", &[]).seal(&c).unwrap();
        let rotated = Sealer::new("new", &["old".into()]);
        assert_eq!(rotated.open(&old), Some(c));
    }

    #[test]
    fn revocations_match_on_every_given_field() {
        let c = claims();
        let by_audit = Revocation {
            audit_id: Some(c.a[0].clone()),
            user_id: None,
            project_id: None,
            app_cred_id: None,
            issued_before: 100,
        };
        assert!(by_audit.matches(&c));
        let later_token = Claims {
            iat: 101,
            ..c.clone()
        };
        let by_user = Revocation {
            audit_id: None,
            user_id: Some("u1".into()),
            project_id: None,
            app_cred_id: None,
            issued_before: 100,
        };
        assert!(by_user.matches(&c));
        assert!(
            !by_user.matches(&later_token),
            "tokens issued after the event stay valid"
        );
        let other_project = Revocation {
            project_id: Some("p2".into()),
            ..by_user
        };
        assert!(!other_project.matches(&c));
    }
}
