//! The kinds of failure, one taxonomy for the whole product: every stable error code (docs/errors.md) has one
//! [`ErrorKind`], and each transport owns one table from kind to its own signal — the endpoint's HTTP status,
//! the `locket` command's exit status, the desktop's IPC error. It lives in the wire crate so the endpoint and a
//! retailer's program read the same table as the owner's front ends.
use serde::Serialize;

/// What sort of failure an error is; each transport owns one table from kind to its own signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The thing named does not exist (vault, field, request, grant, backup, retailer).
    NotFound,
    /// The input was refused by a rule (format, validation, confirmation phrase).
    Invalid,
    /// The input is fine but clashes with the current state (already exists, already decided, in use).
    Conflict,
    /// A secret was wrong (passphrase, recovery key, export passphrase).
    Unauthenticated,
    /// The caller may not do this (a grant that does not cover it).
    Forbidden,
    /// Locket is locked; unlock first.
    Locked,
    /// Stored data or a given file is damaged or not Locket's (a vault, an export, a request that is not one).
    Damaged,
    /// The disk or the OS refused (disk full, read-only, keychain unavailable, I/O).
    Storage,
    /// The other side did not answer as it should: a shop's site is down, slow, refuses the secure connection
    /// or answers with an error.
    Unavailable,
    /// A fault inside Locket the owner cannot fix.
    Internal,
}

impl ErrorKind {
    /// The kind of a stable error code. One table for the whole product, naming every code docs/errors.md lists
    /// (a test keeps the two in step); a code it does not know is [`ErrorKind::Internal`].
    pub fn of_code(code: &str) -> ErrorKind {
        Self::known(code).unwrap_or(ErrorKind::Internal)
    }

    /// The kind of a code this table names, or `None`.
    pub fn known(code: &str) -> Option<ErrorKind> {
        Some(match code {
            "vault_not_found"
            | "unknown_field"
            | "field_not_set"
            | "file_not_found"
            | "not_found"
            | "request_not_found"
            | "grant_not_found"
            | "delivery_not_found"
            | "unknown_retailer"
            | "no_backup"
            | "receipt_not_found"
            | "retailer_not_found"
            | "grant_file_unavailable"
            | "retailer_keys_missing"
            | "retailer_shop_missing"
            | "release_state_unknown"
            | "release_grant_unknown" => ErrorKind::NotFound,
            "wrong_passphrase"
            | "wrong_recovery_key"
            | "wrong_export_passphrase"
            | "export_passphrase_required"
            | "authorization_missing"
            | "token_invalid_signature"
            | "token_unknown_key"
            | "token_expired"
            | "token_not_yet_valid"
            | "grant_unknown" => ErrorKind::Unauthenticated,
            "grant_revoked" | "grant_uses_exhausted" | "privacy_budget_exhausted" | "vault_not_owned" => {
                ErrorKind::Forbidden
            }
            "vault_locked" => ErrorKind::Locked,
            "vault_damaged"
            | "vault_rolled_back"
            | "vault_too_new"
            | "vault_record_corrupt"
            | "export_malformed"
            | "export_signer_mismatch"
            | "export_unsupported"
            | "export_unknown_section"
            | "export_section_failed"
            | "audit_section_not_intact"
            | "audit_section_malformed"
            | "grants_section_malformed"
            | "audit_chain_broken"
            | "audit_bad_row"
            | "request_malformed"
            | "request_too_large"
            | "audit_not_migrated"
            | "receipt_invalid_signature"
            | "receipt_malformed"
            | "grant_file_invalid"
            | "grant_file_token_invalid"
            | "signing_key_invalid"
            | "receipt_key_invalid"
            | "token_key_invalid"
            | "response_too_large"
            | "retailer_keys_invalid"
            | "holdings_too_new" => ErrorKind::Damaged,
            "vault_exists"
            | "vault_not_rolled_back"
            | "import_target_not_empty"
            | "file_exists"
            | "vault_in_use"
            | "request_already_decided"
            | "request_duplicate"
            | "requests_pending_limit"
            | "grant_not_active"
            | "delivery_finished"
            | "alias_in_use"
            | "scope_unsatisfiable"
            | "rate_limited"
            | "release_out_of_order"
            | "release_grant_ended" => ErrorKind::Conflict,
            "disk_full"
            | "vault_read_only"
            | "io_error"
            | "storage_error"
            | "storage_failed"
            | "database_error"
            | "vault_error"
            | "audit_database"
            | "audit_pending_file"
            | "audit_vault_unavailable"
            | "keychain_unavailable"
            | "keychain_not_enabled"
            | "file_write_failed"
            | "endpoint_bind_failed"
            | "endpoint_unreachable"
            | "endpoint_vault_unusable"
            | "server_bind_failed"
            | "holdings_storage_failed" => ErrorKind::Storage,
            "internal"
            | "internal_error"
            | "runtime"
            | "random_failed"
            | "signing_key_unusable"
            | "token_signing_failed"
            | "receipt_signing_failed"
            | "audit_bad_signing_key"
            | "audit_failed"
            | "endpoint_failed"
            | "unexpected_response"
            | "retailer_crypto_failed"
            | "release_sealing_failed" => ErrorKind::Internal,
            "usage"
            | "cancelled"
            | "token_malformed"
            | "grant_wrong_retailer"
            | "validation_failed"
            | "passphrase_empty"
            | "passphrase_too_short"
            | "confirmation_mismatch"
            | "invalid_address"
            | "invalid_time"
            | "invalid_argument"
            | "nothing_selected"
            | "deep_link_invalid"
            | "file_token_invalid"
            | "kdf_test_profile_refused"
            | "id_ambiguous"
            | "request_invalid"
            | "request_control_characters"
            | "request_benefit_invalid"
            | "request_recipients_invalid"
            | "scope_not_requested"
            | "scope_unknown"
            | "scope_not_in_grant"
            | "scope_argument_invalid"
            | "nothing_granted"
            | "expiry_too_long"
            | "max_uses_invalid"
            | "minimization_invalid"
            | "age_bracketing"
            | "origin_invalid"
            | "duration_syntax"
            | "duration_calendar_unit"
            | "duration_zero"
            | "duration_too_long"
            | "epsilon_invalid"
            | "privacy_budget_invalid"
            | "alias_invalid"
            | "audit_bad_query"
            | "grant_file_too_large"
            | "method_not_allowed"
            | "host_not_allowed"
            | "listen_invalid"
            | "listen_not_loopback"
            | "unsupported_media_type"
            | "retailer_metadata_invalid"
            | "retailer_metadata_origin_mismatch"
            | "request_object_unknown_key"
            | "request_object_invalid_signature"
            | "request_object_expired"
            | "request_object_lifetime"
            | "request_object_uri_mismatch"
            | "request_object_retailer_mismatch"
            | "connect_not_https"
            | "connect_address_refused"
            | "connect_redirect_refused"
            | "connect_settings_invalid"
            | "tls_files_invalid"
            | "release_unknown_key"
            | "release_invalid_signature"
            | "release_timestamp_stale"
            | "release_headers_invalid"
            | "release_retailer_mismatch" => ErrorKind::Invalid,
            "retailer_metadata_malformed"
            | "retailer_metadata_too_large"
            | "request_object_malformed"
            | "request_object_too_large"
            | "connect_too_large"
            | "release_malformed"
            | "release_too_large"
            | "release_decrypt_failed" => ErrorKind::Damaged,
            "connect_timeout" | "connect_unreachable" | "connect_tls_failed" | "connect_http_status" => {
                ErrorKind::Unavailable
            }
            _ => return None,
        })
    }
}
