//! Human and JSON output. Results go to standard output; warnings, progress and errors to standard error.

use serde::Serialize;
use serde_json::json;

use std::fs;
use std::io::Write;

use super::{exit, CliError, CliResult};

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Human output, or JSON with `json`.
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a JSON document on standard output (one line per document, pretty-printed).
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("locket: cannot render JSON: {e}"),
        }
    }

    /// Prints a line for people (suppressed in JSON mode).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            println!("{}", text.as_ref());
        }
    }

    /// Prints either the JSON value or the human text.
    pub fn result<T: Serialize + ?Sized>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            self.json(value);
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }

    /// A warning on standard error (also in JSON mode: warnings are never on standard output).
    pub fn warn(&self, text: &str) {
        eprintln!("warning: {text}");
    }

    /// An error on standard error: `error: message`, or `{"error": {"code", "message"}}` with `--json`.
    pub fn error(&self, e: &CliError) {
        if self.json {
            let doc = json!({ "error": { "code": e.code, "message": e.message, "exit_code": e.exit } });
            eprintln!("{doc}");
        } else {
            eprintln!("error: {}", e.message);
        }
    }
}

/// Lays out rows as aligned columns (the last column is not padded).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 < cells.len() {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(header.to_vec());
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    out.pop();
    out
}

/// Shortens a value for a table cell (first line, at most `max` characters).
pub fn cell(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut s: String = first.chars().take(max).collect();
    if first.chars().count() > max || text.lines().count() > 1 {
        s.push('…');
    }
    s
}

/// Writes `bytes` to `path` with owner-only permissions via a temporary file and a rename; refuses to replace an
/// existing file unless `force`.
pub fn write_private_file(path: &std::path::Path, bytes: &[u8], force: bool) -> CliResult {
    if path.exists() && !force {
        return Err(CliError::new(
            exit::CONFLICT,
            "file_exists",
            format!("{} already exists; pass --force to replace it", path.display()),
        ));
    }
    let name = path
        .file_name()
        .ok_or_else(|| CliError::usage(format!("{} is not a file name", path.display())))?;
    let tmp = path.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(CliError::new(
            exit::ERROR,
            "io_error",
            format!("cannot write {}: {e}", path.display()),
        ));
    }
    Ok(())
}

/// "2026-11-24 15:00 UTC"
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
