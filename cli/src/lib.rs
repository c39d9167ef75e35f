#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod bench;
// The command layer is the one place that writes to the terminal.
#[allow(clippy::print_stdout, clippy::print_stderr)]
mod commands;
pub mod demo;

pub use commands::main;
