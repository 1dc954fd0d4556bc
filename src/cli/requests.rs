//! `locket requests import FILE | connect LINK | list | show ID`: retailers' grant requests waiting for the owner.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use locket_grants::request::MAX_REQUEST_BYTES;
use locket_grants::store::{RequestRecord, RequestSource, RequestStatus};
use locket_grants::GrantError;

use locket_app::grants::Review;

use super::output::{cell, safe, table, when};
use super::{exit, CliError, CliResult, Ctx};

/// `locket requests …`
#[derive(Debug, Subcommand)]
pub enum RequestsCmd {
    /// Import a grant request file (locket.grant-request/v1) a shop gave you.
    Import {
        /// The request file.
        file: PathBuf,
    },
    /// Fetch a shop's signed request from its website and verify it: LINK is the `locket://connect?request_uri=…`
    /// link of a "Share with Locket" button, or the https request URL itself.
    Connect {
        /// The link (or https URL).
        link: String,
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

/// How a request reached Locket, in the words the desktop uses ("received … as a file you imported").
pub fn via_words(rec: &RequestRecord) -> &'static str {
    match locket_grants::store::source_class(&rec.source, rec.source_detail.as_deref()) {
        "connect" => "from the shop's website",
        "http" => "from a program or web page on this computer",
        "deep_link" => "through a Locket link",
        _ => "as a file you imported",
    }
}

/// What every request card says: nobody has checked who sent it.
pub const NOT_VERIFIED: &str = "Not verified: anyone can send a request claiming to be this shop. Share only if you \
                                expected it.";

/// What a verified request card says.
pub fn verified_words(origin: &str) -> String {
    let host = url_host(origin);
    format!("Verified: {host} — this request was signed by the site you were on ({origin}).")
}

fn url_host(origin: &str) -> String {
    origin
        .split_once("://")
        .map(|(_, rest)| rest.split(':').next().unwrap_or(rest).to_owned())
        .unwrap_or_else(|| origin.to_owned())
}

/// The request as a card for people. Every value the request (or its source) supplied passes [`safe`];
/// `review` says whether it was verified, and where its details differ from the shop's first-seen ones.
pub fn describe(rec: &RequestRecord, catalog: &dyn locket_grants::ScopeResolver, review: &Review) -> String {
    let changes = &review.retailer_changes;
    let r = &rec.request;
    let mut out = vec![
        format!("Request {} — {}", rec.id, rec.status.as_str()),
        format!(
            "  From:        {} ({}), id {}",
            safe(&r.retailer.name),
            safe(&r.retailer.origin),
            safe(&r.retailer.id)
        ),
        format!("  Contact:     {}", safe(&r.retailer.contact)),
        format!("  Privacy:     {}", safe(&r.retailer.privacy_policy)),
        format!(
            "  Received:    {} {}{}",
            when(rec.received_at),
            via_words(rec),
            rec.source_detail
                .as_ref()
                .map(|d| format!(" ({})", safe(d)))
                .unwrap_or_default()
        ),
    ];
    match &review.verification {
        Some(v) => {
            out.push(format!("  {}", safe(&verified_words(&v.origin))));
            if let Some(since) = v.pinned_since {
                out.push(format!("  Known since: {} (first verified)", when(since)));
            }
            if !v.changes.is_empty() {
                out.push(
                    "  Warning: this shop's published details are not the ones Locket pinned when you first \
                     connected:"
                        .to_owned(),
                );
                for c in &v.changes {
                    out.push(format!(
                        "    {}: pinned \"{}\", now \"{}\"",
                        c.field.replace('_', " "),
                        safe(&c.pinned),
                        safe(&c.now)
                    ));
                }
                out.push(
                    "    A new key or name can mean the site changed hands or was broken into. Approving this request \
                     accepts the new details."
                        .to_owned(),
                );
            }
        }
        None => {
            out.push(format!("  {NOT_VERIFIED}"));
            if let Some(origin) = &review.verified_shop_with_same_id {
                out.push(format!(
                    "  Warning: a verified shop ({}) uses this shop id; this request did not come from its site.",
                    safe(origin)
                ));
            }
        }
    }
    if !changes.is_empty() {
        out.push("  Warning: this request's details differ from the ones this retailer first used:".to_owned());
        for c in changes {
            let mut label = c.label.to_owned();
            if let Some(first) = label.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            out.push(format!(
                "    {label}: first seen \"{}\", this request says \"{}\"",
                safe(&c.first_seen),
                safe(&c.claimed)
            ));
        }
        out.push("    Grants for this retailer keep the first-seen details.".to_owned());
    }
    out.extend([
        format!(
            "  Wants:       {} (for {})",
            safe(&r.requested_duration),
            r.requested_duration()
                .map(locket_grants::duration::humanize)
                .unwrap_or_else(|_| "?".into())
        ),
        format!(
            "  Keeps data:  {} — {}",
            safe(&r.retention.max_duration),
            safe(&r.retention.statement)
        ),
    ]);
    out.extend(exchange_lines(r));
    out.push("  Asks for:".to_owned());
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
            safe(&s.scope),
            safe(&label),
            safe(&fields),
            flag
        ));
        out.push(format!(
            "        for {}{}",
            s.purpose.label(),
            s.purpose_text
                .as_ref()
                .map(|t| format!(": {}", safe(t)))
                .unwrap_or_default()
        ));
    }
    out.push("    (* = the shop marks it required)".to_owned());
    if let Some(d) = &rec.decision {
        out.push(format!("  Decision:    {} at {}", d.outcome.as_str(), d.decided_at));
        if !d.granted.is_empty() {
            let granted: Vec<_> = d.granted.iter().map(|g| safe(g)).collect();
            out.push(format!("    granted: {}", granted.join(", ")));
        }
        for diff in &d.differences {
            out.push(format!("    {}", safe(&diff.describe())));
        }
        if let Some(n) = &d.note {
            out.push(format!("    note: {}", safe(n)));
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

/// What the request says the owner gets in return and who else receives the data, as lines of the card: every
/// text the shop wrote passes [`safe`]; no recipients reads as the shop's claim that nobody else does.
pub fn exchange_lines(r: &locket_grants::GrantRequest) -> Vec<String> {
    let mut out = Vec::new();
    out.push(match &r.benefit {
        None => "  In return:   nothing offered".to_owned(),
        Some(b) => match b.offer.as_ref().and_then(|o| o.summary()) {
            Some(summary) => format!(
                "  In return:   {summary} — in the shop's words: \"{}\"",
                safe(&b.description)
            ),
            None => format!("  In return:   \"{}\" (the shop's words)", safe(&b.description)),
        },
    });
    if r.recipients.is_empty() {
        out.push(format!("  {}", locket_grants::exchange::NOBODY_ELSE));
        return out;
    }
    out.push(format!(
        "  Also gets your data, the shop says ({}):",
        match r.recipients.len() {
            1 => "1 recipient".to_owned(),
            n => format!("{n} recipients"),
        }
    ));
    for x in &r.recipients {
        let flag = if x.purpose.is_marketing_or_profiling() {
            "  ⚑ marketing/profiling"
        } else {
            ""
        };
        out.push(format!(
            "    - {} — {}, in {} ({}){flag}",
            safe(&x.name),
            x.role.words(),
            safe(x.country_name()),
            safe(&x.country)
        ));
        out.push(format!(
            "        for {}{}",
            x.purpose.label(),
            x.purpose_text
                .as_ref()
                .map(|t| format!(": {}", safe(t)))
                .unwrap_or_default()
        ));
    }
    out
}

/// The record as JSON, with the retailer details that differ from the first-seen ones (`retailer_changes`:
/// `field`, `label`, `first_seen`, `claimed`), its `via`, `verified` and, when verified, `verification`
/// (`origin`, `request_uri`, `key_id`, `key_thumbprint`, `pinned_since`, `changes`).
fn record_json(rec: &RequestRecord, review: &Review) -> Result<serde_json::Value, CliError> {
    let changes = &review.retailer_changes;
    let mut doc = serde_json::to_value(rec)
        .map_err(|e| CliError::new(exit::ERROR, "io_error", format!("cannot render JSON: {e}")))?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "via".into(),
            serde_json::json!(locket_grants::store::source_class(
                &rec.source,
                rec.source_detail.as_deref()
            )),
        );
        obj.insert("verified".into(), serde_json::json!(review.verification.is_some()));
        if let Some(v) = &review.verification {
            obj.insert(
                "verification".into(),
                serde_json::json!({
                    "origin": v.origin,
                    "request_uri": v.request_uri,
                    "key_id": v.key_id,
                    "key_thumbprint": v.key_thumbprint,
                    "fetched_at": v.fetched_at.to_rfc3339(),
                    "pinned_since": v.pinned_since.map(|t| t.to_rfc3339()),
                    "changes": v.changes,
                }),
            );
        }
        if let Some(o) = &review.verified_shop_with_same_id {
            obj.insert("verified_shop_with_same_id".into(), serde_json::json!(o));
        }
        let changes: Vec<_> = changes
            .iter()
            .map(|c| serde_json::json!({ "field": c.field, "label": c.label, "first_seen": c.first_seen, "claimed": c.claimed }))
            .collect();
        obj.insert("retailer_changes".into(), serde_json::Value::Array(changes));
    }
    Ok(doc)
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
            let review = session.review(&rec)?;
            let doc = record_json(&rec, &review)?;
            ctx.out.result(&doc, || describe(&rec, &session, &review));
        }
        RequestsCmd::Connect { link } => {
            let net = locket_app::net::Net::from_env()?;
            let connected = session.connect_record(&link, &net)?;
            let rec = connected.record;
            let review = session.review(&rec)?;
            let doc = record_json(&rec, &review)?;
            ctx.out.result(&doc, || describe(&rec, &session, &review));
        }
        RequestsCmd::List { status } => {
            let filter = match status {
                StatusFilter::All => None,
                StatusFilter::Pending => Some(RequestStatus::Pending),
                StatusFilter::Approved => Some(RequestStatus::Approved),
                StatusFilter::Denied => Some(RequestStatus::Denied),
            };
            let list = session.request_records(filter)?;
            let changes = list
                .iter()
                .map(|r| session.review(r).map_err(CliError::from))
                .collect::<Result<Vec<_>, CliError>>()?;
            let docs = list
                .iter()
                .zip(&changes)
                .map(|(r, c)| record_json(r, c))
                .collect::<Result<Vec<_>, CliError>>()?;
            ctx.out.result(&docs, || {
                if list.is_empty() {
                    return "No requests. Import one with `locket requests import FILE`; shops can also send them \
                            to the endpoint (`locket serve`)."
                        .into();
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .zip(&changes)
                    .map(|(r, c)| {
                        vec![
                            r.id.clone(),
                            r.status.as_str().to_owned(),
                            cell(&r.request.retailer.name, 30),
                            match &c.verification {
                                Some(v) if v.changes.is_empty() => format!("verified: {}", url_host(&v.origin)),
                                Some(v) => format!("verified: {}, ⚠ changed", url_host(&v.origin)),
                                None if c.retailer_changes.is_empty() && c.verified_shop_with_same_id.is_none() => {
                                    "not verified".to_owned()
                                }
                                None => "not verified, ⚠ differs".to_owned(),
                            },
                            cell(
                                &r.request
                                    .scopes
                                    .iter()
                                    .map(|s| s.scope.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                50,
                            ),
                            match r.request.recipients.len() {
                                0 => "nobody else".to_owned(),
                                1 => "1 other".to_owned(),
                                n => format!("{n} others"),
                            },
                            when(r.received_at),
                        ]
                    })
                    .collect();
                let mut text = table(
                    &["ID", "STATUS", "SHOP", "SENDER", "ASKS FOR", "SHARED WITH", "RECEIVED"],
                    &rows,
                );
                text.push_str(
                    "
Verified = fetched from the shop's own website and signed by it. Not verified: anyone can send a \
                     request claiming to be a shop. ⚠ = the shop's details or keys are not the ones first seen \
                     (`locket requests show ID`). SHARED WITH = who else gets the data, as the shop says.",
                );
                text
            });
        }
        RequestsCmd::Show { id } => {
            let rec = session.request_record(&id)?;
            // The over-asking check: warnings and the minimized answers `grant approve --minimize` grants.
            let review = session.review(&rec)?;
            let mut doc = record_json(&rec, &review)?;
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("privacy_warnings".into(), serde_json::json!(review.warnings));
                obj.insert("suggested_minimization".into(), serde_json::json!(review.plan));
            }
            ctx.out.result(&doc, || {
                format!(
                    "{}{}",
                    describe(&rec, &session, &review),
                    super::privacy::review_text(&review, &rec)
                )
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use locket_grants::exchange::{Benefit, Offer, Recipient, RecipientRole};
    use locket_grants::Purpose;

    /// Text stored before requests refused hidden characters (or planted in the vault) is printed escaped on
    /// every line about the benefit and the recipients.
    #[test]
    fn benefit_and_recipient_text_is_printed_escaped() {
        let mut r: locket_grants::GrantRequest =
            serde_json::from_str(include_str!("../../tests/golden/grant-request.v1.json")).unwrap();
        r.benefit = Some(Benefit {
            description: "10% off\u{1b}[2K\rVerified by Locket".into(),
            offer: Some(Offer::LoyaltyPoints { points: 2500 }),
        });
        r.recipients = vec![Recipient {
            name: "Parcel\u{202e}sserpxE".into(),
            role: RecipientRole::JointController,
            purpose: Purpose::Other,
            purpose_text: Some("Line one\nAlso gets your data: nobody".into()),
            country: "FR".into(),
        }];
        let text = exchange_lines(&r).join("\n");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(
            text.contains("In return:   2,500 loyalty points — in the shop's words: \"10% off\\u{1b}[2K\\u{d}Verified"),
            "{text}"
        );
        assert!(
            text.contains("- Parcel\\u{202e}sserpxE — decides with the shop how your data is used, in France (FR)"),
            "{text}"
        );
        assert!(text.contains("for other purpose: Line one\\u{a}Also gets"), "{text}");
    }
}
