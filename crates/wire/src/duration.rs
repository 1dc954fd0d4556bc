//! Durations: the ISO 8601 subset used in grant requests (`P30D`, `P2W`, `PT12H`) and the owner's short
//! form on the command line (`30d`, `12h`, `2w`, `90m`, `45s`).

use chrono::Duration;

/// Longest duration a request may ask for, and a grant may last: 3650 days.
pub const MAX_DAYS: i64 = 3650;

/// A duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The text is not in the accepted form.
    #[error("{0:?} is not a duration; use an ISO 8601 duration with weeks, days, hours, minutes or seconds (\"P30D\", \"PT12H\") or a short form like \"30d\", \"12h\", \"2w\"")]
    Syntax(String),
    /// Years and months have no fixed length.
    #[error("{0:?} uses years or months, whose length varies; give the duration in days (\"P365D\")")]
    CalendarUnit(String),
    /// Zero-length durations grant nothing.
    #[error("{0:?} is zero; a duration must be at least one second")]
    Zero(String),
    /// Longer than [`MAX_DAYS`].
    #[error("{0:?} is longer than the maximum of {MAX_DAYS} days")]
    TooLong(String),
}

impl DurationError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            DurationError::Syntax(_) => "duration_syntax",
            DurationError::CalendarUnit(_) => "duration_calendar_unit",
            DurationError::Zero(_) => "duration_zero",
            DurationError::TooLong(_) => "duration_too_long",
        }
    }
}

fn finish(text: &str, seconds: u128) -> Result<Duration, DurationError> {
    if seconds == 0 {
        return Err(DurationError::Zero(text.to_owned()));
    }
    if seconds > (MAX_DAYS as u128) * 86_400 {
        return Err(DurationError::TooLong(text.to_owned()));
    }
    // Bounded above by MAX_DAYS, so the conversion cannot fail.
    let secs = i64::try_from(seconds).map_err(|_| DurationError::TooLong(text.to_owned()))?;
    Ok(Duration::seconds(secs))
}

/// Parse an ISO 8601 duration restricted to weeks, days, hours, minutes and seconds (`P30D`, `P2W`,
/// `P1DT12H`, `PT90M`). Years and months are refused, as are zero and anything over [`MAX_DAYS`].
pub fn parse_iso8601(text: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax(text.to_owned());
    let rest = text.strip_prefix('P').ok_or_else(syntax)?;
    if rest.is_empty() {
        return Err(syntax());
    }
    let mut total: u128 = 0;
    let mut in_time = false;
    let mut number = String::new();
    let mut seen_any = false;
    // Units must appear in order: date part W|D, then T, then H, M, S.
    let mut last_rank = 0u8;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            if number.len() >= 12 {
                return Err(syntax());
            }
            number.push(c);
            continue;
        }
        if c == 'T' {
            if in_time || !number.is_empty() {
                return Err(syntax());
            }
            in_time = true;
            continue;
        }
        if number.is_empty() {
            return Err(syntax());
        }
        let n: u128 = number.parse().map_err(|_| syntax())?;
        number.clear();
        let (rank, unit_secs) = match (in_time, c) {
            (false, 'Y') | (false, 'M') => return Err(DurationError::CalendarUnit(text.to_owned())),
            (false, 'W') => (1, 7 * 86_400),
            (false, 'D') => (2, 86_400),
            (true, 'H') => (3, 3_600),
            (true, 'M') => (4, 60),
            (true, 'S') => (5, 1),
            _ => return Err(syntax()),
        };
        if rank <= last_rank {
            return Err(syntax());
        }
        last_rank = rank;
        seen_any = true;
        total = total.saturating_add(n.saturating_mul(unit_secs));
    }
    // A dangling 'T' with no time unit, digits without a unit, or weeks combined with other units.
    if !number.is_empty() || !seen_any || (in_time && last_rank < 3) || (last_rank > 1 && rest.contains('W')) {
        return Err(syntax());
    }
    finish(text, total)
}

