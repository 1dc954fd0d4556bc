//! The passphrase policy, one rule for every front end: a new passphrase (creating a vault, changing it,
//! recovering with the recovery key) has at least [`MIN_CHARS`] characters. Front ends may explain strength
//! (the desktop shows a meter) but the rule is enforced here.
use locket_vault::Passphrase;

use crate::error::{AppError, AppResult};

/// Shortest passphrase Locket accepts for a vault.
pub const MIN_CHARS: usize = 8;

/// `passphrase_empty` or `passphrase_too_short` unless `p` may protect a vault.
pub fn check_new(p: &Passphrase) -> AppResult<()> {
    let n = p.expose().chars().count();
    if p.expose().trim().is_empty() {
        return Err(AppError::new("passphrase_empty", "Choose a passphrase."));
    }
    if n < MIN_CHARS {
        return Err(AppError::new(
            "passphrase_too_short",
            format!("A passphrase must be at least {MIN_CHARS} characters long."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_new_passphrases() {
        let code = |s: &str| check_new(&Passphrase::new(s.to_owned())).err().map(|e| e.code);
        assert_eq!(code("").as_deref(), Some("passphrase_empty"));
        assert_eq!(code("        ").as_deref(), Some("passphrase_empty"));
        assert_eq!(code("short").as_deref(), Some("passphrase_too_short"));
        assert_eq!(code("1234567").as_deref(), Some("passphrase_too_short"));
        assert_eq!(code("12345678"), None);
        assert_eq!(code("ünïcødé!"), None, "characters, not bytes");
    }
}
