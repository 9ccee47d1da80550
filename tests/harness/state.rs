//! What the fake proxy holds and records: the state of each root context and HTTP stream,
//! metrics by name, log lines, shared data, dispatched calls, and every host call the
//! harness does not implement. Tests read outcomes from here, never call-by-call scripts.

use super::abi::{Action, LogLevel, MetricKind};
use std::collections::{BTreeMap, HashMap};

/// Which guest callback is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Initialize,
    ContextCreate,
    VmStart,
    Configure,
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseBody,
    Tick,
    HttpCallResponse,
    Done,
    Log,
    Delete,
}

/// One log line of the module.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
    /// The effective context when the line was logged.
    pub context_id: Option<u32>,
    pub phase: Option<Phase>,
}

/// A stat defined by the module. Every `proxy_define_metric` call gets its own id; ids of
/// the same name and kind share one stat, as in Envoy.
#[derive(Clone, Debug)]
pub struct Stat {
    pub name: String,
    pub kind: MetricKind,
    pub value: i64,
    /// Values recorded into a histogram.
    pub samples: Vec<u64>,
}

/// The local reply sent with `proxy_send_local_response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    pub details: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub grpc_status: i32,
    /// The callback during which it was sent.
    pub phase: Option<Phase>,
}

impl LocalResponse {
    /// First value of a header (names compare without regard to case), as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One stream callback and what it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callback {
    pub phase: Phase,
    /// `num_headers`, `body_buffer_length` or `num_trailers`, as passed.
    pub size: usize,
    pub end_of_stream: bool,
    pub action: Action,
    /// Request-body bytes the module read during this callback.
    pub body_bytes_read: usize,
    pub sent_local_response: bool,
}

/// What the module did during one stream callback, noted by the host calls it made.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub body_bytes_read: usize,
    pub sent_local_response: bool,
}

/// What has gone on towards the upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    pub headers: bool,
    pub body: Vec<u8>,
    pub trailers: bool,
    /// The whole request went on (its last piece was let through).
    pub complete: bool,
}

/// One HTTP stream (an HTTP context) as the fake proxy sees it.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    pub root_id: u32,
    pub request_headers: Vec<(String, Vec<u8>)>,
    pub request_trailers: Vec<(String, Vec<u8>)>,
    pub response_headers: Vec<(String, Vec<u8>)>,
    pub response_trailers: Vec<(String, Vec<u8>)>,
    /// Request body held by the proxy: the chunks received since the module last let the
    /// body go on. `proxy_on_request_body` gets its length.
    pub buffered_body: Vec<u8>,
    /// Response body held by the proxy: every chunk delivered so far (the harness never
    /// sends a response on).
    pub response_body: Vec<u8>,
    pub callbacks: Vec<Callback>,
    pub local_response: Option<LocalResponse>,
    /// `proxy_send_local_response` calls (a second one is recorded here, not kept).
    pub local_responses_sent: u32,
    /// `proxy_continue_stream(HttpRequest)` calls.
    pub resumed: u32,
    /// `proxy_close_stream` calls.
    pub closed: u32,
    pub forwarded: Forwarded,
    /// The request's last piece has been received from the client.
    pub request_ended: bool,
    /// Body chunks held without a callback: the headers were paused and the proxy does not
    /// deliver body callbacks after a header pause (Envoy without
    /// `allow_on_headers_stop_iteration`).
    pub withheld_chunks: usize,
    /// `proxy_on_done`, `proxy_on_log`, `proxy_on_delete` have run.
    pub finished: bool,
}

impl Stream {
    /// The actions returned, in order.
    pub fn actions(&self) -> Vec<Action> {
        self.callbacks.iter().map(|c| c.action).collect()
    }

    /// The request went on to the upstream whole, and nothing was answered locally.
    pub fn passed(&self) -> bool {
        self.local_response.is_none() && self.forwarded.complete
    }

    /// The proxy lets what it holds go on: the headers, the buffered body and, once the
    /// request has ended, the whole request.
    pub fn let_through(&mut self) {
        self.forwarded.headers = true;
        let body = std::mem::take(&mut self.buffered_body);
        self.forwarded.body.extend(body);
        if self.request_ended {
            self.forwarded.trailers = !self.request_trailers.is_empty();
            self.forwarded.complete = true;
        }
    }

