//! Shared by the command-line tests: runs the `akguard` binary built by Cargo, with
//! optional stdin, in a scratch directory of its own, and collects exit code and output.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod readme;

use std::path::{Path, PathBuf};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_akguard");
/// The repository root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A scratch directory for one test, emptied when created.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a file into `dir` and returns its path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs `akguard ARGS` in `dir`, with `stdin` when given.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut command = assert_cmd::Command::new(BIN);
    command.current_dir(dir).args(args);
    if let Some(input) = stdin {
        command.write_stdin(input.to_vec());
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().expect("exited with a code"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs `akguard ARGS` in the repository root.
pub fn run(args: &[&str]) -> Run {
    run_in(Path::new(ROOT), args, None)
}

/// Asserts the exit code, showing the output when it differs.
pub fn expect_code(run: &Run, code: i32, what: &str) {
    assert_eq!(
        run.code, code,
        "{what}: exit code {} (want {code})\nstdout:\n{}\nstderr:\n{}",
        run.code, run.stdout, run.stderr
    );
}
