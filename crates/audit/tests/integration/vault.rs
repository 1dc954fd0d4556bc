//! The access log inside a real SQLCipher vault: tampering underneath (with the key) is found at that event.
use locket_audit::{append, verify, verify_vault_split, DisclosedField, EventKind, NewEvent, Outcome, ProblemKind};
use locket_vault::{KdfParams, Passphrase, Vault};

fn vault_with(n: u64) -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let (vault, _) = Vault::create(
        dir.path(),
        &Passphrase::new("correct horse".into()),
        KdfParams::for_tests(),
    )
    .unwrap();
    let mut store = vault.connect().unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    for i in 0..n {
        let ev = NewEvent::new(EventKind::Redemption, Outcome::Ok)
            .retailer("shop.example")
            .grant(format!("gr_{i}"))
            .fields(vec![DisclosedField {
                key: "contact.email".into(),
                version: 1,
            }]);
        append(&tx, &ev).unwrap();
    }
    tx.commit().unwrap();
    (dir, vault)
}

/// Edits one row of the encrypted database through a separate keyed connection, as someone holding the key
/// (but not using Locket) could.
fn tamper(dir: &std::path::Path, seq: u64) {
    let vault = Vault::unlock(dir, &Passphrase::new("correct horse".into())).unwrap();
    let store = vault.connect().unwrap();
    store
        .conn()
        .execute_batch("DROP TRIGGER audit_events_no_update")
        .unwrap();
    store
        .conn()
        .execute(
            "UPDATE audit_events SET retailer = 'other.example' WHERE seq = ?1",
            [seq as i64],
        )
        .unwrap();
}

#[test]
fn an_edit_underneath_is_found_at_that_event() {
    let (dir, vault) = vault_with(40);
    assert!(verify(vault.connect().unwrap().conn(), None).unwrap().ok());
    tamper(dir.path(), 23);
    let r = verify(vault.connect().unwrap().conn(), None).unwrap();
    let p = r.problem.expect("tampering must be found");
    assert_eq!((p.seq, p.kind), (23, ProblemKind::HashMismatch));
}

#[test]
fn parallel_verification_finds_the_same_event() {
    let (dir, vault) = vault_with(40);
    let r = verify_vault_split(&vault, None, 2).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.events, 40);
    assert_eq!(r.head_seq, 40);
    // In the second half (another thread's range) and on the boundary.
    tamper(dir.path(), 33);
    let p = verify_vault_split(&vault, None, 2).unwrap().problem.unwrap();
    assert_eq!((p.seq, p.kind), (33, ProblemKind::HashMismatch));
}

#[test]
fn parallel_verification_checks_the_whole_field_index() {
    // Each range checks its own events' index rows; a row moved across the boundary, or for no event, is found.
    for sql in [
        "DELETE FROM audit_event_fields WHERE seq = 20; \
         INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('contact.email', 41, 1)",
        "INSERT INTO audit_event_fields (field_key, seq, version) VALUES ('contact.phone', 21, 1)",
        "DELETE FROM audit_event_fields WHERE seq = 21",
    ] {
        let (dir, vault) = vault_with(40);
        assert!(verify_vault_split(&vault, None, 2).unwrap().ok());
        let v = Vault::unlock(dir.path(), &Passphrase::new("correct horse".into())).unwrap();
        let s = v.connect().unwrap();
        s.conn()
            .execute_batch("DROP TRIGGER audit_event_fields_no_delete")
            .unwrap();
        s.conn().execute_batch(sql).unwrap();
        let p = verify_vault_split(&vault, None, 2).unwrap().problem;
        assert_eq!(p.map(|p| p.kind), Some(ProblemKind::FieldIndexMismatch), "{sql}");
    }
}

