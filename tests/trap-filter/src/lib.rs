//! A stand-in security filter that can be made to fail: a request with the header
//! `x-leaked` (or the one its configuration names, `deny=NAME`) is denied with 403 (the check
//! it stands for), one with `x-trap` makes the VM trap (`unreachable`), every other request
//! passes. With `reserve_mib=N` in its configuration it takes N MiB of linear memory while
//! configuring, standing for a configuration too large for the VM. Used only to show how
//! Envoy treats a VM that fails, under each `failure_policy` and on a pushed configuration.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(TrapRoot {
            deny: "x-leaked".into(),
            held: Vec::new(),
        })
    });
}}

struct TrapRoot {
    deny: String,
    held: Vec<u8>,
}

impl Context for TrapRoot {}

impl RootContext for TrapRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let text = self
            .get_plugin_configuration()
            .map(|c| String::from_utf8_lossy(&c).into_owned())
            .unwrap_or_default();
        for word in text.split_whitespace() {
            if let Some(name) = word.strip_prefix("deny=") {
                self.deny = name.to_string();
            } else if let Some(mib) = word.strip_prefix("reserve_mib=") {
                let bytes = mib.parse::<usize>().unwrap_or(0) << 20;
                self.held = Vec::with_capacity(bytes);
            }
        }
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(TrapHttp {
            deny: self.deny.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct TrapHttp {
    deny: String,
}

impl Context for TrapHttp {}

impl HttpContext for TrapHttp {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        if self.get_http_request_header("x-trap").is_some() {
            core::arch::wasm32::unreachable();
        }
        if self.get_http_request_header(&self.deny).is_some() {
            self.send_http_response(403, vec![], Some(b"denied"));
            return Action::Pause;
        }
        Action::Continue
    }
}
