//! The fake proxy's driver: one VM (one wasmtime instance of the module) with its root
//! contexts and HTTP streams, called the way Envoy calls a proxy-wasm 0.2.1 module.

use super::abi::{Action, LogLevel, MetricKind};
use super::module::{release_module, Loaded};
use super::request::Request;
use super::state::{CallResponse, Callback, HostState, LogLine, Phase, Progress, Root, Stream};
use wasmtime::{Instance, Memory, Store, TypedFunc, WasmParams, WasmResults};

type Pairs = Vec<(String, Vec<u8>)>;

/// A plugin (root context) the VM was asked to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plugin {
    pub root_id: u32,
    /// `proxy_on_vm_start` returned true.
    pub started: bool,
    /// `proxy_on_configure` returned true.
    pub configured: bool,
}

/// One instance of the module, with the host state of a small fake proxy around it.
pub struct Vm {
    store: Store<HostState>,
    instance: Instance,
    memory: Memory,
    next_id: u32,
    /// Deliver body callbacks after the headers callback paused, as Envoy does only with
    /// `allow_on_headers_stop_iteration: true` on the filter. Off by default, like Envoy.
    pub allow_on_headers_stop_iteration: bool,
}

impl Vm {
    /// A VM running the release module, after its `_initialize`.
    pub fn new() -> Vm {
        Vm::from_loaded(release_module())
    }

    /// A VM running a compiled module, after its `_initialize`.
    pub fn from_loaded(loaded: &Loaded) -> Vm {
        let mut store = Store::new(&loaded.engine, HostState::default());
        let instance = loaded
            .pre
            .instantiate(&mut store)
            .unwrap_or_else(|e| panic!("the module does not instantiate: {e:?}"));
        let memory = instance
            .get_memory(&mut store, "memory")
            .unwrap_or_else(|| panic!("the module exports no memory"));
        let mut vm = Vm {
            store,
            instance,
            memory,
            next_id: 1,
            allow_on_headers_stop_iteration: false,
        };
        vm.call::<(), ()>(None, Phase::Initialize, "_initialize", ());
        vm
    }

    fn func<P: WasmParams, R: WasmResults>(&mut self, name: &str) -> TypedFunc<P, R> {
        self.instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .unwrap_or_else(|e| panic!("the module's export {name}: {e:?}"))
    }

