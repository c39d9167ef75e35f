//! Progress bars on standard error.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use vectorstore::transfer::Progress;

/// A progress bar on stderr when it is a terminal, hidden otherwise.
pub fn progress_bar(total: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {per_sec} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Feeds transfer progress into one bar per kind.
pub fn bar_updater() -> (impl FnMut(Progress<'_>), std::rc::Rc<std::cell::RefCell<Option<ProgressBar>>>) {
    let current = std::rc::Rc::new(std::cell::RefCell::new(None::<ProgressBar>));
    let handle = current.clone();
    let update = move |event: Progress<'_>| match event {
        Progress::Kind { kind, total } => {
            if let Some(previous) = handle.borrow_mut().take() {
                previous.finish();
            }
            let bar = progress_bar(total);
            bar.set_prefix(vectorstore::escaped(kind).into_owned());
            *handle.borrow_mut() = Some(bar);
        }
        Progress::Records(n) => {
            if let Some(bar) = handle.borrow().as_ref() {
                bar.inc(n);
            }
        }
    };
    (update, current)
}
