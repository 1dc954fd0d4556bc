//! Text a retailer wrote never reaches the owner's terminal as commands: requests holding control or
//! text-direction characters are refused on import, and stored text the `locket` command prints is escaped.

use crate::common::{run_pw, s, TestVault};
use crate::kit::Request;

/// The review's case: a shop name that clears the line, returns the cursor and retitles the terminal.
const HOSTILE_NAME: &str = "Nice Shop\u{1b}[2K\r\u{1b}]0;pwned\u{7}";

#[test]
fn a_request_with_terminal_escapes_is_refused_on_import_and_nothing_is_stored() {
    let v = TestVault::new();
    let file = v.tmp.path().join("hostile.json");
    std::fs::write(&file, Request::new().retailer_name(HOSTILE_NAME).bytes()).unwrap();

    let r = run_pw(&v.dir, &["requests", "import", s(&file)]);
    r.code(6);
    assert!(
        r.stderr.contains("/retailer/name") && r.stderr.contains("U+001B"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stderr.contains("pwned") && !r.stdout.contains('\u{1b}'),
        "the refusal echoes the text: {:?}",
        r.stderr
    );
    let r = run_pw(&v.dir, &["--json", "requests", "import", s(&file)]);
    r.code(6);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "request_control_characters");

    let listed = run_pw(&v.dir, &["--json", "requests", "list"]).json();
    assert_eq!(listed, serde_json::json!([]), "a refused request was stored");
}
