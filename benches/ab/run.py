#!/usr/bin/env python3
"""Side-by-side cost of akguard in real Envoy, and Envoy's memory with a million keys.

Run through `./build.sh bench`, which builds both modules and installs Envoy and wrk first.

Throughput run: one Envoy (`--concurrency 1`, pinned to CPU 0) with one listener per
variant, all answering with `direct_response`; wrk (pinned to CPU 1) loads each listener in
turn for a bounded time, rounds alternate the order. For every run: requests/s, p50/p99
latency, and Envoy CPU (utime+stime from /proc/<pid>/stat) per request; each as a ratio to
the no-filter listener of the same round, the median over rounds reported.

Memory run: Envoy at `--concurrency 2` with 1,000,000 keys (JSON and packed): time from
start to ready, resident memory, and resident memory over ten re-configurations pushed
through a watched file (ECDS).
"""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import envoy_configs as cfg  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "target" / "ab"
MODULE = ROOT / "target/wasm32-wasip1/release/akguard.wasm"
EMPTY = ROOT / "benches/empty-filter/target/wasm32-wasip1/release/empty_filter.wasm"
ADMIN = 9911
BASE_PORT = 10100
TICKS = os.sysconf("SC_CLK_TCK")
WASM_LOG_LEVEL = "info"

V3_CLEAN = {
    "method": "POST",
    "path": "/",
    "headers": {
        "host": "ecs.cn-hangzhou.aliyuncs.com",
        "authorization": f"ACS3-HMAC-SHA256 Credential={cfg.CLEAN},SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
        "x-acs-action": "RunInstances",
        "x-acs-version": "2014-05-26",
        "x-acs-date": "2026-01-01T12:00:00Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    },
    "body": "",
}
V3_LEAKED = {
    **V3_CLEAN,
    "headers": {
        **V3_CLEAN["headers"],
        "authorization": V3_CLEAN["headers"]["authorization"].replace(cfg.CLEAN, cfg.LEAKED),
    },
}
FORM_CLEAN = {
    "method": "POST",
    "path": "/",
    "headers": {
        "host": "ecs.cn-hangzhou.aliyuncs.com",
        "content-type": "application/x-www-form-urlencoded",
    },
    "body": f"AccessKeyId={cfg.CLEAN}&Action=RunInstances&Format=JSON&RegionId=cn-hangzhou"
    "&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
    "&SignatureVersion=1.0&Timestamp=2026-01-01T12%3A00%3A00Z&Version=2014-05-26"
    "&Signature=CT9X0VtwR86fNWSnsc6v8YGOjuE%3D",
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def high_risk_actions():
    catalog = json.loads((ROOT / "policies/high-risk.json").read_text())
    actions, all_ops = [], []
    for product in catalog["products"]:
        if product["operations"] == "*":
            all_ops += product["hosts"]
        else:
            actions += product["operations"]
    return sorted(set(actions)), all_ops


# --- Envoy -----------------------------------------------------------------------------


class Envoy:
    def __init__(self, name, config, concurrency, cpus=None, log_level="warning", admin_port=ADMIN):
        self.admin_port = admin_port
        self.path = WORK / f"{name}.json"
        self.path.write_text(json.dumps(config))
        self.log_path = WORK / f"{name}.log"
        envoy = os.environ.get("AKGUARD_ENVOY")
        if not envoy:
            sys.exit("AKGUARD_ENVOY is not set: run through ./build.sh bench")
        command = [envoy, "-c", str(self.path), "--concurrency", str(concurrency),
                   "--log-level", log_level, "--component-log-level", f"wasm:{WASM_LOG_LEVEL}",
                   "--log-format", "[%Y-%m-%d %T.%e][%l][%n] %v",
                   "--base-id", str(os.getpid() % 10000 * 10 + admin_port % 10)]
        if cpus is not None:
            command = ["taskset", "-c", cpus] + command
        self.started = time.monotonic()
        self.started_wall = time.time()
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log_path, "w"), cwd=ROOT)
        self.ready_after = self.wait_ready()

    def wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"envoy exited ({self.proc.returncode}); see {self.log_path}:\n"
                         + self.log_path.read_text()[-3000:])
            try:
                if admin("/ready", self.admin_port).strip() == "LIVE":
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        sys.exit(f"envoy not ready after {timeout} s; see {self.log_path}")

    def accepted_after(self):
        """Seconds from start to each "configuration accepted" log line (one per VM)."""
        times = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\]", line)
            if m and "akguard configuration accepted" in line:
                stamp = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%d %H:%M:%S"))
                times.append(stamp + int(m.group(1)[20:]) / 1000 - self.started_wall)
        return times

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def status(self):
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return {k: int(v.split()[0]) for k, v in re.findall(r"^(Vm\w+):\s+(.*)$", text, re.M)}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def admin(path, port=ADMIN):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path)
    return conn.getresponse().read().decode()


