//! Differential privacy for analytics: the per-retailer privacy budget and noised answers from the vault.
//!
//! A **noised scope** `noised:<field>` answers with a randomised version of one built-in field; its grammar
//! and the mechanisms live in `locket_wire::noised` (re-exported here). Each answer costs ε (epsilon, the
//! privacy loss) from the retailer's **budget**; once it is spent, further noised answers are refused with
//! `privacy_budget_exhausted`.
//!
//! The budget ledger lives in the vault (`privacy_budgets`, `privacy_spends`, migration `0004_privacy`),
//! counted in micro-ε integers so sums are exact. [`charge`] runs inside the redemption's transaction, so
//! an answer that is not sent (the transaction rolls back) is not charged, and an answer cannot be sent
//! without being charged.

use chrono::{DateTime, SecondsFormat, Utc};
use locket_wire::derived::{DerivedError, SourceVersion};
pub use locket_wire::noised::{
    check_epsilon, keep_probability, rr_estimate, Mechanism, NoiseError, NoisedScope, MAX_EPSILON_PER_ANSWER,
    NOISED_PREFIX,
};
use ring::rand::SecureRandom;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;

/// ε charged per noised answer unless the owner configures otherwise.
pub const DEFAULT_EPSILON_PER_ANSWER: f64 = 1.0;

/// The privacy budget a retailer starts with (total ε over all its noised answers).
pub const DEFAULT_RETAILER_BUDGET: f64 = 8.0;

const MICRO: f64 = 1_000_000.0;

/// A noised answer or the budget ledger failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DpError {
    /// The retailer's privacy budget cannot pay for this answer.
    #[error("the privacy budget for {retailer} is used up ({spent} of {total} spent; this answer needs {requested}); the owner can raise it or the retailer must wait for a new budget")]
    BudgetExhausted {
        /// Retailer id.
        retailer: String,
        /// ε spent so far.
        spent: f64,
        /// The budget.
        total: f64,
        /// ε this answer needed.
        requested: f64,
    },
    /// ε out of range.
    #[error("epsilon must be a number above 0 and at most {MAX_EPSILON_PER_ANSWER}, not {0}")]
    InvalidEpsilon(f64),
    /// A budget below what is already spent or negative.
    #[error("a privacy budget must be 0 or more, not {0}")]
    InvalidBudget(f64),
    /// The scope is not a usable noised scope.
    #[error(transparent)]
    Scope(#[from] DerivedError),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed; no noised answer was produced")]
    Random,
    /// The database failed.
    #[error("vault database error: {0}")]
    Database(#[from] rusqlite::Error),
}

impl From<NoiseError> for DpError {
    fn from(e: NoiseError) -> Self {
        match e {
            NoiseError::InvalidEpsilon(eps) => DpError::InvalidEpsilon(eps),
            _ => DpError::Random,
        }
    }
}

impl DpError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            DpError::BudgetExhausted { .. } => "privacy_budget_exhausted",
            DpError::InvalidEpsilon(_) => "epsilon_invalid",
            DpError::InvalidBudget(_) => "privacy_budget_invalid",
            DpError::Scope(e) => e.code(),
            DpError::Random => "random_failed",
            DpError::Database(_) => "database_error",
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The budget ledger.

fn to_micro(eps: f64) -> i64 {
    (eps * MICRO).round() as i64
}

fn from_micro(m: i64) -> f64 {
    m as f64 / MICRO
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A retailer's privacy budget as the owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// Retailer id.
    pub retailer_id: String,
    /// Total ε allowed.
    pub total: f64,
    /// ε spent.
    pub spent: f64,
    /// ε left.
    pub remaining: f64,
    /// Number of noised answers given.
    pub answers: u64,
}

/// One charge in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spend {
    /// Retailer id.
    pub retailer_id: String,
    /// Grant the answer was given under.
    pub grant_id: String,
    /// The noised scope.
    pub scope: String,
    /// ε charged.
    pub epsilon: f64,
    /// When (RFC 3339).
    pub spent_at: String,
}

