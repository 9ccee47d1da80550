//! A fake proxy for the wasm tests: runs the release module
//! (`target/wasm32-wasip1/release/akguard.wasm`, built by `./build.sh build`) under wasmtime
//! and drives it through the proxy-wasm ABI 0.2.1 the way Envoy does. A missing module, or
//! one older than `src/` or `policies/`, fails the test with a message saying how to build
//! it; it is never skipped. `AKGUARD_WASM=path` runs another build of the module.
//!
//! ```ignore
//! mod harness;
//! use harness::{Action, LogLevel, Request, Vm};
//!
//! let mut vm = Vm::new();                                   // instantiate, `_initialize`
//! let plugin = vm.start_plugin(r#"{"leaked_keys":["LTAI5tLeakedKey000000001"]}"#);
//! assert!(plugin.configured);                               // on_vm_start + on_configure
//! let id = vm.send(plugin.root_id, &Request::get("ecs.aliyuncs.com",
//!     "/?Action=RunInstances&AccessKeyId=LTAI5tLeakedKey000000001"));
//! let stream = vm.stream(id);                               // the outcome:
//! assert_eq!(stream.actions(), [Action::Pause]);            //   actions returned
//! assert_eq!(stream.local_response.as_ref().unwrap().status, 403);
//! assert_eq!(vm.counter("akguard.denied"), Some(1));        //   metrics by name
//! assert_eq!(vm.logs(LogLevel::Warn).len(), 1);             //   log lines by level
//! assert!(vm.unimplemented().is_empty());                   //   no host call missing
//! ```
//!
//! Finer steps: [`Vm::open_stream`], [`Vm::request_headers`], [`Vm::request_body`] (the
//! proxy buffers while the module pauses and passes the buffered length, as Envoy does),
//! [`Vm::request_trailers`], [`Vm::close_stream`]. The module and its `Engine` are compiled
//! once per test binary; each [`Vm`] is a fresh instance.

#![allow(
    dead_code,
    unused_imports,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic
)]

mod abi;
mod guest;
mod host;
mod host_data;
mod host_http;
mod module;
mod request;
mod state;
mod vm;
mod wasi;

pub use abi::{Action, LogLevel, MetricKind};
pub use module::{compile, module_path, read_module, release_module, Loaded};
pub use request::Request;
pub use state::{
    CallResponse, Callback, Forwarded, HostState, HttpCall, LocalResponse, LogLine, Phase, Root,
    Stat, Stream,
};
pub use vm::{Plugin, Vm};
