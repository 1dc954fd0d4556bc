//! `locket requests import FILE | list | show ID`: retailers' grant requests waiting for the owner.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use locket_grants::request::MAX_REQUEST_BYTES;
use locket_grants::store::{RequestRecord, RequestSource, RequestStatus};
use locket_grants::GrantError;

use super::output::{cell, table, when};
use super::{exit, CliError, CliResult, Ctx};

/// `locket requests …`
#[derive(Debug, Subcommand)]
pub enum RequestsCmd {
    /// Import a grant request file (locket.grant-request/v1) a shop gave you.
    Import {
        /// The request file.
        file: PathBuf,
    },
    /// List requests, newest first.
    List {
        /// Only requests in this state.
        #[arg(long, value_enum, default_value_t = StatusFilter::All)]
        status: StatusFilter,
    },
    /// Show one request: who asks, for what, why, for how long.
    Show {
        /// Request id (or a unique prefix of at least 6 characters).
        id: String,
    },
}

/// Which requests `list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    /// Every request.
    All,
    /// Waiting for a decision.
    Pending,
    /// Approved.
    Approved,
    /// Denied.
    Denied,
}

impl From<GrantError> for CliError {
    fn from(e: GrantError) -> Self {
        CliError::from_code(e.code(), e.to_string())
    }
}

/// The request as a card for people.
pub fn describe(rec: &RequestRecord, catalog: &dyn locket_grants::ScopeResolver) -> String {
    let r = &rec.request;
    let mut out = vec![
        format!("Request {} — {}", rec.id, rec.status.as_str()),
        format!(
            "  From:        {} ({}), id {}",
            r.retailer.name, r.retailer.origin, r.retailer.id
        ),
        format!("  Contact:     {}", r.retailer.contact),
        format!("  Privacy:     {}", r.retailer.privacy_policy),
        format!(
            "  Received:    {} via {}{}",
            when(rec.received_at),
            rec.source,
            rec.source_detail
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        format!(
            "  Wants:       {} (for {})",
            r.requested_duration,
            r.requested_duration()
                .map(locket_grants::duration::humanize)
                .unwrap_or_else(|_| "?".into())
        ),
        format!(
            "  Keeps data:  {} — {}",
            r.retention.max_duration, r.retention.statement
        ),
        "  Asks for:".to_owned(),
    ];
    for s in &r.scopes {
        let resolved = catalog.resolve(&s.scope);
        let label = resolved
            .as_ref()
            .map(|x| x.label.clone())
            .unwrap_or_else(|| "(unknown to this vault)".into());
        let fields = resolved
            .filter(|x| x.kind == locket_grants::ScopeKind::Group)
            .map(|x| {
                format!(
                    " [{}]",
                    x.fields.iter().map(|f| f.label.as_str()).collect::<Vec<_>>().join(", ")
                )
            })
            .unwrap_or_default();
        let flag = if s.purpose.is_marketing_or_profiling() {
            "  ⚑ marketing/profiling"
        } else {
            ""
        };
        out.push(format!(
            "    {} {} — {}{}{}",
            if s.required { "*" } else { "-" },
            s.scope,
            label,
            fields,
            flag
        ));
        out.push(format!(
            "        for {}{}",
            s.purpose.label(),
            s.purpose_text.as_ref().map(|t| format!(": {t}")).unwrap_or_default()
        ));
    }
    out.push("    (* = the shop marks it required)".to_owned());
    if let Some(d) = &rec.decision {
        out.push(format!("  Decision:    {} at {}", d.outcome.as_str(), d.decided_at));
        if !d.granted.is_empty() {
            out.push(format!("    granted: {}", d.granted.join(", ")));
        }
        for diff in &d.differences {
            out.push(format!("    {}", diff.describe()));
        }
        if let Some(n) = &d.note {
            out.push(format!("    note: {n}"));
        }
        if let Some(g) = &d.grant_id {
            out.push(format!("    grant: {g}"));
        }
    } else {
        out.push(format!(
            "  Decide with: locket grant approve {} --out grant.json   (or: locket grant deny {})",
            rec.id, rec.id
        ));
    }
    out.join("\n")
}

/// Runs a `requests` subcommand.
pub fn run(ctx: &mut Ctx, cmd: RequestsCmd) -> CliResult {
    let session = ctx.open_session()?;
    match cmd {
        RequestsCmd::Import { file } => {
            let meta = std::fs::metadata(&file).map_err(|e| {
                CliError::new(
                    exit::NOT_FOUND,
                    "file_not_found",
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            if meta.len() > MAX_REQUEST_BYTES as u64 {
                let e = locket_grants::RequestError::TooLarge {
                    size: meta.len() as usize,
                    max: MAX_REQUEST_BYTES,
                };
                return Err(GrantError::from(e).into());
            }
            let bytes = std::fs::read(&file).map_err(|e| {
                CliError::new(
                    exit::NOT_FOUND,
                    "file_not_found",
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            let source = RequestSource::File {
                path: file.display().to_string(),
            };
            let rec = session.import_request_record(bytes, source)?;
            ctx.out.result(&rec, || describe(&rec, &session));
        }
        RequestsCmd::List { status } => {
            let filter = match status {
                StatusFilter::All => None,
                StatusFilter::Pending => Some(RequestStatus::Pending),
                StatusFilter::Approved => Some(RequestStatus::Approved),
                StatusFilter::Denied => Some(RequestStatus::Denied),
            };
            let list = session.request_records(filter)?;
            ctx.out.result(&list, || {
                if list.is_empty() {
                    return "No requests. Import one with `locket requests import FILE`; shops can also send them \
                            to the endpoint (`locket serve`)."
                        .into();
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.status.as_str().to_owned(),
                            cell(&r.request.retailer.name, 30),
                            cell(
                                &r.request
                                    .scopes
                                    .iter()
                                    .map(|s| s.scope.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                50,
                            ),
                            when(r.received_at),
                        ]
                    })
                    .collect();
                table(&["ID", "STATUS", "SHOP", "ASKS FOR", "RECEIVED"], &rows)
            });
        }
        RequestsCmd::Show { id } => {
            let rec = session.request_record(&id)?;
            // The over-asking check: warnings and the minimized answers `grant approve --minimize` grants.
            let review = session.review(&rec)?;
            let mut doc = serde_json::to_value(&rec)
                .map_err(|e| CliError::new(exit::ERROR, "io_error", format!("cannot render JSON: {e}")))?;
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("privacy_warnings".into(), serde_json::json!(review.warnings));
                obj.insert("suggested_minimization".into(), serde_json::json!(review.plan));
            }
            ctx.out.result(&doc, || {
                format!(
                    "{}{}",
                    describe(&rec, &session),
                    super::privacy::review_text(&review, &rec)
                )
            });
        }
    }
    Ok(())
}
