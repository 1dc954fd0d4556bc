use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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
    /// For `request_invalid`: where and which rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<locket_grants::Problem>,
    /// Seconds to wait before retrying (sets `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
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
        ApiError::new(e.http_status(), e.code(), e.to_string())
    }

    /// `storage_failed`: the access log could not be written, so nothing is disclosed.
    pub fn storage(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            503,
            "storage_failed",
            format!("the owner's Locket could not record this access durably, so it was not answered ({detail}); try again later"),
        )
    }

    /// `internal_error`.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            500,
            "internal_error",
            format!("internal error in the owner's Locket: {detail}"),
        )
    }
}

impl From<&locket_grants::RedeemError> for ApiError {
    fn from(e: &locket_grants::RedeemError) -> ApiError {
        ApiError::new(e.http_status(), e.code(), e.to_string())
    }
}

impl From<&locket_grants::GrantError> for ApiError {
    fn from(e: &locket_grants::GrantError) -> ApiError {
        let mut api = ApiError::new(e.http_status(), e.code(), e.to_string());
        if let locket_grants::GrantError::Request(r) = e {
            api.problems = r.problems().to_vec();
        }
        api
    }
}

impl From<&locket_grants::RequestError> for ApiError {
    fn from(e: &locket_grants::RequestError) -> ApiError {
        let mut api = ApiError::new(e.http_status(), e.code(), e.to_string());
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
