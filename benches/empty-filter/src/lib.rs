//! An HTTP filter that lets every request pass untouched: the cost of the proxy-wasm
//! machinery alone (one VM call per callback), to compare akguard against. With the
//! configuration `read-headers` it also reads all the request headers from the host, as any
//! filter that looks at a request must; with `read-4-headers` it asks for four headers one
//! by one instead (`authorization`, `x-acs-accesskey-id`, `:path`, `content-type`).

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(EmptyRoot {
            reads: Reads::Nothing,
        })
    });
}}

/// What a request's headers callback reads.
#[derive(Clone, Copy, PartialEq)]
enum Reads {
    Nothing,
    AllHeaders,
    FourHeaders,
}

struct EmptyRoot {
    reads: Reads,
}

impl Context for EmptyRoot {}

impl RootContext for EmptyRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.reads = match self.get_plugin_configuration().as_deref() {
            Some(b"read-headers") => Reads::AllHeaders,
            Some(b"read-4-headers") => Reads::FourHeaders,
            _ => Reads::Nothing,
        };
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(EmptyHttp { reads: self.reads }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct EmptyHttp {
    reads: Reads,
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
        }
        Action::Continue
    }
}
