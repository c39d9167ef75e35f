//! What the user hands in: vectors on the command line, files to open.

use vectorstore::{Error, ErrorKind, Result};

/// Parses `1,2,3`, `[1, 2, 3]` or `1 2 3`.
pub fn parse_vector(text: &str) -> Result<Vec<f32>> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<f32>().map_err(|_| {
                Error::new(ErrorKind::InvalidVector, format!("invalid vector component {part:?}: expected a number"))
            })
        })
        .collect()
}

pub fn file_error(path: &std::path::Path, err: std::io::Error) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("cannot open {}: {err}", path.display()))
}
