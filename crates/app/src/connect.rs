//! Connect from the web: a shop's page opens `locket://connect?request_uri=https://ORIGIN/…`; Locket fetches the
//! shop's metadata (`https://ORIGIN/.well-known/locket-retailer.json`) and the signed request object at
//! `request_uri` through the guarded client ([`crate::net`]), verifies the object against the metadata
//! ([`locket_wire::request_object::verify_request_object`]) and stores it as a pending request marked
//! **verified: ORIGIN**, pinning the origin's details the first time ([`locket_grants::connect`]).
//!
//! Whatever fails — a link that is not one, a refused URL or address, a slow or oversized answer, bad metadata,
//! a forged, expired, replayed or cross-origin request — is an error with its own code and nothing is stored.
use chrono::Utc;
use locket_grants::connect::{self, Verification};
use locket_grants::store::{self, RequestRecord, RequestSource};
use locket_wire::metadata::{self, MAX_METADATA_BYTES, WELL_KNOWN_PATH};
use locket_wire::request_object::{self, MAX_REQUEST_OBJECT_BYTES};

use crate::error::{AppError, AppResult};
use crate::grants::RequestDto;
use crate::net::{Net, NetError};
use crate::session::Session;

/// Longest `locket://connect` link accepted.
pub const MAX_LINK_BYTES: usize = 4096;

/// The `request_uri` of a `locket://connect?request_uri=…` link (percent-decoded), or the URL itself when
/// `link` is already an `https://` URL. Refused with `deep_link_invalid` (or `connect_not_https`).
pub fn request_uri_of(link: &str) -> AppResult<String> {
    let bad = |why: &str| AppError::new("deep_link_invalid", format!("This Locket link cannot be used: {why}."));
    let link = link.trim();
    if link.len() > MAX_LINK_BYTES {
        return Err(bad("it is too long"));
    }
    let uri = if link.starts_with("https://") || link.starts_with("http://") {
        link.to_owned()
    } else {
        let parsed = url::Url::parse(link).map_err(|_| bad("it is not a link"))?;
        if parsed.scheme() != "locket" {
            return Err(bad("it does not start with locket://"));
        }
        let what = parsed.host_str().unwrap_or_default().to_owned() + parsed.path().trim_end_matches('/');
        if what != "connect" {
            return Err(bad("it is not a connect link"));
        }
        let mut uris = parsed.query_pairs().filter(|(k, _)| k == "request_uri");
        let uri = uris
            .next()
            .ok_or_else(|| bad("it names no request_uri"))?
            .1
            .into_owned();
        if uris.next().is_some() {
            return Err(bad("it names more than one request_uri"));
        }
        uri
    };
    metadata::origin_of_str(&uri).map_err(|e| {
        AppError::new(
            "connect_not_https",
            format!("Locket only fetches requests from shops' https sites: {e}."),
        )
    })?;
    Ok(uri)
}

/// A verified request as the core keeps it, with what was verified.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The stored request.
    pub record: RequestRecord,
    /// What was checked and pinned.
    pub verification: Verification,
}

impl Session {
    /// Fetches, verifies and stores the request a `locket://connect` link (or its https `request_uri`) names;
    /// returns it as front ends show it.
    pub fn connect(&self, link: &str, net: &Net) -> AppResult<RequestDto> {
        let connected = self.connect_record(link, net)?;
        self.request(&connected.record.id)
    }

    /// [`Session::connect`], returning the stored record and its verification.
    pub fn connect_record(&self, link: &str, net: &Net) -> AppResult<Connected> {
        let uri = request_uri_of(link)?;
        let origin = metadata::origin_of_str(&uri).map_err(|e| AppError::new("connect_not_https", e))?;
        metadata::retailer_id_of(&origin).map_err(|e| AppError::new("connect_not_https", e))?;

        let meta_url = format!("{origin}{WELL_KNOWN_PATH}");
        let answer = net.get(&meta_url, "application/json", MAX_METADATA_BYTES)?;
        let meta = metadata::parse_metadata(&answer.body, &origin)?;

        let answer = net
            .get(
                &uri,
                "application/jwt, application/oauth-authz-req+jwt",
                MAX_REQUEST_OBJECT_BYTES,
            )
            .map_err(|e| match e {
                // A shop serves each signed request once and for a short while: say so, in the owner's words.
                NetError::Status {
                    status: status @ (404 | 410),
                    ..
                } => AppError::new(
                    "connect_http_status",
                    format!(
                        "{} no longer offers this request (HTTP {status}): the link was already used or has \
                         expired. Ask the shop for a new link.",
                        origin
                    ),
                ),
                other => other.into(),
            })?;
        let now = Utc::now();
        let verified = request_object::verify_request_object(&answer.body, &meta, &uri, now)?;

        let caps = store::PendingCaps::default();
        let source = RequestSource::Connect {
            request_uri: uri.clone(),
        };
        let connected = self.write(move |tx| -> AppResult<Connected> {
            let record = store::import_request(tx, verified.request_json.as_bytes(), &source, now, Some(&caps))?;
            let verification = connect::record_verified(tx, &record, &verified, &meta, now)?;
            Ok(Connected { record, verification })
        })?;
        self.forget_names();
        Ok(connected)
    }

    /// What was verified about request `request_id` (`None` for requests from files, links or HTTP).
    pub fn verification(&self, request_id: &str) -> AppResult<Option<Verification>> {
        Ok(connect::verification(self.store()?.conn(), request_id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_links_yield_their_https_request_uri() {
        let uri = "https://shop.example/locket/r/abc?x=1";
        let link = format!(
            "locket://connect?request_uri={}",
            url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
        );
        assert_eq!(request_uri_of(&link).unwrap(), uri);
        assert_eq!(request_uri_of(uri).unwrap(), uri);
        assert_eq!(
            request_uri_of("locket://connect/?request_uri=https://shop.example/r").unwrap(),
            "https://shop.example/r"
        );
        for (bad, code) in [
            ("locket://request?data=AA", "deep_link_invalid"),
            ("locket://connect", "deep_link_invalid"),
            ("locket://connect?request_uri=a&request_uri=b", "deep_link_invalid"),
            ("mailto:x@example.org", "deep_link_invalid"),
            (
                "locket://connect?request_uri=http://shop.example/r",
                "connect_not_https",
            ),
            ("locket://connect?request_uri=https://127.0.0.1/r", "connect_not_https"),
            ("http://shop.example/r", "connect_not_https"),
        ] {
            assert_eq!(request_uri_of(bad).unwrap_err().code, code, "{bad}");
        }
        assert_eq!(
            request_uri_of(&format!(
                "locket://connect?request_uri=https://a.example/{}",
                "x".repeat(5000)
            ))
            .unwrap_err()
            .code,
            "deep_link_invalid"
        );
    }
}
