//! Password hashing (argon2id, OWASP parameters, off the async threads) and policy.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::AccountError;

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in characters (bounds hashing work per request).
pub const MAX_LEN: usize = 256;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../assets/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// Checks length and the common-password list.
pub fn check_policy(password: &str) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(AccountError::WeakPassword("must be at least 8 characters"));
    }
    if chars > MAX_LEN {
        return Err(AccountError::WeakPassword("must be at most 256 characters"));
    }
    if COMMON.contains(password.to_lowercase().as_str()) {
        return Err(AccountError::WeakPassword("is too common"));
    }
    Ok(())
}

/// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    // The constants are within argon2's documented bounds, so `new` cannot fail.
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifies passwords on the blocking thread pool.
#[derive(Clone)]
pub struct Passwords {
    /// Verified against when the account does not exist, so that unknown accounts cost
    /// the same time as wrong passwords.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passwords(argon2id)")
    }
}

impl Passwords {
    /// Builds the hasher; computes the dummy hash once (tens of milliseconds).
    pub fn new() -> Result<Self, AccountError> {
        let dummy = hash_blocking(&super::secrets::random_token())?;
        Ok(Self {
            dummy_hash: dummy.into(),
        })
    }

    /// Hashes a password (call [`check_policy`] first).
    pub async fn hash(&self, password: String) -> Result<String, AccountError> {
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(|e| AccountError::Internal(format!("hashing task: {e}")))?
    }

    /// Verifies `password` against `hash`; with no hash (unknown account, passwordless
    /// account) it verifies against the dummy hash and answers `false`.
    pub async fn verify(
        &self,
        hash: Option<String>,
        password: String,
    ) -> Result<bool, AccountError> {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(|e| AccountError::Internal(format!("hashing task: {e}")))?;
        Ok(real && ok)
    }
}

fn hash_blocking(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Internal(format!("argon2: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str, accepted: bool) {
        assert_eq!(check_policy(password).is_ok(), accepted, "{password:?}");
    }

    #[test]
    fn policy() {
        check("short", false);
        check("1234567", false);
        check("password", false);
        check("PASSWORD", false);
        check("qwertyuiop", false);
        check("correct horse battery staple", true);
        check("Tr0ub4dor&3x", true);
        check(&"x".repeat(257), false);
        check("ñandú-río-7", true);
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let p = Passwords::new().expect("hasher");
        let h = p.hash("correct horse battery".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            p.verify(Some(h.clone()), "correct horse battery".into())
                .await
                .expect("v")
        );
        assert!(
            !p.verify(Some(h), "correct horse batter".into())
                .await
                .expect("v")
        );
        assert!(!p.verify(None, "anything".into()).await.expect("v"));
        assert!(
            !p.verify(Some("garbage".into()), "x".into())
                .await
                .expect("v")
        );
    }
}
