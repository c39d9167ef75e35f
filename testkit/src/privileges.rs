//! What the account running the tests may do.

/// Whether this process runs as root, where file permission bits do not bind (tests that need
/// an unwritable file or an unprivileged server account check this first).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user of this process.
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}
