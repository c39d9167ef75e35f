//! Human tables and JSON output.
//!
//! Output goes through [`out!`] and [`err!`], never `println!`: those panic when the stream is
//! closed (`vectorstore kinds | head -1`) or full. A failed write to standard output ends the
//! process with status 1 (the reader is gone or the disk is full); a failed write to standard
//! error is ignored (there is nowhere left to report it).
//!
//! Ids, kinds and messages may have been shaped by an attacker: every line is written escaped
//! (`\n`, `\u{1b}`, see [`vectorstore::Escaped`]), so a value can neither start a line of its
//! own nor send escape sequences to the terminal; JSON escapes the same characters as `\uXXXX`,
//! and log lines are escaped by [`EscapedLines`]. The stored values are unchanged.

use std::io::Write;

use serde::Serialize;
use vectorstore::{Escaped, is_escaped_on_display};

/// Writes one line to standard output, or exits with status 1 if it cannot.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::output::write_out(&format!($($arg)*))
    };
}

/// Writes one line to standard error, ignoring failure.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::commands::output::write_err(&format!($($arg)*))
    };
}

pub(crate) use {err, out};

/// See [`out!`]: one line, escaped.
pub fn write_out(line: &str) {
    write_out_raw(&Escaped(line).to_string());
}

fn write_out_raw(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{text}").and_then(|()| stdout.flush()).is_err() {
        std::process::exit(1);
    }
}

/// See [`err!`]: one line, escaped.
pub fn write_err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", Escaped(line));
}

/// Prints `value` as pretty JSON, with the characters a terminal would act on escaped as
/// `\uXXXX` (serde_json leaves DEL, C1 controls and bidirectional overrides raw).
pub fn json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => write_out_raw(&json_escaped(&text)),
        Err(err) => err!("error: cannot encode JSON: {err}"),
    }
}

/// JSON text with every character [`is_escaped_on_display`] names, bar the layout's newlines,
/// written as a `\uXXXX` escape. Such characters can only stand inside JSON strings (the
/// structure is ASCII), where the escape means the same character.
pub fn json_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && is_escaped_on_display(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A writer for log lines that escapes what a logged value could carry: each write is one
/// event of the log formatter, whose final newline is kept; any other newline, control or
/// reordering character is escaped.
pub struct EscapedLines<W>(pub W);

impl<W: Write> Write for EscapedLines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        write!(self.0, "{}{end}", Escaped(body))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Prints a table with a header row, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    for line in table_lines(headers, rows) {
        write_out_raw(&line);
    }
}

/// The lines of [`table`]. Cells are escaped before they are measured, so that columns line up
/// as shown (the lines are then written as they are: escaping them again would change nothing),
/// and measured in terminal columns, not characters: an id in CJK script or with an emoji takes
/// two columns per such character.
fn table_lines(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;

    let rows: Vec<Vec<std::borrow::Cow<'_, str>>> =
        rows.iter().map(|row| row.iter().map(|cell| vectorstore::escaped(cell)).collect()).collect();
    let headers: Vec<std::borrow::Cow<'_, str>> = headers.iter().map(|header| vectorstore::escaped(header)).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.width());
            }
        }
    }
    let line = |cells: &[std::borrow::Cow<'_, str>]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width.saturating_sub(cell.width()))))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let dashes: Vec<std::borrow::Cow<'_, str>> = widths.iter().map(|w| "-".repeat(*w).into()).collect();
    let mut lines = vec![line(&headers), line(&dashes)];
    lines.extend(rows.iter().map(|row| line(row)));
    lines
}

/// A vector shown briefly: the first components and the length.
/// A time in milliseconds since the Unix epoch as UTC, `2026-12-02T14:00:00.000Z`.
///
/// Kept here rather than taken from `jiff`/`chrono`: write times come from files and servers
/// anyone may shape, and this formats every `u64` (a date crate refuses years past 9999, and
/// the CLI would need an error path to show a number); the civil-date arithmetic is the
/// standard days-from-civil inverse, tested below against known dates.
pub fn utc(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    let in_day = ms % 86_400_000;
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1_000 % 60,
        in_day % 1_000
    )
}

pub fn vector_preview(vector: &[f32]) -> String {
    const SHOWN: usize = 6;
    let head: Vec<String> = vector.iter().take(SHOWN).map(|v| format!("{v}")).collect();
    if vector.len() > SHOWN {
        format!("[{}, … ({} dims)]", head.join(", "), vector.len())
    } else {
        format!("[{}]", head.join(", "))
    }
}

/// A ratio as a percentage with one decimal.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_line_up_in_terminal_columns() {
        use unicode_width::UnicodeWidthStr;

        let rows = vec![
            vec!["s-1".to_owned(), "ja3".to_owned()],
            vec!["会话-攻击者".to_owned(), "hassh".to_owned()],
            vec!["bot🤖".to_owned(), "ja3".to_owned()],
            vec!["a\nb".to_owned(), "ja3".to_owned()],
        ];
        let lines = table_lines(&["id", "kind"], &rows);
        assert_eq!(lines.len(), 2 + rows.len());
        // The second column starts at the same terminal column on every line.
        let starts: Vec<usize> = lines
            .iter()
            .map(|line| {
                let cut = line.rfind("  ").expect("two columns") + 2;
                line[..cut].width()
            })
            .collect();
        assert!(starts.iter().all(|start| *start == starts[0]), "{lines:#?}");
        // "会话-攻击者" is 11 columns wide, the widest cell.
        assert_eq!(starts[0], 11 + 2, "{lines:#?}");
        assert!(lines.iter().all(|line| !line.contains('\n')), "{lines:#?}");
    }

    #[test]
    fn times_print_as_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day of a century leap year) and 2025-12-02, from their Unix times.
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(1_764_633_600_000 + 49_521_007), "2025-12-02T13:45:21.007Z");
        assert_eq!(utc(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn json_keeps_its_meaning_and_loses_terminal_controls() {
        let value = serde_json::json!({ "id": "a\nFAKE\u{1b}[31m\u{9b}\u{202e}x", "n": 1 });
        let text = json_escaped(&serde_json::to_string_pretty(&value).unwrap());
        assert!(!text.chars().any(|c| c != '\n' && is_escaped_on_display(c)), "{text:?}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value, "the escaped JSON means the same");
    }

    #[test]
    fn log_lines_keep_their_end_and_escape_the_rest() {
        let mut out = EscapedLines(Vec::new());
        out.write_all(b"WARN id=a\nFAKE LOG LINE\x1b[31m\n").unwrap();
        assert_eq!(String::from_utf8(out.0).unwrap(), "WARN id=a\\nFAKE LOG LINE\\u{1b}[31m\n");
    }
}
