//! Timestamps as OpenStack writes them: ISO 8601, UTC, `Z`.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Keystone's `expires_at`: microseconds and `Z`.
const MICROS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Seconds only, as Keystone v2.0 and most other services write.
const SECONDS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

pub fn iso_micros(unix_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(unix_ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(MICROS).ok())
        .unwrap_or_default()
}

pub fn iso_seconds(unix_s: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| t.format(SECONDS).ok())
        .unwrap_or_default()
}

/// Now, to the second: Glance's `created_at` and `updated_at`.
pub fn now_seconds_iso() -> String {
    iso_seconds(now_ms() / 1000)
}

pub fn now_iso() -> String {
    iso_micros(now_ms())
}

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// An ISO 8601 timestamp (with or without fraction and `Z`) as unix seconds.
pub fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let s = s.split('.').next()?;
    let with_zone = format!("{s}Z");
    time::PrimitiveDateTime::parse(&with_zone, SECONDS)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(iso_micros(1_700_000_000_123), "2023-11-14T22:13:20.123000Z");
        assert_eq!(iso_seconds(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_iso("2023-11-14T22:13:20.123000Z"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_iso("2023-11-14T22:13:20"), Some(1_700_000_000));
        assert_eq!(parse_iso("yesterday"), None);
    }
}
