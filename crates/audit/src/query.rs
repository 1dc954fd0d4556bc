use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::event::{ms_to_time, DisclosedField, Event, EventKind, Outcome};
use crate::log::map_missing;
use crate::{AuditError, Result};

/// Which events to return. Empty filter = all events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only events about this retailer id.
    pub retailer: Option<String>,
    /// Only events about this grant id.
    pub grant: Option<String>,
    /// Only events that disclosed this field key.
    pub field: Option<String>,
    /// Only events with this outcome.
    pub outcome: Option<Outcome>,
    /// Only events of this kind.
    pub kind: Option<EventKind>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
}

/// Where the next page starts: the events strictly older than event `.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cursor(pub u64);

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Cursor {
    type Err = AuditError;
    fn from_str(s: &str) -> Result<Cursor> {
        s.parse::<u64>()
            .map(Cursor)
            .map_err(|_| AuditError::BadQuery(format!("{s:?} is not a valid page cursor")))
    }
}

/// One page of events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// The events, newest first.
    pub events: Vec<Event>,
    /// Cursor for the next (older) page, if there are more events.
    pub next: Option<Cursor>,
}

/// Events per day, for the dashboard's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// The day (in the requested UTC offset).
    pub day: NaiveDate,
    /// All events that day.
    pub total: u64,
    /// Events with outcome `ok`.
    pub ok: u64,
    /// Events with outcome `refused`.
    pub refused: u64,
    /// Successful redemptions (fields disclosed).
    pub redemptions: u64,
    /// Releases carrying fields that a retailer's server acknowledged (`release_delivered` with fields): data
    /// shared like a redemption, pushed instead of fetched.
    pub delivered: u64,
    /// Delivery attempts the retailer's server did not take and releases given up (`delivery_attempt` and
    /// `release_failed` with outcome `refused`): counted in `refused`, though no access was refused.
    pub delivery_failures: u64,
}

impl DayCount {
    /// Data given out that day: redemptions plus delivered releases.
    pub fn shared(&self) -> u64 {
        self.redemptions + self.delivered
    }

    /// Accesses refused that day: refused events other than failed deliveries.
    pub fn refused_accesses(&self) -> u64 {
        self.refused.saturating_sub(self.delivery_failures)
    }
}

const COLUMNS: &str = "e.seq, e.ts_ms, e.kind, e.outcome, e.reason, e.retailer, e.grant_id, e.request_id, e.fields, \
                       e.remote_addr, e.user_agent, e.detail, e.hash";

fn read_event(r: &Row<'_>) -> rusqlite::Result<(Event, Option<String>, Option<String>)> {
    let seq: i64 = r.get(0)?;
    let kind: String = r.get(2)?;
    let hash: Vec<u8> = r.get(12)?;
    Ok((
        Event {
            seq: u64::try_from(seq).unwrap_or(0),
            time: ms_to_time(r.get(1)?),
            kind: EventKind::parse(&kind),
            outcome: r.get(3)?,
            reason: r.get(4)?,
            retailer: r.get(5)?,
            grant_id: r.get(6)?,
            request_id: r.get(7)?,
            fields: Vec::new(),
            remote_addr: r.get(9)?,
            user_agent: r.get(10)?,
            detail: serde_json::Map::new(),
            hash: hex::encode(hash),
        },
        r.get(8)?,
        r.get(11)?,
    ))
}

fn finish(raw: (Event, Option<String>, Option<String>)) -> Result<Event> {
    let (mut e, fields, detail) = raw;
    if let Some(f) = fields {
        e.fields = serde_json::from_str::<Vec<DisclosedField>>(&f).map_err(|_| AuditError::BadRow {
            seq: e.seq,
            column: "fields",
        })?;
    }
    if let Some(d) = detail {
        e.detail = serde_json::from_str(&d).map_err(|_| AuditError::BadRow {
            seq: e.seq,
            column: "detail",
        })?;
    }
    Ok(e)
}

