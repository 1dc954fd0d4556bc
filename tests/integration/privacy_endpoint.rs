//! Minimized (derived) and noised scopes over real loopback HTTP against a real vault: every derived scope,
//! the birthday-today, leap-day and missing-field edge cases, the access log recording the source versions,
//! and the differential-privacy budget running out (`privacy_budget_exhausted`).

use crate::endpoint_support::Fixture;
use chrono::{Datelike, NaiveDate, Utc};
use serde_json::{json, Value};

fn doc(scopes: Value) -> Value {
    crate::kit::Request::new().scopes(scopes).json()
}

fn set(fx: &Fixture, key: &str, value: Value) {
    locket_vault::profile::set(fx.conn().conn(), key, value).unwrap();
}

fn years_before(d: NaiveDate, years: i32) -> NaiveDate {
    // Today's month/day `years` earlier; 29 February falls back to 28 February in a common year.
    NaiveDate::from_ymd_opt(d.year() - years, d.month(), d.day())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(d.year() - years, 2, 28).unwrap())
}

fn field<'a>(body: &'a Value, key: &str) -> &'a Value {
    body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("{key} not in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_derived_scope_over_http_with_edge_cases() {
    let fx = Fixture::start().await;
    let today = Utc::now().date_naive();
    // Turns 18 today.
    let born = years_before(today, 18);
    set(
        &fx,
        "identity.date_of_birth",
        json!(born.format("%Y-%m-%d").to_string()),
    );
    set(&fx, "contact.country", json!("GB"));
    set(&fx, "contact.postal_code", json!("SW1A 1AA"));
    set(&fx, "contact.address_line1", json!("10 Downing Street"));
    set(&fx, "sizes.clothing", json!("12"));
    set(&fx, "sizes.clothing_system", json!("uk"));
    set(&fx, "budget.range", json!({"min": 20, "max": 120, "currency": "GBP"}));
    set(&fx, "diet.preferences", json!(["vegetarian"]));

    let id = fx.import(&doc(json!([
        {"scope": "age_over:18", "purpose": "age_verification", "required": true},
        {"scope": "age_over:19", "purpose": "age_verification", "required": false},
        {"scope": "birth_year_band", "purpose": "analytics", "required": false},
        {"scope": "region", "purpose": "analytics", "required": false},
        {"scope": "size_band", "purpose": "analytics", "required": false},
        {"scope": "budget_band", "purpose": "personalised_recommendations", "required": false},
        {"scope": "has_dietary_restriction:vegetarian", "purpose": "order_fulfilment", "required": false},
        {"scope": "has_dietary_restriction:peanuts", "purpose": "order_fulfilment", "required": false}
    ])));
    // Three age answers narrow the age to a band: the owner insists here (refused otherwise: grants flow test
    // `several_age_answers_for_one_retailer_are_refused_unless_the_owner_insists`).
    let grant = fx.approve(
        &id,
        locket_grants::ApproveOptions {
            allow_age_bracketing: true,
            ..Default::default()
        },
    );
    assert!(
        grant.scopes.iter().all(|s| s.fields.is_empty()),
        "derived scopes carry no fields"
    );

    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        field(&body, "age_over:18")["value"],
        json!(true),
        "birthday today counts"
    );
    assert_eq!(field(&body, "age_over:19")["value"], json!(false));
    assert_eq!(field(&body, "age_over:18")["version"], json!(0));
    assert_eq!(field(&body, "age_over:18")["label"], "Whether you are at least 18");
    let decade = born.year() / 10 * 10;
    assert_eq!(
        field(&body, "birth_year_band")["value"],
        json!(format!("{decade}-{}", decade + 9))
    );
    assert_eq!(
        field(&body, "region")["value"],
        json!({"country": "GB", "postal_area": "SW1A"})
    );
    assert_eq!(field(&body, "size_band")["value"], json!("M"));
    assert_eq!(
        field(&body, "budget_band")["value"],
        json!({"band": "50_to_150", "currency": "GBP"})
    );
    assert_eq!(field(&body, "has_dietary_restriction:vegetarian")["value"], json!(true));
    // Allergies never filled in: not answered (optional scope → empty), never a guessed "false".
    assert_eq!(body["empty_scopes"], json!(["has_dietary_restriction:peanuts"]));
    let text = body.to_string();
    for secret in [
        born.format("%Y-%m-%d").to_string(),
        "Downing".into(),
        "1AA".into(),
        "vegetarian\"]".into(),
    ] {
        assert!(!text.contains(&secret), "{secret} leaked: {text}");
    }

    // The access log records the answers and the field versions behind them.
    let ev = fx.newest();
    let logged: Vec<(String, i64)> = ev.fields.iter().map(|f| (f.key.clone(), f.version)).collect();
    assert!(logged.contains(&("age_over:18".into(), 0)), "{logged:?}");
    assert!(logged.contains(&("identity.date_of_birth".into(), 1)), "{logged:?}");
    assert!(logged.contains(&("contact.postal_code".into(), 1)), "{logged:?}");

    // Turns 18 tomorrow: not yet.
    let tomorrow = today.succ_opt().unwrap();
    set(
        &fx,
        "identity.date_of_birth",
        json!(years_before(tomorrow, 18).format("%Y-%m-%d").to_string()),
    );
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "{body}");
    if years_before(tomorrow, 18) > born {
        assert_eq!(field(&body, "age_over:18")["value"], json!(false));
    }

    // Date of birth removed: the required derived scope cannot be answered; refused and logged.
    locket_vault::profile::remove(fx.conn().conn(), "identity.date_of_birth").unwrap();
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("scope_unsatisfiable")),
        "{body}"
    );
    assert_eq!(fx.newest().reason.as_deref(), Some("scope_unsatisfiable"));
    fx.verify_log();
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leap_day_birthday_over_http() {
    let fx = Fixture::start().await;
    let today = Utc::now().date_naive();
    // The most recent 29 February at least 16 years ago.
    let mut year = today.year() - 16;
    while NaiveDate::from_ymd_opt(year, 2, 29).is_none() {
        year -= 1;
    }
    let born = NaiveDate::from_ymd_opt(year, 2, 29).unwrap();
    set(
        &fx,
        "identity.date_of_birth",
        json!(born.format("%Y-%m-%d").to_string()),
    );
    let n = today.year() - year; // the age reached this calendar year
    let scope = format!("age_over:{n}");
    let id = fx.import(&doc(
        json!([{"scope": scope, "purpose": "age_verification", "required": true}]),
    ));
    let grant = fx.approve(&id, Default::default());
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(status, 200, "{body}");
    // Reached on 29 February in a leap year, on 1 March otherwise — never on 28 February.
    let birthday_this_year = NaiveDate::from_ymd_opt(today.year(), 2, 29)
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 3, 1).unwrap());
    assert_eq!(
        field(&body, &scope)["value"],
        json!(today >= birthday_this_year),
        "{body}"
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noised_scope_spends_the_privacy_budget_then_is_refused() {
    let fx = Fixture::start().await;
    set(&fx, "interests.topics", json!(["fashion", "books"]));
    set(&fx, "household.size", json!(3));
    {
        let mut store = fx.conn();
        let tx = store.conn_mut().transaction().unwrap();
        locket_grants::dp::set_budget(&tx, "shop.example", 2.0, Utc::now()).unwrap();
        tx.commit().unwrap();
    }
    let id = fx.import(&doc(json!([
        {"scope": "noised:interests.topics", "purpose": "analytics", "required": true},
        {"scope": "contact.email", "purpose": "order_fulfilment", "required": true}
    ])));
    let grant = fx.approve(&id, Default::default());
    for _ in 0..2 {
        let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
        assert_eq!(status, 200, "{body}");
        let noised = field(&body, "noised:interests.topics");
        assert_eq!(noised["value"]["mechanism"], "randomized_response");
        assert_eq!(noised["value"]["bits"].as_array().unwrap().len(), 18);
        assert_eq!(field(&body, "contact.email")["value"], "ada@example.org");
    }
    let (status, body) = fx.get("/v1/data", Some(&grant.token)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("privacy_budget_exhausted")),
        "{body}"
    );
    assert_eq!(fx.newest().reason.as_deref(), Some("privacy_budget_exhausted"));
    let b = locket_grants::dp::budget(fx.conn().conn(), "shop.example").unwrap();
    assert_eq!((b.spent, b.remaining, b.answers), (2.0, 0.0, 2));
    // Introspection still works; the refusal used nothing.
    let (status, body) = fx.get("/v1/grant", Some(&grant.token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["uses"], 2);

    // A noised scope may only be requested for analytics: over HTTP the request is refused with the rule.
    let bad = doc(json!([{"scope": "noised:household.size", "purpose": "marketing_email", "required": true}]));
    let (status, body) = fx
        .post(
            "/v1/requests",
            None,
            Some(("application/json", bad.to_string().into_bytes())),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("derived_purpose"), "{body}");
    fx.verify_log();
    fx.stop().await;
}
