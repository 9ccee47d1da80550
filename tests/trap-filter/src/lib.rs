//! A stand-in security filter that can be made to fail: a request with the header
//! `x-leaked` is denied with 403 (the check it stands for), one with `x-trap` makes the VM
//! trap (`unreachable`), every other request passes. Used only to show how Envoy treats the
//! requests after a VM failed under each `failure_policy`.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(TrapRoot) });
}}

struct TrapRoot;

impl Context for TrapRoot {}

impl RootContext for TrapRoot {
    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(TrapHttp))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct TrapHttp;

impl Context for TrapHttp {}

impl HttpContext for TrapHttp {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        if self.get_http_request_header("x-trap").is_some() {
            core::arch::wasm32::unreachable();
        }
        if self.get_http_request_header("x-leaked").is_some() {
            self.send_http_response(403, vec![], Some(b"denied"));
            return Action::Pause;
        }
        Action::Continue
    }
}
