//! Typed confirmations for destructive actions: the owner types a phrase, the application checks it.
use crate::error::{AppError, AppResult};

/// The words the owner types to confirm deleting the vault.
pub const WIPE_PHRASE: &str = "delete my vault";

/// The word the owner types to replace the vault with a backup.
pub const RESTORE_PHRASE: &str = "restore";

/// `confirmation_mismatch` unless `typed` (trimmed) is `expected`.
pub fn check(typed: &str, expected: &str, purpose: &str) -> AppResult<()> {
    if typed.trim() == expected {
        Ok(())
    } else {
        Err(AppError::new(
            "confirmation_mismatch",
            format!("Type “{expected}” {purpose}."),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_phrase_confirms() {
        assert!(check(" delete my vault ", WIPE_PHRASE, "to confirm").is_ok());
        let e = check("delete", WIPE_PHRASE, "to confirm").unwrap_err();
        assert_eq!(e.code, "confirmation_mismatch");
        assert!(e.message.contains("delete my vault"));
    }
}
