//! The filter adapter: the proxy-wasm entry point. It reads headers, body and configuration
//! from the host, hands them to the policy core, and acts on the verdict (continue, hold,
//! local reply), counting and logging as it goes. No policy lives here.

mod clock;
mod config_reader;
mod feed;
mod feed_metrics;
mod feed_share;
mod http;
mod metrics;
mod minted;
mod request_headers;
mod root;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(root::AkguardRoot::new())
    });
}}
