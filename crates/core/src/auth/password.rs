//! Password hashing: argon2id for new hashes; bcrypt hashes (what PocketBase stores) are still
//! accepted, so imported accounts keep working, and are replaced at the next sign-in.

use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{CoreError, Result};

/// An argon2 hash's working memory (19 MiB at the default cost), kept by a hashing thread while
/// hashes keep coming: see [`hashers`].
type Memory = Vec<Block>;

/// Hashes with argon2id at the crate's defaults (19 MiB, 2 passes: OWASP's recommendation).
pub fn hash(password: &str) -> Result<String> {
    hash_in(password, &mut Memory::new())
}

fn hash_in(password: &str, memory: &mut Memory) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
    argon2_phc(
        algorithm,
        version,
        Params::default(),
        password,
        salt.as_salt(),
        memory,
    )
    .map(|h| h.to_string())
    .map_err(|e| CoreError::Internal(format!("hashing failed: {e}")))
}

/// What argon2's `PasswordHasher` computes, in the caller's working memory instead of a fresh
/// allocation per hash.
fn argon2_phc<'a>(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &str,
    salt: Salt<'a>,
    memory: &mut Memory,
) -> argon2::password_hash::Result<PasswordHash<'a>> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let phc_params = ParamsString::try_from(&params)?;
    let argon = Argon2::new(algorithm, version, params);
    let output = Output::init_with(len, |out| {
        let memory = &mut memory[..blocks];
        Ok(argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, memory)?)
    })?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: phc_params,
        salt: Some(salt),
        hash: Some(output),
    })
}

/// Whether `stored` is a bcrypt hash (`$2a$`, `$2b$`, `$2y$`), which should be replaced.
pub fn is_legacy(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

/// Constant-time verification (by the bcrypt crate, and `Output`'s comparison for argon2);
/// false for malformed hashes.
pub fn verify(password: &str, stored: &str) -> bool {
    verify_in(password, stored, &mut Memory::new())
}

fn verify_in(password: &str, stored: &str, memory: &mut Memory) -> bool {
    if is_legacy(stored) {
        return bcrypt::verify(password, stored).unwrap_or(false);
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    argon2_phc(algorithm, version, params, password, salt, memory)
        .is_ok_and(|computed| computed.hash == Some(expected))
}

type HashJob = Box<dyn FnOnce(&mut Memory) + Send>;

/// A few long-lived threads do all hashing. Each argon2id hash works in 19 MiB: a thread keeps
/// that memory from one hash to the next while more are queued, and gives it back when the queue
/// is empty. The allocator gives freed memory back to the system at once (see the binary's
/// `memory` module), so a fresh 19 MiB per hash cost ~8 ms of page faults, a quarter of a
/// sign-in's CPU.
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
                .spawn(move || {
                    let mut memory = Memory::new();
                    loop {
                        // The next job at once if one is queued; otherwise the memory goes
                        // before the wait (another thread may be the one waiting on the queue).
                        let queued = rx.try_lock().ok().and_then(|rx| rx.try_recv().ok());
                        let job = match queued {
                            Some(job) => Ok(job),
                            None => {
                                memory = Memory::new();
                                match rx.lock() {
                                    Ok(rx) => rx.recv(),
                                    Err(_) => return,
                                }
                            }
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => return,
                        }
                    }
                });
        }
        std::sync::Mutex::new(tx)
    })
}

/// Runs `f` on the hashing threads, with their working memory.
async fn on_hasher<T: Send + 'static>(
    f: impl FnOnce(&mut Memory) -> T + Send + 'static,
) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move |memory| {
        let _ = tx.send(f(memory));
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
    on_hasher(move |memory| hash_in(&password, memory)).await?
}

pub async fn verify_blocking(password: String, stored: String) -> bool {
    on_hasher(move |memory| verify_in(&password, &stored, memory))
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

    /// Hashes made by argon2's own hasher (all stored so far) verify here, ours verify with
    /// argon2's own verifier, and one working memory serves hash after hash whatever their cost.
    #[test]
    fn hashes_match_argon2s_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = || SaltString::generate(&mut OsRng);
        let mut memory = Memory::new();
        let theirs = Argon2::default()
            .hash_password(b"pw one", &salt())
            .unwrap()
            .to_string();
        assert!(verify_in("pw one", &theirs, &mut memory));
        assert!(!verify_in("pw two", &theirs, &mut memory));
        let ours = hash_in("pw two", &mut memory).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"pw two", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"pw one", &parsed)
            .is_err());
        // A cheaper hash of another kind (argon2i v1.0, 64 KiB) in the same memory, then ours.
        let params = Params::new(64, 1, 1, None).unwrap();
        let cheap = Argon2::new(Algorithm::Argon2i, Version::V0x10, params)
            .hash_password(b"pw three", &salt())
            .unwrap()
            .to_string();
        assert!(verify_in("pw three", &cheap, &mut memory));
        assert!(verify_in("pw two", &ours, &mut memory));
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
