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

type HashJob = Box<dyn FnOnce() + Send>;

/// A few long-lived threads do all hashing. Each argon2id hash holds 19 MiB while it runs; on
/// fixed threads that memory is reused hash after hash, where short-lived blocking threads
/// would each keep their own copy (and a burst would allocate gigabytes at once).
fn hashers() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<HashJob>> {
    static POOL: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<HashJob>>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<HashJob>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4);
        for i in 0..threads {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("motorbase-hash-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
        }
        std::sync::Mutex::new(tx)
    })
}

/// Runs `f` on the hashing threads.
async fn on_hasher<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = tx.send(f());
    });
    hashers()
        .lock()
        .map_err(|_| CoreError::Internal("hashing pool poisoned".into()))?
        .send(job)
        .map_err(|_| CoreError::Internal("hashing pool stopped".into()))?;
    rx.await
        .map_err(|_| CoreError::Internal("hashing job lost".into()))
}

/// Hashing is slow on purpose; keep it off the async runtime's worker threads.
pub async fn hash_blocking(password: String) -> Result<String> {
    on_hasher(move || hash(&password)).await?
}

pub async fn verify_blocking(password: String, stored: String) -> bool {
    on_hasher(move || verify(&password, &stored))
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
