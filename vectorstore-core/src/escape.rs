//! Showing text that callers or attackers shaped (ids, kinds, names read from files, driver
//! messages) on a terminal or in a log line without letting it act there: control characters
//! (newlines that forge log lines, escape sequences that recolour or move the cursor) and the
//! invisible format characters that reorder text (bidirectional overrides) are written as
//! `\n`, `\u{1b}`, `\u{202e}`. Everything else, backslashes included, is written as is, so an
//! ordinary value reads unchanged. The stored value is never altered: this is for display only.

use std::borrow::Cow;
use std::fmt;

/// `text` for display, escaped as the module describes. Borrowed when nothing needs escaping.
///
/// ```
/// use vectorstore_core::escaped;
/// assert_eq!(escaped("session-1"), "session-1");
/// assert_eq!(escaped("a\nFAKE LOG LINE\u{1b}[31m"), "a\\nFAKE LOG LINE\\u{1b}[31m");
/// ```
pub fn escaped(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_escaped_on_display) { Cow::Owned(Escaped(text).to_string()) } else { Cow::Borrowed(text) }
}

/// Displays its text escaped as [`escaped`] does, without an allocation.
#[derive(Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(is_escaped_on_display) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                _ => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

/// The characters [`escaped`] rewrites: control characters (C0, DEL, C1) and the format
/// characters that hide or reorder text. All of them lie in the Basic Multilingual Plane.
pub fn is_escaped_on_display(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Longest excerpt of a bad value quoted in an error message.
const SHOWN_CHARS: usize = 64;

/// A printable excerpt of an untrusted string for error messages: at most 64 characters, with
/// `…(N bytes)` appended when shortened. Quote it with `{:?}` so control characters are escaped.
pub fn shown(value: &str) -> String {
    if value.chars().count() <= SHOWN_CHARS {
        return value.to_owned();
    }
    let head: String = value.chars().take(SHOWN_CHARS).collect();
    format!("{head}…({} bytes)", value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_reordering_characters_are_escaped_and_nothing_else() {
        for (raw, shown) in [
            ("plain id", "plain id"),
            ("tab\there", "tab\\there"),
            ("cr\rlf\n", "cr\\rlf\\n"),
            ("\u{1b}]0;title\u{7}", "\\u{1b}]0;title\\u{7}"),
            ("c1\u{9b}31m", "c1\\u{9b}31m"),
            ("del\u{7f}", "del\\u{7f}"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("C:\\path\\n", "C:\\path\\n"),
            ("Σλ 日本 🦀", "Σλ 日本 🦀"),
        ] {
            assert_eq!(escaped(raw), shown, "{raw:?}");
            assert_eq!(Escaped(raw).to_string(), shown, "{raw:?}");
        }
        assert!(matches!(escaped("nothing to do"), Cow::Borrowed(_)));
    }

    #[test]
    fn no_control_character_survives() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let shown = escaped(&all);
        assert!(!shown.chars().any(is_escaped_on_display), "{shown:?}");
    }
}
