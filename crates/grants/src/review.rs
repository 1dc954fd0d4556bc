//! The over-asking review: for each requested raw scope, the minimized answers (derived scopes of
//! `locket_wire::derived::DERIVED_SCOPES`, noised aggregates) that would serve its purpose, and a warning when
//! sensitive data is asked for marketing or analytics. [`review_scope`] works on given fields;
//! [`review_request`] and [`minimization_plan`] resolve fields in the vault (so custom fields count too).

use locket_vault::catalog::{FieldDef, Sensitivity};
use locket_vault::profile;
use locket_wire::derived::DERIVED_SCOPES;
use locket_wire::noised::{NoisedScope, NOISED_PREFIX};
use locket_wire::purpose::Purpose;
use locket_wire::request::GrantRequest;
use locket_wire::scope::{builtin_fields, purpose_problem, Scope};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A raw field is asked for a purpose that a minimized answer serves.
    OverAsking,
    /// Sensitive data (health, religion) asked for marketing or analytics.
    SensitiveForMarketing,
}

impl WarningKind {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            WarningKind::OverAsking => "over_asking",
            WarningKind::SensitiveForMarketing => "sensitive_for_marketing",
        }
    }
}

/// A scope the owner is offered instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The minimized scope (`age_over:18`).
    pub scope: String,
    /// Its label.
    pub label: String,
    /// What the retailer would learn instead.
    pub explanation: String,
}

/// A warning about one requested scope, for the request card and `locket requests show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeWarning {
    /// What kind.
    pub kind: WarningKind,
    /// Stable code (`over_asking`, `sensitive_for_marketing`).
    pub code: String,
    /// The requested scope.
    pub scope: String,
    /// Its stated purpose.
    pub purpose: Purpose,
    /// The fields of the scope that triggered the warning.
    pub fields: Vec<String>,
    /// The minimized answer to grant instead, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Suggestion>,
    /// The warning in plain words.
    pub message: String,
}

fn is_marketing_or_analytics(p: Purpose) -> bool {
    matches!(
        p,
        Purpose::MarketingEmail | Purpose::MarketingSms | Purpose::MarketingPost | Purpose::Analytics
    )
}

/// The over-asking check for one requested scope: `covered` are the fields it would disclose. Returns an
/// `over_asking` warning (with the minimized scope to grant instead) for each derived scope that serves
/// `purpose` and replaces a covered field, a suggestion of a noised aggregate for analytics, and a
/// `sensitive_for_marketing` warning when sensitive fields are asked for marketing or analytics.
pub fn review_scope(scope: &str, purpose: Purpose, covered: &[FieldDef]) -> Vec<ScopeWarning> {
    let mut out = Vec::new();
    if !Scope::parse(scope).is_ok_and(|s| s.is_raw()) {
        return out; // already minimized
    }
    let keys: Vec<&str> = covered.iter().map(|d| d.key.as_str()).collect();
    for def in DERIVED_SCOPES {
        let hit: Vec<String> = def
            .replaces
            .iter()
            .filter(|r| keys.contains(r))
            .map(|r| (*r).to_owned())
            .collect();
        if hit.is_empty() {
            continue;
        }
        for serves in def.serves.iter().filter(|s| s.purposes.contains(&purpose)) {
            let Ok(Scope::Derived(d)) = Scope::parse(serves.suggest) else {
                continue;
            };
            out.push(ScopeWarning {
                kind: WarningKind::OverAsking,
                code: WarningKind::OverAsking.code().to_owned(),
                scope: scope.to_owned(),
                purpose,
                fields: hit.clone(),
                suggestion: Some(Suggestion {
                    scope: serves.suggest.to_owned(),
                    label: d.label(),
                    explanation: d.explanation(),
                }),
                message: format!(
                    "{scope} is asked for {}, which needs less: \"{}\" ({}) would do.",
                    purpose.label(),
                    d.label(),
                    serves.suggest
                ),
            });
        }
    }
    if purpose == Purpose::Analytics {
        for def in covered.iter().filter(|d| NoisedScope::supports(d)) {
            let noised = format!("{NOISED_PREFIX}:{}", def.key);
            if let Ok(n) = NoisedScope::parse(&noised) {
                out.push(ScopeWarning {
                    kind: WarningKind::OverAsking,
                    code: WarningKind::OverAsking.code().to_owned(),
                    scope: scope.to_owned(),
                    purpose,
                    fields: vec![def.key.clone()],
                    suggestion: Some(Suggestion {
                        scope: noised.clone(),
                        label: n.label(),
                        explanation: n.explanation(),
                    }),
                    message: format!(
                        "{} is asked for analytics; a noised answer ({noised}) serves statistics without revealing yours.",
                        def.key
                    ),
                });
            }
        }
    }
    let sensitive: Vec<String> = covered
        .iter()
        .filter(|d| d.sensitivity == Sensitivity::Sensitive)
        .map(|d| d.key.clone())
        .collect();
    if is_marketing_or_analytics(purpose) && !sensitive.is_empty() {
        out.push(ScopeWarning {
            kind: WarningKind::SensitiveForMarketing,
            code: WarningKind::SensitiveForMarketing.code().to_owned(),
            scope: scope.to_owned(),
            purpose,
            message: format!(
                "{scope} includes sensitive data ({}) and is asked for {}; sensitive data is rarely needed for that.",
                sensitive.join(", "),
                purpose.label()
            ),
            fields: sensitive,
            suggestion: None,
        });
    }
    out
}

