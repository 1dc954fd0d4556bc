//! Minimized (derived) scopes: answers to a question instead of the data behind it.
//!
//! A retailer that must check that the owner is an adult does not need the date of birth; `age_over:18`
//! answers `true` or `false`. Derived scopes are computed **at redemption, from the current profile
//! values**, so they are never stored and always reflect the owner's latest edit.
//!
//! Every derived scope is one row of [`DERIVED_SCOPES`], a small table that says, for each scope:
//!
//! | name / pattern              | source fields                                   | answer                                   |
//! |-----------------------------|-------------------------------------------------|------------------------------------------|
//! | `age_over:N` (N = 1..=125)  | `identity.date_of_birth`                        | `true` / `false`                         |
//! | `birth_year_band`           | `identity.date_of_birth`                        | `"1980-1989"`                            |
//! | `region`                    | `contact.country`, `contact.postal_code`        | `{"country": "GB", "postal_area": "SW1A"}` |
//! | `size_band`                 | `sizes.clothing`, `sizes.clothing_system`       | `"M"` (one of XS, S, M, L, XL, XXL, 3XL)  |
//! | `budget_band`               | `budget.range`                                  | `{"band": "50_to_150", "currency": "GBP"}` |
//! | `has_dietary_restriction:X` | `diet.preferences` or `diet.allergies` (by X)   | `true` / `false`                         |
//! | `email_alias`               | the alias configured for the retailer           | `"shop-7f3@alias.example"`               |
//!
//! plus the owner-facing label and explanation, how sensitive the answer still is, which raw fields it
//! replaces and for which purposes (the over-asking check), and the function that computes it. Adding a
//! derived scope means adding a row; nothing else in Locket branches on scope names.
//!
//! [`DerivedScope::parse`] reads one of these scopes (the whole scope grammar, with fields, groups and the
//! noised aggregates of [`crate::noised`], is [`crate::scope::Scope`]); [`compute`] answers a derived scope
//! from [`CurrentValue`]s and reports which field versions it read (for the disclosure log). The over-asking
//! review that offers these scopes in place of raw fields lives in `locket_grants::review`.
//!
//! Edge cases, decided once here:
//! - **Age.** `age_over:N` is `true` when the owner is *at least* N years old on `today` (the convention of
//!   ISO/IEC 18013-5 `age_over_NN`). On the birthday itself the new age applies. Someone born on 29 February
//!   becomes a year older on **1 March** in non-leap years (the conservative reading: never older too early).
//! - **Missing data.** A derived scope whose source field is empty is *unsatisfiable*
//!   ([`DerivedError::Unsatisfiable`]): Locket never guesses `false` for data the owner did not give.
//! - **Which day is today** is the caller's choice (`today`); redemption passes the UTC date.

use crate::catalog::{self, Sensitivity};
use crate::purpose::Purpose;
use crate::value::CurrentValue;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A derived scope could not be parsed or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerivedError {
    /// Not a field, group, derived or noised scope.
    #[error(
        "{0:?} is not a field, field group or derived scope Locket knows; see docs/privacy.md for the derived scopes"
    )]
    UnknownScope(String),
    /// A derived scope with a missing or invalid argument.
    #[error("{scope:?}: {rule}")]
    BadArgument {
        /// The scope as given.
        scope: String,
        /// What the argument must look like.
        rule: String,
    },
    /// The source data is missing or cannot be turned into an answer.
    #[error("{scope:?} cannot be answered: {reason}")]
    Unsatisfiable {
        /// The derived scope.
        scope: String,
        /// Why, in words for the owner.
        reason: String,
    },
    /// Reading the profile failed.
    #[error("could not read the profile: {0}")]
    Storage(String),
}

impl DerivedError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            DerivedError::UnknownScope(_) => "scope_unknown",
            DerivedError::BadArgument { .. } => "scope_argument_invalid",
            DerivedError::Unsatisfiable { .. } => "scope_unsatisfiable",
            DerivedError::Storage(_) => "vault_error",
        }
    }
}

/// What a derived scope's argument (the part after `:`) must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArgRule {
    /// No argument (`region`).
    None,
    /// A whole number in `min..=max` (`age_over:18`).
    Integer {
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
    /// One of the options of the given catalog fields (`has_dietary_restriction:vegan`).
    OptionOf {
        /// The `enum` / `multi_enum` fields whose options are allowed.
        fields: &'static [&'static str],
    },
}

/// A purpose a derived scope serves, and the scope to suggest for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Serves {
    /// The purposes.
    pub purposes: &'static [Purpose],
    /// The derived scope to offer instead of the raw fields (`age_over:18`).
    pub suggest: &'static str,
}

/// Computes a derived answer from the source values (see [`DERIVED_SCOPES`]).
pub type ComputeFn = fn(&Args<'_>, &mut Sources<'_>) -> Result<Value, String>;

