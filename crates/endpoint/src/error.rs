use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use locket_wire::ErrorKind;
use serde::Serialize;

/// A refusal as it goes on the wire: `{"code": "...", "message": "..."}` with an HTTP status. The codes are
/// stable and listed in `docs/errors.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// Stable snake_case code.
    pub code: String,
    /// A sentence for the retailer's developer.
    pub message: String,
    /// For the refusals of a request's content (`request_invalid`, …): where and which rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<locket_grants::Problem>,
    /// Seconds to wait before retrying (sets `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// The HTTP status of an error code — this transport's one table: the code's [`ErrorKind`] (the product's
/// taxonomy, `locket_wire::ErrorKind::of_code`) decides, except where HTTP has a more exact status (a body too
/// large, the wrong media type or method, a schema refusal, rate limits, a storage failure worth retrying).
pub fn http_status(code: &str) -> u16 {
    match code {
        "request_too_large" => return 413,
        "unsupported_media_type" => return 415,
        "method_not_allowed" => return 405,
        "host_not_allowed" => return 421,
        "request_invalid"
        | "request_control_characters"
        | "request_benefit_invalid"
        | "request_recipients_invalid"
        | "scope_unknown"
        | "scope_argument_invalid" => return 422,
        "rate_limited" | "requests_pending_limit" => return 429,
        "storage_failed" => return 503,
        // Refused input, not a conflict with the retailer's state or damaged data on the owner's side.
        "request_malformed" | "request_already_decided" | "origin_invalid" => return 400,
        _ => {}
    }
    match ErrorKind::of_code(code) {
        ErrorKind::NotFound => 404,
        ErrorKind::Invalid => 400,
        ErrorKind::Conflict => 409,
        ErrorKind::Unauthenticated => 401,
        ErrorKind::Forbidden => 403,
        ErrorKind::Locked => 503,
        _ => 500,
    }
}

impl ApiError {
    /// A refusal with `code` and `message`; its status comes from [`http_status`].
    pub fn coded(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(http_status(code), code, message)
    }

    /// A refusal with `status`, `code` and `message`.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            problems: Vec::new(),
            retry_after: None,
        }
    }

    /// `vault_locked`: nothing can be answered while the owner's vault is locked.
    pub fn locked() -> ApiError {
        let e = locket_grants::RedeemError::VaultLocked;
        ApiError::coded(e.code(), e.to_string())
    }

    /// `storage_failed`: the access log could not be written, so nothing is disclosed.
    pub fn storage(detail: impl std::fmt::Display) -> ApiError {
        ApiError::coded(
            "storage_failed",
            format!("the owner's Locket could not record this access durably, so it was not answered ({detail}); try again later"),
        )
    }

    /// `internal_error`.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::coded(
            "internal_error",
            format!("internal error in the owner's Locket: {detail}"),
        )
    }
}

impl From<&locket_grants::RedeemError> for ApiError {
    fn from(e: &locket_grants::RedeemError) -> ApiError {
        ApiError::coded(e.code(), e.to_string())
    }
}

impl From<&locket_grants::GrantError> for ApiError {
    fn from(e: &locket_grants::GrantError) -> ApiError {
        let mut api = ApiError::coded(e.code(), e.to_string());
        if let locket_grants::GrantError::Request(r) = e {
            api.problems = r.problems().to_vec();
        }
        api
    }
}

impl From<&locket_grants::RequestError> for ApiError {
    fn from(e: &locket_grants::RequestError) -> ApiError {
        let mut api = ApiError::coded(e.code(), e.to_string());
        api.problems = e.problems().to_vec();
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let www = status == StatusCode::UNAUTHORIZED;
        let code = self.code.clone();
        let mut resp = (status, axum::Json(self)).into_response();
        if let Some(secs) = retry {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if www {
            let v = format!("Bearer realm=\"locket\", error=\"invalid_token\", error_description=\"{code}\"");
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_http_status_comes_from_the_one_table() {
        let doc = include_str!("../../../docs/errors.md");
        let mut checked = 0;
        for line in doc.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (Some(code), Some(status)) = (cells.get(1), cells.get(2)) else {
                continue;
            };
            let (Some(code), Ok(status)) = (
                code.strip_prefix('`').and_then(|c| c.strip_suffix('`')),
                status.parse::<u16>(),
            ) else {
                continue;
            };
            assert_eq!(http_status(code), status, "{code}: docs/errors.md says {status}");
            checked += 1;
        }
        assert!(
            checked > 40,
            "only {checked} codes with an HTTP status found in docs/errors.md"
        );
    }
}
