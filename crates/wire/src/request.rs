//! The grant request format `locket.grant-request/v1`: what a retailer sends to ask for scopes.
//!
//! [`parse_request`] is the only entry point for untrusted bytes: it enforces the 64 KiB cap, parses JSON,
//! validates against the published JSON Schema (`docs/schemas/grant-request.v1.schema.json`, compiled
//! into this crate) and then the semantic rules the schema cannot express. Before the schema it refuses any
//! string holding a control or text-direction character ([`crate::text`]), so no message quotes one. [`check_scopes`] additionally
//! checks every scope against the vault's catalog.

use crate::duration;
use crate::error::{Problem, RequestError};
use crate::exchange::{self, Benefit, Recipient};
use crate::purpose::Purpose;
use crate::scope::ScopeResolver;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The `format` value of a grant request.
pub const REQUEST_FORMAT: &str = "locket.grant-request/v1";

/// Largest request document accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How far in the future `created_at` may lie (clock skew allowance).
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 600;

/// The published JSON Schema, as text.
pub use crate::schemas::REQUEST_SCHEMA;

/// Most problems reported for one document.
const MAX_PROBLEMS: usize = 20;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retailer {
    /// Stable id (the token audience), e.g. `shop.example`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Website origin, e.g. `https://shop.example`.
    pub origin: String,
    /// Email address or URL for data questions.
    pub contact: String,
    /// Privacy policy URL.
    pub privacy_policy: String,
}

/// One scope asked for, with its purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedScope {
    /// Field key, group or derived scope.
    pub scope: String,
    /// Why.
    pub purpose: Purpose,
    /// The retailer's words about the purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_text: Option<String>,
    /// Whether the retailer considers it necessary.
    pub required: bool,
}

/// The retailer's promise on keeping received data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// ISO 8601 duration or `until_grant_ends`.
    pub max_duration: String,
    /// The promise in words.
    pub statement: String,
}

/// A validated `locket.grant-request/v1` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// Always [`REQUEST_FORMAT`].
    pub format: String,
    /// Who is asking.
    pub retailer: Retailer,
    /// What for.
    pub scopes: Vec<RequestedScope>,
    /// ISO 8601 duration (weeks/days/hours/minutes/seconds).
    pub requested_duration: String,
    /// Retention promise.
    pub retention: Retention,
    /// What the shop offers in return, if anything ([`crate::exchange`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benefit: Option<Benefit>,
    /// Every party beyond the shop that receives the data; empty (or absent on the wire) when the shop says it
    /// shares with nobody else ([`crate::exchange`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<Recipient>,
    /// Retailer's random nonce.
    pub nonce: String,
    /// When the retailer made it.
    pub created_at: DateTime<Utc>,
}

impl GrantRequest {
    /// The requested duration (validated by [`parse_request`]).
    pub fn requested_duration(&self) -> Result<Duration, crate::duration::DurationError> {
        duration::parse_iso8601(&self.requested_duration)
    }

    /// The requested scope entry for `scope`, if asked for.
    pub fn scope(&self, scope: &str) -> Option<&RequestedScope> {
        self.scopes.iter().find(|s| s.scope == scope)
    }

