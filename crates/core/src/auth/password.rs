//! Password hashing: argon2id for new hashes; bcrypt hashes (what PocketBase stores) are still
//! accepted, so imported accounts keep working, and are replaced at the next sign-in.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::error::{CoreError, Result};

/// Hashes with argon2id at the crate's defaults (19 MiB, 2 passes: OWASP's recommendation).
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("hashing failed: {e}")))
}

/// Whether `stored` is a bcrypt hash (`$2a$`, `$2b$`, `$2y$`), which should be replaced.
pub fn is_legacy(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

/// Constant-time verification (done by the argon2 and bcrypt crates); false for malformed hashes.
pub fn verify(password: &str, stored: &str) -> bool {
    if is_legacy(stored) {
        return bcrypt::verify(password, stored).unwrap_or(false);
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Each argon2id hash holds 19 MiB while it runs: a burst of sign-ins (or a batch of signups)
/// must queue for a few slots, not allocate gigabytes at once.
static HASH_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Hashing is slow on purpose; keep it off the async runtime's worker threads.
pub async fn hash_blocking(password: String) -> Result<String> {
    let _slot = HASH_SLOTS
        .acquire()
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
}

pub async fn verify_blocking(password: String, stored: String) -> bool {
    let Ok(_slot) = HASH_SLOTS.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify(&password, &stored))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn bcrypt_hashes_are_accepted() {
        let h = bcrypt::hash("imported pw", 4).unwrap();
        assert!(is_legacy(&h));
        assert!(verify("imported pw", &h));
        assert!(!verify("other pw", &h));
        assert!(!is_legacy(&hash("x").unwrap()));
    }
}
