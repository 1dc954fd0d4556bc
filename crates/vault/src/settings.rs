//! Typed vault settings, stored one JSON value per key in the `settings` table.
//!
//! [`Settings`] holds the settings this crate knows (auto-lock, the retailer endpoint, the keychain mirror). Each
//! is stored under a dotted key (`endpoint.port`); keys this build does not know — written by a newer Locket or by
//! a sibling crate through [`set_raw`] (e.g. `backup.keep_last`) — are left untouched by [`Settings::save`] and
//! carried along by export/import.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::VaultError;

/// Default port of the retailer endpoint.
pub const DEFAULT_ENDPOINT_PORT: u16 = 7419;
/// Default idle time before the desktop app locks the vault, in minutes.
pub const DEFAULT_AUTO_LOCK_MINUTES: u32 = 15;
/// Largest allowed auto-lock time (one day).
pub const MAX_AUTO_LOCK_MINUTES: u32 = 24 * 60;

/// The retailer endpoint's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSettings {
    /// Whether the app serves the endpoint while the vault is unlocked.
    pub enabled: bool,
    /// Listen address; must be a loopback address (`127.0.0.1` or `::1`).
    pub listen_address: IpAddr,
    /// TCP port (1–65535).
    pub port: u16,
    /// Web origins (`https://shop.example`) whose pages may call the endpoint from a browser (CORS).
    pub cors_origins: Vec<String>,
}

impl Default for EndpointSettings {
    fn default() -> Self {
        EndpointSettings {
            enabled: true,
            listen_address: IpAddr::from([127, 0, 0, 1]),
            port: DEFAULT_ENDPOINT_PORT,
            cors_origins: Vec::new(),
        }
    }
}

impl EndpointSettings {
    /// `address:port` to bind, e.g. `127.0.0.1:7419` or `[::1]:7419`.
    pub fn socket_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.listen_address, self.port)
    }
}

/// Every setting this build knows, with defaults for the ones never set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Minutes of inactivity after which the desktop app locks the vault; 0 = never.
    pub auto_lock_minutes: u32,
    /// The retailer endpoint.
    pub endpoint: EndpointSettings,
    /// Mirror of whether "unlock on this device" (the OS keychain slot) is on. The key-slot file is the truth;
    /// this copy lets the UI show the setting from inside the vault.
    pub keychain_enabled: bool,
    /// Days Locket keeps trying to deliver a release to a shop's server before it marks it failed.
    pub delivery_horizon_days: u32,
}

/// Default of [`Settings::delivery_horizon_days`].
pub const DEFAULT_DELIVERY_HORIZON_DAYS: u32 = 3;
/// Longest delivery horizon.
pub const MAX_DELIVERY_HORIZON_DAYS: u32 = 30;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_lock_minutes: DEFAULT_AUTO_LOCK_MINUTES,
            endpoint: EndpointSettings::default(),
            keychain_enabled: false,
            delivery_horizon_days: DEFAULT_DELIVERY_HORIZON_DAYS,
        }
    }
}

/// Description of one known setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SettingInfo {
    /// Stored key.
    pub key: &'static str,
    /// What it does, for the owner.
    pub help: &'static str,
}

/// The known settings' keys, with help text.
pub const KNOWN: &[SettingInfo] = &[
    SettingInfo {
        key: "auto_lock_minutes",
        help: "Minutes of inactivity before the app locks the vault (0 = never, at most 1440).",
    },
    SettingInfo {
        key: "endpoint.enabled",
        help: "Whether shops can fetch granted data from the local endpoint while the vault is unlocked.",
    },
    SettingInfo {
        key: "endpoint.listen_address",
        help: "Loopback address the endpoint listens on (127.0.0.1 or ::1).",
    },
    SettingInfo {
        key: "endpoint.port",
        help: "TCP port of the endpoint (1-65535).",
    },
    SettingInfo {
        key: "endpoint.cors_origins",
        help: "Web origins allowed to call the endpoint from a browser, e.g. https://shop.example.",
    },
    SettingInfo {
        key: "delivery.horizon_days",
        help: "Days Locket keeps retrying a delivery to a shop's server before it gives up (1-30, default 3).",
    },
    SettingInfo {
        key: "keychain_enabled",
        help: "Mirror of \"unlock on this device\"; change it with `locket keychain on|off`.",
    },
];