#[test]
fn parallel_verification_finds_a_deleted_boundary_event() {
    let (dir, vault) = vault_with(40);
    let v = Vault::unlock(dir.path(), &Passphrase::new("correct horse".into())).unwrap();
    let s = v.connect().unwrap();
    s.conn().execute_batch("DROP TRIGGER audit_events_no_delete").unwrap();
    // With two workers the ranges are 1..=20 and 21..=40: delete the last event of the first range.
    s.conn().execute("DELETE FROM audit_events WHERE seq = 20", []).unwrap();
    let r = verify_vault_split(&vault, None, 2).unwrap();
    let p = r.problem.unwrap();
    assert_eq!(p.kind, ProblemKind::Missing);
    assert_eq!(p.seq, 21, "the first event whose predecessor is gone");
    let single = verify(vault.connect().unwrap().conn(), None).unwrap().problem.unwrap();
    assert_eq!((single.seq, single.kind), (21, ProblemKind::Missing));
}

#[test]
fn failed_unlocks_reach_the_chain_on_the_next_unlock() {
    let (dir, _vault) = vault_with(1);
    // Two wrong passphrases: the vault cannot be opened, so they go to the pending file.
    for _ in 0..2 {
        let err = Vault::unlock(dir.path(), &Passphrase::new("wrong guess".into())).unwrap_err();
        assert!(locket_audit::pending::record_failure_code(dir.path(), err.code(), Some("passphrase")).unwrap());
    }
    // Failures that are not attempts are not recorded.
    assert!(!locket_audit::pending::record_failure_code(dir.path(), "vault_damaged", None).unwrap());
    let vault = Vault::unlock(dir.path(), &Passphrase::new("correct horse".into())).unwrap();
    assert_eq!(locket_audit::pending::record_unlock(&vault, "passphrase").unwrap(), 2);
    assert!(!locket_audit::pending::path(dir.path()).exists());
    let store = vault.connect().unwrap();
    let page = locket_audit::query(store.conn(), &locket_audit::Filter::default(), None, 3).unwrap();
    let kinds: Vec<String> = page.events.iter().map(|e| e.kind.to_string()).collect();
    assert_eq!(kinds, vec!["unlock", "unlock_failed", "unlock_failed"]);
    assert_eq!(page.events[1].reason.as_deref(), Some("wrong_passphrase"));
    assert_eq!(
        page.events[0].detail.get("failed_attempts_before"),
        Some(&serde_json::json!(2))
    );
    assert!(verify(store.conn(), None).unwrap().ok());
}

/// `audit-pending.jsonl` is unauthenticated: a planted file of any size is read up to its cap, imported in one
/// pass, and the cut is recorded loudly (`pending_file_truncated`) instead of flooding the log.
#[test]
fn a_planted_oversized_pending_file_is_capped_and_said_so() {
    let (dir, vault) = vault_with(1);
    let mut text = String::new();
    for i in 0..20_000u32 {
        text.push_str(&format!(
            "{{\"id\":\"{i:024x}\",\"ts_ms\":1700000000000,\"kind\":\"unlock_failed\",\"reason\":\"wrong_passphrase\"}}\n"
        ));
    }
    assert!(text.len() as u64 > locket_audit::pending::MAX_PENDING_BYTES);
    std::fs::write(locket_audit::pending::path(dir.path()), &text).unwrap();
    let carried = locket_audit::pending::record_unlock(&vault, "passphrase").unwrap();
    assert!(
        carried <= locket_audit::pending::MAX_PENDING_LINES + 1,
        "{carried} events from one planted file"
    );
    let store = vault.connect().unwrap();
    let page = locket_audit::query(store.conn(), &locket_audit::Filter::default(), None, 2).unwrap();
    assert_eq!(page.events[1].reason.as_deref(), Some("pending_file_truncated"));
    assert_eq!(
        page.events[1].detail.get("file_bytes"),
        Some(&serde_json::json!(text.len()))
    );
    assert!(verify(store.conn(), None).unwrap().ok());

    // Lines already imported are not imported again (one scan of the ids in the log).
    let again: String = text.lines().take(10).map(|l| format!("{l}\n")).collect();
    std::fs::write(locket_audit::pending::path(dir.path()), again).unwrap();
    assert_eq!(locket_audit::pending::record_unlock(&vault, "passphrase").unwrap(), 0);
}

#[cfg(unix)]
#[test]
fn the_pending_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _vault) = vault_with(0);
    locket_audit::pending::record_unlock_failure(dir.path(), "wrong_passphrase", Some("passphrase")).unwrap();
    let mode = std::fs::metadata(locket_audit::pending::path(dir.path()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