/// One row of the derived-scope table.
#[derive(Clone, Copy, Serialize)]
pub struct DerivedDef {
    /// The scope name (`age_over`), the part before `:`.
    pub name: &'static str,
    /// How it is written, for docs and errors (`age_over:N`).
    pub pattern: &'static str,
    /// What the argument must be.
    pub arg: ArgRule,
    /// The profile fields it may read.
    pub sources: &'static [&'static str],
    /// Short label for the owner; `{arg}` is replaced by the argument's label.
    pub label: &'static str,
    /// What the retailer learns, in plain words; `{arg}` is replaced as in `label`.
    pub explanation: &'static str,
    /// How sensitive the answer still is (shown on the request card and in receipts).
    pub sensitivity: Sensitivity,
    /// Raw fields this scope stands in for: asking for one of them for a purpose in `serves` triggers the
    /// over-asking warning.
    pub replaces: &'static [&'static str],
    /// The purposes it serves, with the scope to suggest.
    pub serves: &'static [Serves],
    /// JSON Schema fragment of the answer (documentation; checked by tests).
    pub answer: &'static str,
    /// Computes the answer.
    #[serde(skip)]
    pub compute: ComputeFn,
}

impl PartialEq for DerivedDef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl std::fmt::Debug for DerivedDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerivedDef").field("name", &self.name).finish()
    }
}

const MARKETING_AND_ANALYTICS: &[Purpose] = &[
    Purpose::Analytics,
    Purpose::MarketingEmail,
    Purpose::MarketingSms,
    Purpose::MarketingPost,
];

const ANALYTICS_AND_RECOMMENDATIONS: &[Purpose] = &[
    Purpose::Analytics,
    Purpose::PersonalisedRecommendations,
    Purpose::MarketingEmail,
    Purpose::MarketingSms,
    Purpose::MarketingPost,
];

/// The derived scopes. Keep this table small and documented: each row is everything Locket knows about
/// one derived scope.
pub const DERIVED_SCOPES: &[DerivedDef] = &[
    DerivedDef {
        name: "age_over",
        pattern: "age_over:N",
        arg: ArgRule::Integer { min: 1, max: 125 },
        sources: &["identity.date_of_birth"],
        label: "Whether you are at least {arg}",
        explanation: "The shop learns only yes or no: whether you are at least {arg} years old today. \
                      It does not learn your date of birth or your age.",
        sensitivity: Sensitivity::Low,
        replaces: &["identity.date_of_birth"],
        serves: &[Serves {
            purposes: &[Purpose::AgeVerification],
            suggest: "age_over:18",
        }],
        answer: r#"{"type": "boolean"}"#,
        compute: compute_age_over,
    },
    DerivedDef {
        name: "birth_year_band",
        pattern: "birth_year_band",
        arg: ArgRule::None,
        sources: &["identity.date_of_birth"],
        label: "The decade you were born in",
        explanation: "The shop learns the ten-year span of your birth year, such as 1980-1989, \
                      not your date of birth.",
        sensitivity: Sensitivity::Low,
        replaces: &["identity.date_of_birth"],
        serves: &[Serves {
            purposes: ANALYTICS_AND_RECOMMENDATIONS,
            suggest: "birth_year_band",
        }],
        answer: r#"{"type": "string", "pattern": "^[0-9]{4}-[0-9]{4}$"}"#,
        compute: compute_birth_year_band,
    },
    DerivedDef {
        name: "region",
        pattern: "region",
        arg: ArgRule::None,
        sources: &["contact.country", "contact.postal_code"],
        label: "Your country and postal area",
        explanation: "The shop learns your country and the first part of your postcode (for example SW1A), \
                      which covers thousands of homes, not your street or house.",
        sensitivity: Sensitivity::Low,
        replaces: &[
            "contact.address_line1",
            "contact.address_line2",
            "contact.city",
            "contact.postal_code",
        ],
        serves: &[Serves {
            purposes: &[
                Purpose::Analytics,
                Purpose::PersonalisedRecommendations,
                Purpose::MarketingEmail,
                Purpose::MarketingSms,
                Purpose::FraudPrevention,
            ],
            suggest: "region",
        }],
        answer: r#"{"type": "object", "required": ["country"], "properties": {"country": {"type": "string"}, "postal_area": {"type": "string"}}}"#,
        compute: compute_region,
    },
    DerivedDef {
        name: "size_band",
        pattern: "size_band",
        arg: ArgRule::None,
        sources: &["sizes.clothing", "sizes.clothing_system"],
        label: "Your clothing size band",
        explanation: "The shop learns a letter size band (XS, S, M, L, XL, XXL or 3XL) instead of your exact size.",
        sensitivity: Sensitivity::Low,
        replaces: &["sizes.clothing"],
        serves: &[Serves {
            purposes: MARKETING_AND_ANALYTICS,
            suggest: "size_band",
        }],
        answer: r#"{"enum": ["XS", "S", "M", "L", "XL", "XXL", "3XL"]}"#,
        compute: compute_size_band,
    },
    DerivedDef {
        name: "budget_band",
        pattern: "budget_band",
        arg: ArgRule::None,
        sources: &["budget.range"],
        label: "Your budget band",
        explanation: "The shop learns a broad band for the most you usually spend (under 50, 50 to 150, \
                      150 to 500, 500 or more) instead of your exact range.",
        sensitivity: Sensitivity::Low,
        replaces: &["budget.range"],
        serves: &[Serves {
            purposes: ANALYTICS_AND_RECOMMENDATIONS,
            suggest: "budget_band",
        }],
        answer: r#"{"type": "object", "required": ["band"], "properties": {"band": {"enum": ["under_50", "50_to_150", "150_to_500", "500_plus"]}, "currency": {"type": "string"}}}"#,
        compute: compute_budget_band,
    },
    DerivedDef {
        name: "has_dietary_restriction",
        pattern: "has_dietary_restriction:X",
        arg: ArgRule::OptionOf {
            fields: &["diet.preferences", "diet.allergies"],
        },
        sources: &["diet.preferences", "diet.allergies"],
        label: "Whether you need {arg} food",
        explanation: "The shop learns only yes or no for this one need ({arg}), not your other dietary \
                      needs or allergies.",
        sensitivity: Sensitivity::Sensitive,
        replaces: &["diet.preferences", "diet.allergies"],
        serves: &[],
        answer: r#"{"type": "boolean"}"#,
        compute: compute_dietary,
    },
    DerivedDef {
        name: "email_alias",
        pattern: "email_alias",
        arg: ArgRule::None,
        sources: &[],
        label: "An email alias just for this shop",
        explanation: "The shop gets the alias address you set up for it instead of your real email address. \
                      Mail to it still reaches you, and if the alias ever turns up elsewhere you know who leaked it.",
        sensitivity: Sensitivity::Personal,
        replaces: &["contact.email"],
        serves: &[Serves {
            purposes: &[Purpose::MarketingEmail, Purpose::AccountManagement],
            suggest: "email_alias",
        }],
        answer: r#"{"type": "string", "format": "email"}"#,
        compute: compute_email_alias,
    },
];

