const COMMANDS: &[&str] = &[
    "app_status",
    "vault_create",
    "vault_unlock",
    "vault_unlock_keychain",
    "vault_recover",
    "vault_lock",
    "session_info",
    "passphrase_change",
    "recovery_reset",
    "keychain_set",
    "settings_update",
    "vault_export",
    "vault_import",
    "vault_wipe",
    "catalog",
    "profile_list",
    "profile_set",
    "profile_remove",
    "profile_history",
    "custom_field_add",
    "audit_query",
    "audit_timeline",
    "audit_verify",
    "requests_list",
    "request_import",
    "request_approve",
    "request_deny",
    "grant_file_save",
    "grants_list",
    "grant_revoke",
    "retailer_revoke_all",
    "retailers_list",
    "retailer_detail",
    "retailer_privacy",
    "receipts_export",
    "erasure_request",
    "alias_set",
    "field_holders",
    "backups_list",
    "backup_now",
    "backup_verify",
    "backup_restore",
    "vault_recover_from_backup",
];

fn main() {
    // The web view may call exactly these commands (each gets an `allow-…` permission, granted in
    // capabilities/default.json) and nothing else of ours.
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to run the Tauri build script");
}