/// Parse the owner's duration: a short form (`30d`, `12h`, `2w`, `90m`, `45s`) or an ISO 8601 duration
/// as accepted by [`parse_iso8601`].
pub fn parse_owner_duration(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    if t.starts_with('P') {
        return parse_iso8601(t);
    }
    let syntax = || DurationError::Syntax(text.to_owned());
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(syntax)?;
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() || digits.len() > 12 {
        return Err(syntax());
    }
    let n: u128 = digits.parse().map_err(|_| syntax())?;
    let unit_secs: u128 = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(syntax()),
    };
    finish(text, n.saturating_mul(unit_secs))
}

/// Format a duration as ISO 8601 in the subset [`parse_iso8601`] reads (`P30D`, `P1DT2H`, `PT45S`).
pub fn format_iso8601(d: Duration) -> String {
    let mut secs = d.num_seconds().max(0);
    let days = secs / 86_400;
    secs %= 86_400;
    let hours = secs / 3_600;
    secs %= 3_600;
    let minutes = secs / 60;
    secs %= 60;
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if hours > 0 || minutes > 0 || secs > 0 || days == 0 {
        out.push('T');
        if hours > 0 {
            out.push_str(&format!("{hours}H"));
        }
        if minutes > 0 {
            out.push_str(&format!("{minutes}M"));
        }
        if secs > 0 || (hours == 0 && minutes == 0) {
            out.push_str(&format!("{secs}S"));
        }
    }
    out
}

/// A duration in words for people ("30 days", "12 hours", "1 day 6 hours").
pub fn humanize(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let parts = [
        (secs / 86_400, "day"),
        ((secs % 86_400) / 3_600, "hour"),
        ((secs % 3_600) / 60, "minute"),
        (secs % 60, "second"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .take(2)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if words.is_empty() {
        "0 seconds".to_owned()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_forms() {
        assert_eq!(parse_iso8601("P30D").unwrap(), Duration::days(30));
        assert_eq!(parse_iso8601("P2W").unwrap(), Duration::days(14));
        assert_eq!(parse_iso8601("PT12H").unwrap(), Duration::hours(12));
        assert_eq!(parse_iso8601("P1DT2H3M4S").unwrap(), Duration::seconds(86_400 + 7_384));
        assert_eq!(parse_iso8601("P3650D").unwrap(), Duration::days(3650));
    }

    #[test]
    fn iso_refusals() {
        for bad in [
            "", "P", "PT", "30D", "P1H", "PT1D", "P1D2W", "PD", "P1DT", "P-1D", "P1.5D", "PT1H1H", "P1W2D",
        ] {
            assert!(matches!(parse_iso8601(bad), Err(DurationError::Syntax(_))), "{bad}");
        }
        assert!(matches!(parse_iso8601("P1Y"), Err(DurationError::CalendarUnit(_))));
        assert!(matches!(parse_iso8601("P1M"), Err(DurationError::CalendarUnit(_))));
        assert!(matches!(parse_iso8601("P0D"), Err(DurationError::Zero(_))));
        assert!(matches!(parse_iso8601("P3651D"), Err(DurationError::TooLong(_))));
        assert!(matches!(
            parse_iso8601("PT999999999999S"),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn owner_forms() {
        assert_eq!(parse_owner_duration("30d").unwrap(), Duration::days(30));
        assert_eq!(parse_owner_duration("12h").unwrap(), Duration::hours(12));
        assert_eq!(parse_owner_duration("2w").unwrap(), Duration::days(14));
        assert_eq!(parse_owner_duration("90m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_owner_duration("P7D").unwrap(), Duration::days(7));
        for bad in ["", "d", "30", "30x", "-1d", "1.5d"] {
            assert!(parse_owner_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn format_round_trips() {
        for s in ["P30D", "PT12H", "P1DT2H3M4S", "PT45S", "PT1M"] {
            assert_eq!(format_iso8601(parse_iso8601(s).unwrap()), s);
        }
        assert_eq!(humanize(Duration::days(30)), "30 days");
        assert_eq!(humanize(Duration::seconds(86_400 + 3_600 * 6 + 5)), "1 day 6 hours");
    }
}