    /// Request-body bytes the module read, over all callbacks.
    pub fn body_bytes_read(&self) -> usize {
        self.callbacks.iter().map(|c| c.body_bytes_read).sum()
    }
}

/// One root context (one plugin configuration).
#[derive(Clone, Debug, Default)]
pub struct Root {
    pub configuration: Vec<u8>,
    pub vm_started: Option<bool>,
    pub configured: Option<bool>,
    pub tick_period_ms: u32,
    /// The module called `proxy_done` for it.
    pub done: bool,
    pub deleted: bool,
}

/// An outgoing call made with `proxy_http_call`.
#[derive(Clone, Debug)]
pub struct HttpCall {
    pub token: u32,
    pub context_id: u32,
    pub upstream: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, Vec<u8>)>,
    pub timeout_ms: u32,
}

/// The response of an outgoing call, readable during `proxy_on_http_call_response`.
#[derive(Clone, Debug, Default)]
pub struct CallResponse {
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, Vec<u8>)>,
}

/// Everything the host keeps for one VM (the wasmtime store's data).
#[derive(Debug)]
pub struct HostState {
    /// The proxy's clock, in nanoseconds since the Unix epoch. Fixed unless a test moves it.
    pub now_nanos: u64,
    pub log_level: LogLevel,
    pub logs: Vec<LogLine>,
    pub stats: Vec<Stat>,
    /// Metric id to index into `stats`.
    pub metric_ids: HashMap<u32, usize>,
    pub next_metric_id: u32,
    pub roots: BTreeMap<u32, Root>,
    pub streams: BTreeMap<u32, Stream>,
    /// The callback the host is running, if any.
    pub phase: Option<Phase>,
    /// What the module did during the stream callback now running.
    pub progress: Progress,
    /// The context host calls act on (`proxy_set_effective_context` may change it).
    pub effective: Option<u32>,
    pub vm_configuration: Vec<u8>,
    /// Every read of a plugin configuration: where it started and how many bytes it got.
    pub plugin_configuration_reads: Vec<(usize, usize)>,
    pub properties: HashMap<Vec<u8>, Vec<u8>>,
    pub shared_data: HashMap<String, (Vec<u8>, u32)>,
    /// `proxy_get_shared_data` calls.
    pub shared_data_reads: usize,
    pub http_calls: Vec<HttpCall>,
    pub next_token: u32,
    pub call_response: Option<CallResponse>,
    /// Host calls the harness does not implement, by name and arguments. A module that
    /// needs one of them is not tested by the harness; tests assert this stays empty.
    pub unimplemented: Vec<String>,
    /// Bytes written to WASI stdout and stderr.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: Option<i32>,
    pub random_state: u64,
}

impl Default for HostState {
    fn default() -> Self {
        HostState {
            // 2026-01-01T00:00:00Z
            now_nanos: 1_767_225_600_000_000_000,
            log_level: LogLevel::Trace,
            logs: Vec::new(),
            stats: Vec::new(),
            metric_ids: HashMap::new(),
            next_metric_id: 1,
            roots: BTreeMap::new(),
            streams: BTreeMap::new(),
            phase: None,
            progress: Progress::default(),
            effective: None,
            vm_configuration: Vec::new(),
            plugin_configuration_reads: Vec::new(),
            properties: HashMap::new(),
            shared_data: HashMap::new(),
            shared_data_reads: 0,
            http_calls: Vec::new(),
            next_token: 1,
            call_response: None,
            unimplemented: Vec::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit_code: None,
            random_state: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl HostState {
    /// The stream host calls act on now, if the effective context is a stream.
    pub fn current_stream(&mut self) -> Option<&mut Stream> {
        let id = self.effective?;
        self.streams.get_mut(&id).filter(|s| !s.finished)
    }

    /// The root context host calls act on now: the effective context, or its root.
    pub fn current_root_id(&self) -> Option<u32> {
        let id = self.effective?;
        if self.roots.contains_key(&id) {
            Some(id)
        } else {
            self.streams.get(&id).map(|s| s.root_id)
        }
    }

    pub fn record_unimplemented(&mut self, call: String) {
        self.unimplemented.push(call);
    }

    /// The stat of a name and kind, if the module defined it.
    pub fn stat(&self, name: &str, kind: MetricKind) -> Option<&Stat> {
        self.stats.iter().find(|s| s.name == name && s.kind == kind)
    }
}
