//! Human and JSON output. Results go to standard output; warnings, progress and errors to standard error.
//!
//! Text a retailer or anyone else supplied may hold control or text-direction characters (stored before
//! requests refused them, or through another path). [`safe`] escapes them in one stored value, newline
//! included, and everything human printed here passes [`safe_lines`], which keeps only our own line breaks. JSON
//! output is left to serde. A closed standard output (`locket audit list | head -1`) silences further
//! output instead of panicking; the command itself still finishes.

use serde::Serialize;
use serde_json::json;

use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once standard output is found closed: nothing more is written to it.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// `text` on standard output with a line break, quietly dropped once the reader has gone away. Other write
/// failures are reported once on standard error.
fn print_out(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            print_err(&format!("locket: cannot write to standard output: {e}"));
        }
    }
}

/// `text` on standard error with a line break; a failure to write it is ignored (there is nowhere left to say so).
fn print_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}").and_then(|()| err.flush());
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let refused = |c: char| locket_wire::text::is_refused(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(refused) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if refused(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One stored value (a shop's name, a purpose text, a profile value, a note) as it may be printed: every control,
/// line-separator or text-direction character ([`locket_wire::text::is_refused`]), newline and tab included,
/// as a visible escape such as `\u{1b}`, so the value can neither drive the terminal nor fake a line of ours.
pub fn safe(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// [`safe`] for a whole text of ours that may embed stored values: keeps its line breaks.
pub fn safe_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

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
            Ok(s) => print_out(&s),
            Err(e) => print_err(&format!("locket: cannot render JSON: {e}")),
        }
    }

    /// Prints a line for people (suppressed in JSON mode).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            print_out(&safe_lines(text.as_ref()));
        }
    }

    /// Prints either the JSON value or the human text.
    pub fn result<T: Serialize + ?Sized>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            self.json(value);
        } else {
            let text = human();
            if !text.is_empty() {
                print_out(&safe_lines(&text));
            }
        }
    }

    /// A warning on standard error (also in JSON mode: warnings are never on standard output).
    pub fn warn(&self, text: &str) {
        print_err(&format!("warning: {}", safe_lines(text)));
    }

    /// An error on standard error: `error: message`, or `{"error": {"code", "message"}}` with `--json`.
    pub fn error(&self, e: &CliError) {
        if self.json {
            let doc = json!({ "error": { "code": e.code, "message": e.message, "exit_code": e.exit } });
            print_err(&doc.to_string());
        } else {
            print_err(&format!("error: {}", safe_lines(&e.message)));
        }
    }
}

/// Lays out rows as aligned columns (the last column is not padded); every cell passes [`safe`].
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| safe(c).into_owned()).collect())
        .collect();
    let rows = &rows;
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

/// Shortens a value for a table cell (first line, at most `max` characters), escaped with [`safe`].
pub fn cell(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut s: String = first.chars().take(max).collect();
    if first.chars().count() > max || text.lines().count() > 1 {
        s.push('…');
    }
    safe(&s).into_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_escapes_control_and_direction_characters_and_keeps_text() {
        assert!(matches!(safe("Café 商店 🛍️"), Cow::Borrowed(_)));
        assert_eq!(
            safe("Nice Shop\u{1b}[2K\r\u{1b}]0;pwned\u{7}"),
            "Nice Shop\\u{1b}[2K\\u{d}\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(safe("a\nb\tc\u{202e}d\u{9b}"), "a\\u{a}b\\u{9}c\\u{202e}d\\u{9b}");
        assert_eq!(
            safe_lines("ours\nname: x\u{1b}y\u{2028}z"),
            "ours\nname: x\\u{1b}y\\u{2028}z"
        );
        assert_eq!(cell("x\u{1b}[31mred\nsecond", 40), "x\\u{1b}[31mred…");
        let t = table(&["A", "B"], &[vec!["\u{1b}".into(), "z".into()]]);
        assert_eq!(t, "A       B\n\\u{1b}  z");
    }
}
