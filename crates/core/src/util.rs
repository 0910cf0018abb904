//! Small shared pieces: timestamps in PocketBase's format and random identifiers.

use chrono::{DateTime, Utc};
use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;

/// `YYYY-MM-DD HH:MM:SS.sssZ`, the format every PocketBase date uses, written digit by digit:
/// every write and every request log formats a time, and `format!` took ~0.6 us of a health
/// check's ~45.
pub fn format_time(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // Outside the fixed four digits (PocketBase never writes such dates).
        return format!(
            "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}Z",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() / 1_000_000 % 1000
        );
    }
    let mut b = *b"0000-00-00 00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year.unsigned_abs());
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 3, t.nanosecond() / 1_000_000 % 1000);
    b.iter().map(|&c| char::from(c)).collect()
}

pub fn now() -> String {
    format_time(Utc::now())
}

/// A random string of `len` lowercase letters and digits (record ids).
pub fn random_lower(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// A random string of `len` ASCII letters and digits (token keys, secrets).
pub fn random_alnum(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}

/// Generates a value for an `autogeneratePattern` of the simple form `[charset]{n}`
/// (the forms PocketBase's defaults use); `None` for patterns it cannot generate.
pub fn generate_from_pattern(pattern: &str) -> Option<String> {
    // Every record id: PocketBase's default pattern, without reading it char by char.
    if pattern == "[a-z0-9]{15}" {
        return Some(random_lower(15));
    }
    let rest = pattern.strip_prefix('[')?;
    let (class, rest) = rest.split_once(']')?;
    let n: usize = rest.strip_prefix('{')?.strip_suffix('}')?.parse().ok()?;
    let mut chars = vec![];
    let bytes: Vec<char> = class.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if i + 2 < bytes.len() && bytes[i + 1] == '-' {
            for c in bytes[i]..=bytes[i + 2] {
                chars.push(c);
            }
            i += 3;
        } else {
            chars.push(bytes[i]);
            i += 1;
        }
    }
    if chars.is_empty() || n > 1000 {
        return None;
    }
    let mut rng = rand::thread_rng();
    Some(
        (0..n)
            .map(|_| chars[rng.gen_range(0..chars.len())])
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn patterns_generate_matching_values() {
        let v = generate_from_pattern("[a-z0-9]{15}").unwrap();
        assert_eq!(v.len(), 15);
        assert!(v
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_eq!(generate_from_pattern("[a-zA-Z0-9]{50}").unwrap().len(), 50);
        assert!(generate_from_pattern("abc").is_none());
    }

    #[test]
    fn time_format() {
        let t = DateTime::parse_from_rfc3339("2024-05-06T07:08:09Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_time(t), "2024-05-06 07:08:09.000Z");
        let t = DateTime::parse_from_rfc3339("0999-12-31T23:59:59.987654Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_time(t), "0999-12-31 23:59:59.987Z");
        let t = Utc.with_ymd_and_hms(10000, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::milliseconds(678);
        assert_eq!(format_time(t), "10000-01-02 03:04:05.678Z");
    }
}
