//! Small shared pieces: timestamps in PocketBase's format and random identifiers.

use chrono::{DateTime, Utc};
use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;

/// `YYYY-MM-DD HH:MM:SS.sssZ`, the format every PocketBase date uses, written digit by digit
/// from the timestamp: every write and every request log formats a time, and `format!` over
/// chrono's fields took ~1.5k instructions.
pub fn format_time(t: DateTime<Utc>) -> String {
    let secs = t.timestamp();
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let Ok(year) = u32::try_from(year) else {
        return format_wide(t);
    };
    if year > 9999 {
        return format_wide(t);
    }
    let of_day = secs.rem_euclid(86_400) as u32;
    let mut b = *b"0000-00-00 00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, of_day / 3600);
    put(14, 2, of_day / 60 % 60);
    put(17, 2, of_day % 60);
    put(20, 3, t.timestamp_subsec_millis() % 1000);
    std::str::from_utf8(&b).unwrap_or_default().to_owned()
}

/// Years outside 0..=9999 do not fit the fixed layout (PocketBase never writes them).
fn format_wide(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1_000_000 % 1000
    )
}

/// (year, month, day) of the day `days` after 1970-01-01, in the proleptic Gregorian calendar
/// (the well-known era arithmetic: 400-year eras of 146097 days, years starting in March).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn now() -> String {
    format_time(Utc::now())
}

/// A random string of `len` lowercase letters and digits (record ids).
pub fn random_lower(len: usize) -> String {
    const CHARS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    /// 36^12: a uniform draw below it is 12 independent uniform base-36 digits, and one draw
    /// costs about what one character's did (15 draws made ~650 instructions of an id).
    const SPAN: u64 = 4_738_381_338_321_616_896;
    let mut rng = rand::thread_rng();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut n = rng.gen_range(0..SPAN);
        for _ in 0..(len - out.len()).min(12) {
            out.push(char::from(CHARS[(n % 36) as usize]));
            n /= 36;
        }
    }
    out
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

    /// Every length comes out whole, and every position takes all 36 characters about equally
    /// often (positions 0, 11 and 12 sit on either side of a new draw).
    #[test]
    fn random_ids_use_every_character_everywhere() {
        for len in [0, 1, 5, 12, 13, 15, 30] {
            assert_eq!(random_lower(len).len(), len);
        }
        let mut seen = vec![[0u32; 36]; 15];
        for _ in 0..36_000 {
            for (pos, b) in random_lower(15).bytes().enumerate() {
                let k = match b {
                    b'a'..=b'z' => b - b'a',
                    b'0'..=b'9' => b - b'0' + 26,
                    other => panic!("unexpected {other}"),
                };
                seen[pos][usize::from(k)] += 1;
            }
        }
        for (pos, counts) in seen.iter().enumerate() {
            for (k, &n) in counts.iter().enumerate() {
                assert!(
                    (800..1200).contains(&n),
                    "position {pos}, char {k}: {n} of ~1000"
                );
            }
        }
    }

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
        // Every day of four centuries (leap rules included) and times of day across them, as
        // chrono formats them.
        let start = Utc.with_ymd_and_hms(1899, 12, 25, 0, 0, 0).unwrap();
        for i in 0..(400 * 366) {
            let t = start
                + chrono::Duration::days(i)
                + chrono::Duration::milliseconds(i * 7_919_311 % 86_400_000);
            assert_eq!(
                format_time(t),
                t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string(),
                "{t:?}"
            );
        }
    }
}