    /// Calls an export as the given context; a trap fails the test, with the module's
    /// critical log lines (its panic messages).
    fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        context: Option<u32>,
        phase: Phase,
        name: &str,
        params: P,
    ) -> R {
        let func = self.func::<P, R>(name);
        let state = self.store.data_mut();
        state.phase = Some(phase);
        state.effective = context;
        state.progress = Progress::default();
        let result = func.call(&mut self.store, params);
        let state = self.store.data_mut();
        state.phase = None;
        state.effective = None;
        result.unwrap_or_else(|e| {
            panic!(
                "{name}({context:?}) trapped: {e:?}\ncritical log lines: {:?}\nstderr: {}",
                self.logs(LogLevel::Critical),
                String::from_utf8_lossy(&self.store.data().stderr)
            )
        })
    }

    fn fresh_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The configuration `proxy_on_vm_start` can read (`VmConfiguration` buffer).
    pub fn set_vm_configuration(&mut self, bytes: &[u8]) {
        self.store.data_mut().vm_configuration = bytes.to_vec();
    }

    /// Starts a plugin as Envoy does for each plugin configuration: a new root context,
    /// `proxy_on_vm_start`, then `proxy_on_configure` with `configuration` as the
    /// `PluginConfiguration` buffer.
    pub fn start_plugin(&mut self, configuration: impl AsRef<[u8]>) -> Plugin {
        let root_id = self.fresh_id();
        let configuration = configuration.as_ref().to_vec();
        let size = configuration.len() as i32;
        self.store.data_mut().roots.insert(
            root_id,
            Root {
                configuration,
                ..Root::default()
            },
        );
        let id = root_id as i32;
        self.call::<(i32, i32), ()>(
            Some(root_id),
            Phase::ContextCreate,
            "proxy_on_context_create",
            (id, 0),
        );
        let vm_size = self.store.data().vm_configuration.len() as i32;
        let started = self.call::<(i32, i32), i32>(
            Some(root_id),
            Phase::VmStart,
            "proxy_on_vm_start",
            (id, vm_size),
        ) != 0;
        let configured = started
            && self.call::<(i32, i32), i32>(
                Some(root_id),
                Phase::Configure,
                "proxy_on_configure",
                (id, size),
            ) != 0;
        let root = self.root_mut(root_id);
        root.vm_started = Some(started);
        root.configured = Some(configured);
        Plugin {
            root_id,
            started,
            configured,
        }
    }

    fn root_mut(&mut self, root_id: u32) -> &mut Root {
        self.store
            .data_mut()
            .roots
            .get_mut(&root_id)
            .unwrap_or_else(|| panic!("no root context {root_id}"))
    }

    /// Removes a plugin (when it is replaced, or its configuration was rejected):
    /// `proxy_on_done`, then `proxy_on_delete`.
    pub fn stop_plugin(&mut self, root_id: u32) {
        let id = root_id as i32;
        self.call::<i32, i32>(Some(root_id), Phase::Done, "proxy_on_done", id);
        self.call::<i32, ()>(Some(root_id), Phase::Delete, "proxy_on_delete", id);
        self.root_mut(root_id).deleted = true;
    }

    /// Runs `proxy_on_tick` for a root context.
    pub fn tick(&mut self, root_id: u32) {
        self.call::<i32, ()>(Some(root_id), Phase::Tick, "proxy_on_tick", root_id as i32);
    }

    /// Lets a tick period pass: runs `proxy_on_tick` for every live root context that set
    /// one, as the proxy does once the period has elapsed.
    pub fn tick_all(&mut self) {
        let due: Vec<u32> = self
            .store
            .data()
            .roots
            .iter()
            .filter(|(_, root)| root.tick_period_ms > 0 && !root.deleted)
            .map(|(id, _)| *id)
            .collect();
        for root_id in due {
            self.tick(root_id);
        }
    }

    /// Opens an HTTP stream on a plugin: a new HTTP context.
    pub fn open_stream(&mut self, root_id: u32) -> u32 {
        let id = self.fresh_id();
        self.store.data_mut().streams.insert(
            id,
            Stream {
                root_id,
                ..Stream::default()
            },
        );
        self.call::<(i32, i32), ()>(
            Some(id),
            Phase::ContextCreate,
            "proxy_on_context_create",
            (id as i32, root_id as i32),
        );
        id
    }

    fn stream_mut(&mut self, id: u32) -> &mut Stream {
        self.store
            .data_mut()
            .streams
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no stream {id}"))
    }

    /// Runs a stream callback and records what it returned and did.
    fn stream_callback(
        &mut self,
        id: u32,
        phase: Phase,
        export: &str,
        size: usize,
        eos: Option<bool>,
    ) -> Action {
        let code = match eos {
            Some(eos) => self.call::<(i32, i32, i32), i32>(
                Some(id),
                phase,
                export,
                (id as i32, size as i32, i32::from(eos)),
            ),
            None => self.call::<(i32, i32), i32>(Some(id), phase, export, (id as i32, size as i32)),
        };
        let action = Action::from_code(code);
        let progress = self.store.data().progress;
        let stream = self.stream_mut(id);
        stream.callbacks.push(Callback {
            phase,
            size,
            end_of_stream: eos.unwrap_or(true),
            action,
            body_bytes_read: progress.body_bytes_read,
            sent_local_response: progress.sent_local_response,
        });
        if action == Action::Continue && stream.local_response.is_none() && stream.closed == 0 {
            stream.let_through();
        }
        action
    }

    /// The stream is over for the proxy: answered locally, closed, or ended and let through.
    fn is_over(stream: &Stream) -> bool {
        stream.local_response.is_some()
            || stream.closed > 0
            || stream.finished
            || stream.forwarded.complete
    }

    /// The headers were paused and not let through since.
    fn headers_held(stream: &Stream) -> bool {
        !stream.forwarded.headers
            && stream
                .callbacks
                .iter()
                .any(|c| c.phase == Phase::RequestHeaders && c.action == Action::Pause)
    }

    /// Delivers the request headers (`proxy_on_request_headers`).
    pub fn request_headers(&mut self, id: u32, headers: Pairs, end_of_stream: bool) -> Action {
        let count = headers.len();
        let stream = self.stream_mut(id);
        stream.request_headers = headers;
        stream.request_ended = end_of_stream;
        self.stream_callback(
            id,
            Phase::RequestHeaders,
            "proxy_on_request_headers",
            count,
            Some(end_of_stream),
        )
    }

    /// Delivers a body chunk as Envoy does: the proxy adds it to the body it holds and calls
    /// `proxy_on_request_body` with the length of all it holds; the module reads the new
    /// bytes at the end. Continue lets the held body go on. `None` when no callback ran:
    /// the stream is over, or the headers are held and body callbacks are not delivered
    /// after a header pause (see [`Vm::allow_on_headers_stop_iteration`]).
    pub fn request_body(&mut self, id: u32, chunk: &[u8], end_of_stream: bool) -> Option<Action> {
        let allow = self.allow_on_headers_stop_iteration;
        let stream = self.stream_mut(id);
        if Self::is_over(stream) {
            return None;
        }
        stream.buffered_body.extend_from_slice(chunk);
        stream.request_ended = end_of_stream;
        if Self::headers_held(stream) && !allow {
            stream.withheld_chunks += 1;
            return None;
        }
        let size = stream.buffered_body.len();
        Some(self.stream_callback(
            id,
            Phase::RequestBody,
            "proxy_on_request_body",
            size,
            Some(end_of_stream),
        ))
    }

    /// Delivers the request trailers (`proxy_on_request_trailers`), which end the request.
    pub fn request_trailers(&mut self, id: u32, trailers: Pairs) -> Option<Action> {
        let allow = self.allow_on_headers_stop_iteration;
        let stream = self.stream_mut(id);
        if Self::is_over(stream) {
            return None;
        }
        let count = trailers.len();
        stream.request_trailers = trailers;
        stream.request_ended = true;
        if Self::headers_held(stream) && !allow {
            stream.withheld_chunks += 1;
            return None;
        }
        Some(self.stream_callback(
            id,
            Phase::RequestTrailers,
            "proxy_on_request_trailers",
            count,
            None,
        ))
    }

    /// Delivers the response headers (`proxy_on_response_headers`).
    pub fn response_headers(&mut self, id: u32, headers: Pairs, end_of_stream: bool) -> Action {
        let count = headers.len();
        self.stream_mut(id).response_headers = headers;
        self.response_callback(
            id,
            Phase::ResponseHeaders,
            "proxy_on_response_headers",
            count,
            end_of_stream,
        )
    }

    /// Delivers a response body chunk as Envoy does: added to the response body the proxy
    /// holds, whose whole length `proxy_on_response_body` gets.
    pub fn response_body(&mut self, id: u32, chunk: &[u8], end_of_stream: bool) -> Action {
        let stream = self.stream_mut(id);
        stream.response_body.extend_from_slice(chunk);
        let size = stream.response_body.len();
        self.response_callback(
            id,
            Phase::ResponseBody,
            "proxy_on_response_body",
            size,
            end_of_stream,
        )
    }

    fn response_callback(
        &mut self,
        id: u32,
        phase: Phase,
        export: &str,
        size: usize,
        eos: bool,
    ) -> Action {
        let code = self.call::<(i32, i32, i32), i32>(
            Some(id),
            phase,
            export,
            (id as i32, size as i32, i32::from(eos)),
        );
        let action = Action::from_code(code);
        let progress = self.store.data().progress;
        self.stream_mut(id).callbacks.push(Callback {
            phase,
            size,
            end_of_stream: eos,
            action,
            body_bytes_read: progress.body_bytes_read,
            sent_local_response: progress.sent_local_response,
        });
        action
    }

    /// Ends a stream as Envoy does when it is destroyed: `proxy_on_done`, `proxy_on_log`,
    /// `proxy_on_delete`.
    pub fn close_stream(&mut self, id: u32) {
        let context = id as i32;
        self.call::<i32, i32>(Some(id), Phase::Done, "proxy_on_done", context);
        self.call::<i32, ()>(Some(id), Phase::Log, "proxy_on_log", context);
        self.call::<i32, ()>(Some(id), Phase::Delete, "proxy_on_delete", context);
        self.stream_mut(id).finished = true;
    }

    /// Sends a whole request through a plugin: headers, each body chunk, trailers, then
    /// ends the stream. Returns the stream id; read the outcome with [`Vm::stream`].
    pub fn send(&mut self, root_id: u32, request: &Request) -> u32 {
        let id = self.open_stream(root_id);
        let body_follows = !request.body.is_empty() || !request.trailers.is_empty();
        self.request_headers(id, request.headers.clone(), !body_follows);
        let last = request.body.len();
        for (i, chunk) in request.body.iter().enumerate() {
            let eos = i + 1 == last && request.trailers.is_empty();
            self.request_body(id, chunk, eos);
        }
        if !request.trailers.is_empty() {
            self.request_trailers(id, request.trailers.clone());
        }
        self.close_stream(id);
        id
    }

    /// Delivers the response of an outgoing call (`proxy_on_http_call_response`) to the
    /// context that made it.
    pub fn http_call_response(&mut self, token: u32, response: CallResponse) {
        let call = self
            .store
            .data()
            .http_calls
            .iter()
            .find(|c| c.token == token)
            .unwrap_or_else(|| panic!("no outgoing call {token}"))
            .clone();
        let sizes = (
            response.headers.len() as i32,
            response.body.len() as i32,
            response.trailers.len() as i32,
        );
        self.store.data_mut().call_response = Some(response);
        self.call::<(i32, i32, i32, i32, i32), ()>(
            Some(call.context_id),
            Phase::HttpCallResponse,
            "proxy_on_http_call_response",
            (
                call.context_id as i32,
                token as i32,
                sizes.0,
                sizes.1,
                sizes.2,
            ),
        );
        self.store.data_mut().call_response = None;
    }

    /// A stream's record.
    pub fn stream(&self, id: u32) -> &Stream {
        self.store
            .data()
            .streams
            .get(&id)
            .unwrap_or_else(|| panic!("no stream {id}"))
    }

    /// Drops the records of finished streams (long runs keep the host's memory flat).
    pub fn forget_finished_streams(&mut self) {
        self.store.data_mut().streams.retain(|_, s| !s.finished);
    }

    /// A root context's record.
    pub fn root(&self, root_id: u32) -> &Root {
        self.store
            .data()
            .roots
            .get(&root_id)
            .unwrap_or_else(|| panic!("no root context {root_id}"))
    }

    /// The value of a counter, if the module defined it.
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.store
            .data()
            .stat(name, MetricKind::Counter)
            .map(|s| s.value as u64)
    }

    /// The value of a gauge, if the module defined it.
    pub fn gauge(&self, name: &str) -> Option<i64> {
        self.store
            .data()
            .stat(name, MetricKind::Gauge)
            .map(|s| s.value)
    }

    /// Messages logged at a level.
    pub fn logs(&self, level: LogLevel) -> Vec<String> {
        self.log_lines()
            .iter()
            .filter(|l| l.level == level)
            .map(|l| l.message.clone())
            .collect()
    }

    /// Every log line, in order.
    pub fn log_lines(&self) -> &[LogLine] {
        &self.store.data().logs
    }

    /// Log lines logged while a context was in effect.
    pub fn logs_of(&self, context_id: u32) -> Vec<&LogLine> {
        self.log_lines()
            .iter()
            .filter(|l| l.context_id == Some(context_id))
            .collect()
    }

    /// Forgets the log lines so far.
    pub fn clear_logs(&mut self) {
        self.store.data_mut().logs.clear();
    }

    /// Host calls the module made that the harness does not implement.
    pub fn unimplemented(&self) -> &[String] {
        &self.store.data().unimplemented
    }

    /// The size of the module's linear memory, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    /// The whole host state, for what the helpers above do not cover.
    pub fn state(&self) -> &HostState {
        self.store.data()
    }

    pub fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }
}
