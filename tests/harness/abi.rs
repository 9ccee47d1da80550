//! The proxy-wasm ABI 0.2.1 as the host sees it: status codes, enum values passed across the
//! boundary, and the byte layouts of header maps and property paths.

/// Status codes a host call returns (`WasmResult` in the ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    NotFound = 1,
    BadArgument = 2,
    InvalidMemoryAccess = 6,
    Empty = 7,
    CasMismatch = 8,
    Unimplemented = 12,
}

impl Status {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// What a stream callback tells the host to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue,
    Pause,
}

impl Action {
    /// Reads a callback's return value; anything but 0 and 1 is a defect of the module.
    pub fn from_code(code: i32) -> Action {
        match code {
            0 => Action::Continue,
            1 => Action::Pause,
            other => panic!("the module returned action {other}, which the ABI does not define"),
        }
    }
}

/// Log levels of `proxy_log`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl LogLevel {
    pub fn from_code(code: i32) -> Option<LogLevel> {
        Some(match code {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }
}

/// Header maps (`MapType`).
pub const MAP_REQUEST_HEADERS: i32 = 0;
pub const MAP_REQUEST_TRAILERS: i32 = 1;
pub const MAP_RESPONSE_HEADERS: i32 = 2;
pub const MAP_RESPONSE_TRAILERS: i32 = 3;
pub const MAP_HTTP_CALL_RESPONSE_HEADERS: i32 = 6;
pub const MAP_HTTP_CALL_RESPONSE_TRAILERS: i32 = 7;

/// Buffers (`BufferType`).
pub const BUFFER_REQUEST_BODY: i32 = 0;
pub const BUFFER_RESPONSE_BODY: i32 = 1;
pub const BUFFER_HTTP_CALL_RESPONSE_BODY: i32 = 4;
pub const BUFFER_VM_CONFIGURATION: i32 = 6;
pub const BUFFER_PLUGIN_CONFIGURATION: i32 = 7;

/// Streams (`StreamType`) of `proxy_continue_stream` / `proxy_close_stream`.
pub const STREAM_REQUEST: i32 = 0;
pub const STREAM_RESPONSE: i32 = 1;

/// Metric kinds (`MetricType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    pub fn from_code(code: i32) -> Option<MetricKind> {
        Some(match code {
            0 => MetricKind::Counter,
            1 => MetricKind::Gauge,
            2 => MetricKind::Histogram,
            _ => return None,
        })
    }
}

/// A header map in the ABI layout: pair count, then (name length, value length) per pair,
/// then each name and value followed by a NUL byte; integers are little-endian u32.
pub fn serialize_map(pairs: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (name, value) in pairs {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

/// Reads a header map in the ABI layout; `None` when the bytes do not hold one.
pub fn deserialize_map(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let word = |at: usize| -> Option<usize> {
        let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(raw) as usize)
    };
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = word(0)?;
    let mut sizes = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        sizes.push((word(4 + i * 8)?, word(8 + i * 8)?));
    }
    let mut at = 4 + count * 8;
    let mut pairs = Vec::with_capacity(sizes.len());
    for (name_len, value_len) in sizes {
        let name = bytes.get(at..at + name_len)?;
        at += name_len + 1;
        let value = bytes.get(at..at + value_len)?;
        at += value_len + 1;
        pairs.push((String::from_utf8(name.to_vec()).ok()?, value.to_vec()));
    }
    Some(pairs)
}

/// A property path: segments separated by NUL bytes.
pub fn property_path(segments: &[&str]) -> Vec<u8> {
    segments.join("\0").into_bytes()
}
