//! Many clients each hold an unfinished form body of `max_body_bytes` open through a real
//! Envoy running akguard (`hold_headers`), with the body pattern that once filled the VM. The
//! VM stays up: meanwhile a clean call passes and a leaked-key call is denied, the VM's linear
//! memory (the `akguard.vm_memory_bytes` gauge) grows by no more than the per-request bound
//! for each held request, and once the clients give up the filter answers as before.
//!
//! `AKGUARD_HELD_BODIES` sets how many are held (default 300; `docs/reliability.md` reports
//! 1,000).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;
mod hostile;

use envoy::bootstrap::{bootstrap, direct_listener};
use envoy::client::{send, Request, Version};
use envoy::{Envoy, Options};
use hostile::{CLEAN, LEAKED, MIB};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The per-request bound on the check's state.
const STATE_BOUND: u64 = 16 * 1024;
const HOST: &str = "ecs.cn-hangzhou.aliyuncs.com";

fn held_count() -> usize {
    std::env::var("AKGUARD_HELD_BODIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// The highest `akguard.vm_memory_bytes` over two ticks (every VM of the plugin records its
/// own linear memory there once a second).
fn vm_memory(envoy: &Envoy) -> u64 {
    let deadline = Instant::now() + Duration::from_millis(2_200);
    let mut most = 0;
    while Instant::now() < deadline {
        most = most.max(envoy.stat("wasmcustom.akguard.vm_memory_bytes"));
        std::thread::sleep(Duration::from_millis(100));
    }
    most
}

fn call(envoy: &Envoy, key: &str) -> u16 {
    let path = format!("/?Action=RunInstances&AccessKeyId={key}");
    send(
        Version::Http1,
        envoy.port("front"),
        &Request::get(HOST, &path),
    )
    .status
}

/// Opens a connection and sends the head of a form POST declaring one byte more than
/// `body`, then `body`: the request stays unfinished.
fn hold(port: u16, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /?Action=DescribeRegions&AccessKeyId={CLEAN} HTTP/1.1\r\nHost: {HOST}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len() + 1
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream
}

#[test]
fn held_bodies_at_max_body_bytes_leave_the_vm_answering_within_bounded_memory() {
    let held = held_count();
    let config = format!(
        r#"{{"leaked_keys": ["{LEAKED}"], "max_body_bytes": {MIB}, "hold_headers": true}}"#
    );
    let envoy = Envoy::start(
        &bootstrap(vec![direct_listener("front", &config, true)], vec![]),
        &Options {
            tag: "held-bodies".into(),
            ..Options::default()
        },
    );
    assert_eq!(call(&envoy, CLEAN), 200);
    assert_eq!(call(&envoy, LEAKED), 403);
    let before = vm_memory(&envoy);
    let body = hostile::bodies(MIB)
        .into_iter()
        .find(|h| h.name == "long-key-values")
        .unwrap()
        .body;
    let port = envoy.port("front");
    let started = Instant::now();
    let connections: Vec<TcpStream> = (0..held).map(|_| hold(port, &body)).collect();
    // Every byte sent has reached Envoy and been handed to the filter.
    let want = (held * MIB) as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while envoy.stat("http.front.downstream_cx_rx_bytes_total") < want {
        assert!(
            Instant::now() < deadline,
            "Envoy did not take every held body"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = started.elapsed();
    assert_eq!(envoy.stat("http.front.downstream_rq_active"), held as u64);
    let clean_started = Instant::now();
    assert_eq!(
        call(&envoy, CLEAN),
        200,
        "a clean call while bodies are held"
    );
    let clean_time = clean_started.elapsed();
    assert_eq!(
        call(&envoy, LEAKED),
        403,
        "a leaked call while bodies are held"
    );
    let holding = vm_memory(&envoy);
    println!(
        "{held} form bodies of {MIB} bytes held in Envoy (sent in {:.1} s): akguard VM linear \
         memory {:.2} MiB before, {:.2} MiB holding them ({} bytes a held request); a clean call \
         meanwhile answered in {:.1} ms",
        sent.as_secs_f64(),
        before as f64 / MIB as f64,
        holding as f64 / MIB as f64,
        holding.saturating_sub(before) / held as u64,
        clean_time.as_secs_f64() * 1e3
    );
    assert!(before > 0, "the filter records its VM's linear memory");
    assert!(
        holding <= before + held as u64 * STATE_BOUND,
        "linear memory grew from {before} to {holding} bytes for {held} held requests"
    );
    drop(connections);
    let deadline = Instant::now() + Duration::from_secs(10);
    while envoy.stat("http.front.downstream_rq_active") > 0 {
        assert!(Instant::now() < deadline, "the held requests did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(call(&envoy, CLEAN), 200);
    assert_eq!(call(&envoy, LEAKED), 403);
    let log = envoy.log();
    for sign in ["failed", "panicked", "unreachable", "memory allocation"] {
        assert!(
            !log.contains(sign),
            "Envoy's log has {sign:?}:\n{}",
            envoy.log_tail(30)
        );
    }
}