/// Looks up a derived scope's row by name (`age_over`).
pub fn definition(name: &str) -> Option<&'static DerivedDef> {
    DERIVED_SCOPES.iter().find(|d| d.name == name)
}

/// A parsed, valid derived scope.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedScope {
    /// Its table row.
    pub def: &'static DerivedDef,
    /// The argument after `:`, if any (validated against [`DerivedDef::arg`]).
    pub arg: Option<String>,
}

impl DerivedScope {
    /// Parses `scope` as a derived scope: `None` when its name (the part before any `:`) is not a row of
    /// [`DERIVED_SCOPES`], else the scope with its argument checked against the row.
    pub fn parse(scope: &str) -> Option<Result<Self, DerivedError>> {
        let (name, arg) = match scope.split_once(':') {
            Some((name, arg)) => (name, Some(arg)),
            None => (scope, None),
        };
        let def = definition(name)?;
        Some(check_arg(scope, def, arg).map(|()| DerivedScope {
            def,
            arg: arg.map(str::to_owned),
        }))
    }

    /// The scope string (`age_over:18`).
    pub fn scope(&self) -> String {
        match &self.arg {
            Some(a) => format!("{}:{a}", self.def.name),
            None => self.def.name.to_owned(),
        }
    }

    fn arg_label(&self) -> String {
        let Some(arg) = self.arg.as_deref() else {
            return String::new();
        };
        if let ArgRule::OptionOf { fields } = self.def.arg {
            for f in fields {
                if let Some(o) = catalog::builtin(f).and_then(|d| d.options.iter().find(|o| o.value == arg)) {
                    return o.label.to_lowercase();
                }
            }
        }
        arg.to_owned()
    }

    /// The owner-facing label ("Whether you are at least 18").
    pub fn label(&self) -> String {
        self.def.label.replace("{arg}", &self.arg_label())
    }

    /// The plain-words explanation of what the retailer learns.
    pub fn explanation(&self) -> String {
        self.def.explanation.replace("{arg}", &self.arg_label())
    }
}

fn check_arg(scope: &str, def: &DerivedDef, arg: Option<&str>) -> Result<(), DerivedError> {
    let bad = |rule: String| DerivedError::BadArgument {
        scope: scope.to_owned(),
        rule,
    };
    match (def.arg, arg) {
        (ArgRule::None, None) => Ok(()),
        (ArgRule::None, Some(_)) => Err(bad(format!(
            "{} takes no argument; write it as {}",
            def.name, def.pattern
        ))),
        (_, None) => Err(bad(format!("{} needs an argument, e.g. {}", def.name, example(def)))),
        (ArgRule::Integer { min, max }, Some(a)) => {
            let ok = !a.is_empty()
                && a.bytes().all(|b| b.is_ascii_digit())
                && !(a.len() > 1 && a.starts_with('0'))
                && a.parse::<u32>().is_ok_and(|n| (min..=max).contains(&n));
            if ok {
                Ok(())
            } else {
                Err(bad(format!(
                    "the argument must be a whole number from {min} to {max}, e.g. {}",
                    example(def)
                )))
            }
        }
        (ArgRule::OptionOf { fields }, Some(a)) => {
            let known = option_values(fields);
            if known.iter().any(|o| o == a) {
                Ok(())
            } else {
                Err(bad(format!("the argument must be one of: {}", known.join(", "))))
            }
        }
    }
}

fn option_values(fields: &[&str]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|f| catalog::builtin(f))
        .flat_map(|d| d.options.iter().map(|o| o.value.clone()))
        .collect()
}