def stat(name):
    for line in admin(f"/stats?filter=^{re.escape(name)}$").splitlines():
        key, _, value = line.partition(": ")
        if key == name:
            return int(value)
    return None


def send(port, request):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = dict(request["headers"])
    conn.request(request["method"], request["path"], body=request["body"] or None, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


# --- wrk -------------------------------------------------------------------------------


def lua_script(name, request):
    lines = [f'wrk.method = "{request["method"]}"', f'wrk.path = "{request["path"]}"']
    for key, value in request["headers"].items():
        if key != "host":
            lines.append(f'wrk.headers["{key}"] = "{value}"')
    lines.append(f'wrk.headers["Host"] = "{request["headers"]["host"]}"')
    if request["body"]:
        lines.append(f'wrk.body = "{request["body"]}"')
    path = WORK / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


UNITS = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def wrk(port, script, seconds, connections, scheme="http"):
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(script), f"{scheme}://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True).stdout
    result = {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
              "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        result[f"p{pct}"] = float(m.group(1)) * UNITS[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = int(errors.group(1)) if errors else 0
    result["socket_errors"] = "Socket errors" in out
    return result


# --- throughput run --------------------------------------------------------------------


def variants(actions, all_ops, big_keys):
    small = {"leaked_keys": cfg.SMALL_KEYS}
    module, empty = str(MODULE), str(EMPTY)
    return [
        # name, filters, request, expected status, label
        ("no-filter", [], V3_CLEAN, 200, "no filter (V3 request)"),
        ("empty-wasm", [cfg.empty_filter(empty)], V3_CLEAN, 200, "empty proxy-wasm filter"),
        ("wasm-headers", [cfg.empty_filter(empty, "read-headers")], V3_CLEAN, 200,
         "empty filter that reads all the request headers"),
        ("wasm-4-headers", [cfg.empty_filter(empty, "read-4-headers")], V3_CLEAN, 200,
         "empty filter that reads four request headers, one by one"),
        ("wasm-headers-in-place", [cfg.empty_filter(empty, "read-headers-in-place")], V3_CLEAN, 200,
         "empty filter that reads all the request headers in place (no copy of each)"),
        ("wasm-count", [cfg.empty_filter(empty, "count")], V3_CLEAN, 200,
         "empty filter that adds one to a counter"),
        ("akguard-clean", [cfg.akguard_filter(module, small, "ak-clean")], V3_CLEAN, 200,
         "akguard, clean V3 request (10 keys)"),
        ("akguard-deny", [cfg.akguard_filter(module, small, "ak-deny")], V3_LEAKED, 403,
         "akguard, leaked key: local 403 (10 keys)"),
        ("no-filter-form", [cfg.buffer_filter()], FORM_CLEAN, 200, "no filter (form POST) ²"),
        ("akguard-form", [cfg.akguard_filter(module, small, "ak-form"), cfg.buffer_filter()],
         FORM_CLEAN, 200, "akguard, clean form body (10 keys) ²"),
        ("rbac-clean", [cfg.rbac_filter(cfg.SMALL_KEYS, actions, all_ops)], V3_CLEAN, 200,
         "Envoy RBAC, same calls, clean V3 request (10 keys)"),
        ("rbac-deny", [cfg.rbac_filter(cfg.SMALL_KEYS, actions, all_ops)], V3_LEAKED, 403,
         "Envoy RBAC, same calls, leaked key: local 403 (10 keys)"),
        ("akguard-1M", [cfg.akguard_filter(module, {"leaked_keys_packed": cfg.packed_blocks(big_keys)},
                                           "ak-1m")], V3_CLEAN, 200,
         f"akguard, clean V3 request, {len(big_keys):,} keys (packed)"),
    ]


def throughput(args):
    actions, all_ops = high_risk_actions()
    log(f"generating {args.keys} keys")
    big = cfg.big_keys(0, args.keys)
    table = variants(actions, all_ops, big)
    listeners = [cfg.listener(name, BASE_PORT + i, filters)
                 for i, (name, filters, *_rest) in enumerate(table)]
    envoy = Envoy("throughput", cfg.bootstrap(listeners, ADMIN), concurrency=1, cpus="0")
    try:
        log(f"envoy ready after {envoy.ready_after:.1f} s")
        # Every variant answers as expected before anything is measured.
        for i, (name, _f, request, want, _l) in enumerate(table):
            got = send(BASE_PORT + i, request)
            if got != want:
                sys.exit(f"{name}: status {got}, expected {want}")
        deny_1m = send(BASE_PORT + len(table) - 1, V3_LEAKED)
        if deny_1m != 403:
            sys.exit(f"akguard-1M: leaked key answered {deny_1m}, expected 403")
        rbac_port = BASE_PORT + [name for name, *_r in table].index("rbac-clean")
        rbac_deny = send(rbac_port, V3_LEAKED)
        if rbac_deny != 403:
            sys.exit(f"rbac: leaked key answered {rbac_deny}, expected 403")
        scripts = {name: lua_script(name, request) for name, _f, request, *_r in table}
        for i, (name, *_r) in enumerate(table):  # warm-up
            wrk(BASE_PORT + i, scripts[name], 1, args.connections)
        rounds = []
        for r in range(args.rounds):
            order = list(range(len(table)))
            if r % 2:
                order.reverse()
            results = {}
            for i in order:
                name, _f, _req, want, _l = table[i]
                before = envoy.cpu_seconds()
                res = wrk(BASE_PORT + i, scripts[name], args.duration, args.connections)
                res["cpu_us"] = (envoy.cpu_seconds() - before) * 1e6 / max(res["requests"], 1)
                expected_non2xx = res["requests"] if want != 200 else 0
                if abs(res["non2xx"] - expected_non2xx) > args.connections or res["socket_errors"]:
                    sys.exit(f"{name}: {res['non2xx']} non-2xx of {res['requests']} "
                             f"(socket errors: {res['socket_errors']})")
                results[name] = res
                log(f"round {r + 1} {name:15} {res['rps']:9.0f} req/s  p50 {res['p50']:7.0f} µs  "
                    f"p99 {res['p99']:7.0f} µs  cpu {res['cpu_us']:6.1f} µs/req")
            rounds.append(results)
    finally:
        envoy.stop()
    return table, rounds


def med(values):
    return statistics.median(values)


def report_throughput(table, rounds, args):
    def baseline_of(name):
        return "no-filter-form" if "form" in name else "no-filter"

    lines = ["| variant | req/s | p50 µs | p99 µs | Envoy CPU µs/req | req/s × | p50 × | p99 × | CPU/req × |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, _f, _req, _w, label in table:
        base = baseline_of(name)
        row = [label]
        for key, fmt in (("rps", "{:.0f}"), ("p50", "{:.0f}"), ("p99", "{:.0f}"), ("cpu_us", "{:.1f}")):
            row.append(fmt.format(med([r[name][key] for r in rounds])))
        for key in ("rps", "p50", "p99", "cpu_us"):
            row.append("{:.2f}".format(med([r[name][key] / r[base][key] for r in rounds])))
        lines.append("| " + " | ".join(row) + " |")

    def overhead(name, base="no-filter"):
        return [r[name]["cpu_us"] - r[base]["cpu_us"] for r in rounds]

    empty = overhead("empty-wasm")
    headers = overhead("wasm-headers")
    four = overhead("wasm-4-headers")
    in_place = overhead("wasm-headers-in-place")
    count = overhead("wasm-count")
    clean = overhead("akguard-clean")
    big = overhead("akguard-1M")
    form = overhead("akguard-form", "no-filter-form")
    rbac = overhead("rbac-clean")
    rbac_deny = overhead("rbac-deny")
    ak_deny = overhead("akguard-deny")
    deny = [r["akguard-deny"]["cpu_us"] / r["no-filter"]["cpu_us"] for r in rounds]
    # The floor of a deny: reading the headers, plus Envoy's own local reply as RBAC sends it.
    deny_floor = med(headers) + med(rbac_deny)
    # Ratios of the medians: a per-round ratio of two small differences is mostly noise.
    ratio = med(clean) / med(empty) if med(empty) > 0 else float("inf")
    ratio_big = med(big) / med(empty) if med(empty) > 0 else float("inf")
    lines += [
        "",
        "² ratios against the no-filter listener sent the same form POST; both form listeners "
        "read the whole request (Envoy's buffer filter) before direct_response answers.",
        "",
        "| derived (Envoy CPU per request, median over rounds) | value |",
        "|---|---|",
        f"| empty proxy-wasm filter: added over no filter | {med(empty):.1f} µs |",
        f"| empty filter reading all the headers: added over no filter | {med(headers):.1f} µs |",
        f"| empty filter reading four headers one by one: added over no filter | {med(four):.1f} µs |",
        f"| empty filter reading all the headers in place: added over no filter | {med(in_place):.1f} µs |",
        f"| empty filter adding one to a counter: added over no filter | {med(count):.1f} µs |",
        f"| akguard clean V3: added over no filter | {med(clean):.1f} µs |",
        f"| akguard clean V3 ÷ empty filter, added cost (goal ≤ 1.2) | {ratio:.2f} |",
        f"| akguard clean V3 with {args.keys:,} keys: added over no filter | {med(big):.1f} µs "
        f"({ratio_big:.2f} × the empty filter's) |",
        f"| akguard clean form body: added over no filter (form POST) | {med(form):.1f} µs |",
        f"| Envoy RBAC (same calls, 10 keys): added over no filter | {med(rbac):.1f} µs |",
        f"| akguard leaked-key deny ÷ no-filter request (goal ≤ 1.2) | {med(deny):.2f} |",
        f"| Envoy RBAC leaked-key deny: added over no filter | {med(rbac_deny):.1f} µs |",
        f"| akguard leaked-key deny: added over no filter | {med(ak_deny):.1f} µs |",
        f"| akguard deny − (header-reading floor + RBAC deny) (goal ≤ 1 µs) | "
        f"{med(ak_deny) - deny_floor:.1f} µs |",
        "",
        f"{len(rounds)} rounds of {args.duration} s per variant, wrk `-t1 -c{args.connections}`, "
        "Envoy `--concurrency 1` on CPU 0, wrk on CPU 1.",
    ]
    return "\n".join(lines)


# --- memory run ------------------------------------------------------------------------


def rss_mb(envoy):
    s = envoy.status()
    return s["VmRSS"] / 1024, s["VmHWM"] / 1024


def memory(args):
    module = str(MODULE)
    rows = []
    leaked_check = dict(V3_LEAKED)
    cases = [
        ("akguard, 10 keys", {"leaked_keys": cfg.SMALL_KEYS}),
        (f"akguard, {args.keys:,} keys, leaked_keys (JSON)", {"leaked_keys": cfg.big_keys(0, args.keys)}),
        (f"akguard, {args.keys:,} keys, leaked_keys_packed",
         {"leaked_keys_packed": cfg.packed_blocks(cfg.big_keys(0, args.keys))}),
    ]
    for label, configuration in [("no filter", None)] + cases:
        filters = [] if configuration is None else [cfg.akguard_filter(module, configuration, "akguard")]
        text_mb = len(json.dumps(configuration)) / 1e6 if configuration else 0
        boot = cfg.bootstrap([cfg.listener("mem", BASE_PORT, filters)], ADMIN)
        envoy = Envoy("memory", boot, concurrency=2)
        try:
            time.sleep(1)
            status = send(BASE_PORT, leaked_check)
            rss, hwm = rss_mb(envoy)
            vms = stat("wasm.envoy.wasm.runtime.v8.active") if configuration else 0
            accepted = envoy.accepted_after()
            spans = f"{accepted[0]:.2f} – {accepted[-1]:.2f}" if accepted else "–"
            rows.append((label, text_mb, envoy.ready_after, spans, rss, hwm, vms, status))
            log(f"{label}: ready {envoy.ready_after:.2f} s, RSS {rss:.0f} MB (peak {hwm:.0f}), "
                f"VMs {vms}, leaked request → {status}")
        finally:
            envoy.stop()
    return rows, reconfigure(args)


def reconfigure(args):
    """Ten pushes of different 1,000,000-key packed sets through a watched ECDS file."""
    module = str(MODULE)
    directory = WORK / "ecds"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)

    def prepare(version):
        configuration = {"leaked_keys_packed": cfg.packed_blocks(cfg.big_keys(version, args.keys))}
        tmp = directory / "akguard.json.tmp"
        tmp.write_text(json.dumps(cfg.ecds_resource(module, configuration, version)))
        return tmp

    def push(tmp):
        os.rename(tmp, directory / "akguard.json")

    push(prepare(0))
    boot = cfg.bootstrap([cfg.ecds_listener("ecds", BASE_PORT, str(directory))], ADMIN)
    envoy = Envoy("reconfigure", boot, concurrency=2)
    samples = []
    reload_stat = "extension_config_discovery.http_filter.akguard.config_reload"
    try:
        deadline = time.monotonic() + 120
        while (stat(reload_stat) or 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        samples.append((0, None, *rss_mb(envoy)))
        for version in range(1, args.reconfigurations + 1):
            tmp = prepare(version)
            before = stat(reload_stat) or 0
            started = time.monotonic()
            push(tmp)
            while (stat(reload_stat) or 0) <= before:
                if time.monotonic() - started > 120:
                    sys.exit(f"re-configuration {version} not applied; see {envoy.log_path}")
                time.sleep(0.02)
            applied = time.monotonic() - started
            time.sleep(1)
            samples.append((version, applied, *rss_mb(envoy)))
            log(f"push {version}: applied in {applied:.2f} s, RSS {samples[-1][2]:.0f} MB")
        # The last set is in force: its leaked key is denied, an earlier set's key is not.
        status = send(BASE_PORT, V3_LEAKED)
        if status != 403:
            sys.exit(f"after re-configuration the leaked key answered {status}")
        fails = stat("extension_config_discovery.http_filter.akguard.config_fail") or 0
    finally:
        envoy.stop()
    return samples, fails


def report_memory(rows, reconfig, keys):
    lines = ["| Envoy `--concurrency 2` | configuration text MB | start to ready s | VMs' \"accepted\" lines, s after start | RSS MB | peak RSS MB | akguard VMs | leaked request |",
             "|---|---|---|---|---|---|---|---|"]
    for label, text_mb, ready, spans, rss, hwm, vms, status in rows:
        lines.append(f"| {label} | {text_mb:.1f} | {ready:.2f} | {spans} | {rss:.0f} | {hwm:.0f} | {vms} | {status} |")
    samples, fails = reconfig
    lines += ["", f"| push ({keys:,} packed keys, new set each time, ECDS file) | applied in s | RSS MB | peak RSS MB |",
              "|---|---|---|---|"]
    for version, applied, rss, hwm in samples:
        when = "start" if applied is None else f"{applied:.2f}"
        lines.append(f"| {version} | {when} | {rss:.0f} | {hwm:.0f} |")
    lines.append(f"\nRejected pushes (`config_fail`): {fails}. \"applied in\": from the file's rename to "
                 "Envoy's `config_reload` counter moving (the new configuration built and accepted on the "
                 "main thread; workers follow). After the last push its "
                 "leaked key is answered 403.")
    return "\n".join(lines)


# --- output ----------------------------------------------------------------------------


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    envoy = subprocess.run([os.environ["AKGUARD_ENVOY"], "--version"], capture_output=True,
                           text=True).stdout.strip().split("version:")[-1].strip()
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    return (f"{os.cpu_count()} × {cpu}, {mem} MB RAM, {platform.system()} {platform.release()}; "
            f"Envoy {envoy}; wrk {subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.split()[1]}; "
            f"module {MODULE.stat().st_size} bytes; load average at start "
            f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


def replace_section(path, marker, text):
    doc = path.read_text()
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    if begin not in doc or end not in doc:
        sys.exit(f"{path}: markers {begin} … {end} missing")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--reconfigurations", type=int, default=10)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--wasm-log-level", default="info",
                        help="Envoy's log level for Wasm (\"error\" drops akguard's deny lines)")
    parser.add_argument("--doc", type=Path, help="write the tables into this file's marked sections")
    args = parser.parse_args()
    global WASM_LOG_LEVEL
    WASM_LOG_LEVEL = args.wasm_log_level
    WORK.mkdir(parents=True, exist_ok=True)
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run through ./build.sh bench")
    for module in (MODULE, EMPTY):
        if not module.exists():
            sys.exit(f"{module} is missing: run ./build.sh bench")
    about = machine()
    rounds = []
    if not args.skip_throughput:
        table, rounds = throughput(args)
        text = report_throughput(table, rounds, args)
        print("\n" + text + "\n")
    if args.doc and rounds:
        given = sys.argv[1:]
        if "--doc" in given:
            at = given.index("--doc")
            given = given[:at] + given[at + 2:]
        command = " ".join(["./build.sh bench"] + given)
        replace_section(args.doc, "ab", f"Machine: {about}.\n\nCommand: `{command}`\n\n{text}")
    if not args.skip_memory:
        rows, reconfig = memory(args)
        mem_text = report_memory(rows, reconfig, args.keys)
        print(mem_text + "\n")
        if args.doc:
            replace_section(args.doc, "envoy-memory", mem_text)
    (WORK / "rounds.json").write_text(json.dumps(rounds, indent=1))


if __name__ == "__main__":
    main()
