//! Publishing a signed request object: the grant request (with the shop's recorded details), wrapped with a
//! `state`, its `request_uri` and a short validity, signed with the shop's key and stored in its data directory
//! for the server to hand out once; and the `locket://connect?request_uri=…` link (and its QR code) that makes
//! the owner's Locket fetch it. Each request's `state` is recorded in the shop's holdings database
//! ([`crate::holdings`]), which outlives the one-time object: the grant release that answers the request must
//! carry it.

use chrono::{DateTime, Duration, Utc};
use locket_wire::request_object::{
    sign_request_object, verify_request_object, RequestObjectClaims, MAX_LIFETIME_SECONDS,
};
use locket_wire::Purpose;

use crate::holdings::Holdings;
use crate::store::{random_token, DataDir};
use crate::{RequestBuilder, RetailerError};

/// Default validity of a published request object.
pub const DEFAULT_TTL_SECONDS: i64 = 600;

/// One scope asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeAsk {
    /// The scope (`contact.email`, `sizes`, `age_over:18`).
    pub scope: String,
    /// Why.
    pub purpose: Purpose,
    /// Words about the purpose (needed for `other`).
    pub purpose_text: Option<String>,
    /// Whether the shop cannot do without it.
    pub required: bool,
}

/// What to ask for.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The scopes, at least one.
    pub scopes: Vec<ScopeAsk>,
    /// How long access is wanted (ISO 8601: `P30D`).
    pub duration: String,
    /// How long received data is kept (ISO 8601 or `until_grant_ends`).
    pub retention: String,
    /// The retention promise in words (`None`: a sentence made from `retention`).
    pub statement: Option<String>,
    /// The `state` to bind the request to (`None`: 128 random bits).
    pub state: Option<String>,
    /// How long the request object may be fetched (at most one hour).
    pub ttl: Duration,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            scopes: Vec::new(),
            duration: "P30D".into(),
            retention: "until_grant_ends".into(),
            statement: None,
            state: None,
            ttl: Duration::seconds(DEFAULT_TTL_SECONDS),
        }
    }
}

/// A published request object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Published {
    /// The link to give the owner (`locket://connect?request_uri=…`).
    pub link: String,
    /// Where the object is served.
    pub request_uri: String,
    /// The request's `state` (the first release Locket sends carries it back).
    pub state: String,
    /// When the object stops being served.
    #[serde(serialize_with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// The request id (the last segment of `request_uri`).
    #[serde(skip)]
    pub id: String,
    /// The nonce of the grant request inside.
    #[serde(skip)]
    pub nonce: String,
}

fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Parse a validity such as `10m`, `90s`, `1h` or `600` (seconds): more than zero, at most one hour.
pub fn parse_ttl(text: &str) -> Result<Duration, RetailerError> {
    let bad = || {
        RetailerError::Invalid(format!(
            "--ttl {text:?}: give seconds, minutes or hours such as 90s, 10m or 1h (at most 1h)"
        ))
    };
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if seconds <= 0 || seconds > MAX_LIFETIME_SECONDS {
        return Err(bad());
    }
    Ok(Duration::seconds(seconds))
}

/// Whether `state` fits the request-object rule: 16 to 256 characters of the base64url alphabet.
pub fn check_state(state: &str) -> Result<(), RetailerError> {
    if (16..=256).contains(&state.len())
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(RetailerError::Invalid(format!(
            "--state {state:?}: give 16 to 256 characters of A-Z a-z 0-9 - _"
        )))
    }
}

/// The `locket://connect` link for a request object at `request_uri` (percent-encoded).
pub fn connect_link(request_uri: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(request_uri.as_bytes()).collect();
    format!("locket://connect?request_uri={encoded}")
}