/// Runs [`review_scope`] over every scope of a request, resolving fields in the vault on `conn` (so custom
/// fields count too). Unknown scopes are skipped (request validation reports them).
pub fn review_request(conn: &Connection, request: &GrantRequest) -> Vec<ScopeWarning> {
    request
        .scopes
        .iter()
        .flat_map(|s| {
            let covered = match Scope::parse(&s.scope) {
                Ok(scope) if scope.is_raw() => profile::resolve(conn, &s.scope).unwrap_or_default(),
                _ => Vec::new(),
            };
            review_scope(&s.scope, s.purpose, &covered)
        })
        .collect()
}

/// Like [`review_request`] but against the built-in catalog only (no vault needed; custom fields are not
/// seen).
pub fn review_request_builtin(request: &GrantRequest) -> Vec<ScopeWarning> {
    request
        .scopes
        .iter()
        .flat_map(|s| review_scope(&s.scope, s.purpose, &builtin_fields(&s.scope)))
        .collect()
}

/// The minimized answers "grant the minimized answer instead" would grant for a request: for each raw scope
/// (only those in `selected`, when given) with an `over_asking` warning, the first suggested scope that
/// passes [`check_minimization`] and is neither asked for by the request itself nor already planned for
/// another scope. The map goes from requested scope to replacement, the form
/// [`crate::store::approve_minimized`] takes.
pub fn minimization_plan(
    conn: &Connection,
    request: &GrantRequest,
    selected: Option<&[String]>,
) -> std::collections::BTreeMap<String, String> {
    let mut plan = std::collections::BTreeMap::new();
    for w in review_request(conn, request) {
        let Some(suggestion) = w.suggestion.as_ref() else {
            continue;
        };
        if w.kind != WarningKind::OverAsking
            || plan.contains_key(&w.scope)
            || selected.is_some_and(|sel| !sel.contains(&w.scope))
            || request.scopes.iter().any(|s| s.scope == suggestion.scope)
            || plan.values().any(|v: &String| v == &suggestion.scope)
        {
            continue;
        }
        let covered = profile::resolve(conn, &w.scope).unwrap_or_default();
        if check_minimization(&w.scope, w.purpose, &covered, &suggestion.scope).is_ok() {
            plan.insert(w.scope.clone(), suggestion.scope.clone());
        }
    }
    plan
}