fn invalid(key: &str, rule: impl Into<String>) -> VaultError {
    VaultError::Invalid {
        key: key.to_owned(),
        rule: rule.into(),
    }
}

/// Checks a CORS origin: `https`, a host, an optional port, nothing else (no path, no `*`). Plain `http` is
/// allowed only for a development server on this machine (`localhost`, `127.0.0.1`, `[::1]`): a page served
/// over plain http from anywhere else can be altered by anyone on the network path, so it must never be
/// trusted to read the owner's data.
pub fn check_origin(origin: &str) -> Result<(), VaultError> {
    let rule = "expected a web origin like https://shop.example or http://localhost:3000 (no path, no *; plain \
                http only for localhost, 127.0.0.1 or [::1])";
    let (plain_http, rest) = match origin.strip_prefix("https://") {
        Some(rest) => (false, rest),
        None => (
            true,
            origin
                .strip_prefix("http://")
                .ok_or_else(|| invalid("endpoint.cors_origins", rule))?,
        ),
    };
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return Err(invalid("endpoint.cors_origins", rule)),
            },
            None => return Err(invalid("endpoint.cors_origins", rule)),
        }
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    let port_ok = match port {
        None => true,
        Some(p) => p.parse::<u16>().is_ok_and(|p| p > 0),
    };
    let scheme_ok = !plain_http || matches!(host.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "::1");
    if host_ok && port_ok && scheme_ok {
        Ok(())
    } else {
        Err(invalid("endpoint.cors_origins", rule))
    }
}

impl Settings {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), VaultError> {
        if self.auto_lock_minutes > MAX_AUTO_LOCK_MINUTES {
            return Err(invalid(
                "auto_lock_minutes",
                format!("must be between 0 (never) and {MAX_AUTO_LOCK_MINUTES}"),
            ));
        }
        if !self.endpoint.listen_address.is_loopback() {
            return Err(invalid(
                "endpoint.listen_address",
                "must be a loopback address (127.0.0.1 or ::1) so only this computer can connect",
            ));
        }
        if !(1..=MAX_DELIVERY_HORIZON_DAYS).contains(&self.delivery_horizon_days) {
            return Err(invalid(
                "delivery.horizon_days",
                format!("must be between 1 and {MAX_DELIVERY_HORIZON_DAYS} days"),
            ));
        }
        if self.endpoint.port == 0 {
            return Err(invalid("endpoint.port", "must be between 1 and 65535"));
        }
        for o in &self.endpoint.cors_origins {
            check_origin(o)?;
        }
        Ok(())
    }

    /// The settings as stored key/value pairs.
    pub fn to_pairs(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("auto_lock_minutes", Value::from(self.auto_lock_minutes)),
            ("endpoint.enabled", Value::from(self.endpoint.enabled)),
            (
                "endpoint.listen_address",
                Value::from(self.endpoint.listen_address.to_string()),
            ),
            ("endpoint.port", Value::from(self.endpoint.port)),
            ("endpoint.cors_origins", Value::from(self.endpoint.cors_origins.clone())),
            ("keychain_enabled", Value::from(self.keychain_enabled)),
            ("delivery.horizon_days", Value::from(self.delivery_horizon_days)),
        ]
    }

    /// Applies one stored/typed value to the matching field. Unknown keys return `Ok(false)`.
    pub fn apply(&mut self, key: &str, value: &Value) -> Result<bool, VaultError> {
        let bad = |rule: &str| invalid(key, rule);
        match key {
            "auto_lock_minutes" => {
                self.auto_lock_minutes = value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("expected a whole number of minutes"))?;
            }
            "endpoint.enabled" => {
                self.endpoint.enabled = value.as_bool().ok_or_else(|| bad("expected true or false"))?
            }
            "endpoint.listen_address" => {
                self.endpoint.listen_address = value
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("expected an IP address such as 127.0.0.1"))?;
            }
            "endpoint.port" => {
                self.endpoint.port = value
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| bad("expected a port number between 1 and 65535"))?;
            }
            "endpoint.cors_origins" => {
                let list = value.as_array().ok_or_else(|| bad("expected a list of origins"))?;
                self.endpoint.cors_origins = list
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| bad("expected a list of origins"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "keychain_enabled" => {
                self.keychain_enabled = value.as_bool().ok_or_else(|| bad("expected true or false"))?
            }
            "delivery.horizon_days" => {
                self.delivery_horizon_days = value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("expected a whole number of days"))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Loads the settings; unset ones keep their defaults. A stored value that cannot be read is reported as
    /// damage rather than silently replaced.
    pub fn load(conn: &Connection) -> Result<Settings, VaultError> {
        let mut s = Settings::default();
        for (key, value) in all_raw(conn)? {
            s.apply(&key, &value).map_err(|e| VaultError::Damaged {
                path: crate::DB_FILE.into(),
                detail: format!("stored setting is not valid: {e}"),
            })?;
        }
        Ok(s)
    }

    /// Validates and stores every known setting (other keys in the table are kept).
    pub fn save(&self, conn: &Connection) -> Result<(), VaultError> {
        self.validate()?;
        let sp = crate::profile::Savepoint::new(conn)?;
        for (key, value) in self.to_pairs() {
            put(&sp, key, &value)?;
        }
        sp.commit()?;
        Ok(())
    }
}

fn put(conn: &Connection, key: &str, value: &Value) -> Result<(), VaultError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value.to_string()],
    )?;
    Ok(())
}

