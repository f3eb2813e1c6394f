//! Dates on unix milliseconds, in UTC, through `jiff`: the timestamps the dialects write
//! (ISO 8601 for jombot and jelytech, ChatAIBot's `2025-02-10 20:21:03.913000`), the ISO 8601
//! dates and times a client sends (jelytech analytics), and the start of a calendar month for
//! the monthly quota.

use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;
use jiff::Timestamp;

const MS_PER_DAY: i64 = 86_400_000;

/// The instant, or the epoch for one outside what a timestamp holds (±9999 years).
fn instant(unix_ms: i64) -> Timestamp {
    Timestamp::from_millisecond(unix_ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `2025-01-15T10:30:00Z`: ISO 8601 in UTC, to the second.
pub fn iso8601(unix_ms: i64) -> String {
    instant(unix_ms).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `2025-02-10 20:21:03.913000`: the ChatAIBot document's spelling (UTC, microseconds).
pub fn chataibot_timestamp(unix_ms: i64) -> String {
    instant(unix_ms)
        .strftime("%Y-%m-%d %H:%M:%S.%6f")
        .to_string()
}

/// The first millisecond of the UTC calendar month `unix_ms` falls in.
pub fn month_start_ms(unix_ms: i64) -> i64 {
    let first = Offset::UTC
        .to_datetime(instant(unix_ms))
        .date()
        .first_of_month();
    utc_ms(first.to_datetime(jiff::civil::Time::midnight())).unwrap_or(unix_ms)
}

/// A civil date and time read in UTC, in unix milliseconds.
fn utc_ms(datetime: DateTime) -> Option<i64> {
    let instant = Offset::UTC.to_timestamp(datetime).ok()?;
    Some(instant.as_millisecond())
}

/// A date or time a client wrote in ISO 8601.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instant {
    /// `2025-01-10`: the whole day, from its first millisecond (UTC).
    Day(i64),
    /// `2025-01-10T14:30:00Z` (also with a fraction, without the `Z`, or with `+hh:mm`).
    Time(i64),
}

impl Instant {
    /// Its first millisecond.
    pub fn start_ms(self) -> i64 {
        match self {
            Self::Day(ms) | Self::Time(ms) => ms,
        }
    }

    /// The first millisecond after it (the day after a day, the next millisecond after a time).
    pub fn end_ms(self) -> i64 {
        match self {
            Self::Day(ms) => ms + MS_PER_DAY,
            Self::Time(ms) => ms + 1,
        }
    }
}

/// Reads an ISO 8601 date (`2025-01-10`) or date and time (`2025-01-10T14:30:00Z`,
/// `2025-01-10T14:30:00.5+02:00`, `2025-01-10 14:30`; without an offset, in UTC); `None` for
/// anything else.
pub fn parse_iso8601(text: &str) -> Option<Instant> {
    let text = text.trim();
    if !text.contains(['T', 't', ' ']) {
        let date: Date = text.parse().ok()?;
        return utc_ms(date.to_datetime(jiff::civil::Time::midnight())).map(Instant::Day);
    }
    // With an offset (`Z`, `+02:00`) it is an instant; without one, a civil time read in UTC.
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Some(Instant::Time(instant.as_millisecond()));
    }
    utc_ms(text.parse().ok()?).map(Instant::Time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_spelled_as_the_documents_show() {
        // 2025-01-15T10:30:00Z, the jombot example.
        assert_eq!(iso8601(1_736_937_000_000), "2025-01-15T10:30:00Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(
            chataibot_timestamp(1_739_218_863_913),
            "2025-02-10 20:21:03.913000"
        );
        assert_eq!(chataibot_timestamp(0), "1970-01-01 00:00:00.000000");
    }

    #[test]
    fn client_dates_and_times_are_read_in_utc() {
        assert_eq!(
            parse_iso8601("2025-01-15"),
            Some(Instant::Day(1_736_899_200_000))
        );
        assert_eq!(
            parse_iso8601("2025-01-15T10:30:00Z"),
            Some(Instant::Time(1_736_937_000_000))
        );
        assert_eq!(
            parse_iso8601("2025-01-15T12:30:00.250+02:00"),
            Some(Instant::Time(1_736_937_000_250))
        );
        assert_eq!(
            parse_iso8601("2025-01-15 10:30"),
            Some(Instant::Time(1_736_937_000_000))
        );
        assert_eq!(
            parse_iso8601("2025-01-15t10:30:00z"),
            Some(Instant::Time(1_736_937_000_000))
        );
        assert_eq!(
            parse_iso8601("2025-01-15").map(Instant::end_ms),
            Some(1_736_985_600_000)
        );
        for bad in [
            "",
            "2025",
            "2025-13-01",
            "2025-02-29",
            "2025-1-5",
            "2025-01-15T25:00",
            "yesterday",
            "2025-01-15T10:30:00+5",
            "2025-01-15T10:x0",
            "+025-01-15",
            "2025-01-15T10:30:00.abc",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
        assert!(parse_iso8601("2024-02-29").is_some());
    }

    #[test]
    fn a_month_starts_on_its_first_day_at_midnight_utc() {
        assert_eq!(month_start_ms(1_736_937_000_000), 1_735_689_600_000); // 2025-01-01
        assert_eq!(month_start_ms(1_735_689_600_000), 1_735_689_600_000);
        assert_eq!(month_start_ms(1_735_689_599_999), 1_733_011_200_000); // 2024-12-01
        assert_eq!(
            iso8601(month_start_ms(951_868_799_000)),
            "2000-02-01T00:00:00Z"
        );
        for day in (0..20_000).step_by(7) {
            let ms = day * MS_PER_DAY + 12_345_678;
            let start = month_start_ms(ms);
            assert!(start <= ms && ms - start < 31 * MS_PER_DAY, "{ms}");
            assert!(iso8601(start).ends_with("-01T00:00:00Z"), "{ms}");
        }
    }
}
