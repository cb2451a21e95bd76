//! Password hashing: argon2id with a configurable cost. An unknown user is checked against a
//! dummy hash of the same cost, so both answers take the same time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// argon2id parameters: `[local] password_hash_memory_kib` and `password_hash_iterations`.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    /// A hash of nothing anyone knows, verified when the user does not exist.
    dummy: String,
}

impl Hasher {
    /// OWASP's argon2id minimum is 19 MiB and 2 iterations.
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Hasher, String> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| format!("password hash cost: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut hasher = Hasher {
            argon,
            dummy: String::new(),
        };
        hasher.dummy = hasher.hash(&uuid::Uuid::new_v4().to_string())?;
        Ok(hasher)
    }

    pub fn hash(&self, password: &str) -> Result<String, String> {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|e| format!("no randomness: {e}"))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| format!("hashing a password: {e}"))
    }

    /// Whether `password` matches `hash`; with no hash (no such user, or a user without a
    /// password) the same work is done and the answer is no.
    pub fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let stored = hash.unwrap_or(&self.dummy);
        let ok = PasswordHash::new(stored)
            .map(|parsed| {
                self.argon
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && hash.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_what_it_hashed_and_nothing_else() {
        let h = Hasher::new(1024, 1).unwrap();
        let stored = h.hash("s3cret").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify("s3cret", Some(&stored)));
        assert!(!h.verify("s3cret!", Some(&stored)));
        assert!(!h.verify("anything", None));
    }
}
