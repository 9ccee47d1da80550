//! Finding, checking and compiling the module under test, once per test binary: the
//! release build `target/wasm32-wasip1/release/akguard.wasm` (or the file named by
//! `AKGUARD_WASM`). A missing or stale module is a failure that says how to build it.

use super::state::HostState;
use super::{host, wasi};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;
use wasmtime::{Engine, InstancePre, Linker, Module};

const BUILD_HINT: &str =
    "build it with `./build.sh build` (`./build.sh test` builds it before running the tests)";

/// A compiled module with every import linked, ready to instantiate.
pub struct Loaded {
    pub engine: Engine,
    pub module: Module,
    pub pre: InstancePre<HostState>,
    /// The imports the harness provides, as `module.name`.
    pub provided: Vec<String>,
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the module under test is: `AKGUARD_WASM`, else the release build in the target
/// directory (`CARGO_TARGET_DIR` when set).
pub fn module_path() -> PathBuf {
    if let Some(path) = std::env::var_os("AKGUARD_WASM") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| manifest_dir().join(dir))
        .unwrap_or_else(|| manifest_dir().join("target"));
    target.join("wasm32-wasip1/release/akguard.wasm")
}

/// The release module, compiled once for the whole test binary. Panics with a message
/// saying how to build it when it is missing or older than the sources.
pub fn release_module() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let path = module_path();
        let checked = read_module(&path).and_then(|bytes| {
            if std::env::var_os("AKGUARD_WASM").is_none() {
                check_fresh(&path)?;
            }
            Ok(bytes)
        });
        let clock = std::time::Instant::now();
        match checked.and_then(|bytes| compile(&bytes)) {
            Ok(loaded) => {
                println!("compiled {} in {:?}", path.display(), clock.elapsed());
                loaded
            }
            Err(problem) => panic!("{problem}"),
        }
    })
}

/// Reads a module file; a missing one is an error that says how to build it.
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "the wasm tests run the release module {}, which cannot be read ({e}): {BUILD_HINT}",
            path.display()
        )
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest file under `dir`.
fn newest(dir: &Path, best: &mut Option<(SystemTime, PathBuf)>) {
    if dir.is_file() {
        if let Some(time) = modified(dir) {
            if best.as_ref().is_none_or(|(t, _)| time > *t) {
                *best = Some((time, dir.to_path_buf()));
            }
        }
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            newest(&path, best);
        } else if let Some(time) = modified(&path) {
            if best.as_ref().is_none_or(|(t, _)| time > *t) {
                *best = Some((time, path));
            }
        }
    }
}

/// A module older than the sources it is built from would test old code. The module is
/// built from the library (`src/lib.rs`, the core and the filter) and the policies; the
/// command-line tool's sources are not part of it.
fn check_fresh(path: &Path) -> Result<(), String> {
    let built =
        modified(path).ok_or_else(|| format!("{}: no modification time", path.display()))?;
    let mut best = None;
    for dir in ["src/lib.rs", "src/core", "src/filter", "policies"] {
        newest(&manifest_dir().join(dir), &mut best);
    }
    match best {
        Some((time, source)) if time > built => Err(format!(
            "{} is older than {}: the wasm tests would run old code; {BUILD_HINT}",
            path.display(),
            source.display()
        )),
        _ => Ok(()),
    }
}

/// Compiles a module and links the harness's imports. An import the harness does not
/// provide is an error that names it.
pub fn compile(bytes: &[u8]) -> Result<Loaded, String> {
    let engine = Engine::default();
    let module =
        Module::new(&engine, bytes).map_err(|e| format!("the module does not compile: {e:?}"))?;
    let mut linker = Linker::new(&engine);
    let mut provided = Vec::new();
    host::define(&mut linker, &mut provided).map_err(|e| format!("proxy-wasm imports: {e:?}"))?;
    wasi::define(&mut linker, &mut provided).map_err(|e| format!("WASI imports: {e:?}"))?;
    let missing: Vec<String> = module
        .imports()
        .map(|import| format!("{}.{}", import.module(), import.name()))
        .filter(|name| !provided.contains(name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the module imports {}, which the harness does not provide",
            missing.join(", ")
        ));
    }
    let pre = linker
        .instantiate_pre(&module)
        .map_err(|e| format!("the module's imports do not link: {e:?}"))?;
    Ok(Loaded {
        engine,
        module,
        pre,
        provided,
    })
}
