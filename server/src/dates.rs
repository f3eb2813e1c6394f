//! Calendar arithmetic on unix milliseconds, in UTC, without a date library: the timestamps
//! the dialects write (ISO 8601 for jombot and jelytech, ChatAIBot's
//! `2025-02-10 20:21:03.913000`) and the start of a calendar month for the monthly quota.

const MS_PER_DAY: i64 = 86_400_000;

/// `2025-01-15T10:30:00Z`: ISO 8601 in UTC, to the second.
pub fn iso8601(unix_ms: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = parts(unix_ms);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `2025-02-10 20:21:03.913000`: the ChatAIBot document's spelling (UTC, microseconds).
pub fn chataibot_timestamp(unix_ms: i64) -> String {
    let (y, m, d, hh, mm, ss, ms) = parts(unix_ms);
    format!(
        "{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{:06}",
        ms * 1000
    )
}

/// The first millisecond of the UTC calendar month `unix_ms` falls in.
pub fn month_start_ms(unix_ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(unix_ms.div_euclid(MS_PER_DAY));
    days_from_civil(y, m, 1) * MS_PER_DAY
}

/// Year, month, day, hour, minute, second, millisecond.
fn parts(unix_ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let days = unix_ms.div_euclid(MS_PER_DAY);
    let in_day = unix_ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = in_day / 1000;
    (
        y,
        m,
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        in_day % 1000,
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Howard Hinnant's `days_from_civil`: (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            assert!(month_start_ms(ms) <= ms && ms - month_start_ms(ms) < 31 * MS_PER_DAY);
        }
    }
}
