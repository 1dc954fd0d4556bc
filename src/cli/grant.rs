//! `locket grant approve | deny | revoke | list | show`: the owner's decisions on requests and grants.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Subcommand;
use locket_app::{AppError, AppResult};
use locket_grants::duration::parse_owner_duration;
use locket_grants::store::{ApproveOptions, GrantRecord};
use serde_json::json;

use super::output::{cell, safe, table, when};
use super::{exit, CliError, CliResult, Ctx};

/// `locket grant …`
#[derive(Debug, Subcommand)]
pub enum GrantCmd {
    /// Approve a request (all of it, or only some scopes) and write the grant file for the shop.
    Approve {
        /// Request id (or a unique prefix).
        request_id: String,
        /// Grant only these requested scopes (repeat or separate with commas). Anything not requested is refused.
        #[arg(long, num_args = 1.., value_delimiter = ',', value_name = "SCOPE")]
        only: Vec<String>,
        /// How long the grant lasts: 30d, 12h, 2w, 90m or P30D. Can only shorten what the shop asked for.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Most times the shop may fetch the data.
        #[arg(long, value_name = "N")]
        max_uses: Option<u32>,
        /// A note on your decision, kept with it.
        #[arg(long)]
        note: Option<String>,
        /// Grant the suggested minimized answers (e.g. age_over:18) instead of the raw fields the shop asked
        /// for where its purpose needs less (see `locket requests show`).
        #[arg(long)]
        minimize: bool,
        /// Grant more than one answer about your age to this shop (e.g. age_over:18 and age_over:21, counting its
        /// earlier grants): together they narrow your age to a band, several down to your exact age. Refused
        /// (`age_bracketing`) without this flag.
        #[arg(long)]
        allow_age_bracketing: bool,
        /// Endpoint URL to put in the grant file (default: from the endpoint settings).
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// Where to write the grant file (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Deny a request.
    Deny {
        /// Request id (or a unique prefix).
        request_id: String,
        /// A note on your decision, kept with it.
        #[arg(long)]
        note: Option<String>,
    },
    /// Revoke a grant now: the shop's next fetch is refused.
    Revoke {
        /// Grant id (or a unique prefix).
        id: String,
        /// Why (kept in the access log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Withdraw some scopes of a live grant and keep the rest (a `narrowing` consent receipt is issued).
    Narrow {
        /// Grant id (or a unique prefix).
        id: String,
        /// Scopes to withdraw (repeat or separate with commas).
        #[arg(long, required = true, num_args = 1.., value_delimiter = ',', value_name = "SCOPE")]
        withdraw: Vec<String>,
    },
    /// List grants, newest first.
    List,
    /// Show one grant.
    Show {
        /// Grant id (or a unique prefix).
        id: String,
    },
}

fn io_error(path: &Path, e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        CliError::new(
            exit::CONFLICT,
            "file_exists",
            format!("{} already exists; choose another --out file", path.display()),
        )
    } else {
        CliError::new(
            exit::CANNOT_WRITE,
            "file_write_failed",
            format!("cannot write {}: {e}", path.display()),
        )
    }
}

/// Create `path` (which must not exist) readable only by the owner.
fn create_private(path: &Path) -> Result<std::fs::File, CliError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(|e| io_error(path, e))
}

fn uses(g: &GrantRecord) -> String {
    match g.max_uses {
        Some(m) => format!("{}/{m}", g.uses),
        None => g.uses.to_string(),
    }
}

fn describe(g: &GrantRecord) -> String {
    let now = Utc::now();
    let mut out = vec![
        format!("Grant {} — {}", g.id, g.status(now).as_str()),
        format!("  Shop:      {} ({})", safe(&g.retailer_name), safe(&g.retailer_id)),
        format!("  Request:   {}", g.request_id),
        format!("  Valid:     {} to {}", when(g.not_before), when(g.expires_at)),
        format!(
            "  Uses:      {}{}",
            uses(g),
            g.last_used_at
                .map(|t| format!(", last {}", when(t)))
                .unwrap_or_default()
        ),
        "  Scopes:".to_owned(),
    ];
    for s in &g.scopes {
        out.push(format!(
            "    {} — {} (for {})",
            safe(&s.scope),
            safe(&s.label),
            s.purpose.label()
        ));
    }
    if let Some(t) = g.revoked_at {
        out.push(format!(
            "  Revoked:   {} by {}{}",
            when(t),
            g.revoked_by.map(|b| b.as_str()).unwrap_or("?"),
            g.revoke_reason
                .as_ref()
                .map(|r| format!(" ({})", safe(r)))
                .unwrap_or_default()
        ));
    }
    out.join("\n")
}