/// One event by sequence number.
pub fn get(conn: &Connection, seq: u64) -> Result<Option<Event>> {
    let seq = i64::try_from(seq).map_err(|_| AuditError::BadQuery("sequence number too large".into()))?;
    let raw = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM audit_events e WHERE e.seq = ?1"))
        .map_err(map_missing)?
        .query_row([seq], read_event)
        .optional()?;
    raw.map(finish).transpose()
}

/// The range of sequence numbers `[lo, hi]` whose times fall in `[since, until)`, or `None` if empty.
/// Exact because event times never decrease along the chain.
fn seq_bounds(
    conn: &Connection,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<Option<(i64, i64)>> {
    let lo = match since {
        None => 1,
        Some(t) => {
            let s: Option<i64> = conn
                .prepare_cached("SELECT seq FROM audit_events WHERE ts_ms >= ?1 ORDER BY ts_ms, seq LIMIT 1")
                .map_err(map_missing)?
                .query_row([t.timestamp_millis()], |r| r.get(0))
                .optional()?;
            match s {
                Some(s) => s,
                None => return Ok(None),
            }
        }
    };
    let hi = match until {
        None => i64::MAX,
        Some(t) => {
            let s: Option<i64> = conn
                .prepare_cached("SELECT seq FROM audit_events WHERE ts_ms < ?1 ORDER BY ts_ms DESC, seq DESC LIMIT 1")
                .map_err(map_missing)?
                .query_row([t.timestamp_millis()], |r| r.get(0))
                .optional()?;
            match s {
                Some(s) => s,
                None => return Ok(None),
            }
        }
    };
    Ok(if lo > hi { None } else { Some((lo, hi)) })
}

/// One page of events matching `filter`, newest first, starting after `cursor` (or at the newest event).
///
/// Keyset paging: a page costs the same however deep it is. `limit` is clamped to 1..=1000.
pub fn query(conn: &Connection, filter: &Filter, cursor: Option<Cursor>, limit: usize) -> Result<Page> {
    let limit = limit.clamp(1, 1000);
    let Some((lo, mut hi)) = seq_bounds(conn, filter.since, filter.until)? else {
        return Ok(Page {
            events: Vec::new(),
            next: None,
        });
    };
    if let Some(Cursor(c)) = cursor {
        let c = i64::try_from(c).unwrap_or(i64::MAX);
        hi = hi.min(c.saturating_sub(1));
    }
    let mut sql = String::with_capacity(512);
    let mut args: Vec<Value> = Vec::new();
    // Drive the scan from the most selective index available. For a field, the (field_key, seq) primary key of
    // the field index walks exactly the matching events in seq order.
    let seq_col = if let Some(field) = &filter.field {
        sql.push_str(&format!(
            "SELECT {COLUMNS} FROM audit_event_fields f JOIN audit_events e ON e.seq = f.seq WHERE f.field_key = ?"
        ));
        args.push(Value::Text(field.clone()));
        "f.seq"
    } else {
        sql.push_str(&format!("SELECT {COLUMNS} FROM audit_events e WHERE 1"));
        "e.seq"
    };
    sql.push_str(&format!(" AND {seq_col} BETWEEN ? AND ?"));
    args.push(Value::Integer(lo));
    args.push(Value::Integer(hi));
    if let Some(r) = &filter.retailer {
        sql.push_str(" AND e.retailer = ?");
        args.push(Value::Text(r.clone()));
    }
    if let Some(g) = &filter.grant {
        sql.push_str(" AND e.grant_id = ?");
        args.push(Value::Text(g.clone()));
    }
    if let Some(o) = &filter.outcome {
        sql.push_str(" AND e.outcome = ?");
        args.push(Value::Text(o.as_str().to_string()));
    }
    if let Some(k) = &filter.kind {
        sql.push_str(" AND e.kind = ?");
        args.push(Value::Text(k.as_str().to_string()));
    }
    sql.push_str(&format!(" ORDER BY {seq_col} DESC LIMIT ?"));
    args.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(1001)));

    let mut stmt = conn.prepare_cached(&sql).map_err(map_missing)?;
    let raws = stmt
        .query_map(rusqlite::params_from_iter(args), read_event)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut events = raws.into_iter().map(finish).collect::<Result<Vec<_>>>()?;
    let next = if events.len() > limit {
        events.truncate(limit);
        events.last().map(|e| Cursor(e.seq))
    } else {
        None
    };
    Ok(Page { events, next })
}

