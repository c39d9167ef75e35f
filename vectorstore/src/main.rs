//! The `vectorstore` command-line tool: inspect and operate the store `DECNET_VECTORSTORE_*`
//! selects, run the conformance suite against it, and run the re-identification demo.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
