//! The owner's privacy commands: `locket ledger [FIELD]` (who holds which version of your data), `locket
//! erasure request|list`, `locket alias set|list` (per-shop email aliases) and `locket privacy budget` (the
//! noised-answer budget per shop). Each is a thin call into `locket_grants::{ledger, erasure, dp}`.
//!
//! [`catch_up_receipts`] is run by every command that reads or changes grants: it issues the consent
//! receipts that fell due since the last look (expiries, and revocations made without the signing key).

use chrono::Utc;
use locket_grants::receipt::{self, Collection, Receipt, ReceiptEvent, ReceiptSigner};
use locket_vault::{Store, Vault};
use rusqlite::TransactionBehavior;

use super::{CliError, CliResult};

/// Issue the consent receipts that are due (see `locket_grants::receipt::issue_due_receipts`), committed
/// at once. Returns them.
pub fn catch_up_receipts(vault: &Vault, store: &mut Store) -> CliResult<Vec<Receipt>> {
    let signer = ReceiptSigner::for_vault(vault).map_err(|e| CliError::from_code(e.code(), e.to_string()))?;
    let now = Utc::now();
    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let template = receipt::context_now(&tx, ReceiptEvent::Expiry, now, Collection::Cli);
    let issued = receipt::issue_due_receipts(&tx, &signer, &template, now, None)
        .map_err(|e| CliError::from_code(e.code(), e.to_string()))?;
    tx.commit()?;
    Ok(issued)
}
