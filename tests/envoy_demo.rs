//! The README's demo: `./build.sh demo PORT ADMIN` (what `./build.sh run` starts after
//! building) prints three curl lines; pasted into a shell they give 200, 403 and 200; Ctrl-C
//! (SIGINT) stops Envoy and the script cleanly.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::{free_port, module_path, repo_root};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The demo script; killed if the test ends without stopping it.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn build_sh_demo_prints_three_working_curl_lines_and_stops_on_ctrl_c() {
    module_path();
    envoy::envoy_binary();
    let (port, admin) = (free_port(), free_port());
    let mut demo = Demo(
        Command::new("bash")
            .arg(repo_root().join("build.sh"))
            .args(["demo", &port.to_string(), &admin.to_string()])
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run build.sh"),
    );
    let stdout = demo.0.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut printed = Vec::new();
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        let line = lines_rx
            .recv_timeout(wait)
            .unwrap_or_else(|_| panic!("the demo did not print its curl lines: {printed:?}"));
        let done = line.starts_with("Counters:");
        printed.push(line);
        if done {
            break;
        }
    }
    let curls: Vec<&String> = printed.iter().filter(|l| l.starts_with("curl ")).collect();
    assert_eq!(curls.len(), 3, "{printed:?}");
    for (line, status, marker) in [
        (curls[0], "200", "reached the upstream"),
        (
            curls[1],
            "403",
            "There is a risk of leakage of this AccessKey.",
        ),
        (curls[2], "200", "reached the upstream"),
    ] {
        assert!(line.contains(&format!("127.0.0.1:{port}/")), "{line}");
        let output = Command::new("sh").args(["-c", line]).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let status_line = text.lines().next().unwrap_or_default();
        assert!(
            status_line.starts_with(&format!("HTTP/1.1 {status}")),
            "{line}\n{text}"
        );
        assert!(text.contains(marker), "{line}\n{text}");
    }
    let status = Command::new("kill")
        .args(["-INT", &demo.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = demo.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the demo did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "the demo exited with {exit}");
    let said_stopped = lines_rx
        .recv_timeout(Duration::from_secs(5))
        .map(|l| l.contains("stopped"));
    assert_eq!(said_stopped, Ok(true));
    for p in [port, admin] {
        assert!(
            TcpStream::connect(("127.0.0.1", p)).is_err(),
            "Envoy still listens on {p}"
        );
    }
}
