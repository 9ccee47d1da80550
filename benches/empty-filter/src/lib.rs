//! An HTTP filter that lets every request pass untouched: the cost of the proxy-wasm
//! machinery alone (one VM call per callback), to compare akguard against. With the
//! configuration `read-headers` it also reads all the request headers from the host, as any
//! filter that looks at a request must; with `read-4-headers` it asks for four headers one
//! by one instead (`authorization`, `x-acs-accesskey-id`, `:path`, `content-type`); with
//! `read-headers-in-place` it reads them all in one call and looks at them where the host
//! wrote them, without a copy of each name and value; with `count` it adds one to a counter
//! on every request and reads nothing.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(EmptyRoot {
            reads: Reads::Nothing,
            counter: 0,
        })
    });
}}

/// What a request's headers callback reads.
#[derive(Clone, Copy, PartialEq)]
enum Reads {
    Nothing,
    AllHeaders,
    FourHeaders,
    AllHeadersInPlace,
    Count,
}

struct EmptyRoot {
    reads: Reads,
    counter: u32,
}

impl Context for EmptyRoot {}

impl RootContext for EmptyRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.reads = match self.get_plugin_configuration().as_deref() {
            Some(b"read-headers") => Reads::AllHeaders,
            Some(b"read-4-headers") => Reads::FourHeaders,
            Some(b"read-headers-in-place") => Reads::AllHeadersInPlace,
            Some(b"count") => Reads::Count,
            _ => Reads::Nothing,
        };
        if self.reads == Reads::Count {
            self.counter =
                proxy_wasm::hostcalls::define_metric(MetricType::Counter, "empty.requests")
                    .unwrap_or_default();
        }
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(EmptyHttp {
            reads: self.reads,
            counter: self.counter,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct EmptyHttp {
    reads: Reads,
    counter: u32,
}

impl Context for EmptyHttp {}

impl HttpContext for EmptyHttp {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        match self.reads {
            Reads::Nothing => {}
            Reads::AllHeaders => {
                std::hint::black_box(self.get_http_request_headers_bytes());
            }
            Reads::FourHeaders => {
                for name in [
                    "authorization",
                    "x-acs-accesskey-id",
                    ":path",
                    "content-type",
                ] {
                    std::hint::black_box(self.get_http_request_header_bytes(name));
                }
            }
            Reads::Count => {
                let _ = proxy_wasm::hostcalls::increment_metric(self.counter, 1);
            }
            Reads::AllHeadersInPlace => headers_in_place(&mut |name, value| {
                std::hint::black_box((name, value));
            }),
        }
        Action::Continue
    }
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
}

/// The request headers, serialised by the host (count, then name and value sizes, then the
/// names and values each followed by a zero byte), handed to `each` in place.
fn headers_in_place(each: &mut dyn FnMut(&[u8], &[u8])) {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a buffer it allocated through the module's allocator, which
    // the Vec below takes over and frees.
    let bytes = unsafe {
        if proxy_get_header_map_pairs(0, &mut data, &mut size) != 0 || data.is_null() {
            return;
        }
        Vec::from_raw_parts(data, size, size)
    };
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map_or(0, |w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
    };
    let count = word(0);
    let mut at = 4 + count * 8;
    for n in 0..count {
        let (name_len, value_len) = (word(4 + n * 8), word(8 + n * 8));
        let name = bytes.get(at..at + name_len).unwrap_or_default();
        at += name_len + 1;
        let value = bytes.get(at..at + value_len).unwrap_or_default();
        at += value_len + 1;
        each(name, value);
    }
}
