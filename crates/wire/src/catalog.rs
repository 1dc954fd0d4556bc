//! The built-in field catalog: every profile field Locket knows about, its type, sensitivity and validation.
//!
//! A field is addressed by a dotted key such as `contact.email`; the part before the dot is its **group**
//! (`contact`), and a retailer may ask for a whole group at once. Owners can add their own fields under the
//! `custom` group (see `locket_vault::profile::add_custom_field`); those are described by the same [`FieldDef`] type.
//!
//! Values are [`serde_json::Value`]s whose shape is fixed per [`FieldType`]:
//!
//! | type         | JSON shape                                              | example                                  |
//! |--------------|---------------------------------------------------------|------------------------------------------|
//! | `text`       | string                                                  | `"Alex"`                                 |
//! | `email`      | string                                                  | `"alex@example.com"`                     |
//! | `phone`      | string, E.164                                           | `"+442071234567"`                        |
//! | `date`       | string, `YYYY-MM-DD`                                    | `"1990-04-21"`                           |
//! | `country`    | string, ISO 3166-1 alpha-2                              | `"GB"`                                   |
//! | `enum`       | string, one of the field's options                      | `"uk"`                                   |
//! | `multi_enum` | array of distinct strings, each one of the options      | `["vegan", "gluten_free"]`               |
//! | `number`     | number                                                  | `42.5`                                   |
//! | `range`      | object `{"min": number, "max": number, "currency"?: s}` | `{"min": 50, "max": 200, "currency": "GBP"}` |
//! | `bool`       | boolean                                                 | `true`                                   |
//!
//! [`FieldDef::validate`] checks (and lightly normalises) a JSON value; [`FieldDef::parse_input`] turns what an
//! owner types on the command line (`50-200 GBP`, `vegan,gluten_free`, `yes`) into that JSON value.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Number, Value};

/// A validation failure: names the field and the rule it broke, e.g.
/// `contact.phone: expected E.164, e.g. +442071234567`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {rule}")]
#[non_exhaustive]
pub struct ValidationError {
    /// The field key (`contact.phone`), or the custom-field key being defined.
    pub key: String,
    /// The rule that was broken, phrased for the owner.
    pub rule: String,
}

impl ValidationError {
    /// Builds a validation error for `key`.
    pub fn new(key: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            rule: rule.into(),
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "validation_failed"
    }
}

/// The type of a field; fixes the JSON shape of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text (single line unless the field allows several).
    Text,
    /// An email address.
    Email,
    /// A phone number in E.164 form (`+` country code and number, digits only).
    Phone,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A country as an ISO 3166-1 alpha-2 code (`GB`, `DE`).
    Country,
    /// One value out of a fixed list of options.
    Enum,
    /// Any number of distinct values out of a fixed list of options.
    MultiEnum,
    /// A number.
    Number,
    /// A numeric range with an optional ISO 4217 currency.
    Range,
    /// Yes or no.
    Bool,
}

impl FieldType {
    /// All types, in documentation order.
    pub const ALL: [FieldType; 10] = [
        FieldType::Text,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Date,
        FieldType::Country,
        FieldType::Enum,
        FieldType::MultiEnum,
        FieldType::Number,
        FieldType::Range,
        FieldType::Bool,
    ];

    /// The stable name used in the database, exports and the CLI (`multi_enum`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Date => "date",
            FieldType::Country => "country",
            FieldType::Enum => "enum",
            FieldType::MultiEnum => "multi_enum",
            FieldType::Number => "number",
            FieldType::Range => "range",
            FieldType::Bool => "bool",
        }
    }

    /// Parses a stable name (also accepts `multi-enum`).
    pub fn from_name(name: &str) -> Option<FieldType> {
        let name = name.trim().to_ascii_lowercase().replace('-', "_");
        FieldType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether values of this type pick from a list of options.
    pub fn has_options(self) -> bool {
        matches!(self, FieldType::Enum | FieldType::MultiEnum)
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sensitive a field is. Ordered: `Low < Personal < Sensitive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Preferences that say little about who you are (favourite colours, interests).
    Low,
    /// Identifies or locates you (name, email, address, date of birth).
    Personal,
    /// Special-category data such as health or religion (allergies, dietary needs).
    Sensitive,
}

impl Sensitivity {
    /// All levels, lowest first.
    pub const ALL: [Sensitivity; 3] = [Sensitivity::Low, Sensitivity::Personal, Sensitivity::Sensitive];

    /// The stable name (`low`, `personal`, `sensitive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Low => "low",
            Sensitivity::Personal => "personal",
            Sensitivity::Sensitive => "sensitive",
        }
    }

    /// Parses a stable name.
    pub fn from_name(name: &str) -> Option<Sensitivity> {
        let name = name.trim().to_ascii_lowercase();
        Sensitivity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One allowed value of an `enum` / `multi_enum` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumOption {
    /// The stored value (`gluten_free`).
    pub value: String,
    /// What the owner sees (`Gluten-free`).
    pub label: String,
}

/// Extra validation rules on top of the type's shape. Unset rules do not apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// Maximum length of a text value, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
    /// Whether a text value may span several lines.
    #[serde(default, skip_serializing_if = "is_false")]
    pub multiline: bool,
    /// Smallest allowed number (also applies to both ends of a range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest allowed number (also applies to both ends of a range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Numbers must be a multiple of this step (1 = whole numbers, 0.5 = halves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Dates must not lie in the future.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_in_future: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Default maximum length of a text field without its own limit.
pub const DEFAULT_TEXT_MAX_LEN: usize = 500;
/// Earliest accepted date.
const EARLIEST_DATE: &str = "1900-01-01";

/// The definition of one field (built-in or custom).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Dotted key, e.g. `contact.email` or `custom.shoe_width`.
    pub key: String,
    /// The group the field belongs to (the part of the key before the first dot).
    pub group: String,
    /// Short label for the owner ("Email address").
    pub label: String,
    /// One or two sentences explaining the field to a non-technical owner.
    pub help: String,
    /// The value type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Allowed values for `enum` / `multi_enum` fields; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<EnumOption>,
    /// How sensitive the field is.
    pub sensitivity: Sensitivity,
    /// Extra validation rules.
    #[serde(default)]
    pub rules: Rules,
    /// The value that applies while the owner has not set one (e.g. `false` for every marketing opt-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// `true` for catalog fields, `false` for the owner's custom fields.
    pub builtin: bool,
}

