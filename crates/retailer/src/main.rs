//! `locket-retailer`: the retailer developer's tool for Locket — write and send grant requests, inspect
//! grant files, fetch the granted data, give grants back.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use locket_retailer::{
    load_grant, parse_offer_arg, parse_recipient_arg, parse_scope_arg, verify_offline, verify_receipts, Client,
    RequestBuilder, RetailerError,
};
use locket_wire::grantfile::GrantFile;

/// Talk to a Locket owner's vault as a shop: ask for data, receive exactly what was granted.
#[derive(Debug, Parser)]
#[command(name = "locket-retailer", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up; the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Write or send grant requests.
    #[command(subcommand)]
    Request(RequestCmd),
    /// Show what a grant file allows, check its token, and ask the owner's Locket for its status.
    Inspect {
        /// The grant file the owner gave you.
        grant_file: PathBuf,
        /// Do not contact the owner's Locket; only check the file and its token.
        #[arg(long)]
        offline: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fetch the granted data (counts as one use of the grant).
    Fetch {
        /// The grant file.
        grant_file: PathBuf,
        /// Print the full answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Consent receipts: check one offline.
    #[command(subcommand)]
    Receipt(ReceiptCmd),
    /// Fetch every consent receipt of a grant from the owner's Locket (each verified with the file's key).
    Receipts {
        /// The grant file.
        grant_file: PathBuf,
        /// Also write them to this file (`{"receipts": [...]}`, verifiable with `receipt verify`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge the owner's request to erase what you received under this grant.
    ErasureAck {
        /// The grant file.
        grant_file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give the grant back: the token stops working for good.
    Revoke {
        /// The grant file.
        grant_file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ReceiptCmd {
    /// Verify a consent receipt: a grant file (its receipt, with the file's key), a receipt file, or a list of
    /// receipts (`locket-retailer receipts --out`, the owner's `locket receipts export`).
    Verify {
        /// The file to check.
        file: PathBuf,
        /// The PASERK public key (k4.public.…) to verify with.
        #[arg(long, conflicts_with = "grant")]
        key: Option<String>,
        /// Take the key from this grant file.
        #[arg(long, value_name = "GRANT_FILE")]
        grant: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum RequestCmd {
    /// Write a new locket.grant-request/v1 file.
    New {
        /// Your stable shop id, usually your domain (shop.example).
        #[arg(long)]
        id: String,
        /// Your shop's name as the owner will see it.
        #[arg(long)]
        name: String,
        /// Your website origin (https://shop.example).
        #[arg(long)]
        origin: String,
        /// Email address or URL for questions about data.
        #[arg(long)]
        contact: String,
        /// URL of your privacy policy.
        #[arg(long)]
        privacy_policy: String,
        /// A scope you need: SCOPE=PURPOSE[:TEXT], e.g. contact.email=order_fulfilment. Repeatable.
        #[arg(long = "require", value_name = "SCOPE=PURPOSE[:TEXT]")]
        required: Vec<String>,
        /// A scope you would like but can do without: SCOPE=PURPOSE[:TEXT]. Repeatable.
        #[arg(long = "scope", value_name = "SCOPE=PURPOSE[:TEXT]")]
        optional: Vec<String>,
        /// How long you want access, ISO 8601 (P30D, P2W, PT12H).
        #[arg(long, default_value = "P30D")]
        duration: String,
        /// How long you keep received data: ISO 8601 (P90D, P6Y) or until_grant_ends.
        #[arg(long, default_value = "until_grant_ends")]
        retention: String,
        /// Your retention promise in words, shown to the owner.
        #[arg(long, default_value = "We delete the data when the grant ends.")]
        retention_statement: String,
        /// What you offer the owner in return, in your words ("10% off your first order"). Leave it out if
        /// you offer nothing: the owner is told so.
        #[arg(long, value_name = "TEXT")]
        benefit: Option<String>,
        /// The benefit in a form Locket states in its own words: discount_percent=10, discount_amount=4.99:EUR,
        /// loyalty_points=500, free_shipping, early_access or other. Needs --benefit.
        #[arg(long, value_name = "KIND[=VALUE]", requires = "benefit")]
        offer: Option<String>,
        /// Someone beyond your shop who receives the data: NAME=ROLE:PURPOSE:COUNTRY[:TEXT], ROLE one of
        /// processor, joint_controller, third_party; COUNTRY ISO 3166-1 alpha-2 (GB, DE, US). Repeatable. Without
        /// any, the owner reads that you share with nobody else.
        #[arg(long = "recipient", value_name = "NAME=ROLE:PURPOSE:COUNTRY[:TEXT]")]
        recipients: Vec<String>,
        /// Where to write the request.
        #[arg(long)]
        out: PathBuf,
    },
    /// Send a request file to the owner's Locket (POST URL/v1/requests).
    Send {
        /// The owner's endpoint, e.g. http://127.0.0.1:7419.
        url: String,
        /// The request file.
        file: PathBuf,
    },
}

fn io(path: &std::path::Path, source: std::io::Error) -> RetailerError {
    RetailerError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn describe(grant: &GrantFile) -> String {
    let mut lines = vec![
        format!(
            "Grant {} for {} ({})",
            grant.grant_id, grant.retailer.name, grant.retailer.id
        ),
        format!("  Endpoint:  {}", grant.endpoint),
        format!("  Valid:     {} to {}", grant.not_before, grant.expires_at),
        format!(
            "  Uses:      {}",
            grant
                .max_uses
                .map(|m| format!("at most {m}"))
                .unwrap_or_else(|| "no limit".into())
        ),
        format!("  Subject:   {}", grant.subject),
        "  Scopes:".to_owned(),
    ];
    for s in &grant.scopes {
        lines.push(format!(
            "    {} — {} (for {}{})",
            s.scope,
            s.label,
            s.purpose.label(),
            s.purpose_text.as_ref().map(|t| format!(": {t}")).unwrap_or_default()
        ));
    }
    lines.push(format!("  Summary:   {}", grant.summary));
    match &grant.receipt {
        Some(r) => lines.push(format!(
            "  Receipt:   {} ({}, {}, jurisdiction {}){}",
            r.receipt_id,
            r.event.as_str(),
            r.event_at,
            r.jurisdiction,
            r.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default()
        )),
        None => lines.push("  Receipt:   none (issued before consent receipts)".to_owned()),
    }
    lines.join("\n")
}

fn receipt_line(r: &locket_wire::receipt::Receipt) -> String {
    format!(
        "{} v{} {} at {} — {}{}",
        r.receipt_id,
        r.version,
        r.event.as_str(),
        r.event_at,
        if r.scopes.is_empty() {
            "no scopes consented".to_owned()
        } else {
            r.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>().join(", ")
        },
        if r.withdrawn_scopes.is_empty() {
            String::new()
        } else {
            format!("; withdrawn: {}", r.withdrawn_scopes.join(", "))
        }
    )
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn run(cli: Cli) -> Result<(), RetailerError> {
    match cli.command {
        Command::Request(RequestCmd::New {
            id,
            name,
            origin,
            contact,
            privacy_policy,
            required,
            optional,
            duration,
            retention,
            retention_statement,
            benefit,
            offer,
            recipients,
            out,
        }) => {
            if required.is_empty() && optional.is_empty() {
                return Err(RetailerError::Invalid(
                    "ask for at least one scope with --require SCOPE=PURPOSE or --scope SCOPE=PURPOSE".into(),
                ));
            }
            let mut b = RequestBuilder::new(&id, &name, &origin, &contact, &privacy_policy)
                .duration(&duration)
                .retention(&retention, &retention_statement);
            for (arg, req) in required
                .iter()
                .map(|a| (a, true))
                .chain(optional.iter().map(|a| (a, false)))
            {
                let (scope, purpose, text) = parse_scope_arg(arg)?;
                b = b.scope(&scope, purpose, text.as_deref(), req);
            }
            if let Some(words) = &benefit {
                b = b.benefit(words, offer.as_deref().map(parse_offer_arg).transpose()?);
            }
            for arg in &recipients {
                b = b.recipient(parse_recipient_arg(arg)?);
            }
            let request = b.build()?;
            let mut text = request.to_json_pretty();
            text.push('\n');
            std::fs::write(&out, text).map_err(|e| io(&out, e))?;
            println!(
                "Wrote {} ({} scopes, nonce {}). Give it to the owner (`locket requests import {}`) or send it with \
                 `locket-retailer request send URL {}`.",
                out.display(),
                request.scopes.len(),
                request.nonce,
                out.display(),
                out.display()
            );
        }
        Command::Request(RequestCmd::Send { url, file }) => {
            let bytes = std::fs::read(&file).map_err(|e| io(&file, e))?;
            let submitted = Client::new()?.send_request(&url, &bytes)?;
            println!(
                "Sent. The owner sees it as request {} ({}); you get a grant file once they approve it.",
                submitted.request_id, submitted.status
            );
        }
        Command::Inspect {
            grant_file,
            offline,
            json,
        } => {
            let grant = load_grant(&grant_file)?;
            let verified = verify_offline(&grant)?;
            let state = if offline {
                None
            } else {
                Some(Client::new()?.introspect(&grant))
            };
            let receipt_ok = match &grant.receipt {
                Some(_) => Some(verify_receipts(
                    &std::fs::read(&grant_file).map_err(|e| io(&grant_file, e))?,
                    None,
                )?),
                None => None,
            };
            if json {
                let state_json = match &state {
                    Some(Ok(s)) => serde_json::to_value(s).unwrap_or_default(),
                    Some(Err(e)) => serde_json::json!({ "error": { "code": e.code(), "message": e.to_string() } }),
                    None => serde_json::Value::Null,
                };
                print_json(
                    &serde_json::json!({ "grant": grant, "claims": verified.claims, "token_verified": true, "receipt_verified": receipt_ok.is_some(), "state": state_json }),
                );
            } else {
                println!("{}", describe(&grant));
                println!("  Token:     signature verifies with {}", grant.key_id);
                if receipt_ok.is_some() {
                    println!("  Receipt:   signature verifies with {}", grant.key_id);
                }
                match state {
                    None => {}
                    Some(Ok(s)) => {
                        println!(
                            "  Status:    {}{} — {} uses so far{}",
                            s.status,
                            if s.active { " (usable)" } else { "" },
                            s.uses,
                            s.uses_left.map(|l| format!(", {l} left")).unwrap_or_default()
                        );
                        if let Some(t) = &s.data_changed_since {
                            println!("  Changed:   data you hold changed on {t}; fetch again to update it");
                        }
                        match (&s.erasure_requested_at, &s.erasure_acknowledged_at) {
                            (Some(r), Some(a)) => println!("  Erasure:   requested {r}, acknowledged {a}"),
                            (Some(r), None) => println!(
                                "  Erasure:   the owner asked you to erase their data on {r}; acknowledge with \
                                 `locket-retailer erasure-ack {}`",
                                grant_file.display()
                            ),
                            _ => {}
                        }
                    }
                    Some(Err(e)) => println!("  Status:    unknown — {e}"),
                }
            }
        }
        Command::Fetch { grant_file, json } => {
            let grant = load_grant(&grant_file)?;
            let data = Client::new()?.fetch(&grant)?;
            if json {
                print_json(&data);
            } else {
                let width = data.fields.iter().map(|f| f.key.len()).max().unwrap_or(0);
                for f in &data.fields {
                    let value = match &f.value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    println!("{:width$}  {}  (v{}, {})", f.key, value, f.version, f.label);
                }
                if data.fields.is_empty() {
                    println!("(no values: the owner has not filled in the granted fields)");
                }
                for s in &data.empty_scopes {
                    println!("{s}: no value right now");
                }
                eprintln!(
                    "{} field(s); uses so far {}{}",
                    data.fields.len(),
                    data.uses,
                    data.uses_left.map(|l| format!(", {l} left")).unwrap_or_default()
                );
            }
        }
        Command::Receipt(ReceiptCmd::Verify { file, key, grant, json }) => {
            let bytes = std::fs::read(&file).map_err(|e| io(&file, e))?;
            let key = match (key, grant) {
                (Some(k), _) => Some(k),
                (None, Some(g)) => Some(load_grant(&g)?.public_key),
                (None, None) => None,
            };
            let receipts = verify_receipts(&bytes, key.as_deref())?;
            if json {
                print_json(&serde_json::json!({ "verified": true, "receipts": receipts }));
            } else {
                for r in &receipts {
                    println!("{}", receipt_line(r));
                }
                println!(
                    "{} receipt(s): signature verifies, signed by vault {}.",
                    receipts.len(),
                    receipts.first().map(|r| r.issuer.vault_id.as_str()).unwrap_or("?")
                );
            }
        }
        Command::Receipts { grant_file, out, json } => {
            let grant = load_grant(&grant_file)?;
            let receipts = Client::new()?.receipts(&grant)?;
            if let Some(out) = &out {
                let doc = serde_json::json!({ "format": "locket.consent-receipts/v1", "grant_id": grant.grant_id, "receipts": receipts });
                let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                text.push('\n');
                std::fs::write(out, text).map_err(|e| io(out, e))?;
            }
            if json {
                print_json(&receipts);
            } else {
                for r in &receipts {
                    println!("{}", receipt_line(r));
                }
                eprintln!("{} receipt(s), each verified with {}", receipts.len(), grant.key_id);
            }
        }
        Command::ErasureAck { grant_file, json } => {
            let grant = load_grant(&grant_file)?;
            let ack = Client::new()?.erasure_ack(&grant)?;
            if json {
                print_json(&ack);
            } else if ack.requests.is_empty() {
                println!(
                    "The owner has not asked you to erase anything under grant {}.",
                    ack.grant_id
                );
            } else {
                println!(
                    "Acknowledged {} erasure request(s) for grant {} ({} in all). Now erase what you received.",
                    ack.acknowledged,
                    ack.grant_id,
                    ack.requests.len()
                );
            }
        }
        Command::Revoke { grant_file, json } => {
            let grant = load_grant(&grant_file)?;
            let r = Client::new()?.revoke(&grant)?;
            if json {
                print_json(&r);
            } else if r.already_revoked {
                println!("Grant {} was already revoked.", r.grant_id);
            } else {
                println!("Gave grant {} back; its token no longer works.", r.grant_id);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            if let RetailerError::Refused { problems, .. } = &e {
                for p in problems {
                    eprintln!(
                        "  at {}: {} ({})",
                        if p.path.is_empty() { "/" } else { &p.path },
                        p.message,
                        p.rule
                    );
                }
            }
            ExitCode::from(match &e {
                RetailerError::Invalid(_) | RetailerError::Request(_) => 2,
                RetailerError::Refused { .. } => 3,
                RetailerError::Unreachable { .. } => 4,
                RetailerError::GrantFile(_)
                | RetailerError::TokenInvalid(_)
                | RetailerError::Receipt(_)
                | RetailerError::Io { .. } => 5,
                _ => 1,
            })
        }
    }
}
