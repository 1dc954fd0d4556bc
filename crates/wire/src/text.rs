//! Characters a retailer may not put in any text it sends: C0 and C1 control characters (a terminal obeys
//! escape sequences such as `ESC [ 2 K`, `CR` rewrites a line), line and paragraph separators, and the
//! Unicode text-direction marks, embeddings, overrides and isolates (which make a name read differently from
//! the characters it holds). [`crate::request::parse_request`] refuses a request holding one
//! (`request_control_characters`), the schema's `$defs/text` pattern says the same, and the owner's front ends
//! escape them in stored text they print.

/// Whether `c` is refused in a retailer's text: U+0000–U+001F and U+007F–U+009F (control characters, tab and
/// newline included), U+061C, U+200E, U+200F (direction marks), U+2028, U+2029 (line and paragraph
/// separators), U+202A–U+202E (embeddings and overrides) and U+2066–U+2069 (isolates).
pub fn is_refused(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// The first refused character of `s`, if any.
pub fn first_refused(s: &str) -> Option<char> {
    s.chars().find(|c| is_refused(*c))
}

/// "U+001B": how a character is named in messages (never the character itself).
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// What sort of refused character `c` is, in words ("a control character", …).
pub fn kind(c: char) -> &'static str {
    match c {
        '\u{2028}' | '\u{2029}' => "a line or paragraph separator",
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            "a text-direction character"
        }
        _ => "a control character",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_controls_and_direction_characters_only() {
        for c in [
            '\0', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{61c}', '\u{200e}',
        ] {
            assert!(is_refused(c), "{}", code_point(c));
        }
        for c in [
            '\u{200f}', '\u{2028}', '\u{2029}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
        ] {
            assert!(is_refused(c), "{}", code_point(c));
        }
        for s in [
            "Nice Shop",
            "Café Müller",
            "Ōsaka 商店",
            "Shop 🛍️",
            "a\u{200d}b",
            "¡Hola!",
            "\u{a0}",
        ] {
            assert_eq!(first_refused(s), None, "{s}");
        }
        assert_eq!(first_refused("Nice\u{1b}[2K"), Some('\u{1b}'));
        assert_eq!(code_point('\u{1b}'), "U+001B");
        assert_eq!(code_point('\u{202e}'), "U+202E");
        assert_eq!(kind('\u{202e}'), "a text-direction character");
        assert_eq!(kind('\u{2028}'), "a line or paragraph separator");
        assert_eq!(kind('\u{7}'), "a control character");
    }
}