/// A group of fields that can be requested as a whole (`contact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldGroup {
    /// Group key, the prefix of its fields' keys.
    pub key: &'static str,
    /// Label for the owner.
    pub label: &'static str,
    /// What the group holds.
    pub description: &'static str,
}

/// The group holding the owner's custom fields.
pub const CUSTOM_GROUP: &str = "custom";

const GROUPS: &[FieldGroup] = &[
    FieldGroup {
        key: "identity",
        label: "Identity",
        description: "Your name and date of birth.",
    },
    FieldGroup {
        key: "contact",
        label: "Contact",
        description: "How to reach you: email, phone and postal address.",
    },
    FieldGroup {
        key: "sizes",
        label: "Sizes",
        description: "Clothing, shoe and ring sizes, each with the size system it uses.",
    },
    FieldGroup {
        key: "style",
        label: "Style and brands",
        description: "The styles, colours, fits and brands you like or avoid.",
    },
    FieldGroup {
        key: "interests",
        label: "Interests",
        description: "Topics you are interested in.",
    },
    FieldGroup {
        key: "diet",
        label: "Diet and allergies",
        description: "Dietary needs and food allergies. Health-related, so treated as sensitive.",
    },
    FieldGroup {
        key: "budget",
        label: "Budget",
        description: "The price range you usually shop in.",
    },
    FieldGroup {
        key: "household",
        label: "Household",
        description: "Who and what lives with you.",
    },
    FieldGroup {
        key: "channels",
        label: "Communication",
        description: "How you like to be contacted, and which marketing channels you opt in to (all off by default).",
    },
    FieldGroup {
        key: "notes",
        label: "Notes",
        description: "Anything else you want to tell shops.",
    },
    FieldGroup {
        key: CUSTOM_GROUP,
        label: "Custom fields",
        description: "Fields you added yourself.",
    },
];

/// All field groups, in display order (the `custom` group last).
pub fn groups() -> &'static [FieldGroup] {
    GROUPS
}

/// Looks up a group by key.
pub fn group(key: &str) -> Option<&'static FieldGroup> {
    GROUPS.iter().find(|g| g.key == key)
}

/// All built-in fields, grouped in display order.
pub fn catalog() -> &'static [FieldDef] {
    static CATALOG: OnceLock<Vec<FieldDef>> = OnceLock::new();
    CATALOG.get_or_init(build_catalog)
}

/// Looks up a built-in field by key.
pub fn builtin(key: &str) -> Option<&'static FieldDef> {
    catalog().iter().find(|f| f.key == key)
}

/// The built-in fields of a group (empty for unknown groups and for `custom`).
pub fn fields_in_group(group: &str) -> impl Iterator<Item = &'static FieldDef> + '_ {
    catalog().iter().filter(move |f| f.group == group)
}

/// The group part of a dotted key (`contact` for `contact.email`), if the key has one.
pub fn group_of(key: &str) -> Option<&str> {
    key.split_once('.').map(|(g, _)| g)
}

/// Checks that `key` is a well-formed custom-field key (`custom.<slug>`, slug = lowercase letters, digits and
/// `_`, starting with a letter or digit, at most 48 characters).
pub fn check_custom_key(key: &str) -> Result<(), ValidationError> {
    let slug = key
        .strip_prefix("custom.")
        .ok_or_else(|| ValidationError::new(key, "custom field keys start with \"custom.\", e.g. custom.shoe_width"))?;
    let ok = !slug.is_empty()
        && slug.len() <= 48
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !slug.starts_with('_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            key,
            "the name after \"custom.\" may use lowercase letters, digits and _ (at most 48), e.g. custom.shoe_width",
        ))
    }
}

impl FieldDef {
    /// Builds the definition of a custom field from what the owner chose. Checks the key, label and options.
    pub fn custom(
        key: &str,
        label: &str,
        field_type: FieldType,
        options: &[String],
        sensitivity: Sensitivity,
    ) -> Result<FieldDef, ValidationError> {
        check_custom_key(key)?;
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 80 || label.chars().any(char::is_control) {
            return Err(ValidationError::new(
                key,
                "the label must be one line of 1 to 80 characters",
            ));
        }
        let mut opts = Vec::new();
        if field_type.has_options() {
            if options.is_empty() {
                return Err(ValidationError::new(
                    key,
                    format!("a {field_type} field needs at least one option, e.g. --options narrow,regular,wide"),
                ));
            }
            let mut seen = HashSet::new();
            for o in options {
                let o = o.trim();
                if o.is_empty() || o.chars().count() > 60 || o.contains(',') || o.chars().any(char::is_control) {
                    return Err(ValidationError::new(
                        key,
                        format!("option {o:?} must be 1 to 60 characters without commas"),
                    ));
                }
                if !seen.insert(o.to_owned()) {
                    return Err(ValidationError::new(key, format!("option {o:?} is listed twice")));
                }
                opts.push(EnumOption {
                    value: o.to_owned(),
                    label: o.to_owned(),
                });
            }
        } else if !options.is_empty() {
            return Err(ValidationError::new(
                key,
                format!("only enum and multi_enum fields have options, not {field_type}"),
            ));
        }
        let rules = match field_type {
            FieldType::Text => Rules {
                max_len: Some(DEFAULT_TEXT_MAX_LEN),
                ..Rules::default()
            },
            _ => Rules::default(),
        };
        Ok(FieldDef {
            key: key.to_owned(),
            group: CUSTOM_GROUP.to_owned(),
            label: label.to_owned(),
            help: format!("A custom field you added ({field_type})."),
            field_type,
            options: opts,
            sensitivity,
            rules,
            default: None,
            builtin: false,
        })
    }

    /// The option values of an enum field.
    pub fn option_values(&self) -> impl Iterator<Item = &str> {
        self.options.iter().map(|o| o.value.as_str())
    }

