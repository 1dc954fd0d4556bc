//! Errors of the request format: a grant request that cannot be accepted, and the problems found in it.
//! Every variant has a stable snake_case [`code`](RequestError::code) used on the wire and in the docs.

use serde::Serialize;

/// One problem found in a grant request: where (JSON pointer into the document), which rule, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON pointer to the offending value; `""` is the whole document.
    pub path: String,
    /// The schema keyword (`required`, `enum`, `pattern`, …) or semantic rule (`unique_scope`,
    /// `known_scope`, `duration`, `not_in_future`, `control_characters`, `positive_amount`,
    /// `unique_recipient`) that failed.
    pub rule: String,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "at {path}: {} ({})", self.message, self.rule)
    }
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ")
}

/// A grant request could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Over the size cap.
    #[error("the request is {size} bytes; requests may be at most {max} bytes")]
    TooLarge {
        /// Size received (or a lower bound when the body was cut off).
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not JSON at all.
    #[error("the request is not valid JSON: {0}")]
    Malformed(String),
    /// A string (a value or a member name) holds a control character, a line or paragraph separator or a
    /// text-direction character ([`crate::text::is_refused`]), which could make what the owner reads differ
    /// from what the request says. Each problem names the member's JSON path and the code point, never the text.
    #[error(
        "the request contains characters that could disguise what the owner reads (control or text-direction \
         characters are not allowed in any of its texts): {}",
        list(.0)
    )]
    ControlCharacters(Vec<Problem>),
    /// JSON that breaks the schema or a semantic rule.
    #[error("the request is not a valid locket.grant-request/v1 document: {}", list(.0))]
    Invalid(Vec<Problem>),
    /// Only the `benefit` member (what the shop offers in return) breaks the schema or a rule of
    /// [`crate::exchange`]: a missing description, an unknown offer kind, a discount out of range or in an
    /// unknown currency.
    #[error(
        "the request's benefit (what the shop offers in return) is not valid: {}",
        list(.0)
    )]
    Benefit(Vec<Problem>),
    /// Only the `recipients` member (who else receives the data) breaks the schema or a rule of
    /// [`crate::exchange`]: too many, a missing name, an unknown role or country, a recipient listed twice.
    #[error(
        "the request's recipients (who else receives the data) are not valid: {}",
        list(.0)
    )]
    Recipients(Vec<Problem>),
}

impl RequestError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::TooLarge { .. } => "request_too_large",
            RequestError::Malformed(_) => "request_malformed",
            RequestError::ControlCharacters(_) => "request_control_characters",
            RequestError::Invalid(_) => "request_invalid",
            RequestError::Benefit(_) => "request_benefit_invalid",
            RequestError::Recipients(_) => "request_recipients_invalid",
        }
    }

    /// The individual problems (empty for [`RequestError::TooLarge`] and [`RequestError::Malformed`]).
    pub fn problems(&self) -> &[Problem] {
        match self {
            RequestError::Invalid(p)
            | RequestError::ControlCharacters(p)
            | RequestError::Benefit(p)
            | RequestError::Recipients(p) => p,
            _ => &[],
        }
    }

    /// The refusal for `problems` found by the schema or the semantic rules: [`RequestError::Benefit`] when
    /// every one lies in `/benefit`, [`RequestError::Recipients`] when every one lies in `/recipients`, else
    /// [`RequestError::Invalid`].
    pub fn of_problems(problems: Vec<Problem>) -> RequestError {
        let within = |member: &str| {
            problems
                .iter()
                .all(|p| p.path == member || p.path.starts_with(&format!("{member}/")))
        };
        if problems.is_empty() {
            RequestError::Invalid(problems)
        } else if within("/benefit") {
            RequestError::Benefit(problems)
        } else if within("/recipients") {
            RequestError::Recipients(problems)
        } else {
            RequestError::Invalid(problems)
        }
    }
}
