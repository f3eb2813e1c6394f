//! Calendar arithmetic on unix milliseconds, in UTC, without a date library: the timestamps
//! the dialects write (ISO 8601 for jombot and jelytech, ChatAIBot's
//! `2025-02-10 20:21:03.913000`), the ISO 8601 dates and times a client sends (jelytech
//! analytics), and the start of a calendar month for the monthly quota.

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
/// `2025-01-10T14:30:00.5+02:00`, `2025-01-10 14:30`); `None` for anything else.
pub fn parse_iso8601(text: &str) -> Option<Instant> {
    let text = text.trim();
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mut fields = date.split('-');
    let (y, m, d) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (digits(y)?, digits(m)?, digits(d)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > month_days[m as usize - 1] {
        return None;
    }
    let day_ms = days_from_civil(y, m, d) * MS_PER_DAY;
    let Some(time) = time else {
        return Some(Instant::Day(day_ms));
    };
    // The zone: `Z`, `+hh:mm` / `-hh:mm`, or none (UTC).
    let (clock, offset_ms) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(at) = time.rfind(['+', '-']) {
        let (h, m) = time[at + 1..].split_once(':')?;
        let (h, m): (i64, i64) = (digits(h)?, digits(m)?);
        // Real offsets are within a day (and a bigger one would overflow the sums below).
        if h > 23 || m > 59 {
            return None;
        }
        let minutes = h * 60 + m;
        let sign = if time[at..].starts_with('-') { -1 } else { 1 };
        (&time[..at], sign * minutes * 60_000)
    } else {
        (time, 0)
    };
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = clock.split(':');
    let hh: i64 = digits(parts.next()?)?;
    let mm: i64 = digits(parts.next()?)?;
    let ss: i64 = parts.next().map_or(Some(0), digits)?;
    if parts.next().is_some() || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let ms = match fraction {
        "" => 0,
        f => {
            let millis: String = f.chars().chain("000".chars()).take(3).collect();
            digits::<i64>(f)?;
            digits::<i64>(&millis)?
        }
    };
    Some(Instant::Time(
        day_ms + ((hh * 60 + mm) * 60 + ss) * 1000 + ms - offset_ms,
    ))
}

/// A run of ASCII digits as a number.
fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
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
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            assert!(month_start_ms(ms) <= ms && ms - month_start_ms(ms) < 31 * MS_PER_DAY);
        }
    }
}