    /// An example of what to type for this field on the command line.
    pub fn example_input(&self) -> String {
        match self.field_type {
            FieldType::Text => "any text".to_owned(),
            FieldType::Email => "alex@example.com".to_owned(),
            FieldType::Phone => "+442071234567".to_owned(),
            FieldType::Date => "1990-04-21".to_owned(),
            FieldType::Country => "GB".to_owned(),
            FieldType::Enum => self.option_values().next().unwrap_or("option").to_owned(),
            FieldType::MultiEnum => self.option_values().take(2).collect::<Vec<_>>().join(","),
            FieldType::Number => match (self.rules.min, self.rules.max) {
                (Some(min), _) => fmt_num(min.max(1.0)),
                _ => "42".to_owned(),
            },
            FieldType::Range => "50-200 GBP".to_owned(),
            FieldType::Bool => "yes".to_owned(),
        }
    }

    fn err(&self, rule: impl Into<String>) -> ValidationError {
        ValidationError::new(&self.key, rule)
    }

    fn options_list(&self) -> String {
        self.option_values().collect::<Vec<_>>().join(", ")
    }

    /// Validates a value for this field and returns its normalised form (text trimmed, email domain and country
    /// code upper/lower-cased, whole numbers stored as integers). `null` is not a value: removal is separate.
    pub fn validate(&self, value: Value) -> Result<Value, ValidationError> {
        match self.field_type {
            FieldType::Text => {
                let s = value
                    .as_str()
                    .ok_or_else(|| self.err("expected text (a JSON string)"))?;
                self.check_text(s).map(Value::String)
            }
            FieldType::Email => {
                let s = value
                    .as_str()
                    .ok_or_else(|| self.err("expected an email address, e.g. alex@example.com"))?;
                normalise_email(s)
                    .map(Value::String)
                    .ok_or_else(|| self.err("expected an email address, e.g. alex@example.com"))
            }
            FieldType::Phone => {
                let s = value.as_str().unwrap_or("");
                if is_e164(s) {
                    Ok(Value::String(s.to_owned()))
                } else {
                    Err(self.err("expected E.164, e.g. +442071234567"))
                }
            }
            FieldType::Date => {
                let s = value.as_str().unwrap_or("");
                self.check_date(s).map(Value::String)
            }
            FieldType::Country => {
                let s = value.as_str().unwrap_or("");
                let code = s.trim().to_ascii_uppercase();
                if is_country_code(&code) {
                    Ok(Value::String(code))
                } else {
                    Err(self.err("expected a two-letter ISO 3166-1 country code, e.g. GB"))
                }
            }
            FieldType::Enum => {
                let s = value.as_str().unwrap_or("");
                if self.option_values().any(|o| o == s) {
                    Ok(Value::String(s.to_owned()))
                } else {
                    Err(self.err(format!("expected one of: {}", self.options_list())))
                }
            }
            FieldType::MultiEnum => {
                let items = value
                    .as_array()
                    .ok_or_else(|| self.err(format!("expected a list of any of: {}", self.options_list())))?;
                let mut seen = HashSet::new();
                for item in items {
                    let s = item
                        .as_str()
                        .ok_or_else(|| self.err(format!("expected a list of any of: {}", self.options_list())))?;
                    if !self.option_values().any(|o| o == s) {
                        return Err(self.err(format!(
                            "unknown option {s:?}; expected any of: {}",
                            self.options_list()
                        )));
                    }
                    if !seen.insert(s) {
                        return Err(self.err(format!("option {s:?} is listed twice")));
                    }
                }
                Ok(value)
            }
            FieldType::Number => {
                let n = value.as_f64().ok_or_else(|| self.err("expected a number"))?;
                self.check_number(n, None).map(num_value)
            }
            FieldType::Range => self.check_range(&value),
            FieldType::Bool => match value {
                Value::Bool(_) => Ok(value),
                _ => Err(self.err("expected true or false")),
            },
        }
    }

