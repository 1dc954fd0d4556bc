//! `locket settings [list | get KEY | set KEY VALUE]`.

use clap::Subcommand;
use locket_vault::settings::{self, Settings, KNOWN};
use serde_json::json;

use super::output::table;
use super::{CliError, CliResult, Ctx};

/// `locket settings ...`.
#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    /// Show every setting with its value.
    List,
    /// Print one setting (as JSON).
    Get {
        /// Setting key, e.g. `endpoint.port`.
        key: String,
    },
    /// Change one setting, e.g. `locket settings set endpoint.port 7420`.
    Set {
        /// Setting key.
        key: String,
        /// New value (JSON, a number, on/off, or a comma-separated list for endpoint.cors_origins).
        value: String,
    },
}

/// Runs a `settings` subcommand (default: `list`).
pub fn run(ctx: &mut Ctx, cmd: Option<SettingsCmd>) -> CliResult {
    let vault = ctx.open_vault()?;
    let store = vault.connect()?;
    let conn = store.conn();
    match cmd.unwrap_or(SettingsCmd::List) {
        SettingsCmd::List => {
            let typed = Settings::load(conn)?;
            let raw = settings::all_raw(conn)?;
            let mut values: serde_json::Map<String, serde_json::Value> =
                typed.to_pairs().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            for (k, v) in raw {
                values.entry(k).or_insert(v);
            }
            ctx.out.result(&values, || {
                let rows: Vec<Vec<String>> = values
                    .iter()
                    .map(|(k, v)| {
                        let help = KNOWN.iter().find(|i| i.key == k).map(|i| i.help).unwrap_or("");
                        vec![k.clone(), human(v), help.to_owned()]
                    })
                    .collect();
                table(&["SETTING", "VALUE", "MEANING"], &rows)
            });
        }
        SettingsCmd::Get { key } => {
            let typed = Settings::load(conn)?;
            let value = match typed.to_pairs().into_iter().find(|(k, _)| *k == key) {
                Some((_, v)) => v,
                None => settings::get_raw(conn, &key)?
                    .ok_or_else(|| CliError::from_code("not_found", format!("no setting {key:?}")))?,
            };
            ctx.out
                .result(&json!({ "key": key, "value": value }), || value.to_string());
        }
        SettingsCmd::Set { key, value } => {
            if key == "keychain_enabled" {
                return Err(CliError::usage(
                    "use `locket keychain on|off` to change unlock on this device",
                ));
            }
            let v = settings::parse_input(&key, &value)?;
            settings::set_raw(conn, &key, &v)?;
            ctx.out
                .result(&json!({ "key": key, "value": v }), || format!("{key} = {v}"));
        }
    }
    Ok(())
}

/// A setting's value for people: strings without quotes, lists comma-separated (`(none)` when empty).
fn human(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) if a.is_empty() => "(none)".into(),
        serde_json::Value::Array(a) => a.iter().map(human).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}
