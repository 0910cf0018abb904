//! The date macros (`@now`, `@todayStart`, ...), evaluated in UTC when a filter is compiled.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use motorbase_store::Value;

use crate::util::format_time;

fn day_start(d: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn day_end(d: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_milli_opt(23, 59, 59, 999).unwrap_or_default())
}

pub(super) fn date_macro(name: &str) -> Option<Value> {
    let now = Utc::now();
    let today = now.date_naive();
    let text = |t| Some(Value::Text(format_time(t)));
    match name {
        "@now" => text(now),
        "@yesterday" => text(now - Duration::days(1)),
        "@tomorrow" => text(now + Duration::days(1)),
        "@second" => Some(Value::Int(now.second() as i64)),
        "@minute" => Some(Value::Int(now.minute() as i64)),
        "@hour" => Some(Value::Int(now.hour() as i64)),
        "@weekday" => Some(Value::Int(now.weekday().num_days_from_sunday() as i64)),
        "@day" => Some(Value::Int(now.day() as i64)),
        "@month" => Some(Value::Int(now.month() as i64)),
        "@year" => Some(Value::Int(now.year() as i64)),
        "@todayStart" => text(day_start(today)),
        "@todayEnd" => text(day_end(today)),
        "@monthStart" => text(day_start(today.with_day(1)?)),
        "@monthEnd" => {
            let next = if today.month() == 12 {
                NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(today.year(), today.month() + 1, 1)?
            };
            text(day_end(next - Duration::days(1)))
        }
        "@yearStart" => text(day_start(NaiveDate::from_ymd_opt(today.year(), 1, 1)?)),
        "@yearEnd" => text(day_end(NaiveDate::from_ymd_opt(today.year(), 12, 31)?)),
        _ => None,
    }
}