    /// Parses what the owner typed (e.g. on the command line) and validates it. JSON is accepted for every type
    /// (`'{"min":50,"max":200}'`, `'["vegan"]'`); besides that: multi-enum values are comma-separated, ranges are
    /// `MIN-MAX [CURRENCY]` (or `MIN..MAX`), booleans are yes/no/true/false/on/off/1/0, phone numbers may contain
    /// spaces, dashes, dots and parentheses.
    pub fn parse_input(&self, input: &str) -> Result<Value, ValidationError> {
        let t = input.trim();
        let value = match self.field_type {
            FieldType::Text | FieldType::Email | FieldType::Date | FieldType::Country | FieldType::Enum => {
                Value::String(t.to_owned())
            }
            FieldType::Phone => {
                let compact: String = t
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                    .collect();
                let compact = match compact.strip_prefix("00") {
                    Some(rest) => format!("+{rest}"),
                    None => compact,
                };
                Value::String(compact)
            }
            FieldType::MultiEnum => {
                if t.starts_with('[') {
                    serde_json::from_str(t)
                        .map_err(|_| self.err(format!("expected a list of any of: {}", self.options_list())))?
                } else {
                    let mut out: Vec<Value> = Vec::new();
                    for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        let v = Value::String(part.to_owned());
                        if !out.contains(&v) {
                            out.push(v);
                        }
                    }
                    Value::Array(out)
                }
            }
            FieldType::Number => {
                let n: f64 = t.parse().map_err(|_| self.err("expected a number"))?;
                if !n.is_finite() {
                    return Err(self.err("expected a number"));
                }
                num_value(n)
            }
            FieldType::Range => {
                if t.starts_with('{') {
                    serde_json::from_str(t).map_err(|_| self.range_shape_err())?
                } else {
                    self.parse_range(t)?
                }
            }
            FieldType::Bool => match t.to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "on" | "1" => Value::Bool(true),
                "no" | "n" | "false" | "off" | "0" => Value::Bool(false),
                _ => return Err(self.err("expected yes or no (or true/false, on/off)")),
            },
        };
        self.validate(value)
    }

    /// Formats a value for people (`50–200 GBP`, `vegan, gluten_free`, `yes`).
    pub fn display_value(&self, value: &Value) -> String {
        display_value(value)
    }

    fn check_text(&self, s: &str) -> Result<String, ValidationError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(self.err("must not be empty (use `profile rm` to remove a value)"));
        }
        let max = self.rules.max_len.unwrap_or(DEFAULT_TEXT_MAX_LEN);
        if s.chars().count() > max {
            return Err(self.err(format!("must be at most {max} characters")));
        }
        let bad = |c: char| c.is_control() && !(self.rules.multiline && (c == '\n' || c == '\t' || c == '\r'));
        if s.chars().any(bad) {
            return Err(self.err(if self.rules.multiline {
                "must not contain control characters"
            } else {
                "must be a single line without control characters"
            }));
        }
        Ok(s.to_owned())
    }

    fn check_date(&self, s: &str) -> Result<String, ValidationError> {
        let s = s.trim();
        let date = (s.len() == 10)
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten()
            .ok_or_else(|| self.err("expected a date as YYYY-MM-DD, e.g. 1990-04-21"))?;
        let earliest = NaiveDate::parse_from_str(EARLIEST_DATE, "%Y-%m-%d").unwrap_or(NaiveDate::MIN);
        if date < earliest {
            return Err(self.err(format!("must not be before {EARLIEST_DATE}")));
        }
        if self.rules.not_in_future && date > Utc::now().date_naive() {
            return Err(self.err("must not be in the future"));
        }
        Ok(s.to_owned())
    }

    fn check_number(&self, n: f64, what: Option<&str>) -> Result<f64, ValidationError> {
        let prefix = what.map(|w| format!("{w} ")).unwrap_or_default();
        if !n.is_finite() {
            return Err(self.err(format!("{prefix}expected a number")));
        }
        if let Some(min) = self.rules.min {
            if n < min {
                return Err(self.err(format!("{prefix}must be at least {}", fmt_num(min))));
            }
        }
        if let Some(max) = self.rules.max {
            if n > max {
                return Err(self.err(format!("{prefix}must be at most {}", fmt_num(max))));
            }
        }
        let mut n = n;
        if let Some(step) = self.rules.step {
            let q = n / step;
            if (q - q.round()).abs() > 1e-9 {
                return Err(self.err(if step == 1.0 {
                    format!("{prefix}must be a whole number")
                } else {
                    format!("{prefix}must be in steps of {}", fmt_num(step))
                }));
            }
            // Snap to the step so 3.0000000001 is stored as 3.
            n = q.round() * step;
        }
        Ok(n)
    }

    fn range_shape_err(&self) -> ValidationError {
        self.err(r#"expected a range {"min": number, "max": number, "currency"?: "GBP"}, e.g. 50-200 GBP"#)
    }

    fn check_range(&self, value: &Value) -> Result<Value, ValidationError> {
        let obj = value.as_object().ok_or_else(|| self.range_shape_err())?;
        if obj.keys().any(|k| !matches!(k.as_str(), "min" | "max" | "currency")) {
            return Err(self.range_shape_err());
        }
        let min = obj
            .get("min")
            .and_then(Value::as_f64)
            .ok_or_else(|| self.range_shape_err())?;
        let max = obj
            .get("max")
            .and_then(Value::as_f64)
            .ok_or_else(|| self.range_shape_err())?;
        let min = self.check_number(min, Some("min"))?;
        let max = self.check_number(max, Some("max"))?;
        if min > max {
            return Err(self.err("min must not exceed max"));
        }
        let mut out = Map::new();
        out.insert("min".into(), num_value(min));
        out.insert("max".into(), num_value(max));
        match obj.get("currency") {
            None | Some(Value::Null) => {}
            Some(c) => {
                let code = c.as_str().map(|s| s.trim().to_ascii_uppercase()).unwrap_or_default();
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(self.err("currency must be a three-letter ISO 4217 code, e.g. GBP"));
                }
                out.insert("currency".into(), Value::String(code));
            }
        }
        Ok(Value::Object(out))
    }

    fn parse_range(&self, t: &str) -> Result<Value, ValidationError> {
        // "50-200 GBP", "GBP 50-200", "50..200", "50 - 200".
        let mut currency = None;
        let mut rest = t.to_owned();
        let words: Vec<&str> = t.split_whitespace().collect();
        if let Some(last) = words.last().filter(|w| w.chars().all(|c| c.is_ascii_alphabetic())) {
            currency = Some(last.to_owned());
            rest = words[..words.len() - 1].join(" ");
        } else if let Some(first) = words.first().filter(|w| w.chars().all(|c| c.is_ascii_alphabetic())) {
            currency = Some(first.to_owned());
            rest = words[1..].join(" ");
        }
        let rest = rest.replace(' ', "");
        let (a, b) = rest
            .split_once("..")
            .or_else(|| rest.split_once('-'))
            .ok_or_else(|| self.range_shape_err())?;
        let a: f64 = a.parse().map_err(|_| self.range_shape_err())?;
        let b: f64 = b.parse().map_err(|_| self.range_shape_err())?;
        let mut obj = json!({ "min": num_value(a), "max": num_value(b) });
        if let Some(c) = currency {
            obj["currency"] = Value::String(c.to_owned());
        }
        Ok(obj)
    }
}

/// Formats any profile value for people: strings as-is, lists comma-separated, ranges as `50–200 GBP`,
/// booleans as yes/no.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::Null => "(removed)".to_owned(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(display_value).collect::<Vec<_>>().join(", "),
        Value::Object(o) if o.contains_key("min") && o.contains_key("max") => {
            let mut s = format!(
                "{}\u{2013}{}",
                o.get("min").map(display_value).unwrap_or_default(),
                o.get("max").map(display_value).unwrap_or_default()
            );
            if let Some(c) = o.get("currency").and_then(Value::as_str) {
                s.push(' ');
                s.push_str(c);
            }
            s
        }
        other => other.to_string(),
    }
}

fn num_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)
    }
}

fn fmt_num(n: f64) -> String {
    num_value(n).to_string()
}

fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

fn normalise_email(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = s.rsplit_once('@')?;
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return None;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}

