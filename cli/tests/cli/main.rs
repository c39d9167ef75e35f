//! The command-line tool's tests: the binary's commands and exit statuses, the bench harness
//! and soak, the demo, faults around the embedded store, and copies between the real stores.

mod age;
mod bench;
mod cli;
mod demo;
mod faults;
mod legacy;
mod metrics;
mod stores;
