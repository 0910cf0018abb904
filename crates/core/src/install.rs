//! The first-run install link. When no superuser exists, `serve` prints a dashboard URL holding
//! a one-time token; the dashboard trades that token for the first superuser. The token lives
//! only in this process's memory (a restart prints a new one), works once, expires, and is
//! refused as soon as any superuser exists, however that superuser was made.
//!
//! PocketBase signs a temporary superuser's auth token for the same purpose; a token of our own
//! means no placeholder account ever exists and the link can do nothing but this one thing.

use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};
use tokio::sync::Mutex;

use crate::collections::SUPERUSERS;
use crate::error::{CoreError, Result};
use crate::{records, superuser_ctx, Backend};

/// How long a printed link stays valid.
pub const TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// Length of the random token: far beyond guessing, short enough to copy from a terminal.
const TOKEN_LEN: usize = 48;

const INVALID: &str = "The install link is invalid, was already used or has expired.";

/// Holds the one pending install token, if any.
#[derive(Default)]
pub struct InstallGate {
    /// Held across the superuser's creation so two submissions cannot both succeed.
    pending: Mutex<Option<Pending>>,
}

struct Pending {
    token: String,
    expires: Instant,
}

impl InstallGate {
    /// Issues a fresh token valid for `ttl`, replacing any earlier one.
    pub async fn issue(&self, ttl: Duration) -> String {
        let token = crate::util::random_alnum(TOKEN_LEN);
        *self.pending.lock().await = Some(Pending {
            token: token.clone(),
            expires: Instant::now() + ttl,
        });
        token
    }

    /// Whether `token` would be accepted now; nothing is consumed.
    pub async fn check(&self, backend: &Backend, token: &str) -> Result<()> {
        let mut pending = self.pending.lock().await;
        accept(&mut pending, backend, token).await
    }

    /// Creates the first superuser from `{email, password, passwordConfirm}` and burns the
    /// token. A body the superusers collection refuses leaves the token usable, so the form
    /// can be corrected and sent again. Returns the new superuser record.
    pub async fn create_first_superuser(
        &self,
        backend: &Backend,
        token: &str,
        body: &Map<String, Json>,
    ) -> Result<Json> {
        let mut pending = self.pending.lock().await;
        accept(&mut pending, backend, token).await?;
        let superusers = backend
            .schema()
            .get(SUPERUSERS)
            .ok_or_else(CoreError::not_found)?;
        // Only the credentials pass through: the link cannot set anything else.
        let fields: Map<String, Json> = ["email", "password", "passwordConfirm"]
            .into_iter()
            .map(|k| {
                let v = body.get(k).cloned().unwrap_or(Json::String(String::new()));
                (k.to_string(), v)
            })
            .collect();
        let record = records::create(
            backend,
            SUPERUSERS,
            fields,
            Default::default(),
            superuser_ctx(&superusers),
        )
        .await?;
        *pending = None;
        Ok(record)
    }
}

/// Checks `token` against the pending one; forgets it once expired or once a superuser exists.
async fn accept(pending: &mut Option<Pending>, backend: &Backend, token: &str) -> Result<()> {
    let invalid = || CoreError::Forbidden(INVALID.into());
    match pending.as_ref().map(|p| p.judge(token, Instant::now())) {
        None | Some(Verdict::Wrong) => Err(invalid()),
        Some(Verdict::Expired) => {
            *pending = None;
            Err(invalid())
        }
        Some(Verdict::Good) if backend.has_superuser().await? => {
            *pending = None;
            Err(invalid())
        }
        Some(Verdict::Good) => Ok(()),
    }
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Good,
    Wrong,
    Expired,
}

impl Pending {
    fn judge(&self, token: &str, now: Instant) -> Verdict {
        if !same(self.token.as_bytes(), token.as_bytes()) {
            Verdict::Wrong
        } else if now >= self.expires {
            Verdict::Expired
        } else {
            Verdict::Good
        }
    }
}

/// Compares without stopping at the first difference, so timing tells nothing about the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{same, Pending, Verdict};

    #[test]
    fn compares_whole_tokens() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn a_token_is_good_until_it_expires() {
        let issued = Instant::now();
        let p = Pending {
            token: "t0ken".into(),
            expires: issued + Duration::from_secs(60),
        };
        assert_eq!(p.judge("t0ken", issued), Verdict::Good);
        assert_eq!(p.judge("t0ke", issued), Verdict::Wrong);
        assert_eq!(p.judge("", issued), Verdict::Wrong);
        assert_eq!(
            p.judge("t0ken", issued + Duration::from_secs(60)),
            Verdict::Expired
        );
        // A wrong token learns nothing, not even that the real one expired.
        assert_eq!(
            p.judge("other", issued + Duration::from_secs(61)),
            Verdict::Wrong
        );
    }
}