/// Parses what the owner typed for a known setting: JSON, or for convenience a bare word/number, or a
/// comma-separated list for `endpoint.cors_origins`.
pub fn parse_input(key: &str, input: &str) -> Result<Value, VaultError> {
    let t = input.trim();
    if let Ok(v) = serde_json::from_str::<Value>(t) {
        return Ok(v);
    }
    Ok(match key {
        "endpoint.cors_origins" => Value::from(
            t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        ),
        "endpoint.enabled" | "keychain_enabled" => match t.to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" | "1" => Value::Bool(true),
            "no" | "off" | "false" | "0" => Value::Bool(false),
            _ => return Err(invalid(key, "expected on or off")),
        },
        _ => Value::from(t),
    })
}

/// Sets one setting. Known keys are validated (the value must fit the typed setting); other keys must be
/// namespaced (`backup.keep_last`) and are stored as given, for sibling crates' own settings.
pub fn set_raw(conn: &Connection, key: &str, value: &Value) -> Result<(), VaultError> {
    if KNOWN.iter().any(|k| k.key == key) {
        let mut s = Settings::load(conn)?;
        s.apply(key, value)?;
        s.validate()?;
        return put(conn, key, value);
    }
    let ok = key.contains('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !ok {
        return Err(invalid(
            key,
            "unknown setting; settings of other parts must be namespaced like backup.keep_last",
        ));
    }
    put(conn, key, value)
}

/// One stored setting, or `None` if it was never set.
pub fn get_raw(conn: &Connection, key: &str) -> Result<Option<Value>, VaultError> {
    let raw: Option<String> = conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    raw.map(|s| {
        serde_json::from_str(&s).map_err(|e| VaultError::Damaged {
            path: crate::DB_FILE.into(),
            detail: format!("stored setting `{key}` is not JSON: {e}"),
        })
    })
    .transpose()
}

/// Every stored setting (known or not), by key.
pub fn all_raw(conn: &Connection) -> Result<BTreeMap<String, Value>, VaultError> {
    let mut stmt = conn.prepare("SELECT key, value FROM settings ORDER BY key")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (k, v) = row?;
        let value = serde_json::from_str(&v).map_err(|e| VaultError::Damaged {
            path: crate::DB_FILE.into(),
            detail: format!("stored setting `{k}` is not JSON: {e}"),
        })?;
        out.insert(k, value);
    }
    Ok(out)
}