    /// Serialize as pretty JSON (the form `locket-retailer request new` writes).
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain strings, enums and a timestamp cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn validator() -> Result<&'static jsonschema::Validator, RequestError> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: serde_json::Value =
                serde_json::from_str(REQUEST_SCHEMA).map_err(|e| format!("schema is not JSON: {e}"))?;
            jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| format!("schema does not compile: {e}"))
        })
        .as_ref()
        .map_err(|e| RequestError::Malformed(format!("internal: the built-in {e}")))
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// `key` as one JSON pointer segment (RFC 6901).
fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every string in `value` (member names too) holding a refused character ([`crate::text::is_refused`]):
/// the member's path and the first such code point, never the text itself.
pub(crate) fn control_characters(value: &serde_json::Value, path: &mut String, out: &mut Vec<Problem>) {
    use crate::text::{code_point, first_refused, kind};
    if out.len() >= MAX_PROBLEMS {
        return;
    }
    match value {
        serde_json::Value::String(s) => {
            if let Some(c) = first_refused(s) {
                out.push(problem(
                    path.clone(),
                    "control_characters",
                    format!("{} ({}) is not allowed in a request's text", code_point(c), kind(c)),
                ));
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                control_characters(item, path, out);
                path.truncate(len);
            }
        }
        serde_json::Value::Object(members) => {
            for (key, item) in members {
                if let Some(c) = first_refused(key) {
                    out.push(problem(
                        path.clone(),
                        "control_characters",
                        format!(
                            "a member name holds {} ({}), which is not allowed in a request",
                            code_point(c),
                            kind(c)
                        ),
                    ));
                    continue;
                }
                let len = path.len();
                path.push('/');
                path.push_str(&pointer_segment(key));
                control_characters(item, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn problem(path: impl Into<String>, rule: &str, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        rule: rule.to_owned(),
        message: message.into(),
    }
}

/// Parse and validate an untrusted request document, with the current time for the clock-skew rule.
pub fn parse_request(bytes: &[u8]) -> Result<GrantRequest, RequestError> {
    parse_request_at(bytes, Utc::now())
}

/// [`parse_request`] with an explicit "now".
pub fn parse_request_at(bytes: &[u8], now: DateTime<Utc>) -> Result<GrantRequest, RequestError> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(RequestError::TooLarge {
            size: bytes.len(),
            max: MAX_REQUEST_BYTES,
        });
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| RequestError::Malformed(e.to_string()))?;

    let mut hidden = Vec::new();
    control_characters(&value, &mut String::new(), &mut hidden);
    if !hidden.is_empty() {
        hidden.truncate(MAX_PROBLEMS);
        return Err(RequestError::ControlCharacters(hidden));
    }

    let mut problems: Vec<Problem> = validator()?
        .iter_errors(&value)
        .take(MAX_PROBLEMS)
        .map(|e| {
            let rule = e.schema_path.as_str().rsplit('/').next().unwrap_or("schema").to_owned();
            problem(e.instance_path.as_str(), &rule, truncate(e.to_string(), 300))
        })
        .collect();
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        return Err(RequestError::of_problems(problems));
    }

    let request: GrantRequest =
        serde_json::from_value(value).map_err(|e| RequestError::Invalid(vec![problem("", "schema", e.to_string())]))?;

    if let Err(e) = request.requested_duration() {
        problems.push(problem("/requested_duration", "duration", e.to_string()));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, s) in request.scopes.iter().enumerate() {
        if let Some(first) = seen.insert(s.scope.as_str(), i) {
            problems.push(problem(
                format!("/scopes/{i}/scope"),
                "unique_scope",
                format!(
                    "{:?} is already requested at /scopes/{first}; ask for each scope once",
                    s.scope
                ),
            ));
        }
    }
    if request.created_at > now + Duration::seconds(MAX_CLOCK_SKEW_SECONDS) {
        problems.push(problem(
            "/created_at",
            "not_in_future",
            format!(
                "{} is in the future; check the retailer's clock",
                request.created_at.to_rfc3339()
            ),
        ));
    }
    problems.extend(exchange::problems(request.benefit.as_ref(), &request.recipients));
    if problems.is_empty() {
        Ok(request)
    } else {
        Err(RequestError::of_problems(problems))
    }
}

/// Check every requested scope against the vault's catalog (rule `known_scope`), and that noised scopes are
/// asked for analytics only (rule `derived_purpose`, see [`crate::scope::purpose_problem`]).
pub fn check_scopes(request: &GrantRequest, resolver: &dyn ScopeResolver) -> Result<(), RequestError> {
    let mut problems: Vec<Problem> = request
        .scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| resolver.resolve(&s.scope).is_none())
        .map(|(i, s)| {
            problem(
                format!("/scopes/{i}/scope"),
                "known_scope",
                format!(
                    "{:?} is not a field, field group or derived scope Locket knows",
                    s.scope
                ),
            )
        })
        .collect();
    for (i, s) in request.scopes.iter().enumerate() {
        if let Some(message) = crate::scope::purpose_problem(&s.scope, s.purpose) {
            problems.push(problem(format!("/scopes/{i}/purpose"), "derived_purpose", message));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RequestError::Invalid(problems))
    }
}