/// A QR code of `text` for a terminal: Unicode half blocks (two modules per character), the modules drawn as
/// dark ink on light paper with the standard quiet zone of four modules. With `colour`, each line is wrapped
/// in ANSI black-on-white so the code also scans from a terminal with a dark background.
pub fn qr_text(text: &str, colour: bool) -> Result<String, RetailerError> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .map_err(|e| RetailerError::Invalid(format!("the link does not fit a QR code: {e}")))?;
    let image = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Dark)
        .light_color(Dense1x2::Light)
        .quiet_zone(true)
        .build();
    if !colour {
        return Ok(image);
    }
    Ok(image
        .lines()
        .map(|l| format!("\x1b[30;47m{l}\x1b[0m"))
        .collect::<Vec<_>>()
        .join("\n"))
}

fn default_statement(retention: &str) -> String {
    if retention == "until_grant_ends" {
        "We delete the data when the grant ends.".to_owned()
    } else {
        format!("We keep the data for at most {retention}, then delete it.")
    }
}

/// Build, sign and store a request object in `dir` at `now`; nothing is stored unless it verifies exactly as
/// the owner's Locket will verify it (against this shop's own metadata).
pub fn publish(dir: &DataDir, options: &PublishOptions, now: DateTime<Utc>) -> Result<Published, RetailerError> {
    if options.scopes.is_empty() {
        return Err(RetailerError::Invalid(
            "ask for at least one scope with --require SCOPE=PURPOSE or --scope SCOPE=PURPOSE".into(),
        ));
    }
    if options.ttl <= Duration::zero() || options.ttl > Duration::seconds(MAX_LIFETIME_SECONDS) {
        return Err(RetailerError::Invalid(
            "a request object is valid for more than 0 seconds and at most an hour".into(),
        ));
    }
    if let Some(state) = &options.state {
        check_state(state)?;
    }
    let keys = dir.load_keys()?;
    let shop = dir.load_shop()?;
    let (_, metadata) = shop.checked_metadata(&keys)?;
    let now = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let statement = options
        .statement
        .clone()
        .unwrap_or_else(|| default_statement(&options.retention));
    let mut builder = RequestBuilder::new(
        &shop.retailer_id(),
        &shop.name,
        &shop.origin,
        &shop.contact,
        &shop.privacy_policy,
    )
    .duration(&options.duration)
    .retention(&options.retention, &statement);
    for s in &options.scopes {
        builder = builder.scope(&s.scope, s.purpose, s.purpose_text.as_deref(), s.required);
    }
    let nonce = random_token()?;
    let request = builder.build_at(now, &nonce)?;
    let id = random_token()?;
    let state = match &options.state {
        Some(s) => s.clone(),
        None => random_token()?,
    };
    let request_uri = shop.request_uri(&id);
    let claims = RequestObjectClaims {
        request: serde_json::to_value(&request).map_err(|e| RetailerError::Invalid(e.to_string()))?,
        state: state.clone(),
        request_uri: request_uri.clone(),
        issued_at: now,
        expires_at: now + options.ttl,
    };
    let jws = sign_request_object(&claims, &keys.signing)
        .map_err(|e| RetailerError::Crypto(format!("cannot sign the request object: {e}")))?;
    verify_request_object(jws.as_bytes(), &metadata, &request_uri, now)
        .map_err(|e| RetailerError::Invalid(format!("Locket would refuse this request object ({}): {e}", e.code())))?;
    // The state first: an object that is served always has its state on record.
    Holdings::open(dir)?.record_state(&state, &id, now, claims.expires_at)?;
    dir.store_request(&id, &jws)?;
    Ok(Published {
        link: connect_link(&request_uri),
        request_uri,
        state,
        expires_at: claims.expires_at,
        id,
        nonce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Shop, Taken};
    use locket_wire::metadata::RetailerKeys;

    fn shop_dir() -> (tempfile::TempDir, DataDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("shop"));
        dir.write_keys(&RetailerKeys::generate().unwrap(), false).unwrap();
        let shop = Shop::for_origin("https://shop.test:8443", Some("Test Shop"), None, None, None).unwrap();
        dir.save_shop(&shop).unwrap();
        (tmp, dir)
    }

    fn email() -> ScopeAsk {
        ScopeAsk {
            scope: "contact.email".into(),
            purpose: Purpose::OrderFulfilment,
            purpose_text: None,
            required: true,
        }
    }

    #[test]
    fn published_objects_verify_and_are_served_once() {
        let (_tmp, dir) = shop_dir();
        let now = Utc::now();
        let options = PublishOptions {
            scopes: vec![email()],
            state: Some("my-own-state-0123456789".into()),
            ..PublishOptions::default()
        };
        let p = publish(&dir, &options, now).unwrap();
        assert_eq!(p.state, "my-own-state-0123456789");
        assert!(p.request_uri.starts_with("https://shop.test:8443/locket/requests/"));
        assert_eq!(
            p.link,
            format!(
                "locket://connect?request_uri=https%3A%2F%2Fshop.test%3A8443%2Flocket%2Frequests%2F{}",
                p.id
            )
        );
        let link = url::Url::parse(&p.link).unwrap();
        let uri = link.query_pairs().find(|(k, _)| k == "request_uri").unwrap().1;
        assert_eq!(uri, p.request_uri);
        let Taken::Found(jws) = dir.take_request(&p.id, now).unwrap() else {
            panic!("not stored")
        };
        let keys = dir.load_keys().unwrap();
        let (_, metadata) = dir.load_shop().unwrap().checked_metadata(&keys).unwrap();
        let v = verify_request_object(jws.as_bytes(), &metadata, &p.request_uri, now).unwrap();
        assert_eq!(v.request.retailer.id, "shop.test");
        assert_eq!(v.request.retailer.name, "Test Shop");
        assert_eq!(v.request.nonce, p.nonce);
        assert_eq!((v.expires_at - v.issued_at).num_seconds(), DEFAULT_TTL_SECONDS);
        assert_eq!(dir.take_request(&p.id, now).unwrap(), Taken::Missing);
    }

    #[test]
    fn mistakes_are_refused_before_anything_is_stored() {
        let (_tmp, dir) = shop_dir();
        let now = Utc::now();
        let code = |o: PublishOptions| publish(&dir, &o, now).unwrap_err().code().to_owned();
        assert_eq!(code(PublishOptions::default()), "invalid_argument");
        let with = |f: &dyn Fn(&mut PublishOptions)| {
            let mut o = PublishOptions {
                scopes: vec![email()],
                ..PublishOptions::default()
            };
            f(&mut o);
            o
        };
        assert_eq!(code(with(&|o| o.state = Some("short".into()))), "invalid_argument");
        assert_eq!(code(with(&|o| o.ttl = Duration::hours(2))), "invalid_argument");
        assert_eq!(code(with(&|o| o.duration = "P1Y".into())), "request_invalid");
        assert_eq!(code(with(&|o| o.scopes.push(email()))), "request_invalid");
        assert!(!dir.requests_dir().exists());
        std::fs::remove_file(dir.shop_path()).unwrap();
        assert_eq!(code(with(&|_| {})), "retailer_shop_missing");
    }

    #[test]
    fn ttl_forms() {
        assert_eq!(parse_ttl("10m").unwrap(), Duration::minutes(10));
        assert_eq!(parse_ttl("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_ttl("1h").unwrap(), Duration::hours(1));
        assert_eq!(parse_ttl("30").unwrap(), Duration::seconds(30));
        for bad in ["0", "2h", "61m", "10x", "", "m", "-5s", "99999999999999999999h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn qr_code_has_a_quiet_zone() {
        let qr = qr_text("locket://connect?request_uri=https%3A%2F%2Fshop.test%2Fx", false).unwrap();
        let lines: Vec<&str> = qr.lines().collect();
        assert!(lines.len() > 10);
        // Four light modules around it: the first two lines (4 rows) and the first 4 columns are blank.
        assert!(lines[..2].iter().all(|l| l.trim().is_empty()));
        assert!(lines.iter().all(|l| l.starts_with("    ")));
        assert!(qr.contains('\u{2588}') || qr.contains('\u{2580}') || qr.contains('\u{2584}'));
        let coloured = qr_text("x", true).unwrap();
        assert!(coloured.starts_with("\x1b[30;47m"));
    }
}