/// Runs a `grant` subcommand.
pub fn run(ctx: &mut Ctx, cmd: GrantCmd) -> CliResult {
    let session = ctx.open_session()?;
    // Receipts for expiries (and revocations made without the signing key) since the last look.
    if let Err(e) = session.catch_up_receipts() {
        ctx.out
            .warn(&format!("could not issue the consent receipts due: {}", e.message));
    }
    match cmd {
        GrantCmd::Approve {
            request_id,
            only,
            expires,
            max_uses,
            note,
            minimize,
            allow_age_bracketing,
            endpoint,
            out,
        } => {
            let expires_in = expires
                .as_deref()
                .map(parse_owner_duration)
                .transpose()
                .map_err(|e| CliError::from_code(e.code(), format!("--expires: {e}")))?;
            let options = ApproveOptions {
                only: (!only.is_empty()).then_some(only),
                expires_in,
                max_uses,
                note,
                allow_age_bracketing,
            };
            let minimized = if minimize {
                session.minimization_plan(&request_id, options.only.as_deref())?
            } else {
                Default::default()
            };
            if minimize && minimized.is_empty() {
                ctx.out
                    .warn("--minimize: no requested scope has a minimized answer; granting as asked");
            }
            // Claim the output path first so a decision is never recorded without somewhere to put the file; the
            // file is written and synced before the decision commits, and removed again if it does not.
            let file = create_private(&out)?;
            let path = out.clone();
            let deliver = move |json: &str| -> AppResult<()> {
                let mut file = file;
                file.write_all(json.as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(|e| AppError::new("file_write_failed", format!("cannot write {}: {e}", path.display())))
            };
            let issued = match session.approve_with(&request_id, options, minimized, endpoint, deliver) {
                Ok(i) => i,
                Err(e) => {
                    let _ = std::fs::remove_file(&out);
                    return Err(e.into());
                }
            };
            let g = &issued.grant;
            if allow_age_bracketing {
                let answers = session.age_answers(&g.retailer_id)?;
                if answers.len() > 1 {
                    ctx.out.warn(&format!(
                        "{} now holds {} about your age: together they narrow it to a band.",
                        g.retailer_name,
                        answers.join(" and ")
                    ));
                }
            }
            ctx.out.result(
                &json!({ "grant": g, "decision": issued.decision, "grant_file": out.display().to_string() }),
                || {
                    let mut lines = vec![
                        format!("Approved: grant {} for {}.", g.id, safe(&g.retailer_name)),
                        format!(
                            "  Scopes:  {}",
                            g.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        format!("  Expires: {}", when(g.expires_at)),
                    ];
                    if let Some(m) = g.max_uses {
                        lines.push(format!("  Uses:    at most {m}"));
                    }
                    for d in &issued.decision.differences {
                        lines.push(format!("  Note:    {}", safe(&d.describe())));
                    }
                    lines.push(format!(
                        "Grant file written to {} — give it to the shop; whoever holds it can fetch the granted data.",
                        out.display()
                    ));
                    lines.push(format!("Revoke any time with: locket grant revoke {}", g.id));
                    lines.join("\n")
                },
            );
        }
        GrantCmd::Deny { request_id, note } => {
            let decision = session.deny_request(request_id, note)?;
            ctx.out.result(&decision, || {
                "Denied. The shop gets nothing; the decision is in the access log.".into()
            });
        }
        GrantCmd::Revoke { id, reason } => {
            // Committed (WAL, synchronous=FULL) before we report: the next redemption is refused.
            let (revoked, receipt) = session.revoke_grant(id, reason)?;
            let g = &revoked.grant;
            ctx.out.result(
                &json!({ "grant": g, "already_revoked": revoked.already, "receipt": receipt }),
                || {
                    if revoked.already {
                        format!(
                            "Grant {} for {} was already revoked; nothing changed.",
                            g.id,
                            safe(&g.retailer_name)
                        )
                    } else {
                        format!(
                            "Revoked grant {} for {}. Its next use will be refused.",
                            g.id,
                            safe(&g.retailer_name)
                        )
                    }
                },
            );
        }
        GrantCmd::Narrow { id, withdraw } => {
            let (g, receipt) = session.narrow_grant(id, withdraw.clone())?;
            ctx.out.result(&json!({ "grant": g, "receipt": receipt }), || {
                format!(
                    "Narrowed grant {} for {}: withdrawn {}; still granted {}. Its next fetch no longer returns \
                     the withdrawn scopes. Consent receipt {} recorded.",
                    g.id,
                    safe(&g.retailer_name),
                    safe(&withdraw.join(", ")),
                    g.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>().join(", "),
                    receipt.receipt_id
                )
            });
        }
        GrantCmd::List => {
            let grants = session.grant_records()?;
            let now = Utc::now();
            let rows_json: Vec<serde_json::Value> = grants
                .iter()
                .map(|g| json!({ "grant": g, "status": g.status(now), "uses_left": g.uses_left() }))
                .collect();
            ctx.out.result(&rows_json, || {
                if grants.is_empty() {
                    return "No grants yet. Approve a request with `locket grant approve REQUEST_ID --out FILE`."
                        .into();
                }
                let rows: Vec<Vec<String>> = grants
                    .iter()
                    .map(|g| {
                        vec![
                            g.id.clone(),
                            cell(&g.retailer_name, 24),
                            g.status(now).as_str().to_owned(),
                            uses(g),
                            when(g.expires_at),
                            cell(
                                &g.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>().join(", "),
                                40,
                            ),
                        ]
                    })
                    .collect();
                table(&["ID", "SHOP", "STATUS", "USES", "EXPIRES", "SCOPES"], &rows)
            });
        }
        GrantCmd::Show { id } => {
            let g = session.grant_record(&id)?;
            let now = Utc::now();
            let privacy = session.grant_consent(&g.id)?;
            ctx.out.result(
                &json!({
                    "grant": g,
                    "status": g.status(now),
                    "uses_left": g.uses_left(),
                    "receipts": privacy.receipts,
                    "data_changed_since": privacy.data_changed_since,
                    "erasure": privacy.erasure,
                }),
                || format!("{}{}", describe(&g), super::privacy::consent_text(&privacy)),
            );
        }
    }
    Ok(())
}