/// ISO 3166-1 alpha-2 codes (plus XK, widely used for Kosovo).
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU \
WF WS XK YE YT ZA ZM ZW";

/// Whether `code` is an ISO 3166-1 alpha-2 country code (upper case).
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRY_CODES.split(' ').any(|c| c == code)
}

// ---------------------------------------------------------------------------------------------------------------
// The catalog itself.

struct Def(FieldDef);

fn def(key: &str, field_type: FieldType, sensitivity: Sensitivity, label: &str, help: &str) -> Def {
    Def(FieldDef {
        key: key.to_owned(),
        group: group_of(key).unwrap_or(key).to_owned(),
        label: label.to_owned(),
        help: help.to_owned(),
        field_type,
        options: Vec::new(),
        sensitivity,
        rules: match field_type {
            FieldType::Text => Rules {
                max_len: Some(200),
                ..Rules::default()
            },
            _ => Rules::default(),
        },
        default: None,
        builtin: true,
    })
}

impl Def {
    fn opts(mut self, opts: &[(&str, &str)]) -> Def {
        self.0.options = opts
            .iter()
            .map(|(v, l)| EnumOption {
                value: (*v).to_owned(),
                label: (*l).to_owned(),
            })
            .collect();
        self
    }
    fn max_len(mut self, n: usize) -> Def {
        self.0.rules.max_len = Some(n);
        self
    }
    fn multiline(mut self) -> Def {
        self.0.rules.multiline = true;
        self
    }
    fn bounds(mut self, min: f64, max: f64, step: Option<f64>) -> Def {
        self.0.rules.min = Some(min);
        self.0.rules.max = Some(max);
        self.0.rules.step = step;
        self
    }
    fn past(mut self) -> Def {
        self.0.rules.not_in_future = true;
        self
    }
    fn default(mut self, v: Value) -> Def {
        self.0.default = Some(v);
        self
    }
}

