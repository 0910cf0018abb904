//! In-memory limits on how often something may happen: "one verification mail per account
//! every two minutes", "five OTP guesses per account", and the settings-driven request limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys that are "taken" until they expire (a mail was just sent to this account).
#[derive(Debug, Default)]
pub struct Cooldowns {
    until: Mutex<HashMap<String, Instant>>,
}

impl Cooldowns {
    pub fn is_active(&self, key: &str) -> bool {
        let now = Instant::now();
        self.until
            .lock()
            .map(|m| m.get(key).is_some_and(|t| *t > now))
            .unwrap_or(false)
    }

    pub fn start(&self, key: &str, for_: Duration) {
        if let Ok(mut m) = self.until.lock() {
            let now = Instant::now();
            m.retain(|_, t| *t > now);
            m.insert(key.to_string(), now + for_);
        }
    }

    pub fn clear(&self, key: &str) {
        if let Ok(mut m) = self.until.lock() {
            m.remove(key);
        }
    }
}

/// Fixed windows per key, as PocketBase counts: at most `max` hits in each `window` that starts
/// with the first hit after the previous one ended.
#[derive(Debug, Default)]
pub struct Windows {
    by_key: Mutex<HashMap<String, (Instant, u64)>>,
}

/// How many keys may pile up before expired windows are swept.
const SWEEP_AT: usize = 10_000;

impl Windows {
    /// Counts a hit for `key`; false when the window's allowance is used up.
    pub fn allow(&self, key: &str, max: u64, window: Duration) -> bool {
        let Ok(mut m) = self.by_key.lock() else {
            return true;
        };
        let now = Instant::now();
        if m.len() >= SWEEP_AT {
            m.retain(|_, (start, _)| {
                now.duration_since(*start) < window.max(Duration::from_secs(1800))
            });
        }
        let entry = m.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= max {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Forgets every window (the rules changed).
    pub fn reset(&self) {
        if let Ok(mut m) = self.by_key.lock() {
            m.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_and_reset() {
        let w = Windows::default();
        assert!(w.allow("a", 2, Duration::from_secs(60)));
        assert!(w.allow("a", 2, Duration::from_secs(60)));
        assert!(!w.allow("a", 2, Duration::from_secs(60)));
        assert!(w.allow("b", 2, Duration::from_secs(60)));
        assert!(w.allow("c", 1, Duration::from_millis(0)));
        assert!(w.allow("c", 1, Duration::from_millis(0)));
    }

    #[test]
    fn cooldowns_expire() {
        let c = Cooldowns::default();
        c.start("k", Duration::from_secs(60));
        assert!(c.is_active("k"));
        c.clear("k");
        assert!(!c.is_active("k"));
        c.start("k", Duration::from_millis(0));
        assert!(!c.is_active("k"));
    }
}
