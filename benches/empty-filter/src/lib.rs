//! An HTTP filter that lets every request pass untouched: the cost of the proxy-wasm
//! machinery alone (one VM call per callback), to compare akguard against. With the
//! configuration `read-headers` it also reads the request headers from the host, as any
//! filter that looks at a request must.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(EmptyRoot { read_headers: false })
    });
}}

struct EmptyRoot {
    read_headers: bool,
}

impl Context for EmptyRoot {}

impl RootContext for EmptyRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.read_headers = self.get_plugin_configuration().as_deref() == Some(b"read-headers");
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(EmptyHttp {
            read_headers: self.read_headers,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct EmptyHttp {
    read_headers: bool,
}

impl Context for EmptyHttp {}

impl HttpContext for EmptyHttp {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        if self.read_headers {
            std::hint::black_box(self.get_http_request_headers_bytes());
        }
        Action::Continue
    }
}
