//! The world around the gateway: certificates, loopback addresses, the DNS server and the
//! stand-in for Alibaba Cloud (children of the test, ended with it), the SDK drivers and the
//! raw probe.

use crate::envoy::repo_root;
use serde_json::Value;
use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// This directory: scripts, drivers, pinned SDK versions.
pub fn egress_dir() -> PathBuf {
    repo_root().join("tests/egress")
}

/// The Python that has Alibaba Cloud's Python SDKs. Panics when they are not installed.
pub fn python() -> PathBuf {
    let python = repo_root().join(".tools/sdk-venv/bin/python");
    assert!(
        python.is_file()
            && Command::new(&python)
                .args(["-c", "import alibabacloud_tea_openapi, aliyunsdkcore"])
                .status()
                .is_ok_and(|s| s.success()),
        "Alibaba Cloud's Python SDKs are missing from {}: run `python3 -m venv .tools/sdk-venv \
         && .tools/sdk-venv/bin/pip install --no-deps -r tests/egress/requirements.txt` \
         (./build.sh test does)",
        python.display()
    );
    python
}

/// Where Alibaba Cloud's Node.js SDKs are installed. Panics when they, or node, are missing.
pub fn node_modules() -> PathBuf {
    let modules = repo_root().join(".tools/node/node_modules");
    assert!(
        [
            "@alicloud/openapi-core",
            "@alicloud/pop-core",
            "tunnel-agent"
        ]
        .iter()
        .all(|m| modules.join(m).join("package.json").is_file()),
        "Alibaba Cloud's Node.js SDKs are missing from {}: run `mkdir -p .tools/node && cp \
         tests/egress/package.json tests/egress/package-lock.json .tools/node/ && npm ci \
         --prefix .tools/node --ignore-scripts` (./build.sh test does)",
        modules.display()
    );
    assert!(
        Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "node is not on the PATH"
    );
    modules
}

/// The loopback addresses of one run: two stand-ins (a trusted and an untrusted
/// certificate, port 443) and the two gateways (proxy mode on port 80, intercept mode on
/// ports 443 and 3128).
#[derive(Clone, Debug)]
pub struct Addresses {
    pub cloud: String,
    pub rogue: String,
    pub proxy: String,
    pub intercept: String,
}

fn bindable(address: &str, port: u16) -> bool {
    TcpListener::bind((address, port)).is_ok()
}

/// Four addresses in a 127.x.y.0/24 of this process's own, whose ports are free.
fn pick_addresses() -> Addresses {
    let pid = std::process::id();
    for attempt in 0..200u32 {
        let n = pid.wrapping_add(attempt.wrapping_mul(7919));
        let net = format!("127.{}.{}", 64 + n % 64, 1 + (n / 64) % 250);
        let addresses = Addresses {
            cloud: format!("{net}.2"),
            rogue: format!("{net}.3"),
            proxy: format!("{net}.10"),
            intercept: format!("{net}.11"),
        };
        if bindable(&addresses.cloud, 443)
            && bindable(&addresses.rogue, 443)
            && bindable(&addresses.proxy, 80)
            && bindable(&addresses.intercept, 443)
            && bindable(&addresses.intercept, 3128)
        {
            return addresses;
        }
    }
    panic!("no free loopback addresses for ports 80, 443 and 3128 (the tests run as root)");
}

/// Certificates, DNS and the stand-ins for one run.
pub struct Lab {
    pub dir: PathBuf,
    pub addresses: Addresses,
    pub dns_port: u16,
    python: PathBuf,
    children: Vec<Child>,
}