fn build_catalog() -> Vec<FieldDef> {
    use FieldType as T;
    use Sensitivity::{Low, Personal, Sensitive};

    let clothing_systems: &[(&str, &str)] = &[
        ("intl", "International letters (XS–XXL)"),
        ("eu", "EU"),
        ("uk", "UK"),
        ("us", "US"),
        ("fr", "France"),
        ("it", "Italy"),
        ("jp", "Japan"),
    ];
    let shoe_systems: &[(&str, &str)] = &[
        ("eu", "EU"),
        ("uk", "UK"),
        ("us_men", "US men's"),
        ("us_women", "US women's"),
        ("jp_cm", "Japan (cm)"),
    ];
    let ring_systems: &[(&str, &str)] = &[
        ("us", "US / Canada"),
        ("uk", "UK / Australia"),
        ("eu", "EU (inner circumference in mm)"),
        ("jp", "Japan"),
    ];
    let colours: &[(&str, &str)] = &[
        ("black", "Black"),
        ("white", "White"),
        ("grey", "Grey"),
        ("navy", "Navy"),
        ("blue", "Blue"),
        ("green", "Green"),
        ("red", "Red"),
        ("pink", "Pink"),
        ("purple", "Purple"),
        ("yellow", "Yellow"),
        ("orange", "Orange"),
        ("brown", "Brown"),
        ("beige", "Beige"),
        ("pastels", "Pastels"),
        ("bright", "Bright colours"),
    ];
    let channels: &[(&str, &str)] = &[("email", "Email"), ("sms", "SMS"), ("post", "Post"), ("push", "Push")];

    let defs = vec![
        // identity
        def(
            "identity.given_name",
            T::Text,
            Personal,
            "First name",
            "Your first (given) name.",
        ),
        def(
            "identity.family_name",
            T::Text,
            Personal,
            "Last name",
            "Your last (family) name.",
        ),
        def(
            "identity.preferred_name",
            T::Text,
            Personal,
            "Preferred name",
            "What you like to be called, if different from your first name.",
        ),
        def(
            "identity.date_of_birth",
            T::Date,
            Personal,
            "Date of birth",
            "Your birthday as year-month-day, e.g. 1990-04-21. Shops often only need your age or birthday month.",
        )
        .past(),
        // contact
        def(
            "contact.email",
            T::Email,
            Personal,
            "Email address",
            "The email address shops may use to reach you.",
        ),
        def(
            "contact.phone",
            T::Phone,
            Personal,
            "Phone number",
            "Your phone number with country code, e.g. +44 20 7123 4567.",
        ),
        def(
            "contact.address_line1",
            T::Text,
            Personal,
            "Address line 1",
            "Street and house number of your postal address.",
        ),
        def(
            "contact.address_line2",
            T::Text,
            Personal,
            "Address line 2",
            "Flat, floor or building, if any.",
        ),
        def(
            "contact.city",
            T::Text,
            Personal,
            "Town or city",
            "The town or city of your postal address.",
        ),
        def(
            "contact.region",
            T::Text,
            Personal,
            "County, state or region",
            "Only if your address uses one.",
        ),
        def(
            "contact.postal_code",
            T::Text,
            Personal,
            "Postcode",
            "Your postcode or ZIP code.",
        )
        .max_len(16),
        def(
            "contact.country",
            T::Country,
            Low,
            "Country",
            "The country you live in, as a two-letter code such as GB, DE or US.",
        ),
        // sizes
        def(
            "sizes.clothing",
            T::Text,
            Low,
            "Clothing size",
            "Your usual clothing size, e.g. M or 12. Set the size system below so shops read it right.",
        )
        .max_len(16),
        def(
            "sizes.clothing_system",
            T::Enum,
            Low,
            "Clothing size system",
            "Which system your clothing size uses.",
        )
        .opts(clothing_systems),
        def(
            "sizes.shoe",
            T::Number,
            Low,
            "Shoe size",
            "Your usual shoe size, e.g. 42 or 8.5.",
        )
        .bounds(1.0, 60.0, Some(0.5)),
        def(
            "sizes.shoe_system",
            T::Enum,
            Low,
            "Shoe size system",
            "Which system your shoe size uses.",
        )
        .opts(shoe_systems),
        def(
            "sizes.ring",
            T::Text,
            Low,
            "Ring size",
            "Your ring size, e.g. N, 7 or 54.",
        )
        .max_len(8),
        def(
            "sizes.ring_system",
            T::Enum,
            Low,
            "Ring size system",
            "Which system your ring size uses.",
        )
        .opts(ring_systems),
        // style
        def(
            "style.styles",
            T::MultiEnum,
            Low,
            "Styles you like",
            "Pick the styles that describe what you like to wear.",
        )
        .opts(&[
            ("classic", "Classic"),
            ("casual", "Casual"),
            ("minimalist", "Minimalist"),
            ("sporty", "Sporty"),
            ("streetwear", "Streetwear"),
            ("bohemian", "Bohemian"),
            ("vintage", "Vintage"),
            ("formal", "Formal"),
            ("outdoor", "Outdoor"),
        ]),
        def(
            "style.fit",
            T::Enum,
            Low,
            "Preferred fit",
            "How you like clothes to fit.",
        )
        .opts(&[
            ("slim", "Slim"),
            ("regular", "Regular"),
            ("relaxed", "Relaxed"),
            ("oversized", "Oversized"),
        ]),
        def(
            "style.colours",
            T::MultiEnum,
            Low,
            "Favourite colours",
            "Colours you like to wear or buy.",
        )
        .opts(colours),
        def(
            "style.favourite_brands",
            T::Text,
            Low,
            "Favourite brands",
            "Brands you like, separated by commas.",
        ),
        def(
            "style.avoided_brands",
            T::Text,
            Low,
            "Brands to avoid",
            "Brands you would rather not be offered, separated by commas.",
        ),
        def(
            "style.avoided_materials",
            T::MultiEnum,
            Low,
            "Materials to avoid",
            "Materials you do not want, for comfort or ethical reasons.",
        )
        .opts(&[
            ("leather", "Leather"),
            ("fur", "Fur"),
            ("wool", "Wool"),
            ("down", "Down and feathers"),
            ("silk", "Silk"),
            ("synthetics", "Synthetics (polyester, nylon)"),
        ]),
        // interests
        def(
            "interests.topics",
            T::MultiEnum,
            Low,
            "Interests",
            "Topics you would like offers and news about.",
        )
        .opts(&[
            ("fashion", "Fashion"),
            ("beauty", "Beauty"),
            ("home", "Home and interiors"),
            ("garden", "Garden"),
            ("cooking", "Cooking"),
            ("travel", "Travel"),
            ("fitness", "Fitness"),
            ("outdoors", "Outdoors"),
            ("technology", "Technology"),
            ("gaming", "Gaming"),
            ("books", "Books"),
            ("music", "Music"),
            ("film", "Film and TV"),
            ("art", "Art and crafts"),
            ("sports", "Sports"),
            ("pets", "Pets"),
            ("parenting", "Parenting"),
            ("sustainability", "Sustainability"),
        ]),
        def(
            "interests.other",
            T::Text,
            Low,
            "Other interests",
            "Anything else you are into, in your own words.",
        ),
        // diet
        def(
            "diet.preferences",
            T::MultiEnum,
            Sensitive,
            "Dietary preferences",
            "How you eat. This can reveal health or religion, so it is treated as sensitive.",
        )
        .opts(&[
            ("vegetarian", "Vegetarian"),
            ("vegan", "Vegan"),
            ("pescatarian", "Pescatarian"),
            ("halal", "Halal"),
            ("kosher", "Kosher"),
            ("gluten_free", "Gluten-free"),
            ("dairy_free", "Dairy-free"),
            ("low_sugar", "Low sugar"),
            ("low_carb", "Low carb"),
        ]),
        def(
            "diet.allergies",
            T::MultiEnum,
            Sensitive,
            "Food allergies",
            "Allergens you must avoid (the 14 major allergens). Health data, treated as sensitive.",
        )
        .opts(&[
            ("gluten", "Cereals containing gluten"),
            ("crustaceans", "Crustaceans"),
            ("eggs", "Eggs"),
            ("fish", "Fish"),
            ("peanuts", "Peanuts"),
            ("soy", "Soya"),
            ("milk", "Milk"),
            ("tree_nuts", "Tree nuts"),
            ("celery", "Celery"),
            ("mustard", "Mustard"),
            ("sesame", "Sesame"),
            ("sulphites", "Sulphites"),
            ("lupin", "Lupin"),
            ("molluscs", "Molluscs"),
        ]),
        def(
            "diet.notes",
            T::Text,
            Sensitive,
            "Diet notes",
            "Other dietary needs or intolerances, in your own words.",
        )
        .max_len(1000)
        .multiline(),
        // budget
        def(
            "budget.range",
            T::Range,
            Personal,
            "Budget range",
            "The price range you usually spend per purchase, e.g. 50-200 GBP.",
        )
        .bounds(0.0, 1.0e9, None),
        // household
        def(
            "household.size",
            T::Number,
            Personal,
            "Household size",
            "How many people live in your home, including you.",
        )
        .bounds(1.0, 30.0, Some(1.0)),
        def(
            "household.children",
            T::Number,
            Personal,
            "Children",
            "How many children live with you.",
        )
        .bounds(0.0, 30.0, Some(1.0)),
        def("household.pets", T::MultiEnum, Low, "Pets", "Animals you live with.").opts(&[
            ("dog", "Dog"),
            ("cat", "Cat"),
            ("bird", "Bird"),
            ("fish", "Fish"),
            ("small_animal", "Small animal"),
            ("reptile", "Reptile"),
            ("horse", "Horse"),
        ]),
        def(
            "household.home_type",
            T::Enum,
            Personal,
            "Home type",
            "The kind of home you live in.",
        )
        .opts(&[("flat", "Flat or apartment"), ("house", "House"), ("other", "Other")]),
        // channels
        def(
            "channels.preferred",
            T::Enum,
            Low,
            "Preferred channel",
            "How you prefer shops to contact you about your orders.",
        )
        .opts(channels),
        def(
            "channels.opt_in_email",
            T::Bool,
            Low,
            "Marketing by email",
            "Yes if shops may send you marketing by email. Off unless you turn it on.",
        )
        .default(Value::Bool(false)),
        def(
            "channels.opt_in_sms",
            T::Bool,
            Low,
            "Marketing by SMS",
            "Yes if shops may send you marketing by text message. Off unless you turn it on.",
        )
        .default(Value::Bool(false)),
        def(
            "channels.opt_in_post",
            T::Bool,
            Low,
            "Marketing by post",
            "Yes if shops may send you marketing by post. Off unless you turn it on.",
        )
        .default(Value::Bool(false)),
        def(
            "channels.opt_in_push",
            T::Bool,
            Low,
            "Marketing by push notification",
            "Yes if shops' apps may send you marketing notifications. Off unless you turn it on.",
        )
        .default(Value::Bool(false)),
        def(
            "channels.frequency",
            T::Enum,
            Low,
            "How often",
            "The most often you want to hear from a shop.",
        )
        .opts(&[
            ("weekly", "At most weekly"),
            ("monthly", "At most monthly"),
            ("rarely", "Only occasionally"),
        ]),
        def(
            "channels.language",
            T::Text,
            Low,
            "Language",
            "The language you want to be contacted in, e.g. en-GB or de.",
        )
        .max_len(35),
        // notes
        def(
            "notes.general",
            T::Text,
            Personal,
            "Notes for shops",
            "Anything else you want shops to know. Do not put passwords or card numbers here.",
        )
        .max_len(2000)
        .multiline(),
    ];
    defs.into_iter().map(|d| d.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(key: &str) -> &'static FieldDef {
        builtin(key).unwrap()
    }

    #[test]
    fn catalog_is_consistent() {
        let mut keys = HashSet::new();
        for d in catalog() {
            assert!(keys.insert(d.key.clone()), "duplicate key {}", d.key);
            assert!(group(&d.group).is_some(), "{} has unknown group", d.key);
            assert_eq!(group_of(&d.key), Some(d.group.as_str()));
            assert!(d.builtin);
            assert!(!d.label.is_empty() && !d.help.is_empty());
            assert_eq!(d.field_type.has_options(), !d.options.is_empty(), "{}", d.key);
            if let Some(default) = &d.default {
                assert_eq!(d.validate(default.clone()).as_ref(), Ok(default), "{}", d.key);
            }
            // The example input parses for every field.
            d.parse_input(&d.example_input()).unwrap();
        }
        for g in groups().iter().filter(|g| g.key != CUSTOM_GROUP) {
            assert!(fields_in_group(g.key).next().is_some(), "group {} is empty", g.key);
        }
    }

    #[test]
    fn opt_ins_default_off_and_diet_is_sensitive() {
        for ch in ["email", "sms", "post", "push"] {
            let d = f(&format!("channels.opt_in_{ch}"));
            assert_eq!(d.default, Some(Value::Bool(false)));
        }
        assert_eq!(f("diet.allergies").sensitivity, Sensitivity::Sensitive);
        assert_eq!(f("diet.preferences").sensitivity, Sensitivity::Sensitive);
        assert!(Sensitivity::Low < Sensitivity::Personal && Sensitivity::Personal < Sensitivity::Sensitive);
    }

    #[test]
    fn phone_errors_name_field_and_rule() {
        let e = f("contact.phone").parse_input("020 7123 4567").unwrap_err();
        assert_eq!(e.to_string(), "contact.phone: expected E.164, e.g. +442071234567");
        assert_eq!(
            f("contact.phone").parse_input("+44 (20) 7123-4567").unwrap(),
            json!("+442071234567")
        );
        assert_eq!(
            f("contact.phone").parse_input("0044 20 7123 4567").unwrap(),
            json!("+442071234567")
        );
        assert!(f("contact.phone").validate(json!("+44 20")).is_err());
        assert!(f("contact.phone").validate(json!(442071234567u64)).is_err());
    }

    #[test]
    fn email() {
        let d = f("contact.email");
        assert_eq!(d.parse_input(" Alex@Example.COM ").unwrap(), json!("Alex@example.com"));
        for bad in [
            "alex",
            "alex@",
            "@example.com",
            "alex@example",
            "a b@example.com",
            "alex@exa..mple.com",
        ] {
            let e = d.parse_input(bad).unwrap_err();
            assert!(
                e.to_string().starts_with("contact.email: expected an email address"),
                "{bad}"
            );
        }
    }

    #[test]
    fn dates() {
        let d = f("identity.date_of_birth");
        assert_eq!(d.parse_input("1990-04-21").unwrap(), json!("1990-04-21"));
        assert_eq!(
            d.parse_input("1990-02-30").unwrap_err().rule,
            "expected a date as YYYY-MM-DD, e.g. 1990-04-21"
        );
        assert!(d.parse_input("21/04/1990").is_err());
        assert_eq!(
            d.parse_input("2999-01-01").unwrap_err().rule,
            "must not be in the future"
        );
        assert_eq!(
            d.parse_input("1800-01-01").unwrap_err().rule,
            "must not be before 1900-01-01"
        );
    }

    #[test]
    fn country_enum_multi() {
        assert_eq!(f("contact.country").parse_input("gb").unwrap(), json!("GB"));
        assert!(f("contact.country").parse_input("UK").is_err());
        assert!(f("contact.country").parse_input("GBR").is_err());
        assert_eq!(COUNTRY_CODES.split(' ').count(), 250);

        let sys = f("sizes.shoe_system");
        assert_eq!(sys.parse_input("eu").unwrap(), json!("eu"));
        assert!(sys
            .parse_input("EUR")
            .unwrap_err()
            .rule
            .starts_with("expected one of: eu, uk"));

        let allergies = f("diet.allergies");
        assert_eq!(
            allergies.parse_input("peanuts, sesame,peanuts").unwrap(),
            json!(["peanuts", "sesame"])
        );
        assert_eq!(allergies.parse_input("").unwrap(), json!([]));
        assert!(allergies
            .parse_input("peanut")
            .unwrap_err()
            .rule
            .starts_with("unknown option \"peanut\""));
        assert_eq!(
            allergies.validate(json!(["milk", "milk"])).unwrap_err().rule,
            "option \"milk\" is listed twice"
        );
        assert!(allergies.validate(json!("milk")).is_err());
        assert_eq!(allergies.parse_input(r#"["milk"]"#).unwrap(), json!(["milk"]));
    }

    #[test]
    fn numbers() {
        let shoe = f("sizes.shoe");
        assert_eq!(shoe.parse_input("42").unwrap(), json!(42));
        assert_eq!(shoe.parse_input("8.5").unwrap(), json!(8.5));
        assert_eq!(shoe.parse_input("8.3").unwrap_err().rule, "must be in steps of 0.5");
        assert_eq!(shoe.parse_input("0").unwrap_err().rule, "must be at least 1");
        assert_eq!(shoe.parse_input("big").unwrap_err().rule, "expected a number");
        assert_eq!(shoe.parse_input("NaN").unwrap_err().rule, "expected a number");
        let hh = f("household.size");
        assert_eq!(hh.parse_input("2.5").unwrap_err().rule, "must be a whole number");
        assert_eq!(hh.validate(json!(3.0)).unwrap(), json!(3));
        assert_eq!(hh.parse_input("3.0000000001").unwrap(), json!(3));
    }

    #[test]
    fn ranges() {
        let b = f("budget.range");
        assert_eq!(
            b.parse_input("50-200 gbp").unwrap(),
            json!({"min": 50, "max": 200, "currency": "GBP"})
        );
        assert_eq!(
            b.parse_input("EUR 10..20.5").unwrap(),
            json!({"min": 10, "max": 20.5, "currency": "EUR"})
        );
        assert_eq!(b.parse_input("10 - 20").unwrap(), json!({"min": 10, "max": 20}));
        assert_eq!(
            b.parse_input(r#"{"min":1,"max":2}"#).unwrap(),
            json!({"min": 1, "max": 2})
        );
        assert_eq!(b.parse_input("200-50").unwrap_err().rule, "min must not exceed max");
        assert_eq!(b.parse_input("-5-10").unwrap_err().key, "budget.range");
        assert!(b.validate(json!({"min": 1, "max": 2, "extra": 3})).is_err());
        assert!(b
            .parse_input("1-2 POUNDS")
            .unwrap_err()
            .rule
            .starts_with("currency must be a three-letter"));
        assert_eq!(
            display_value(&json!({"min": 50, "max": 200, "currency": "GBP"})),
            "50\u{2013}200 GBP"
        );
    }

    #[test]
    fn text_and_bool() {
        let n = f("identity.given_name");
        assert_eq!(n.parse_input("  Alex ").unwrap(), json!("Alex"));
        assert!(n.parse_input("   ").unwrap_err().rule.starts_with("must not be empty"));
        assert!(n.validate(json!("a\nb")).is_err());
        assert_eq!(
            n.validate(json!("x".repeat(201))).unwrap_err().rule,
            "must be at most 200 characters"
        );
        assert!(f("notes.general").validate(json!("a\nb")).is_ok());
        let o = f("channels.opt_in_sms");
        assert_eq!(o.parse_input("Yes").unwrap(), json!(true));
        assert_eq!(o.parse_input("off").unwrap(), json!(false));
        assert!(o.parse_input("maybe").is_err());
        assert!(o.validate(json!("true")).is_err());
    }

    #[test]
    fn custom_definitions() {
        let d = FieldDef::custom(
            "custom.shoe_width",
            "Shoe width",
            FieldType::Enum,
            &["narrow".into(), "wide".into()],
            Sensitivity::Low,
        )
        .unwrap();
        assert_eq!(d.group, "custom");
        assert_eq!(d.parse_input("wide").unwrap(), json!("wide"));
        assert!(FieldDef::custom("shoe_width", "x", FieldType::Text, &[], Sensitivity::Low).is_err());
        assert!(FieldDef::custom("custom.Shoe", "x", FieldType::Text, &[], Sensitivity::Low).is_err());
        assert!(FieldDef::custom("custom.x", "x", FieldType::Enum, &[], Sensitivity::Low).is_err());
        assert!(FieldDef::custom("custom.x", "x", FieldType::Text, &["a".into()], Sensitivity::Low).is_err());
        assert!(FieldDef::custom("custom.x", " ", FieldType::Text, &[], Sensitivity::Low).is_err());
        assert_eq!(FieldType::from_name("multi-enum"), Some(FieldType::MultiEnum));
        assert_eq!(Sensitivity::from_name("Sensitive"), Some(Sensitivity::Sensitive));
    }

    proptest::proptest! {
        /// Parsing never panics; whatever it accepts is already normalised (validating it again changes
        /// nothing); whatever it refuses names the field.
        #[test]
        fn parse_input_is_total_and_normalised(input in "\\PC{0,40}", idx in 0usize..1000) {
            let def = &catalog()[idx % catalog().len()];
            match def.parse_input(&input) {
                Ok(v) => proptest::prop_assert_eq!(def.validate(v.clone()), Ok(v)),
                Err(e) => proptest::prop_assert_eq!(e.key.as_str(), def.key.as_str()),
            }
        }

        /// Any E.164-shaped number is accepted, with or without common separators.
        #[test]
        fn e164_numbers_with_separators(cc in 1u32..999, rest in "[0-9]{6,11}") {
            let digits = format!("{cc}{rest}");
            proptest::prop_assume!(digits.len() <= 15);
            let spaced: String = digits.chars().enumerate()
                .map(|(i, c)| if i % 3 == 2 { format!("{c} ") } else { c.to_string() }).collect();
            let v = builtin("contact.phone").unwrap().parse_input(&format!("+{spaced}")).unwrap();
            proptest::prop_assert_eq!(v, json!(format!("+{digits}")));
        }

        /// Ranges: min <= max parse to exactly those numbers; anything else is refused.
        #[test]
        fn ranges_parse_exactly(a in 0u32..100_000, b in 0u32..100_000) {
            let r = builtin("budget.range").unwrap().parse_input(&format!("{a}-{b} EUR"));
            if a <= b {
                proptest::prop_assert_eq!(r.unwrap(), json!({"min": a, "max": b, "currency": "EUR"}));
            } else {
                proptest::prop_assert!(r.is_err());
            }
        }
    }
}