fn example(def: &DerivedDef) -> String {
    if let Some(s) = def.serves.first() {
        return s.suggest.to_owned();
    }
    match def.arg {
        ArgRule::None => def.name.to_owned(),
        ArgRule::Integer { min, .. } => format!("{}:{min}", def.name),
        ArgRule::OptionOf { fields } => match option_values(fields).first() {
            Some(o) => format!("{}:{o}", def.name),
            None => def.pattern.to_owned(),
        },
    }
}

// ---------------------------------------------------------------------------------------------------------
// Computing answers.

/// A field version a derived answer was computed from (recorded in the disclosure log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceVersion {
    /// Field key.
    pub key: String,
    /// Version read (0 = catalog default).
    pub version: u32,
}

/// A computed derived answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Computed {
    /// The derived scope (`age_over:18`).
    pub scope: String,
    /// The answer.
    pub value: Value,
    /// The field versions actually read to produce it.
    pub sources: Vec<SourceVersion>,
}

/// The argument and the day a derived answer is computed for.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a> {
    /// The argument after `:`, validated.
    pub arg: Option<&'a str>,
    /// The date "today" (ages).
    pub today: NaiveDate,
    /// The email alias the owner configured for the retailer being answered, if any (`email_alias`).
    pub email_alias: Option<&'a str>,
}

/// The profile values a computation may read; remembers which ones it did read.
#[derive(Debug)]
pub struct Sources<'a> {
    allowed: &'static [&'static str],
    values: &'a [CurrentValue],
    used: Vec<SourceVersion>,
}

impl<'a> Sources<'a> {
    /// The current value of `key` (only keys listed in the row's `sources` are visible), recording its
    /// version as used.
    pub fn get(&mut self, key: &str) -> Option<&'a Value> {
        if !self.allowed.contains(&key) {
            return None;
        }
        let cv = self.values.iter().find(|v| v.key == key)?;
        if !self.used.iter().any(|u| u.key == key) {
            self.used.push(SourceVersion {
                key: cv.key.clone(),
                version: cv.version,
            });
        }
        Some(&cv.value)
    }
}

/// Answers a derived scope from current values (as the vault's `profile::current_values` returns them) on
/// `today`.
/// Returns the answer and the field versions it read; a missing source is
/// [`DerivedError::Unsatisfiable`].
pub fn compute(scope: &DerivedScope, values: &[CurrentValue], today: NaiveDate) -> Result<Computed, DerivedError> {
    compute_with_alias(scope, values, today, None)
}

/// [`compute`] for a particular retailer: `email_alias` is the alias configured for it (see
/// `locket_grants::erasure::alias_for`), the answer of the `email_alias` scope.
pub fn compute_with_alias(
    scope: &DerivedScope,
    values: &[CurrentValue],
    today: NaiveDate,
    email_alias: Option<&str>,
) -> Result<Computed, DerivedError> {
    let mut sources = Sources {
        allowed: scope.def.sources,
        values,
        used: Vec::new(),
    };
    let args = Args {
        arg: scope.arg.as_deref(),
        today,
        email_alias,
    };
    let value = (scope.def.compute)(&args, &mut sources).map_err(|reason| DerivedError::Unsatisfiable {
        scope: scope.scope(),
        reason,
    })?;
    Ok(Computed {
        scope: scope.scope(),
        value,
        sources: sources.used,
    })
}

fn compute_email_alias(args: &Args<'_>, _: &mut Sources<'_>) -> Result<Value, String> {
    args.email_alias
        .map(|a| Value::String(a.to_owned()))
        .ok_or_else(|| "the owner has not set up an email alias for this shop".to_owned())
}

fn missing(label: &str) -> String {
    format!("the owner has not filled in {label}")
}

fn date_of_birth(src: &mut Sources<'_>) -> Result<NaiveDate, String> {
    let v = src
        .get("identity.date_of_birth")
        .ok_or_else(|| missing("their date of birth"))?;
    v.as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| "the stored date of birth is not a YYYY-MM-DD date".to_owned())
}

/// Whole years completed between `born` and `on`. A 29 February birthday counts as reached on 1 March in
/// non-leap years (month/day comparison: 28 Feb < 29 Feb < 1 Mar).
pub fn age_on(born: NaiveDate, on: NaiveDate) -> i32 {
    let mut years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years
}

fn compute_age_over(args: &Args<'_>, src: &mut Sources<'_>) -> Result<Value, String> {
    let n: i32 = args
        .arg
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| "the age is missing".to_owned())?;
    let born = date_of_birth(src)?;
    Ok(Value::Bool(age_on(born, args.today) >= n))
}

fn compute_birth_year_band(_: &Args<'_>, src: &mut Sources<'_>) -> Result<Value, String> {
    let year = date_of_birth(src)?.year();
    let start = year.div_euclid(10) * 10;
    Ok(Value::String(format!("{start}-{}", start + 9)))
}