/// Whether the owner may grant `replacement` (a derived or noised scope) in place of the requested raw scope
/// `raw` (asked for `purpose`, covering the fields `covered`) — "grant the minimized answer instead".
/// Allowed when the replacement is a minimized answer *about the requested data*: a derived scope whose row
/// lists one of the covered fields in `replaces` (it may also read its companion source fields, such as
/// the country for `region`, which only make the coarse answer readable), or `noised:<field>` for a covered
/// field when the purpose is analytics. Returns why not, in words.
pub fn check_minimization(raw: &str, purpose: Purpose, covered: &[FieldDef], replacement: &str) -> Result<(), String> {
    if !Scope::parse(raw).is_ok_and(|s| s.is_raw()) {
        return Err(format!("{raw} is already a minimized scope"));
    }
    let keys: Vec<&str> = covered.iter().map(|d| d.key.as_str()).collect();
    match Scope::parse(replacement).map_err(|e| e.to_string())? {
        Scope::Derived(d) if d.def.replaces.iter().any(|r| keys.contains(r)) => Ok(()),
        Scope::Derived(d) => Err(format!(
            "{replacement} answers a question about {}, which {raw} does not cover",
            d.def.replaces.join(", ")
        )),
        Scope::Noised(n) if keys.contains(&n.field.as_str()) => match purpose_problem(replacement, purpose) {
            Some(p) => Err(p),
            None => Ok(()),
        },
        Scope::Noised(n) => Err(format!("{raw} does not cover {}", n.field)),
        Scope::Field(_) | Scope::Group(_) => Err(format!("{replacement} is not a derived or noised scope")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_asking_suggests_age_over_for_age_verification() {
        let w = review_scope(
            "identity.date_of_birth",
            Purpose::AgeVerification,
            &builtin_fields("identity.date_of_birth"),
        );
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].kind, WarningKind::OverAsking);
        assert_eq!(w[0].code, "over_asking");
        assert_eq!(w[0].suggestion.as_ref().unwrap().scope, "age_over:18");
        assert_eq!(w[0].fields, vec!["identity.date_of_birth".to_owned()]);
        // The whole identity group for age verification: same suggestion.
        let w = review_scope("identity", Purpose::AgeVerification, &builtin_fields("identity"));
        assert_eq!(w[0].suggestion.as_ref().unwrap().scope, "age_over:18");
        // Date of birth for order fulfilment: no suggestion.
        assert!(review_scope(
            "identity.date_of_birth",
            Purpose::OrderFulfilment,
            &builtin_fields("identity.date_of_birth")
        )
        .is_empty());
        // Already minimized: nothing to say.
        assert!(review_scope("age_over:18", Purpose::AgeVerification, &[]).is_empty());
        // Address for delivery is needed as is; for analytics, region is enough.
        assert!(review_scope(
            "contact.address_line1",
            Purpose::Delivery,
            &builtin_fields("contact.address_line1")
        )
        .is_empty());
        let w = review_scope("contact", Purpose::Analytics, &builtin_fields("contact"));
        assert!(w
            .iter()
            .any(|w| w.suggestion.as_ref().is_some_and(|s| s.scope == "region")));
    }

    #[test]
    fn sensitive_fields_for_marketing_or_analytics_are_flagged() {
        let w = review_scope("diet", Purpose::MarketingEmail, &builtin_fields("diet"));
        let flag = w.iter().find(|w| w.kind == WarningKind::SensitiveForMarketing).unwrap();
        assert_eq!(flag.code, "sensitive_for_marketing");
        assert!(flag.fields.contains(&"diet.allergies".to_owned()));
        let w = review_scope("diet.allergies", Purpose::Analytics, &builtin_fields("diet.allergies"));
        assert!(w.iter().any(|w| w.kind == WarningKind::SensitiveForMarketing));
        // The same field for order fulfilment (a restaurant order) is not flagged.
        assert!(review_scope(
            "diet.allergies",
            Purpose::OrderFulfilment,
            &builtin_fields("diet.allergies")
        )
        .is_empty());
        // Non-sensitive fields for marketing are not flagged.
        assert!(review_scope(
            "contact.email",
            Purpose::MarketingEmail,
            &builtin_fields("contact.email")
        )
        .iter()
        .all(|w| w.kind != WarningKind::SensitiveForMarketing));
    }

    #[test]
    fn analytics_on_interests_suggests_a_noised_answer() {
        let w = review_scope(
            "interests.topics",
            Purpose::Analytics,
            &builtin_fields("interests.topics"),
        );
        assert!(w.iter().any(|w| w
            .suggestion
            .as_ref()
            .is_some_and(|s| s.scope == "noised:interests.topics")));
    }

    #[test]
    fn every_suggestion_is_an_allowed_minimization() {
        let raws = [
            ("identity.date_of_birth", Purpose::AgeVerification),
            ("identity", Purpose::AgeVerification),
            ("identity.date_of_birth", Purpose::Analytics),
            ("contact", Purpose::Analytics),
            ("contact.postal_code", Purpose::MarketingEmail),
            ("sizes.clothing", Purpose::Analytics),
            ("budget.range", Purpose::PersonalisedRecommendations),
            ("interests.topics", Purpose::Analytics),
            ("household", Purpose::Analytics),
        ];
        for (raw, purpose) in raws {
            let covered = builtin_fields(raw);
            let warnings = review_scope(raw, purpose, &covered);
            assert!(warnings.iter().any(|w| w.suggestion.is_some()), "{raw} for {purpose}");
            for w in warnings {
                if let Some(s) = w.suggestion {
                    check_minimization(raw, purpose, &covered, &s.scope).unwrap();
                }
            }
        }
        let dob = builtin_fields("identity.date_of_birth");
        assert!(check_minimization("identity.date_of_birth", Purpose::AgeVerification, &dob, "region").is_err());
        assert!(check_minimization("age_over:18", Purpose::AgeVerification, &[], "age_over:21").is_err());
        let topics = builtin_fields("interests.topics");
        assert!(check_minimization(
            "interests.topics",
            Purpose::MarketingEmail,
            &topics,
            "noised:interests.topics"
        )
        .is_err());
        assert!(check_minimization("interests.topics", Purpose::Analytics, &topics, "noised:style.colours").is_err());
    }

    #[test]
    fn marketing_email_is_offered_the_retailers_alias() {
        let w = review_scope(
            "contact.email",
            Purpose::MarketingEmail,
            &builtin_fields("contact.email"),
        );
        assert!(w
            .iter()
            .any(|w| w.suggestion.as_ref().is_some_and(|s| s.scope == "email_alias")));
        assert!(review_scope(
            "contact.email",
            Purpose::OrderFulfilment,
            &builtin_fields("contact.email")
        )
        .is_empty());
    }
}