/// Event counts per day between `since` and `until`, days taken in the given UTC offset (minutes east of UTC),
/// oldest day first; days without events are omitted.
pub fn daily_counts(
    conn: &Connection,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    utc_offset_minutes: i32,
) -> Result<Vec<DayCount>> {
    counts_by_day(conn, None, since, until, utc_offset_minutes)
}

/// [`daily_counts`] of one retailer's events: one aggregate over the `retailer` index (rows in seq order within
/// it), however long the log.
pub fn daily_counts_for_retailer(
    conn: &Connection,
    retailer: &str,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    utc_offset_minutes: i32,
) -> Result<Vec<DayCount>> {
    counts_by_day(conn, Some(retailer), since, until, utc_offset_minutes)
}

fn counts_by_day(
    conn: &Connection,
    retailer: Option<&str>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    utc_offset_minutes: i32,
) -> Result<Vec<DayCount>> {
    let Some((lo, hi)) = seq_bounds(conn, since, until)? else {
        return Ok(Vec::new());
    };
    let offset_ms = i64::from(utc_offset_minutes) * 60_000;
    let sql = match retailer {
        None => {
            "SELECT (ts_ms + ?1) / 86400000 AS d, count(*), sum(outcome = 'ok'), sum(outcome = 'refused'), \
             sum(kind = 'redemption' AND outcome = 'ok'), \
             sum(kind = 'release_delivered' AND outcome = 'ok' AND fields IS NOT NULL), \
             sum(kind IN ('delivery_attempt', 'release_failed') AND outcome = 'refused') \
             FROM audit_events WHERE seq BETWEEN ?2 AND ?3 GROUP BY d ORDER BY d"
        }
        Some(_) => {
            "SELECT (ts_ms + ?1) / 86400000 AS d, count(*), sum(outcome = 'ok'), sum(outcome = 'refused'), \
             sum(kind = 'redemption' AND outcome = 'ok'), \
             sum(kind = 'release_delivered' AND outcome = 'ok' AND fields IS NOT NULL), \
             sum(kind IN ('delivery_attempt', 'release_failed') AND outcome = 'refused') \
             FROM audit_events WHERE retailer = ?4 AND seq BETWEEN ?2 AND ?3 GROUP BY d ORDER BY d"
        }
    };
    let mut stmt = conn.prepare_cached(sql).map_err(map_missing)?;
    let map = |r: &rusqlite::Row<'_>| {
        Ok([
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
        ])
    };
    let rows: Vec<[i64; 7]> = match retailer {
        None => stmt
            .query_map(rusqlite::params![offset_ms, lo, hi], map)?
            .collect::<std::result::Result<_, _>>()?,
        Some(r) => stmt
            .query_map(rusqlite::params![offset_ms, lo, hi, r], map)?
            .collect::<std::result::Result<_, _>>()?,
    };
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(|| AuditError::BadQuery("calendar".into()))?;
    let mut out = Vec::new();
    for [d, total, ok, refused, redemptions, delivered, delivery_failures] in rows {
        let day = epoch
            .checked_add_signed(chrono::Duration::days(d))
            .ok_or_else(|| AuditError::BadQuery("event date out of range".into()))?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        out.push(DayCount {
            day,
            total: n(total),
            ok: n(ok),
            refused: n(refused),
            redemptions: n(redemptions),
            delivered: n(delivered),
            delivery_failures: n(delivery_failures),
        });
    }
    Ok(out)
}

/// Total number of events in the log.
pub fn count(conn: &Connection) -> Result<u64> {
    Ok(crate::log::head(conn)?.seq)
}