fn wait_for_file(path: &Path, children: &mut [Child]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if !text.is_empty() {
                return text;
            }
        }
        for child in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "a test service exited ({status}) before writing {}",
                    path.display()
                );
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Lab {
    pub fn start(tag: &str) -> Lab {
        let python = python();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("egress")
            .join(format!("{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let certs = dir.join("certs");
        let status = Command::new("bash")
            .arg(egress_dir().join("make-certs.sh"))
            .arg(&certs)
            .status()
            .expect("run make-certs.sh");
        assert!(status.success(), "make-certs.sh failed");
        let addresses = pick_addresses();
        let spawn = |script: &str, args: Vec<String>| {
            Command::new(&python)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .arg(egress_dir().join(script))
                .args(args)
                .arg("--until-stdin-closes")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(fs::File::create(dir.join(format!("{script}.log"))).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("start {script}: {e}"))
        };
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let cert = |name: &str| certs.join(name).to_string_lossy().into_owned();
        let mut children = vec![
            spawn(
                "dns.py",
                vec![
                    "--listen".into(),
                    "127.0.0.1:0".into(),
                    "--port-file".into(),
                    path("dns.port"),
                    "--map".into(),
                    format!("aliyuncs.com={}", addresses.cloud),
                    "--map".into(),
                    format!("badcert.cn-hangzhou.aliyuncs.com={}", addresses.rogue),
                    "--nxdomain".into(),
                    "nosuch.cn-hangzhou.aliyuncs.com".into(),
                    "--log".into(),
                    path("dns.log"),
                ],
            ),
            spawn(
                "standin.py",
                vec![
                    "--serve".into(),
                    format!(
                        "{}:443,{},{}",
                        addresses.cloud,
                        cert("cloud.pem"),
                        cert("cloud.key")
                    ),
                    "--serve".into(),
                    format!(
                        "{}:443,{},{}",
                        addresses.rogue,
                        cert("rogue.pem"),
                        cert("rogue.key")
                    ),
                    "--record".into(),
                    path("standin.jsonl"),
                    "--ready-file".into(),
                    path("standin.ready"),
                ],
            ),
        ];
        let dns_port = wait_for_file(&dir.join("dns.port"), &mut children)
            .trim()
            .parse()
            .unwrap();
        wait_for_file(&dir.join("standin.ready"), &mut children);
        fs::write(dir.join("standin.jsonl"), "").unwrap();
        Lab {
            dir,
            addresses,
            dns_port,
            python,
            children,
        }
    }

    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join("certs").join(name)
    }

    pub fn record_path(&self) -> PathBuf {
        self.dir.join("standin.jsonl")
    }

    /// Everything the stand-ins recorded so far.
    pub fn records(&self) -> Vec<Value> {
        fs::read_to_string(self.record_path())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The names the DNS server was asked for, one `qtype name` a line.
    pub fn dns_queries(&self) -> String {
        fs::read_to_string(self.dir.join("dns.log")).unwrap_or_default()
    }

    /// One raw request through `probe.py` (its arguments), and what came back.
    pub fn probe(&self, args: &[&str]) -> Value {
        let output = Command::new(&self.python)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg(egress_dir().join("probe.py"))
            .args(args)
            .output()
            .expect("run probe.py");
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "probe {args:?}: {e}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }

    /// Runs an SDK driver on a plan: its result lines, or its output when it broke.
    pub fn drive(
        &self,
        program: &str,
        script: &str,
        args: &[&str],
        plan: &Value,
        ca: Option<&Path>,
    ) -> Result<Vec<Value>, String> {
        let plan_path = self.dir.join("plan.json");
        fs::write(&plan_path, serde_json::to_vec_pretty(plan).unwrap()).unwrap();
        let mut command = match program {
            "python" => {
                let mut python = Command::new(&self.python);
                // Leaves no __pycache__ in the source tree.
                python.env("PYTHONDONTWRITEBYTECODE", "1");
                python
            }
            "node" => {
                let mut node = Command::new("node");
                node.env("NODE_PATH", node_modules());
                if let Some(ca) = ca {
                    // How a Node.js process trusts the organisation's CA.
                    node.env("NODE_EXTRA_CA_CERTS", ca);
                }
                node
            }
            other => panic!("no such program {other}"),
        };
        let mut child = command
            .arg(egress_dir().join("drivers").join(script))
            .arg(&plan_path)
            .args(args)
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program} {script}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(180);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let lines: Result<Vec<Value>, _> =
            stdout.lines().map(serde_json::from_str::<Value>).collect();
        match lines {
            Ok(lines) if status.success() => Ok(lines),
            _ => Err(format!(
                "{program} {script} {args:?}: {status}\n{stdout}\n{stderr}"
            )),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
