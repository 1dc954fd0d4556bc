//! Profile commands: `profile set|get|list|rm|history` and `fields` (the catalog and custom fields).

use clap::{Args, Subcommand};
use locket_vault::catalog::{self, display_value, FieldDef, FieldType, Sensitivity};
use locket_vault::profile::{self, NewCustomField};
use locket_vault::VaultError;
use serde_json::json;

use super::output::{cell, safe, table};
use super::{CliError, CliResult, Ctx};

/// `locket profile ...`.
#[derive(Debug, Subcommand)]
pub enum ProfileCmd {
    /// Set a field, e.g. `locket profile set contact.phone "+44 20 7123 4567"` (`-` reads the value from stdin).
    Set {
        /// Field key (see `locket fields`).
        key: String,
        /// The value: text, `yes`/`no`, `a,b` for lists, `50-200 GBP` for ranges, or JSON.
        value: String,
    },
    /// Print a field's current value.
    Get {
        /// Field key.
        key: String,
    },
    /// List every field that has a value.
    List {
        /// Only fields of this group (e.g. `contact`) or this key.
        selector: Option<String>,
    },
    /// Remove a field's value (its history is kept).
    Rm {
        /// Field key.
        key: String,
    },
    /// Show every version of a field.
    History {
        /// Field key.
        key: String,
    },
}

/// `locket fields ...`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FieldsArgs {
    #[command(subcommand)]
    pub action: Option<FieldsCmd>,
    /// A group (`contact`) or a field key (`contact.phone`) to show in detail.
    pub selector: Option<String>,
    /// Include your custom fields (opens the vault).
    #[arg(long)]
    pub custom: bool,
}

/// `locket fields add|rm`.
#[derive(Debug, Subcommand)]
pub enum FieldsCmd {
    /// Add a custom field, e.g. `locket fields add custom.shoe_width --type enum --options narrow,regular,wide`.
    Add {
        /// `custom.<name>` (lowercase letters, digits, _).
        key: String,
        /// Value type: text, email, phone, date, country, enum, multi_enum, number, range, bool.
        #[arg(long = "type", value_parser = parse_type)]
        field_type: FieldType,
        /// Label shown to you and to shops (default: the name).
        #[arg(long)]
        label: Option<String>,
        /// Allowed values for enum / multi_enum, comma-separated.
        #[arg(long, value_delimiter = ',')]
        options: Vec<String>,
        /// low, personal or sensitive.
        #[arg(long, default_value = "personal", value_parser = parse_sensitivity)]
        sensitivity: Sensitivity,
    },
    /// Remove a custom field (its value history is kept).
    Rm {
        /// `custom.<name>`.
        key: String,
    },
}

fn parse_type(s: &str) -> Result<FieldType, String> {
    FieldType::from_name(s).ok_or_else(|| {
        let all: Vec<_> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
        format!("expected one of: {}", all.join(", "))
    })
}

fn parse_sensitivity(s: &str) -> Result<Sensitivity, String> {
    Sensitivity::from_name(s).ok_or_else(|| "expected low, personal or sensitive".to_owned())
}

