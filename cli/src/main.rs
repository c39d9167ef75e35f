//! The `vectorstore` command-line tool: inspect and operate the store `DECNET_VECTORSTORE_*`
//! selects, move data between stores, run the conformance suite, benchmarks and the demo.

fn main() -> std::process::ExitCode {
    vectorstore_cli::main()
}
