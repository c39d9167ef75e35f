//! Confirmation of destructive commands: asked on a terminal, refused without one unless `--yes`.

use std::io::IsTerminal;

use vectorstore::{Error, ErrorKind, Result};

use super::output::err;

/// Refuses a destructive command without `--yes` when nobody can be asked.
pub fn confirmable(yes: bool, what: &str) -> Result<()> {
    if yes || std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidArgument,
        format!("refusing to {what} without confirmation: standard input is not a terminal; pass --yes"),
    ))
}

/// Asks `question` on the terminal; true when answered yes.
pub fn confirmed(question: &str) -> Result<bool> {
    err!("{question} [y/N]");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|err| Error::new(ErrorKind::Backend, format!("cannot read the answer: {err}")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