/// The coarse postal area of a postcode in `country`: the outward code for GB (`SW1A 1AA` → `SW1A`), the
/// routing key for IE (`D02 X285` → `D02`), the forward sortation area for CA (`K1A 0B1` → `K1A`), the
/// three-digit prefix for US ZIP codes, and the first two characters elsewhere.
pub fn postal_area(country: &str, postcode: &str) -> Option<String> {
    let compact: String = postcode
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() < 3 {
        return None;
    }
    let area = match country {
        "GB" => {
            let trimmed = postcode.trim().to_ascii_uppercase();
            match trimmed.split_once(char::is_whitespace) {
                Some((out, _)) => out.to_owned(),
                // No space: the inward code is always the last three characters.
                None if compact.len() >= 5 => compact[..compact.len() - 3].to_owned(),
                None => return None,
            }
        }
        "IE" | "CA" => compact[..3].to_owned(),
        "US" => {
            if !compact[..3].bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            compact[..3].to_owned()
        }
        _ => compact[..2].to_owned(),
    };
    Some(area)
}

fn compute_region(_: &Args<'_>, src: &mut Sources<'_>) -> Result<Value, String> {
    let country = src
        .get("contact.country")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("their country"))?
        .to_owned();
    let mut out = json!({ "country": country });
    if let Some(pc) = src.get("contact.postal_code").and_then(Value::as_str) {
        if let Some(area) = postal_area(&country, pc) {
            out["postal_area"] = Value::String(area);
        }
    }
    Ok(out)
}

/// Letter size bands, smallest first.
pub const SIZE_BANDS: [&str; 7] = ["XS", "S", "M", "L", "XL", "XXL", "3XL"];

fn letter_band(size: &str) -> Option<&'static str> {
    let s: String = size
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    Some(match s.as_str() {
        "XXS" | "2XS" | "XS" | "EXTRASMALL" => "XS",
        "S" | "SMALL" => "S",
        "M" | "MEDIUM" => "M",
        "L" | "LARGE" => "L",
        "XL" | "EXTRALARGE" => "XL",
        "XXL" | "2XL" => "XXL",
        "XXXL" | "3XL" | "XXXXL" | "4XL" => "3XL",
        _ => return None,
    })
}

/// The band of a numeric clothing size, read as a women's dress size in `system` (the catalog's clothing
/// systems). Sizes are first converted to the UK scale (US + 4, EU − 28, FR − 30, IT − 32, JP + 1) and then
/// banded: up to 7 XS, 8–11 S, 12–15 M, 16–19 L, 20–23 XL, 24–27 XXL, 28–33 3XL. Outside 2–33: no band.
pub fn numeric_size_band(system: &str, size: f64) -> Option<&'static str> {
    let uk = match system {
        "uk" => size,
        "us" => size + 4.0,
        "eu" => size - 28.0,
        "fr" => size - 30.0,
        "it" => size - 32.0,
        "jp" => size + 1.0,
        _ => return None,
    };
    if !(2.0..=33.0).contains(&uk) {
        return None;
    }
    let idx = [7.0, 11.0, 15.0, 19.0, 23.0, 27.0, 33.0]
        .iter()
        .position(|upper| uk <= *upper)?;
    Some(SIZE_BANDS[idx])
}

fn compute_size_band(_: &Args<'_>, src: &mut Sources<'_>) -> Result<Value, String> {
    let size = src
        .get("sizes.clothing")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("their clothing size"))?
        .trim()
        .to_owned();
    if let Some(band) = letter_band(&size) {
        return Ok(Value::String(band.to_owned()));
    }
    let number: f64 = size
        .replace(',', ".")
        .parse()
        .map_err(|_| format!("the clothing size {size:?} is neither a letter size nor a number"))?;
    let system = src
        .get("sizes.clothing_system")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the clothing size {size} is a number but the size system is not set"))?
        .to_owned();
    numeric_size_band(&system, number)
        .map(|b| Value::String(b.to_owned()))
        .ok_or_else(|| format!("clothing size {size} in system {system} has no size band"))
}

/// Budget bands by the top of the range, in units of a "major" currency (GBP, EUR, USD, CHF, …).
pub const BUDGET_BANDS: [(f64, &str); 4] = [
    (50.0, "under_50"),
    (150.0, "50_to_150"),
    (500.0, "150_to_500"),
    (f64::INFINITY, "500_plus"),
];

/// Rough number of currency units per "major" unit for currencies whose units are much smaller, so the
/// bands mean about the same thing everywhere. Currencies not listed count 1:1.
const CURRENCY_SCALE: &[(&str, f64)] = &[
    ("JPY", 150.0),
    ("KRW", 1300.0),
    ("INR", 80.0),
    ("CNY", 7.0),
    ("SEK", 10.0),
    ("NOK", 10.0),
    ("DKK", 7.0),
    ("PLN", 4.0),
    ("CZK", 23.0),
    ("HUF", 360.0),
];

/// The budget band for a range's upper end `max` in `currency`.
pub fn budget_band(max: f64, currency: Option<&str>) -> &'static str {
    let scale = currency
        .and_then(|c| CURRENCY_SCALE.iter().find(|(code, _)| *code == c))
        .map_or(1.0, |(_, s)| *s);
    let major = max / scale;
    BUDGET_BANDS
        .iter()
        .find(|(upper, _)| major < *upper)
        .map_or("500_plus", |(_, b)| b)
}