/// Parse, validate and check scopes against the catalog in one step.
pub fn validate_request(
    bytes: &[u8],
    resolver: &dyn ScopeResolver,
    now: DateTime<Utc>,
) -> Result<GrantRequest, RequestError> {
    let request = parse_request_at(bytes, now)?;
    check_scopes(&request, resolver)?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::StaticCatalog;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-24T15:00:00Z".parse().unwrap()
    }

    pub(crate) fn sample() -> serde_json::Value {
        json!({
            "format": "locket.grant-request/v1",
            "retailer": {
                "id": "shop.example",
                "name": "Example Shop",
                "origin": "https://shop.example",
                "contact": "privacy@shop.example",
                "privacy_policy": "https://shop.example/privacy"
            },
            "scopes": [
                {"scope": "contact.email", "purpose": "order_fulfilment", "required": true},
                {"scope": "address", "purpose": "delivery", "purpose_text": "To post your parcel", "required": true},
                {"scope": "contact.phone", "purpose": "marketing_sms", "required": false}
            ],
            "requested_duration": "P30D",
            "retention": {"max_duration": "P90D", "statement": "We delete your data 90 days after delivery."},
            "nonce": "n0nce-0123456789abcdef",
            "created_at": "2026-11-24T14:59:00Z"
        })
    }

    fn parse(v: &serde_json::Value) -> Result<GrantRequest, RequestError> {
        parse_request_at(serde_json::to_string(v).unwrap().as_bytes(), now())
    }

    fn problems(v: &serde_json::Value) -> Vec<Problem> {
        match parse(v) {
            Err(RequestError::Invalid(p)) => p,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn sample_is_valid_and_checks_against_catalog() {
        let req = parse(&sample()).unwrap();
        assert_eq!(req.scopes.len(), 3);
        assert_eq!(req.requested_duration().unwrap(), Duration::days(30));
        check_scopes(&req, &StaticCatalog::sample()).unwrap();
    }

    #[test]
    fn size_cap_is_enforced_before_parsing() {
        let big = vec![b' '; MAX_REQUEST_BYTES + 1];
        let err = parse_request_at(&big, now()).unwrap_err();
        assert_eq!(err.code(), "request_too_large");
    }

    #[test]
    fn not_json_is_malformed() {
        let err = parse_request_at(b"{\"format\":", now()).unwrap_err();
        assert_eq!(err.code(), "request_malformed");
    }

    #[test]
    fn schema_errors_name_path_and_rule() {
        let mut v = sample();
        v["scopes"][1]["purpose"] = json!("marketing");
        v["retailer"].as_object_mut().unwrap().remove("privacy_policy");
        v["extra"] = json!(1);
        let p = problems(&v);
        let has = |path: &str, rule: &str| p.iter().any(|x| x.path == path && x.rule == rule);
        assert!(has("/scopes/1/purpose", "enum"), "{p:?}");
        assert!(has("/retailer", "required"), "{p:?}");
        assert!(has("", "additionalProperties"), "{p:?}");
        let msg = RequestError::Invalid(p).to_string();
        assert!(msg.contains("at /scopes/1/purpose"), "{msg}");
    }

    #[test]
    fn other_purpose_needs_text() {
        let mut v = sample();
        v["scopes"][0]["purpose"] = json!("other");
        let p = problems(&v);
        assert!(p.iter().any(|x| x.path == "/scopes/0" && x.rule == "required"), "{p:?}");
        v["scopes"][0]["purpose_text"] = json!("loyalty scheme");
        parse(&v).unwrap();
    }

    #[test]
    fn semantic_rules() {
        let mut v = sample();
        v["scopes"][2]["scope"] = json!("contact.email");
        v["requested_duration"] = json!("P1Y");
        v["created_at"] = json!("2027-01-01T00:00:00Z");
        let p = problems(&v);
        // P1Y is refused by the schema's pattern already; fix it and look at the semantic rules.
        assert!(
            p.iter().any(|x| x.path == "/requested_duration" && x.rule == "pattern"),
            "{p:?}"
        );
        v["requested_duration"] = json!("PT");
        let p = problems(&v);
        assert!(
            p.iter()
                .any(|x| x.path == "/requested_duration" && x.rule == "duration"),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|x| x.path == "/scopes/2/scope" && x.rule == "unique_scope"),
            "{p:?}"
        );
        assert!(
            p.iter().any(|x| x.path == "/created_at" && x.rule == "not_in_future"),
            "{p:?}"
        );
    }

    #[test]
    fn unknown_scopes_are_named() {
        let mut v = sample();
        v["scopes"][1]["scope"] = json!("bank.iban");
        let req = parse(&v).unwrap();
        let err = check_scopes(&req, &StaticCatalog::sample()).unwrap_err();
        assert_eq!(err.problems()[0].path, "/scopes/1/scope");
        assert_eq!(err.problems()[0].rule, "known_scope");
    }

    #[test]
    fn control_and_direction_characters_are_refused_by_path_and_code_point() {
        let mut v = sample();
        v["retailer"]["name"] = json!("Nice Shop\u{1b}[2K\r\u{1b}]0;pwned\u{7}");
        v["scopes"][1]["purpose_text"] = json!("line one\nline two");
        v["retention"]["statement"] = json!("We keep it \u{202e}syad 09\u{202c}");
        v["scopes"][0]["x\u{2066}/y"] = json!(1);
        let err = parse(&v).unwrap_err();
        assert_eq!(err.code(), "request_control_characters");
        let p = err.problems();
        let has = |path: &str, cp: &str| p.iter().any(|x| x.path == path && x.message.contains(cp));
        assert!(has("/retailer/name", "U+001B"), "{p:?}");
        assert!(has("/scopes/1/purpose_text", "U+000A"), "{p:?}");
        assert!(has("/retention/statement", "U+202E"), "{p:?}");
        assert!(has("/scopes/0", "U+2066"), "{p:?}");
        assert!(p.iter().all(|x| x.rule == "control_characters"));
        let msg = err.to_string();
        assert!(
            !msg.contains('\u{1b}') && !msg.contains("pwned") && !msg.contains('\u{202e}'),
            "{msg}"
        );

        // Ordinary text in any script, with emoji and joiners, is fine.
        let mut v = sample();
        v["retailer"]["name"] = json!("Café Ōsaka 商店 🛍️ «Über»");
        v["retention"]["statement"] = json!("Wir löschen alles nach 90 Tagen — versprochen!");
        parse(&v).unwrap();
        // The escaped form of the same characters in the JSON text is refused just the same.
        let text = serde_json::to_string(&sample())
            .unwrap()
            .replace("Example Shop", "Example\\u202eShop");
        let err = parse_request_at(text.as_bytes(), now()).unwrap_err();
        assert_eq!(err.problems()[0].path, "/retailer/name");
    }

    #[test]
    fn schema_text_pattern_matches_the_rust_rule() {
        let schema: serde_json::Value = serde_json::from_str(REQUEST_SCHEMA).unwrap();
        let validator = jsonschema::validator_for(&schema["$defs"]["text"]).unwrap();
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            assert_eq!(
                validator.is_valid(&json!(s)),
                !crate::text::is_refused(c),
                "{}",
                crate::text::code_point(c)
            );
        }
        // Every string member of the schema uses it (format and purpose are fixed words).
        fn strings(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
            if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
                for (k, m) in props {
                    let p = format!("{path}/{k}");
                    if m.get("type").and_then(|t| t.as_str()) == Some("string") {
                        assert_eq!(m["$ref"], json!("#/$defs/text"), "{p}");
                        out.push(p.clone());
                    }
                    strings(m, &p, out);
                    if let Some(items) = m.get("items") {
                        strings(items, &format!("{p}/*"), out);
                    }
                }
            }
        }
        let mut found = Vec::new();
        strings(&schema, "", &mut found);
        assert!(found.contains(&"/retailer/name".to_owned()), "{found:?}");
        assert!(found.contains(&"/scopes/*/purpose_text".to_owned()), "{found:?}");
    }

    fn with_exchange() -> serde_json::Value {
        let mut v = sample();
        v["benefit"] = json!({
            "description": "10% off your first order",
            "offer": {"kind": "discount_percent", "percent": 10}
        });
        v["recipients"] = json!([
            {"name": "Parcel Express Ltd", "role": "processor", "purpose": "delivery", "country": "DE"},
            {"name": "Insight Co", "role": "third_party", "purpose": "other", "purpose_text": "Market research", "country": "US"}
        ]);
        v
    }

    fn refusal(v: &serde_json::Value) -> RequestError {
        parse(v).expect_err("refused")
    }

    #[test]
    fn benefit_and_recipients_are_optional_and_read_back() {
        // Older requests have neither: no benefit, nobody else.
        let old = parse(&sample()).unwrap();
        assert_eq!(old.benefit, None);
        assert!(old.recipients.is_empty());
        assert!(serde_json::to_value(&old).unwrap().get("recipients").is_none());

        let req = parse(&with_exchange()).unwrap();
        let b = req.benefit.as_ref().unwrap();
        assert_eq!(b.offer, Some(crate::exchange::Offer::DiscountPercent { percent: 10 }));
        assert_eq!(req.recipients.len(), 2);
        assert_eq!(req.recipients[0].role, crate::exchange::RecipientRole::Processor);
        assert_eq!(req.recipients[0].country_name(), "Germany");
        assert_eq!(req.recipients[1].purpose_text.as_deref(), Some("Market research"));
        assert_eq!(serde_json::to_value(&req).unwrap(), with_exchange());

        // An explicit empty list says the same as none; a benefit without a structured offer is fine.
        let mut v = with_exchange();
        v["recipients"] = json!([]);
        v["benefit"] = json!({"description": "A thank-you card with your parcel"});
        let req = parse(&v).unwrap();
        assert!(req.recipients.is_empty());
        assert_eq!(req.benefit.unwrap().offer, None);
        for offer in [
            json!({"kind": "discount_amount", "amount": "4.99", "currency": "EUR"}),
            json!({"kind": "discount_amount", "amount": "500", "currency": "JPY"}),
            json!({"kind": "loyalty_points", "points": 250}),
            json!({"kind": "free_shipping"}),
            json!({"kind": "early_access"}),
            json!({"kind": "other"}),
        ] {
            let mut v = with_exchange();
            v["benefit"]["offer"] = offer.clone();
            parse(&v).unwrap_or_else(|e| panic!("{offer}: {e}"));
        }
    }

    #[test]
    fn a_bad_benefit_is_refused_with_its_own_code() {
        for (offer, path, rule) in [
            (
                json!({"kind": "discount_percent", "percent": 0}),
                "/benefit/offer/percent",
                "minimum",
            ),
            (
                json!({"kind": "discount_percent", "percent": 101}),
                "/benefit/offer/percent",
                "maximum",
            ),
            (json!({"kind": "discount_percent"}), "/benefit/offer", "required"),
            (
                json!({"kind": "discount_percent", "percent": 5, "points": 9}),
                "/benefit/offer",
                "enum",
            ),
            (
                json!({"kind": "discount_amount", "amount": "5", "currency": "XAU"}),
                "/benefit/offer/currency",
                "enum",
            ),
            (
                json!({"kind": "discount_amount", "amount": "5", "currency": "eur"}),
                "/benefit/offer/currency",
                "enum",
            ),
            (
                json!({"kind": "discount_amount", "amount": "5,00", "currency": "EUR"}),
                "/benefit/offer/amount",
                "pattern",
            ),
            (
                json!({"kind": "discount_amount", "amount": 5, "currency": "EUR"}),
                "/benefit/offer/amount",
                "type",
            ),
            (
                json!({"kind": "discount_amount", "amount": "0.00", "currency": "EUR"}),
                "/benefit/offer/amount",
                "positive_amount",
            ),
            (
                json!({"kind": "loyalty_points", "points": 0}),
                "/benefit/offer/points",
                "minimum",
            ),
            (
                json!({"kind": "free_shipping", "percent": 10}),
                "/benefit/offer",
                "enum",
            ),
            (json!({"kind": "voucher"}), "/benefit/offer/kind", "enum"),
        ] {
            let mut v = with_exchange();
            v["benefit"]["offer"] = offer.clone();
            let e = refusal(&v);
            assert_eq!(e.code(), "request_benefit_invalid", "{offer}: {e}");
            assert!(
                e.problems().iter().any(|p| p.path == path && p.rule == rule),
                "{offer}: {:?}",
                e.problems()
            );
        }
        let mut v = with_exchange();
        v["benefit"] = json!({"offer": {"kind": "free_shipping"}});
        assert_eq!(refusal(&v).code(), "request_benefit_invalid");
        v["benefit"] = json!({"description": "x".repeat(501)});
        assert_eq!(refusal(&v).problems()[0].rule, "maxLength");
        v["benefit"] = json!("10% off");
        assert_eq!(refusal(&v).code(), "request_benefit_invalid");
        let e = refusal(&v);
        assert!(e.to_string().contains("benefit"), "{e}");
    }

    #[test]
    fn bad_recipients_are_refused_with_their_own_code() {
        let first = |k: &str, x: serde_json::Value| {
            let mut v = with_exchange();
            v["recipients"][0][k] = x;
            v
        };
        for (v, path, rule) in [
            (first("country", json!("UK")), "/recipients/0/country", "enum"),
            (first("country", json!("EU")), "/recipients/0/country", "enum"),
            (first("country", json!("de")), "/recipients/0/country", "enum"),
            (first("role", json!("partner")), "/recipients/0/role", "enum"),
            (first("purpose", json!("resale")), "/recipients/0/purpose", "enum"),
            (first("purpose", json!("other")), "/recipients/0", "required"),
            (first("name", json!("")), "/recipients/0/name", "minLength"),
            (first("name", json!("n".repeat(101))), "/recipients/0/name", "maxLength"),
            (
                first("email", json!("x@y.example")),
                "/recipients/0",
                "additionalProperties",
            ),
        ] {
            let e = refusal(&v);
            assert_eq!(e.code(), "request_recipients_invalid", "{path}: {e}");
            assert!(
                e.problems().iter().any(|p| p.path == path && p.rule == rule),
                "{path} {rule}: {:?}",
                e.problems()
            );
        }
        let mut v = with_exchange();
        v["recipients"][0].as_object_mut().unwrap().remove("country");
        assert_eq!(refusal(&v).code(), "request_recipients_invalid");

        let mut v = with_exchange();
        let again = v["recipients"][0].clone();
        v["recipients"].as_array_mut().unwrap().push(again);
        let e = refusal(&v);
        assert_eq!(e.code(), "request_recipients_invalid");
        assert_eq!(e.problems()[0].path, "/recipients/2");
        assert_eq!(e.problems()[0].rule, "unique_recipient");

        let mut v = with_exchange();
        let many: Vec<_> = (0..=crate::exchange::MAX_RECIPIENTS)
            .map(|i| json!({"name": format!("Partner {i}"), "role": "processor", "purpose": "analytics", "country": "FR"}))
            .collect();
        v["recipients"] = json!(many);
        let e = refusal(&v);
        assert_eq!(e.code(), "request_recipients_invalid");
        assert_eq!(e.problems()[0].rule, "maxItems");
        v["recipients"] = json!({"name": "Parcel Express"});
        assert_eq!(refusal(&v).code(), "request_recipients_invalid");
    }

    #[test]
    fn mixed_problems_are_request_invalid_and_hidden_characters_come_first() {
        let mut v = with_exchange();
        v["recipients"][0]["country"] = json!("UK");
        v["benefit"]["offer"]["percent"] = json!(0);
        let e = refusal(&v);
        assert_eq!(e.code(), "request_invalid");
        assert_eq!(e.problems().len(), 2, "{:?}", e.problems());
        let mut v = with_exchange();
        v["recipients"][0]["country"] = json!("UK");
        v["requested_duration"] = json!("P1Y");
        assert_eq!(refusal(&v).code(), "request_invalid");
        // The semantic rules run once the schema is satisfied: a duplicate scope shows only then.
        let mut v = with_exchange();
        v["recipients"][0]["country"] = json!("UK");
        v["scopes"][2]["scope"] = json!("contact.email");
        assert_eq!(refusal(&v).code(), "request_recipients_invalid");
        v["recipients"][0]["country"] = json!("GB");
        assert_eq!(refusal(&v).code(), "request_invalid");
        let again = v["recipients"][0].clone();
        v["recipients"].as_array_mut().unwrap().push(again);
        let e = refusal(&v);
        assert_eq!(e.code(), "request_invalid");
        assert!(
            e.problems().iter().any(|p| p.rule == "unique_recipient"),
            "{:?}",
            e.problems()
        );
        assert!(
            e.problems().iter().any(|p| p.rule == "unique_scope"),
            "{:?}",
            e.problems()
        );

        for (ptr, text) in [
            ("/benefit/description", "10% off\u{1b}[2K for nothing"),
            ("/recipients/0/name", "Parcel\u{202e}Express"),
            ("/recipients/1/purpose_text", "Research\u{2028}and resale"),
        ] {
            let mut v = with_exchange();
            *v.pointer_mut(ptr).unwrap() = json!(text);
            let e = parse(&v).unwrap_err();
            assert_eq!(e.code(), "request_control_characters", "{ptr}");
            assert_eq!(e.problems()[0].path, ptr);
        }
    }

    #[test]
    fn schema_code_lists_match_the_rust_tables() {
        let schema: serde_json::Value = serde_json::from_str(REQUEST_SCHEMA).unwrap();
        let list = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
                .collect()
        };
        let countries: Vec<String> = crate::iso::COUNTRIES.iter().map(|(c, _)| (*c).to_owned()).collect();
        assert_eq!(list(&schema["$defs"]["country"]["enum"]), countries);
        let currencies: Vec<String> = crate::iso::CURRENCIES.iter().map(|c| (*c).to_owned()).collect();
        assert_eq!(list(&schema["$defs"]["currency"]["enum"]), currencies);
        let recipient = &schema["properties"]["recipients"]["items"]["properties"];
        let roles: Vec<String> = crate::exchange::RecipientRole::ALL
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect();
        assert_eq!(list(&recipient["role"]["enum"]), roles);
        let purposes: Vec<String> = Purpose::ALL.iter().map(|p| p.as_str().to_owned()).collect();
        assert_eq!(list(&recipient["purpose"]["enum"]), purposes);
        assert_eq!(
            schema["properties"]["recipients"]["maxItems"],
            json!(crate::exchange::MAX_RECIPIENTS)
        );
        // Every offer kind the schema names is one the Rust type reads, and no other.
        let kinds = list(&schema["properties"]["benefit"]["properties"]["offer"]["properties"]["kind"]["enum"]);
        assert_eq!(kinds.len(), 6);
        for k in kinds {
            let mut offer = json!({"kind": k});
            match k.as_str() {
                "discount_percent" => offer["percent"] = json!(5),
                "discount_amount" => {
                    offer["amount"] = json!("5");
                    offer["currency"] = json!("EUR");
                }
                "loyalty_points" => offer["points"] = json!(5),
                _ => {}
            }
            let parsed: crate::exchange::Offer = serde_json::from_value(offer).unwrap();
            assert_eq!(parsed.kind(), k);
        }
    }

    #[test]
    fn bad_formats_and_patterns() {
        for (ptr, bad) in [
            ("/retailer/id", json!("Shop Example")),
            ("/retailer/origin", json!("https://shop.example/path")),
            ("/retailer/privacy_policy", json!("not a url")),
            ("/nonce", json!("short")),
            ("/created_at", json!("yesterday")),
            ("/scopes/0/scope", json!("Contact.Email")),
            ("/scopes/0/required", json!("yes")),
            ("/format", json!("locket.grant-request/v2")),
        ] {
            let mut v = sample();
            *v.pointer_mut(ptr).unwrap() = bad;
            let p = problems(&v);
            assert!(p.iter().any(|x| x.path == ptr), "{ptr}: {p:?}");
        }
    }
}