/// The retailer's budget (the default if none was recorded yet).
pub fn budget(conn: &Connection, retailer_id: &str) -> Result<Budget, DpError> {
    let row: Option<(i64, i64)> = conn
        .query_row(
            "SELECT budget_micro, spent_micro FROM privacy_budgets WHERE retailer_id = ?1",
            [retailer_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (total, spent) = row.unwrap_or((to_micro(DEFAULT_RETAILER_BUDGET), 0));
    let answers: i64 = conn.query_row(
        "SELECT count(*) FROM privacy_spends WHERE retailer_id = ?1",
        [retailer_id],
        |r| r.get(0),
    )?;
    Ok(Budget {
        retailer_id: retailer_id.to_owned(),
        total: from_micro(total),
        spent: from_micro(spent),
        remaining: from_micro((total - spent).max(0)),
        answers: u64::try_from(answers).unwrap_or(0),
    })
}

/// Every retailer with a recorded budget, by id.
pub fn budgets(conn: &Connection) -> Result<Vec<Budget>, DpError> {
    let mut stmt = conn.prepare("SELECT retailer_id FROM privacy_budgets ORDER BY retailer_id")?;
    let ids: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    ids.iter().map(|id| budget(conn, id)).collect()
}

/// The owner sets a retailer's total budget (it may be below what is spent: then nothing more is answered).
pub fn set_budget(tx: &Transaction<'_>, retailer_id: &str, total: f64, now: DateTime<Utc>) -> Result<Budget, DpError> {
    if !total.is_finite() || total < 0.0 {
        return Err(DpError::InvalidBudget(total));
    }
    tx.execute(
        "INSERT INTO privacy_budgets (retailer_id, budget_micro, spent_micro, updated_at) VALUES (?1, ?2, 0, ?3)
         ON CONFLICT (retailer_id) DO UPDATE SET budget_micro = excluded.budget_micro, updated_at = excluded.updated_at",
        params![retailer_id, to_micro(total), ts(now)],
    )?;
    budget(tx, retailer_id)
}

/// Charge `epsilon` for one noised answer of `scope` under `grant_id`, or refuse with
/// [`DpError::BudgetExhausted`] (code `privacy_budget_exhausted`) if the budget cannot pay. Run it in
/// the redemption's transaction.
pub fn charge(
    tx: &Transaction<'_>,
    retailer_id: &str,
    grant_id: &str,
    scope: &str,
    epsilon: f64,
    now: DateTime<Utc>,
) -> Result<Budget, DpError> {
    check_epsilon(epsilon)?;
    let cost = to_micro(epsilon);
    tx.execute(
        "INSERT INTO privacy_budgets (retailer_id, budget_micro, spent_micro, updated_at) VALUES (?1, ?2, 0, ?3)
         ON CONFLICT (retailer_id) DO NOTHING",
        params![retailer_id, to_micro(DEFAULT_RETAILER_BUDGET), ts(now)],
    )?;
    let changed = tx.execute(
        "UPDATE privacy_budgets SET spent_micro = spent_micro + ?2, updated_at = ?3
         WHERE retailer_id = ?1 AND spent_micro + ?2 <= budget_micro",
        params![retailer_id, cost, ts(now)],
    )?;
    if changed != 1 {
        let b = budget(tx, retailer_id)?;
        return Err(DpError::BudgetExhausted {
            retailer: retailer_id.to_owned(),
            spent: b.spent,
            total: b.total,
            requested: epsilon,
        });
    }
    tx.execute(
        "INSERT INTO privacy_spends (retailer_id, grant_id, scope, epsilon_micro, spent_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![retailer_id, grant_id, scope, cost, ts(now)],
    )?;
    budget(tx, retailer_id)
}

/// The ledger of a retailer's charges, newest first.
pub fn spends(conn: &Connection, retailer_id: &str) -> Result<Vec<Spend>, DpError> {
    let mut stmt = conn.prepare(
        "SELECT retailer_id, grant_id, scope, epsilon_micro, spent_at FROM privacy_spends
         WHERE retailer_id = ?1 ORDER BY id DESC",
    )?;
    let rows = stmt
        .query_map([retailer_id], |r| {
            Ok(Spend {
                retailer_id: r.get(0)?,
                grant_id: r.get(1)?,
                scope: r.get(2)?,
                epsilon: from_micro(r.get(3)?),
                spent_at: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A noised answer produced in the vault.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoisedAnswer {
    /// The noised scope.
    pub scope: String,
    /// The randomised answer.
    pub value: Value,
    /// The field version that was randomised (`None` when the field is empty).
    pub source: Option<SourceVersion>,
    /// The retailer's budget after this answer.
    pub budget: Budget,
}

/// Charge the retailer's budget and answer `scope` noised from the vault's current value, in `tx`.
pub fn answer_in_vault(
    tx: &Transaction<'_>,
    scope: &str,
    retailer_id: &str,
    grant_id: &str,
    epsilon: f64,
    now: DateTime<Utc>,
    rng: &dyn SecureRandom,
) -> Result<NoisedAnswer, DpError> {
    let noised = NoisedScope::parse(scope)?;
    let budget = charge(tx, retailer_id, grant_id, &noised.scope(), epsilon, now)?;
    let current = locket_vault::profile::current_values(tx, &[noised.field.as_str()])
        .map_err(|e| DerivedError::Storage(e.to_string()))?;
    let cv = current.first();
    let value = noised.answer(cv.map(|c| &c.value), epsilon, rng)?;
    Ok(NoisedAnswer {
        scope: noised.scope(),
        value,
        source: cv.map(|c| SourceVersion {
            key: c.key.clone(),
            version: c.version,
        }),
        budget,
    })
}

/// Answer several noised scopes for one redemption at `epsilon` each: either the budget pays for all of
/// them and every one is charged and answered, or none is charged ([`DpError::BudgetExhausted`]).
pub fn answer_all(
    tx: &Transaction<'_>,
    scopes: &[String],
    retailer_id: &str,
    grant_id: &str,
    epsilon: f64,
    now: DateTime<Utc>,
) -> Result<Vec<NoisedAnswer>, DpError> {
    check_epsilon(epsilon)?;
    for s in scopes {
        NoisedScope::parse(s)?;
    }
    let needed = to_micro(epsilon) * scopes.len() as i64;
    let b = budget(tx, retailer_id)?;
    if to_micro(b.remaining) < needed {
        return Err(DpError::BudgetExhausted {
            retailer: retailer_id.to_owned(),
            spent: b.spent,
            total: b.total,
            requested: from_micro(needed),
        });
    }
    let rng = ring::rand::SystemRandom::new();
    scopes
        .iter()
        .map(|s| answer_in_vault(tx, s, retailer_id, grant_id, epsilon, now, &rng))
        .collect()
}
