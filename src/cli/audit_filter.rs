//! The event filters shared by `locket audit` and `locket audit export`, and the time forms they accept.
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args;
use locket_audit::{EventKind, Filter, Outcome};

use super::{CliError, CliResult};

/// The event filters shared by `locket audit` and `locket audit export`.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only events about this retailer id (e.g. shop.example).
    #[arg(long, value_name = "RETAILER")]
    retailer: Option<String>,
    /// Only events about this grant id.
    #[arg(long, value_name = "GRANT")]
    grant: Option<String>,
    /// Only events that disclosed this field (e.g. contact.email).
    #[arg(long, value_name = "FIELD")]
    field: Option<String>,
    /// Only events with this outcome.
    #[arg(long, value_name = "OUTCOME", value_parser = ["ok", "refused", "error"])]
    outcome: Option<String>,
    /// Only events of this kind (redemption, introspection, refusal, request_received, grant_issued,
    /// grant_denied, grant_revoked, grant_narrowed, erasure_requested, erasure_acknowledged, unlock,
    /// unlock_failed, profile_changed, imported, vault_restored, refusals_summarized, retailer_pinned,
    /// retailer_pin_changed).
    #[arg(long, value_name = "KIND")]
    kind: Option<String>,
    /// Only events at or after this time: RFC 3339, a date (YYYY-MM-DD, UTC) or an age such as 7d, 12h, 30m.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only events before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
}

impl FilterArgs {
    /// The query filter these options describe (times relative to now).
    pub fn into_filter(self) -> CliResult<Filter> {
        let now = Utc::now();
        Ok(Filter {
            retailer: self.retailer,
            grant: self.grant,
            field: self.field,
            outcome: self.outcome.as_deref().and_then(Outcome::parse),
            kind: self.kind.as_deref().map(EventKind::parse),
            since: self.since.as_deref().map(|t| parse_time(t, now)).transpose()?,
            until: self.until.as_deref().map(|t| parse_time(t, now)).transpose()?,
        })
    }
}

/// Parses `--since`/`--until`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> CliResult<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc());
        }
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if let Ok(n) = num.parse::<i64>() {
        let d = match unit {
            "d" => Some(Duration::days(n)),
            "h" => Some(Duration::hours(n)),
            "m" => Some(Duration::minutes(n)),
            "w" => Some(Duration::weeks(n)),
            _ => None,
        };
        if let Some(d) = d {
            return Ok(now - d);
        }
    }
    Err(CliError::usage(format!(
        "{text:?} is not a time: use RFC 3339 (2026-11-24T15:00:00Z), a date (2026-11-24) or an age (7d, 12h, 30m)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        let now: DateTime<Utc> = "2026-11-24T15:00:00Z".parse().unwrap();
        assert_eq!(parse_time("7d", now).unwrap(), now - Duration::days(7));
        assert_eq!(parse_time("12h", now).unwrap(), now - Duration::hours(12));
        assert_eq!(
            parse_time("2026-11-01", now).unwrap(),
            "2026-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            parse_time("2026-11-01T10:00:00+01:00", now).unwrap(),
            "2026-11-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(parse_time("yesterday", now).is_err());
    }
}