fn time(t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Runs a `profile` subcommand.
pub fn run(ctx: &mut Ctx, cmd: ProfileCmd) -> CliResult {
    let session = ctx.open_session()?;
    let vault = session.vault().clone();
    let store = vault.connect()?;
    let conn = store.conn();
    match cmd {
        ProfileCmd::Set { key, value } => {
            let from_stdin = value == "-";
            let value = if from_stdin {
                ctx.secrets.stdin_rest()?.to_string()
            } else {
                value
            };
            // Through the application layer: the change and the updates it queues for shops commit together.
            let (outcome, _) = session.set_value_outcome(key.clone(), value)?;
            // A value on the command line is visible to other programs (the process list) and kept in the
            // shell's history: say so for anything that identifies or describes the owner.
            if !from_stdin {
                if let Ok(def) = profile::field_def(conn, &key) {
                    if def.sensitivity != Sensitivity::Low {
                        ctx.out.warn(&format!(
                            "the value of {} was given on the command line, where other programs can read it in the \
                             process list and your shell keeps it in its history; next time pass - and type it on \
                             standard input: locket profile set {key} -",
                            safe(&def.label)
                        ));
                    }
                }
            }
            let current = profile::get(conn, &key)?;
            let shown = current
                .as_ref()
                .map(|c| safe(&display_value(&c.value)).into_owned())
                .unwrap_or_default();
            ctx.out.result(
                &json!({ "key": key, "version": outcome.version, "changed": outcome.changed,
                         "value": current.map(|c| c.value) }),
                || {
                    if outcome.changed {
                        format!("{key} = {shown} (version {})", outcome.version)
                    } else {
                        format!(
                            "{key} already is {shown} (version {}); nothing changed",
                            outcome.version
                        )
                    }
                },
            );
        }
        ProfileCmd::Get { key } => match profile::get(conn, &key)? {
            Some(cv) => ctx.out.result(&cv, || display_value(&cv.value)),
            None => return Err(VaultError::NotSet(key).into()),
        },
        ProfileCmd::List { selector } => {
            let mut values = profile::list_current(conn)?;
            if let Some(sel) = &selector {
                let keys: Vec<String> = profile::resolve(conn, sel)?.into_iter().map(|d| d.key).collect();
                values.retain(|v| keys.contains(&v.key));
            }
            ctx.out.result(&values, || {
                if values.is_empty() {
                    return "No values yet. Set one with `locket profile set KEY VALUE` (see `locket fields`).".into();
                }
                let rows: Vec<Vec<String>> = values
                    .iter()
                    .map(|v| {
                        vec![
                            v.key.clone(),
                            cell(&display_value(&v.value), 60),
                            if v.is_default {
                                "default".into()
                            } else {
                                format!("v{}", v.version)
                            },
                            time(&v.set_at),
                        ]
                    })
                    .collect();
                table(&["FIELD", "VALUE", "VERSION", "SET AT"], &rows)
            });
        }
        ProfileCmd::Rm { key } => {
            let removed = session.remove_value(key.clone())?;
            ctx.out.result(
                &json!({ "key": key, "removed": removed.is_some(), "version": removed }),
                || match removed {
                    Some(v) => format!("Removed {key} (version {v}; earlier versions stay in its history)."),
                    None => format!("{key} had no value; nothing changed."),
                },
            );
        }
        ProfileCmd::History { key } => {
            let history = profile::history(conn, &key)?;
            ctx.out.result(&json!({ "key": key, "history": history }), || {
                if history.is_empty() {
                    return format!("{key} has never been set.");
                }
                let rows: Vec<Vec<String>> = history
                    .iter()
                    .map(|h| {
                        vec![
                            format!("v{}", h.version),
                            time(&Some(h.set_at)),
                            h.value
                                .as_ref()
                                .map(|v| cell(&display_value(v), 60))
                                .unwrap_or_else(|| "(removed)".into()),
                        ]
                    })
                    .collect();
                table(&["VERSION", "SET AT", "VALUE"], &rows)
            });
        }
    }
    Ok(())
}

fn describe(def: &FieldDef) -> String {
    let mut s = format!(
        "{}  ({})\n  {}\n  type: {}   sensitivity: {}   group: {}\n",
        safe(&def.key),
        safe(&def.label),
        safe(&def.help),
        def.field_type,
        def.sensitivity,
        def.group
    );
    if !def.options.is_empty() {
        s.push_str("  options:\n");
        for o in &def.options {
            s.push_str(&format!("    {:<16} {}\n", safe(&o.value), safe(&o.label)));
        }
    }
    let r = &def.rules;
    let mut rules = Vec::new();
    if let Some(n) = r.max_len {
        rules.push(format!("at most {n} characters"));
    }
    if let Some(n) = r.min {
        rules.push(format!("min {n}"));
    }
    if let Some(n) = r.max {
        rules.push(format!("max {n}"));
    }
    if let Some(n) = r.step {
        rules.push(format!("step {n}"));
    }
    if r.not_in_future {
        rules.push("not in the future".into());
    }
    if !rules.is_empty() {
        s.push_str(&format!("  rules: {}\n", rules.join(", ")));
    }
    if let Some(d) = &def.default {
        s.push_str(&format!("  default: {}\n", safe(&display_value(d))));
    }
    s.push_str(&format!(
        "  example: locket profile set {} '{}'",
        def.key,
        def.example_input()
    ));
    s
}

/// Runs `fields`: lists the catalog (no vault needed), shows one field or group, or adds/removes custom fields.
pub fn fields(ctx: &mut Ctx, args: FieldsArgs) -> CliResult {
    match args.action {
        Some(FieldsCmd::Add {
            key,
            field_type,
            label,
            options,
            sensitivity,
        }) => {
            let vault = ctx.open_vault()?;
            let store = vault.connect()?;
            let label = label.unwrap_or_else(|| key.trim_start_matches("custom.").replace('_', " "));
            let def = profile::add_custom_field(
                store.conn(),
                &NewCustomField {
                    key,
                    label,
                    field_type,
                    options,
                    sensitivity,
                },
            )?;
            ctx.out
                .result(&def, || format!("Added custom field {} ({}).", def.key, def.field_type));
            Ok(())
        }
        Some(FieldsCmd::Rm { key }) => {
            let vault = ctx.open_vault()?;
            let store = vault.connect()?;
            if !profile::remove_custom_field(store.conn(), &key)? {
                return Err(CliError::from_code("unknown_field", format!("no custom field {key:?}")));
            }
            ctx.out.result(&json!({ "key": key, "removed": true }), || {
                format!("Removed custom field {key}; its value history is kept.")
            });
            Ok(())
        }
        None => list_fields(ctx, args.selector, args.custom),
    }
}

fn list_fields(ctx: &mut Ctx, selector: Option<String>, custom: bool) -> CliResult {
    let wants_custom = custom
        || selector
            .as_deref()
            .is_some_and(|s| s == "custom" || s.starts_with("custom."));
    let mut defs: Vec<FieldDef> = catalog::catalog().to_vec();
    if wants_custom {
        let vault = ctx.open_vault()?;
        let store = vault.connect()?;
        defs.extend(profile::custom_fields(store.conn())?);
    }
    let single = selector.as_deref().filter(|s| s.contains('.'));
    if let Some(sel) = &selector {
        if single.is_some() {
            defs.retain(|d| d.key == *sel);
        } else {
            if catalog::group(sel).is_none() {
                return Err(VaultError::UnknownField(sel.clone()).into());
            }
            defs.retain(|d| d.group == *sel);
        }
        if defs.is_empty() && single.is_some() {
            return Err(VaultError::UnknownField(sel.clone()).into());
        }
    }
    if ctx.out.is_json() {
        let groups: Vec<_> = catalog::groups()
            .iter()
            .filter(|g| defs.iter().any(|d| d.group == g.key))
            .collect();
        ctx.out.json(&json!({ "groups": groups, "fields": defs }));
        return Ok(());
    }
    if single.is_some() {
        ctx.out.line(describe(&defs[0]));
        return Ok(());
    }
    let mut text = String::new();
    for g in catalog::groups() {
        let rows: Vec<Vec<String>> = defs
            .iter()
            .filter(|d| d.group == g.key)
            .map(|d| {
                vec![
                    d.key.clone(),
                    d.field_type.to_string(),
                    d.sensitivity.to_string(),
                    d.label.clone(),
                ]
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        text.push_str(&format!("{} ({}): {}\n", g.label, g.key, g.description));
        text.push_str(&table(&["  FIELD", "TYPE", "SENSITIVITY", "LABEL"], &indent(rows)));
        text.push_str("\n\n");
    }
    if !wants_custom {
        text.push_str("Your custom fields: `locket fields --custom`. Details of one field: `locket fields KEY`.");
    }
    ctx.out.line(text.trim_end());
    Ok(())
}

fn indent(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    for r in &mut rows {
        r[0] = format!("  {}", r[0]);
    }
    rows
}
