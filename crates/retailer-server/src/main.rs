//! `locket-retailer`: the retailer developer's tool for Locket — write and send grant requests, inspect
//! grant files, fetch the granted data, give grants back; and the reference retailer server (`keys new`,
//! `dev-cert`, `serve`, `request publish`, `holdings`).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use locket_retailer_server::holdings::{safe, Holdings, SubjectHoldings};
use locket_retailer_server::publish::{parse_ttl, publish, qr_text, PublishOptions, ScopeAsk};
use locket_retailer_server::server::{stderr_log, ServeConfig, Server};
use locket_retailer_server::store::DataDir;
use locket_retailer_server::{
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
    /// Write, send or publish grant requests.
    #[command(subcommand)]
    Request(RequestCmd),
    /// The reference server's keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Run the reference retailer server: HTTPS serving the shop's metadata and its one-time signed requests,
    /// and receiving the releases customers' Locket delivers.
    Serve {
        /// The shop's origin as Locket reaches it, with the port (https://shop.test:8443).
        #[arg(long)]
        origin: String,
        /// The address to listen on (127.0.0.1:8443).
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// PEM certificate chain for the origin's host (see `dev-cert`).
        #[arg(long, value_name = "CERT.pem")]
        tls_cert: PathBuf,
        /// PEM private key of that certificate.
        #[arg(long, value_name = "KEY.pem")]
        tls_key: PathBuf,
        /// The shop's data directory (made by `keys new`).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The shop's name as the owner sees it (default: the one recorded, else the host).
        #[arg(long)]
        name: Option<String>,
        /// Email address or https URL for questions about data (default: recorded, else privacy@HOST).
        #[arg(long)]
        contact: Option<String>,
        /// Privacy policy URL on the origin (default: recorded, else ORIGIN/privacy, which is served).
        #[arg(long)]
        privacy_policy: Option<String>,
    },
    /// Show what the reference server holds: for each subject its grants, the values received and the erasures.
    Holdings {
        /// The shop's data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a development certificate authority and a server certificate for a host (never for production).
    DevCert {
        /// The host name the shop's origin uses (shop.test).
        #[arg(long)]
        host: String,
        /// Where to write ca.pem, cert.pem and key.pem.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
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
enum KeysCmd {
    /// Make the shop's signing (Ed25519) and encryption (X25519) keys in DIR/keys.json (0600).
    New {
        /// The shop's data directory (made 0700 if needed).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Replace an existing keys file (requests signed with the old key stop verifying).
        #[arg(long)]
        force: bool,
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
    /// Sign a request with the shop's key and store it for `serve` to hand out once; print its
    /// locket://connect link and a QR code of it.
    Publish {
        /// The shop's data directory (keys from `keys new`, details recorded by `serve`).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
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
        /// Your retention promise in words, shown to the owner (default: a sentence made from --retention).
        #[arg(long, visible_alias = "statement", value_name = "TEXT")]
        retention_statement: Option<String>,
        /// The state to bind the request to, 16-256 base64url characters (default: random).
        #[arg(long)]
        state: Option<String>,
        /// How long the link works: 90s, 10m, 1h (at most 1h).
        #[arg(long, default_value = "10m")]
        ttl: String,
        /// Do not print the QR code.
        #[arg(long)]
        no_qr: bool,
        /// Print {"link","request_uri","state","expires_at"} as JSON instead.
        #[arg(long)]
        json: bool,
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

/// The plain report of `holdings`: every stored text escaped, so a value cannot drive the terminal.
fn holdings_text(subjects: &[SubjectHoldings]) -> String {
    let mut lines = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        lines.push(format!("Subject {}", safe(&s.subject)));
        for g in &s.grants {
            let status = match (g.status.as_str(), g.ended_by.as_deref()) {
                ("ended", Some("owner")) => "revoked by the owner".to_owned(),
                ("ended", _) => "ended (expired)".to_owned(),
                (other, _) => safe(other).into_owned(),
            };
            let when = g
                .ended_at
                .as_deref()
                .map(|t| format!(" on {}", safe(t)))
                .unwrap_or_default();
            lines.push(format!(
                "  Grant {}: {status}{when}; last release #{}; key {}; granted {}",
                safe(&g.grant_id),
                g.last_sequence,
                safe(&g.key_id),
                safe(&g.granted_at)
            ));
            if g.erasure_requested {
                lines.push(format!(
                    "    The owner asked for erasure{}.",
                    g.erased_at
                        .as_deref()
                        .map(|t| format!("; erased {}", safe(t)))
                        .unwrap_or_default()
                ));
            }
            if let Some(kept) = &g.kept_under {
                lines.push(format!(
                    "    Values kept after the grant ended, under the retention promise {}.",
                    safe(kept)
                ));
            }
            if g.fields.is_empty() {
                lines.push("    no values held".to_owned());
            }
            let width = g.fields.iter().map(|f| safe(&f.key).chars().count()).max().unwrap_or(0);
            for f in &g.fields {
                let value = match &f.value {
                    serde_json::Value::String(v) => v.clone(),
                    other => other.to_string(),
                };
                lines.push(format!(
                    "    {:width$}  {}  (v{}, {}, under {}, received {})",
                    safe(&f.key),
                    safe(&value),
                    f.version,
                    safe(&f.label),
                    safe(&f.scope),
                    safe(&f.received_at)
                ));
            }
        }
        for e in &s.erasures {
            let why = if e.reason == "revoke" {
                "the owner revoked the grant"
            } else {
                "the grant ended and the promise was to delete it then"
            };
            lines.push(format!(
                "  Erased {} value(s) of grant {} on {} ({why}).",
                e.deleted,
                safe(&e.grant_id),
                safe(&e.at)
            ));
        }
    }
    lines.join("\n")
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
        Command::Request(RequestCmd::Publish {
            data,
            required,
            optional,
            duration,
            retention,
            retention_statement,
            state,
            ttl,
            no_qr,
            json,
        }) => {
            let mut scopes = Vec::new();
            for (arg, req) in required
                .iter()
                .map(|a| (a, true))
                .chain(optional.iter().map(|a| (a, false)))
            {
                let (scope, purpose, purpose_text) = parse_scope_arg(arg)?;
                scopes.push(ScopeAsk {
                    scope,
                    purpose,
                    purpose_text,
                    required: req,
                });
            }
            let options = PublishOptions {
                scopes,
                duration,
                retention,
                statement: retention_statement,
                state,
                ttl: parse_ttl(&ttl)?,
            };
            let dir = DataDir::new(&data);
            let published = publish(&dir, &options, chrono::Utc::now())?;
            if json {
                print_json(&published);
            } else {
                println!("{}", published.link);
                if !no_qr {
                    use std::io::IsTerminal as _;
                    println!("{}", qr_text(&published.link, std::io::stdout().is_terminal())?);
                }
                eprintln!(
                    "Published {} (state {}), valid until {}: it is served once, by `locket-retailer serve --data {}`.",
                    published.request_uri,
                    published.state,
                    published.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    data.display()
                );
            }
        }
        Command::Keys(KeysCmd::New { data, force, json }) => {
            let keys = locket_wire::metadata::RetailerKeys::generate().map_err(RetailerError::Crypto)?;
            let dir = DataDir::new(&data);
            dir.write_keys(&keys, force)?;
            let thumb = |k: &josekit::jwk::Jwk| {
                k.to_public_key()
                    .map_err(|e| e.to_string())
                    .and_then(|p| locket_wire::metadata::jwk_thumbprint(p.as_ref()))
                    .map_err(RetailerError::Crypto)
            };
            let (sig, enc) = (thumb(&keys.signing)?, thumb(&keys.encryption)?);
            let kid = |k: &josekit::jwk::Jwk| k.key_id().unwrap_or_default().to_owned();
            if json {
                print_json(&serde_json::json!({
                    "keys": dir.keys_path().display().to_string(),
                    "signing": { "kid": kid(&keys.signing), "thumbprint": sig },
                    "encryption": { "kid": kid(&keys.encryption), "thumbprint": enc },
                }));
            } else {
                println!("Wrote {} (0600; keep it secret).", dir.keys_path().display());
                println!("  signing    (Ed25519): kid {}  thumbprint {sig}", kid(&keys.signing));
                println!(
                    "  encryption (X25519):  kid {}  thumbprint {enc}",
                    kid(&keys.encryption)
                );
            }
        }
        Command::Holdings { data, json } => {
            let dir = DataDir::new(&data);
            let subjects = match Holdings::open_existing(&dir)? {
                Some(h) => h.report()?,
                None => Vec::new(),
            };
            if json {
                print_json(&serde_json::json!({ "subjects": subjects }));
            } else if subjects.is_empty() {
                println!(
                    "Nothing received yet: no customer's Locket has delivered a release to {}.",
                    dir.holdings_path().display()
                );
            } else {
                let grants: usize = subjects.iter().map(|s| s.grants.len()).sum();
                let values: usize = subjects.iter().flat_map(|s| &s.grants).map(|g| g.fields.len()).sum();
                println!("{}", holdings_text(&subjects));
                eprintln!(
                    "{} subject(s), {grants} grant(s), {values} value(s) held, in {}",
                    subjects.len(),
                    dir.holdings_path().display()
                );
            }
        }
        Command::DevCert { host, out, force } => {
            let files = locket_retailer_server::devcert::write_dev_cert(&host, &out, force)?;
            // Locket reads LOCKET_NET_EXTRA_CA from its own working directory: print where the CA really is.
            let ca = std::fs::canonicalize(&files.ca).unwrap_or_else(|_| files.ca.clone());
            let host = locket_retailer_server::devcert::check_host(&host)?;
            println!("Wrote a development CA and a certificate for {host} (never use them in production):");
            println!("  {}  the CA certificate, to trust", files.ca.display());
            println!("  {}  the server certificate + CA (--tls-cert)", files.cert.display());
            println!("  {}  its private key, 0600 (--tls-key)", files.key.display());
            println!("Let Locket trust it and reach {host} on this computer (Locket's test settings):");
            println!(
                "  LOCKET_NET_EXTRA_CA={} LOCKET_NET_RESOLVE={host}=127.0.0.1 LOCKET_NET_ALLOW_LOOPBACK=1",
                ca.display()
            );
        }
        Command::Serve {
            origin,
            listen,
            tls_cert,
            tls_key,
            data,
            name,
            contact,
            privacy_policy,
        } => {
            let config = ServeConfig {
                origin,
                listen,
                tls_cert,
                tls_key,
                data,
                name,
                contact,
                privacy_policy,
            };
            serve(config)?;
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

/// Whether stdin is a pipe: then the server stops when it closes (its parent went away). A terminal or
/// /dev/null (a background job) does not stop it.
fn stdin_is_pipe() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        std::fs::metadata("/dev/stdin").is_ok_and(|m| m.file_type().is_fifo())
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Completes on SIGINT, SIGTERM, or when stdin (a pipe) closes.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
        "terminated"
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<&str>();
    let stdin_closed = async {
        if !stdin_is_pipe() {
            std::future::pending::<()>().await;
        }
        use tokio::io::AsyncReadExt as _;
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        "stdin closed"
    };
    let why = tokio::select! {
        w = interrupt => w,
        w = terminate => w,
        w = stdin_closed => w,
    };
    eprintln!("{why}: shutting down");
}

fn serve(config: ServeConfig) -> Result<(), RetailerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| RetailerError::Bind {
            addr: config.listen.to_string(),
            reason: format!("cannot start the runtime: {e}"),
        })?;
    let served = runtime.block_on(async {
        let server = Server::bind(&config, stderr_log()).await?;
        let shop = server.shop().clone();
        let well_known = format!("{}{}", shop.origin, locket_wire::metadata::WELL_KNOWN_PATH);
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on https://{} for {}", server.local_addr(), shop.origin);
            let _ = writeln!(out, "  shop:      {} ({}), contact {}", shop.name, shop.retailer_id(), shop.contact);
            let _ = writeln!(out, "  metadata:  {well_known}");
            let _ = writeln!(out, "  privacy:   {}", shop.privacy_policy);
            let _ = writeln!(
                out,
                "  publish a request: locket-retailer request publish --data {} --require contact.email=order_fulfilment",
                config.data.display()
            );
            let _ = out.flush();
        }
        server.run(shutdown_signal()).await
    });
    // The stdin watcher is a blocking read that only returns when stdin does: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    served
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
                RetailerError::Invalid(_)
                | RetailerError::Request(_)
                | RetailerError::FileExists { .. }
                | RetailerError::KeysMissing { .. }
                | RetailerError::ShopMissing { .. }
                | RetailerError::TlsFiles(_) => 2,
                RetailerError::Refused { .. } => 3,
                RetailerError::Unreachable { .. } => 4,
                RetailerError::GrantFile(_)
                | RetailerError::TokenInvalid(_)
                | RetailerError::Receipt(_)
                | RetailerError::KeysInvalid { .. }
                | RetailerError::Holdings { .. }
                | RetailerError::HoldingsTooNew { .. }
                | RetailerError::Io { .. } => 5,
                _ => 1,
            })
        }
    }
}