fn compute_budget_band(_: &Args<'_>, src: &mut Sources<'_>) -> Result<Value, String> {
    let range = src.get("budget.range").ok_or_else(|| missing("their budget"))?;
    let max = range
        .get("max")
        .and_then(Value::as_f64)
        .ok_or_else(|| "the stored budget has no upper end".to_owned())?;
    let currency = range.get("currency").and_then(Value::as_str);
    let mut out = json!({ "band": budget_band(max, currency) });
    if let Some(c) = currency {
        out["currency"] = Value::String(c.to_owned());
    }
    Ok(out)
}

fn compute_dietary(args: &Args<'_>, src: &mut Sources<'_>) -> Result<Value, String> {
    let arg = args.arg.ok_or_else(|| "the dietary need is missing".to_owned())?;
    // The argument belongs to exactly one of the source fields; only that one is read.
    let field = ["diet.preferences", "diet.allergies"]
        .into_iter()
        .find(|f| catalog::builtin(f).is_some_and(|d| d.options.iter().any(|o| o.value == arg)))
        .ok_or_else(|| format!("{arg:?} is not a dietary option"))?;
    let label = catalog::builtin(field).map_or(field.to_owned(), |d| d.label.to_lowercase());
    let list = src.get(field).ok_or_else(|| missing(&label))?;
    let items = list
        .as_array()
        .ok_or_else(|| format!("the stored {label} are not a list"))?;
    Ok(Value::Bool(items.iter().any(|v| v.as_str() == Some(arg))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn cv(key: &str, version: u32, value: Value) -> CurrentValue {
        CurrentValue {
            key: key.into(),
            version,
            value,
            set_at: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            is_default: false,
        }
    }

    fn derived(scope: &str) -> DerivedScope {
        match DerivedScope::parse(scope) {
            Some(Ok(d)) => d,
            other => panic!("{scope} parsed as {other:?}"),
        }
    }

    fn run(scope: &str, values: &[CurrentValue], today: &str) -> Result<Computed, DerivedError> {
        compute(&derived(scope), values, d(today))
    }

    fn dob(s: &str) -> Vec<CurrentValue> {
        vec![cv("identity.date_of_birth", 3, json!(s))]
    }

    #[test]
    fn table_is_consistent_with_the_catalog_and_the_request_schema() {
        let schema: Value = serde_json::from_str(crate::schemas::REQUEST_SCHEMA).unwrap();
        let pattern = schema["properties"]["scopes"]["items"]["properties"]["scope"]["pattern"]
            .as_str()
            .unwrap();
        let re = regex_lite_match(pattern);
        let mut names = std::collections::HashSet::new();
        for def in DERIVED_SCOPES {
            assert!(names.insert(def.name), "duplicate {}", def.name);
            // A derived name must never shadow a field group.
            assert!(catalog::group(def.name).is_none(), "{} is a group", def.name);
            for key in def.sources.iter().chain(def.replaces) {
                assert!(catalog::builtin(key).is_some(), "{}: unknown field {key}", def.name);
            }
            for s in def.serves {
                let parsed = derived(s.suggest);
                assert_eq!(parsed.def.name, def.name);
                assert!(re(s.suggest), "{} does not match the request schema", s.suggest);
            }
            let ex = example(def);
            assert!(matches!(DerivedScope::parse(&ex), Some(Ok(_))), "{ex}");
            assert!(re(&ex));
            let _: Value = serde_json::from_str(def.answer).unwrap();
            assert!(!def.label.is_empty() && def.explanation.len() > 20);
            let doc = include_str!("../../../docs/privacy.md");
            assert!(
                doc.contains(&format!("`{}`", def.pattern)),
                "{} missing from docs/privacy.md",
                def.pattern
            );
        }
    }

    // The request schema's scope pattern, checked with the jsonschema crate we already have.
    fn regex_lite_match(pattern: &str) -> impl Fn(&str) -> bool {
        let schema = json!({"type": "string", "pattern": pattern});
        let v = jsonschema::validator_for(&schema).unwrap();
        move |s: &str| v.is_valid(&json!(s))
    }

    #[test]
    fn age_over_counts_the_birthday_itself() {
        let born = dob("2008-06-15");
        assert_eq!(run("age_over:18", &born, "2026-06-14").unwrap().value, json!(false));
        assert_eq!(run("age_over:18", &born, "2026-06-15").unwrap().value, json!(true));
        assert_eq!(run("age_over:18", &born, "2026-06-16").unwrap().value, json!(true));
        assert_eq!(run("age_over:21", &born, "2026-06-15").unwrap().value, json!(false));
        assert_eq!(run("age_over:1", &born, "2009-06-15").unwrap().value, json!(true));
    }

    proptest::proptest! {
        /// `age_over:N` agrees with an independent formulation: the Nth birthday is the date N years after
        /// the date of birth (29 February → 1 March when that year has none), and the answer is whether
        /// today is on or after it.
        #[test]
        fn age_over_matches_the_nth_birthday(
            born_days in 0i64..46_000,  // 1900-01-01 + up to ~126 years
            age_days in -400i64..46_000,
            n in 1u32..=125,
        ) {
            let born = d("1900-01-01") + chrono::Duration::days(born_days);
            let today = born + chrono::Duration::days(age_days);
            let year = born.year() + n as i32;
            let nth = NaiveDate::from_ymd_opt(year, born.month(), born.day())
                .unwrap_or_else(|| NaiveDate::from_ymd_opt(year, 3, 1).unwrap());
            let values = dob(&born.format("%Y-%m-%d").to_string());
            let got = compute(&derived(&format!("age_over:{n}")), &values, today).unwrap().value;
            proptest::prop_assert_eq!(got, json!(today >= nth));
        }
    }

    #[test]
    fn leap_day_birthdays_turn_over_on_first_of_march_in_common_years() {
        let born = dob("2008-02-29");
        // 2026 is not a leap year: still 17 on 28 February, 18 on 1 March.
        assert_eq!(run("age_over:18", &born, "2026-02-28").unwrap().value, json!(false));
        assert_eq!(run("age_over:18", &born, "2026-03-01").unwrap().value, json!(true));
        // In a leap year the birthday exists.
        assert_eq!(run("age_over:16", &born, "2024-02-28").unwrap().value, json!(false));
        assert_eq!(run("age_over:16", &born, "2024-02-29").unwrap().value, json!(true));
        assert_eq!(age_on(d("2008-02-29"), d("2026-02-28")), 17);
        assert_eq!(age_on(d("2008-02-29"), d("2026-03-01")), 18);
    }

    #[test]
    fn missing_or_broken_date_of_birth_is_unsatisfiable_not_false() {
        let e = run("age_over:18", &[], "2026-01-01").unwrap_err();
        assert_eq!(e.code(), "scope_unsatisfiable");
        assert!(e.to_string().contains("date of birth"), "{e}");
        let e = run("birth_year_band", &dob("21/04/1990"), "2026-01-01").unwrap_err();
        assert_eq!(e.code(), "scope_unsatisfiable");
    }

    #[test]
    fn computation_reports_the_versions_it_read() {
        let mut values = dob("1990-04-21");
        values.push(cv("contact.email", 7, json!("a@example.org")));
        let c = run("age_over:18", &values, "2026-01-01").unwrap();
        assert_eq!(
            c.sources,
            vec![SourceVersion {
                key: "identity.date_of_birth".into(),
                version: 3
            }]
        );
    }

    #[test]
    fn birth_year_bands_are_decades() {
        for (born, band) in [
            ("1980-01-01", "1980-1989"),
            ("1989-12-31", "1980-1989"),
            ("1990-04-21", "1990-1999"),
            ("2000-02-29", "2000-2009"),
        ] {
            assert_eq!(
                run("birth_year_band", &dob(born), "2026-01-01").unwrap().value,
                json!(band)
            );
        }
    }

    #[test]
    fn region_gives_country_and_postal_area_only() {
        let gb = vec![
            cv("contact.country", 1, json!("GB")),
            cv("contact.postal_code", 2, json!("SW1A 1AA")),
            cv("contact.address_line1", 2, json!("10 Downing Street")),
        ];
        let c = run("region", &gb, "2026-01-01").unwrap();
        assert_eq!(c.value, json!({"country": "GB", "postal_area": "SW1A"}));
        assert_eq!(c.sources.len(), 2);
        assert!(!c.value.to_string().contains("Downing"));
        assert_eq!(postal_area("GB", "sw1a1aa").as_deref(), Some("SW1A"));
        assert_eq!(postal_area("GB", "M1 1AE").as_deref(), Some("M1"));
        assert_eq!(postal_area("US", "94103-1234").as_deref(), Some("941"));
        assert_eq!(postal_area("CA", "K1A 0B1").as_deref(), Some("K1A"));
        assert_eq!(postal_area("IE", "D02 X285").as_deref(), Some("D02"));
        assert_eq!(postal_area("DE", "10115").as_deref(), Some("10"));
        assert_eq!(postal_area("DE", "1").as_deref(), None);
        // Without a postcode: country only. Without a country: unsatisfiable.
        let only_country = vec![cv("contact.country", 1, json!("DE"))];
        let c = run("region", &only_country, "2026-01-01").unwrap();
        assert_eq!(c.value, json!({"country": "DE"}));
        assert_eq!(c.sources.len(), 1);
        let only_pc = vec![cv("contact.postal_code", 1, json!("10115"))];
        assert_eq!(
            run("region", &only_pc, "2026-01-01").unwrap_err().code(),
            "scope_unsatisfiable"
        );
    }

    #[test]
    fn size_bands_from_letters_and_numbers_in_each_system() {
        let sized = |size: &str, system: Option<&str>| {
            let mut v = vec![cv("sizes.clothing", 1, json!(size))];
            if let Some(s) = system {
                v.push(cv("sizes.clothing_system", 1, json!(s)));
            }
            run("size_band", &v, "2026-01-01")
        };
        assert_eq!(sized("m", None).unwrap().value, json!("M"));
        assert_eq!(sized("XXS", Some("intl")).unwrap().value, json!("XS"));
        assert_eq!(sized("2XL", None).unwrap().value, json!("XXL"));
        assert_eq!(sized("12", Some("uk")).unwrap().value, json!("M"));
        assert_eq!(sized("8", Some("us")).unwrap().value, json!("M"));
        assert_eq!(sized("40", Some("eu")).unwrap().value, json!("M"));
        assert_eq!(sized("42", Some("fr")).unwrap().value, json!("M"));
        assert_eq!(sized("44", Some("it")).unwrap().value, json!("M"));
        assert_eq!(sized("11", Some("jp")).unwrap().value, json!("M"));
        assert_eq!(sized("6", Some("uk")).unwrap().value, json!("XS"));
        assert_eq!(sized("10", Some("uk")).unwrap().value, json!("S"));
        assert_eq!(sized("18", Some("uk")).unwrap().value, json!("L"));
        assert_eq!(sized("22", Some("uk")).unwrap().value, json!("XL"));
        assert_eq!(sized("26", Some("uk")).unwrap().value, json!("XXL"));
        assert_eq!(sized("30", Some("uk")).unwrap().value, json!("3XL"));
        // A letter size reads only the size; a number reads both.
        assert_eq!(sized("M", Some("uk")).unwrap().sources.len(), 1);
        assert_eq!(sized("12", Some("uk")).unwrap().sources.len(), 2);
        // Missing system for a number, nonsense, out of range: unsatisfiable.
        for (size, system) in [
            ("12", None),
            ("huge", Some("uk")),
            ("80", Some("uk")),
            ("12", Some("intl")),
        ] {
            assert_eq!(sized(size, system).unwrap_err().code(), "scope_unsatisfiable", "{size}");
        }
        assert_eq!(
            run("size_band", &[], "2026-01-01").unwrap_err().code(),
            "scope_unsatisfiable"
        );
        // Every system the catalog offers is handled (intl by letters).
        for o in &catalog::builtin("sizes.clothing_system").unwrap().options {
            let banded = (0..70).any(|n| numeric_size_band(&o.value, f64::from(n)) == Some("M"));
            assert!(o.value == "intl" || banded, "{}", o.value);
        }
    }

    #[test]
    fn budget_bands_use_the_top_of_the_range() {
        let b = |v: Value| run("budget_band", &[cv("budget.range", 4, v)], "2026-01-01");
        assert_eq!(
            b(json!({"min": 10, "max": 40, "currency": "GBP"})).unwrap().value,
            json!({"band": "under_50", "currency": "GBP"})
        );
        assert_eq!(
            b(json!({"min": 50, "max": 50})).unwrap().value,
            json!({"band": "50_to_150"})
        );
        assert_eq!(
            b(json!({"min": 50, "max": 200, "currency": "EUR"})).unwrap().value["band"],
            "150_to_500"
        );
        assert_eq!(b(json!({"min": 0, "max": 5000})).unwrap().value["band"], "500_plus");
        assert_eq!(
            b(json!({"min": 0, "max": 20000, "currency": "JPY"})).unwrap().value["band"],
            "50_to_150"
        );
        assert_eq!(b(json!({"min": 0})).unwrap_err().code(), "scope_unsatisfiable");
        assert_eq!(
            run("budget_band", &[], "2026-01-01").unwrap_err().code(),
            "scope_unsatisfiable"
        );
    }

    #[test]
    fn dietary_restriction_reads_only_the_field_the_option_belongs_to() {
        let values = vec![
            cv("diet.preferences", 2, json!(["vegan", "gluten_free"])),
            cv("diet.allergies", 5, json!(["peanuts"])),
        ];
        let c = run("has_dietary_restriction:vegan", &values, "2026-01-01").unwrap();
        assert_eq!(c.value, json!(true));
        assert_eq!(
            c.sources,
            vec![SourceVersion {
                key: "diet.preferences".into(),
                version: 2
            }]
        );
        assert_eq!(
            run("has_dietary_restriction:halal", &values, "2026-01-01")
                .unwrap()
                .value,
            json!(false)
        );
        let c = run("has_dietary_restriction:peanuts", &values, "2026-01-01").unwrap();
        assert_eq!(c.value, json!(true));
        assert_eq!(c.sources[0].key, "diet.allergies");
        // Allergies never filled in: unknown, not "no".
        let prefs_only = &values[..1];
        assert_eq!(
            run("has_dietary_restriction:sesame", prefs_only, "2026-01-01")
                .unwrap_err()
                .code(),
            "scope_unsatisfiable"
        );
        assert_eq!(
            derived("has_dietary_restriction:gluten_free").label(),
            "Whether you need gluten-free food"
        );
    }

    #[test]
    fn email_alias_answers_with_the_retailers_alias_only() {
        let alias = derived("email_alias");
        let values = vec![cv("contact.email", 1, json!("real@example.org"))];
        let c = compute_with_alias(&alias, &values, d("2026-01-01"), Some("shop-1@alias.example")).unwrap();
        assert_eq!(c.value, json!("shop-1@alias.example"));
        assert!(c.sources.is_empty(), "the real address is never read");
        assert_eq!(
            compute(&alias, &values, d("2026-01-01")).unwrap_err().code(),
            "scope_unsatisfiable"
        );
    }

    #[test]
    fn sources_outside_the_row_are_invisible() {
        // Even if the caller passes more values, a computation cannot read fields it does not declare.
        let mut s = Sources {
            allowed: &["identity.date_of_birth"],
            values: &[cv("contact.email", 1, json!("x@example.org"))],
            used: Vec::new(),
        };
        assert!(s.get("contact.email").is_none());
        assert!(s.used.is_empty());
    }
}