/// Removes every stored setting and writes `values` instead (used by import).
pub(crate) fn replace_all(conn: &Connection, values: &BTreeMap<String, Value>) -> Result<(), VaultError> {
    let mut s = Settings::default();
    for (k, v) in values {
        s.apply(k, v)?;
    }
    s.validate()?;
    conn.execute("DELETE FROM settings", [])?;
    for (k, v) in values {
        put(conn, k, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::tests::mem_db;
    use serde_json::json;

    #[test]
    fn defaults_load_save_round_trip() {
        let c = mem_db();
        let s = Settings::load(&c).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.endpoint.socket_addr().to_string(), "127.0.0.1:7419");
        let mut s2 = s.clone();
        s2.auto_lock_minutes = 5;
        s2.endpoint.port = 8080;
        s2.endpoint.listen_address = "::1".parse().unwrap();
        s2.endpoint.cors_origins = vec!["https://shop.example".into(), "http://localhost:3000".into()];
        s2.save(&c).unwrap();
        assert_eq!(Settings::load(&c).unwrap(), s2);
        assert_eq!(get_raw(&c, "endpoint.port").unwrap(), Some(json!(8080)));
    }

    #[test]
    fn validation() {
        let c = mem_db();
        let e = set_raw(&c, "endpoint.listen_address", &json!("0.0.0.0")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("endpoint.listen_address: must be a loopback address"));
        assert!(set_raw(&c, "endpoint.port", &json!(0)).is_err());
        assert!(set_raw(&c, "endpoint.port", &json!(70000)).is_err());
        assert!(set_raw(&c, "auto_lock_minutes", &json!(5000)).is_err());
        assert!(set_raw(&c, "auto_lock_minutes", &json!(-1)).is_err());
        for bad in [
            "*",
            "shop.example",
            "https://shop.example/path",
            "ftp://x",
            "https://",
            "http://shop.example",
            "http://192.168.1.5:8080",
            "http://localhost.attacker.example",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
        for good in [
            "https://shop.example",
            "http://localhost:3000",
            "http://[::1]:8080",
            "http://[::1]",
            "http://127.0.0.1:5173",
            "https://shop.example:8443",
        ] {
            check_origin(good).unwrap();
        }
        assert!(set_raw(&c, "Nonsense", &json!(1)).is_err());
        assert!(all_raw(&c).unwrap().is_empty(), "nothing written by failed sets");
    }

    #[test]
    fn cli_input_and_foreign_keys() {
        let c = mem_db();
        let v = parse_input("endpoint.cors_origins", "https://a.example, https://b.example").unwrap();
        set_raw(&c, "endpoint.cors_origins", &v).unwrap();
        set_raw(&c, "endpoint.enabled", &parse_input("endpoint.enabled", "off").unwrap()).unwrap();
        set_raw(
            &c,
            "auto_lock_minutes",
            &parse_input("auto_lock_minutes", "30").unwrap(),
        )
        .unwrap();
        set_raw(&c, "backup.keep_last", &json!(10)).unwrap();
        let s = Settings::load(&c).unwrap();
        assert_eq!(s.endpoint.cors_origins.len(), 2);
        assert!(!s.endpoint.enabled);
        assert_eq!(s.auto_lock_minutes, 30);
        // A save keeps keys it does not know.
        s.save(&c).unwrap();
        assert_eq!(get_raw(&c, "backup.keep_last").unwrap(), Some(json!(10)));
    }

    #[test]
    fn tampered_value_is_damage() {
        let c = mem_db();
        c.execute("INSERT INTO settings VALUES ('endpoint.port', '\"x\"')", [])
            .unwrap();
        assert_eq!(Settings::load(&c).unwrap_err().code(), "vault_damaged");
    }
}
