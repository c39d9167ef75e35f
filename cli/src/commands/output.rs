//! Human tables and JSON output.
//!
//! Output goes through [`out!`] and [`err!`], never `println!`: those panic when the stream is
//! closed (`vectorstore kinds | head -1`) or full. A failed write to standard output ends the
//! process with status 1 (the reader is gone or the disk is full); a failed write to standard
//! error is ignored (there is nowhere left to report it).

use std::io::Write;

use serde::Serialize;

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

/// See [`out!`].
pub fn write_out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
        std::process::exit(1);
    }
}

/// See [`err!`].
pub fn write_err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => out!("{text}"),
        Err(err) => err!("error: cannot encode JSON: {err}"),
    }
}

/// Prints a table with a header row, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}", width = *width)).collect();
        out!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A vector shown briefly: the first components and the length.
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
