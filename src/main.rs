//! `akguard`, the operator's command-line tool: validates configurations, explains the
//! verdict on a request, hashes key lists and shows the embedded high-risk list, all through
//! the same policy core the filter runs. Built for the host; the wasm module is unaffected.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
