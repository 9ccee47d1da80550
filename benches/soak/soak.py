#!/usr/bin/env python3
"""The soak: akguard in Envoy (--concurrency 2, its configuration through ECDS from a watched
file) under a steady mix of traffic while the configuration is pushed every few seconds,
for --minutes. Standard library only. Run by `./build.sh soak [--minutes N]` (figures and
plot into docs/) and, for one minute, by tests/soak.rs.

Traffic, about --rate requests a second from four senders, each request on its own
connection: clean V3 and RPC calls, leaked-key RPC, V3 and form calls (form bodies sent
chunked, in pieces that cut the key), a leaked key calling a harmless operation, keys that are
leaked in one key set and not the other (a plain and a packed one each way), a packed filler
key, and every usable case of the evasion suite (tests/evasion) with the leaked key and with
its clean twin.

Pushes: key sets A and B alternate, each with a filler of 1,000 to 100,000 packed keys, and
after every second valid push an invalid configuration, which Envoy must reject (the set in
force stays). Each response is checked against the key set in force when its request was
sent; while a push is being applied (from the file's rename until Envoy counts the update,
plus --swap-window-ms) either set's outcome is accepted. Leaked-through: a call denied under
every set it may have met that was not denied.

Writes PREFIX.csv (per --bucket-seconds: requests, unexpected, leaked through, p50 and p99,
Envoy RSS, the akguard.vm_memory_bytes gauge's lowest and highest sample, keys in force) and
PREFIX.svg into --out, and prints a `soak:` summary line. Exits 1 on any unexpected outcome,
leaked-through call, accepted invalid configuration or unconfirmed push."""

import argparse
import base64
import bisect
import hashlib
import json
import os
import pathlib
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import evasion_cases  # noqa: E402
import plot  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
LEAKED, CLEAN = evasion_cases.LEAKED, evasion_cases.CLEAN
ROTATING = {"A": "LTAI5tSoakRotatingKeyA01", "B": "LTAI5tSoakRotatingKeyB01"}
PACKED = {"A": "LTAI5tSoakPackedKeyA0001", "B": "LTAI5tSoakPackedKeyB0001"}
FILLER = "LTAI5tSoakFill{:010d}"
SIZES = [1_000, 100_000, 10_000, 50_000]
BLOCK_ENTRIES = 6_144
INVALID = [
    ('{"leaked_keys": ["not a key"]}', "leaked_keys[0]"),
    ('{"leaked_keys": ["LTAI5tLeakedKey000000001"], "max_body_bytes": "large"}',
     "max_body_bytes"),
    # A text cut short: named for the whole configuration, with its line and column.
    ('{"leaked_keys": ["LTAI5tLeakedKey000000001"', "configuration: not valid JSON"),
    ('{"leaked_keys_packed": "!!!!"}', "leaked_keys_packed"),
]
ECDS_PREFIX = "extension_config_discovery.http_filter.akguard."


def default_leaked_keys():
    """The evasion suite's leaked keys (DEFAULT_CONFIG in tests/evasion/mod.rs), so that its
    cases are denied as they expect."""
    text = (ROOT / "tests/evasion/mod.rs").read_text()
    start = text.index("pub const DEFAULT_CONFIG")
    pieces = re.findall(r'r#"(.*?)"#', text[start:text.index(");", start)])
    return json.loads("".join(pieces))["leaked_keys"]


def packed_blocks(keys):
    entries = sorted({hashlib.sha256(k.encode()).digest()[:8] for k in keys})
    return [base64.b64encode(b"".join(entries[i:i + BLOCK_ENTRIES])).decode()
            for i in range(0, len(entries), BLOCK_ENTRIES)]


def configuration(key_set, size, base_keys):
    keys = [FILLER.format(i) for i in range(size)] + [PACKED[key_set]]
    return json.dumps({"leaked_keys": base_keys + [ROTATING[key_set]],
                       "leaked_keys_packed": packed_blocks(keys), "hold_headers": True})


def ecds_resource(version, text):
    return {
        "version_info": str(version),
        "resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": "akguard",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": {
                    "name": "akguard", "root_id": "akguard", "failure_policy": "FAIL_RELOAD",
                    "allow_on_headers_stop_iteration": True,
                    "vm_config": {"vm_id": "akguard", "runtime": "envoy.wasm.runtime.v8",
                                  "code": {"local": {"filename": str(MODULE)}}},
                    "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                      "value": text},
                },
            },
        }],
    }


def write_atomically(path, data):
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.rename(tmp, path)


def bootstrap(port, ecds_file):
    return {
        "node": {"id": "akguard-soak", "cluster": "akguard-soak"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {"listeners": [{
            "name": "soak", "stat_prefix": "soak",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network."
                             "http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "soak", "codec_type": "AUTO",
                    "route_config": {"name": "soak", "virtual_hosts": [{
                        "name": "all", "domains": ["*"],
                        "routes": [{"match": {"prefix": "/"}, "direct_response": {
                            "status": 200, "body": {"inline_string": "reached the upstream"}}}]}]},
                    "http_filters": [
                        {"name": "akguard", "config_discovery": {
                            "config_source": {"path_config_source": {
                                "path": str(ecds_file),
                                "watched_directory": {"path": str(ecds_file.parent)}}},
                            "type_urls": ["type.googleapis.com/envoy.extensions.filters.http."
                                          "wasm.v3.Wasm"]}},
                        {"name": "envoy.filters.http.router", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.http."
                                     "router.v3.Router"}},
                    ],
                }}]}],
        }]},
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- requests: (wire pieces, expected status given the key set in force) -----------------

HOST = "Host: ecs.cn-hangzhou.aliyuncs.com"


def head(method, target, *lines):
    return ("\r\n".join([f"{method} {target} HTTP/1.1", HOST, *lines, "Connection: close"])
            + "\r\n\r\n").encode()


def rpc(key, action="RunInstances"):
    return [head("GET", f"/?Action={action}&Version=2014-05-26&AccessKeyId={key}&Signature=x")]


def v3(key, action="RunInstances"):
    return [head("POST", "/?RegionId=cn-hangzhou", f"x-acs-action: {action}",
                 "x-acs-version: 2014-05-26",
                 f"Authorization: ACS3-HMAC-SHA256 Credential={key},"
                 "SignedHeaders=host;x-acs-action,Signature=0a1b", "Content-Length: 0")]


def chunked_form(key):
    body = f"Action=DeleteInstance&Version=2014-05-26&AccessKeyId={key}&Signature=x".encode()
    cut = body.index(key.encode()) + 7
    pieces = [body[:cut - 12], body[cut - 12:cut], body[cut:]]
    chunks = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]
    return [head("POST", "/", "Content-Type: application/x-www-form-urlencoded",
                 "Transfer-Encoding: chunked")] + chunks


def always(status):
    return lambda _set: status


def denied_in(key_set):
    return lambda in_force: 403 if in_force == key_set else 200


def traffic(cases):
    """The request mix: a list of (kind, pieces, expect) taken in turn."""
    mix = [
        ("clean-v3", v3(CLEAN), always(200)),
        ("clean-rpc", rpc(CLEAN), always(200)),
        ("leaked-rpc", rpc(LEAKED), always(403)),
        ("leaked-v3", v3(LEAKED, "DeleteInstance"), always(403)),
        ("leaked-form-chunked", chunked_form(LEAKED), always(403)),
        ("clean-form-chunked", chunked_form(CLEAN), always(200)),
        ("leaked-harmless", rpc(LEAKED, "DescribeRegions"), always(200)),
        ("rotating-a", rpc(ROTATING["A"]), denied_in("A")),
        ("rotating-b", v3(ROTATING["B"]), denied_in("B")),
        ("packed-a", v3(PACKED["A"], "DeleteInstance"), denied_in("A")),
        ("packed-b", rpc(PACKED["B"]), denied_in("B")),
        ("packed-filler", rpc(FILLER.format(999)), always(403)),
    ]
    out = []
    for n, (name, leaked_wire, denied, clean_wire) in enumerate(cases):
        out.append(mix[n % len(mix)])
        out.append(("evasion", [leaked_wire], always(403 if denied else 200)))
        out.append(("evasion-twin", [clean_wire], always(200)))
    return out


def send(port, pieces):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for n, piece in enumerate(pieces):
            if n:
                time.sleep(0.001)
            s.sendall(piece)
        data = b""
        while b"\r\n" not in data:
            more = s.recv(4096)
            if not more:
                break
            data += more
        return int(data.split(b" ", 2)[1])
    finally:
        s.close()


# --- Envoy and its stats -----------------------------------------------------------------

class Gateway:
    def __init__(self, workdir, port, ecds_file):
        config = workdir / "envoy.json"
        config.write_text(json.dumps(bootstrap(port, ecds_file)))
        admin_file = workdir / "admin-address"
        self.log_path = workdir / "envoy.log"
        self.proc = subprocess.Popen(
            [ENVOY, "-c", str(config), "--concurrency", "2",
             "--base-id", str(random.randint(100_000, 999_999)),
             "--admin-address-path", str(admin_file), "--log-level", "info",
             "--component-log-level", "wasm:info"],
            stdin=subprocess.DEVNULL, stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Envoy did not start; see {self.log_path}")
            try:
                self.admin = admin_file.read_text().strip()
                if self.get("/ready").strip() == "LIVE":
                    break
            except OSError:
                pass
            time.sleep(0.1)

    def get(self, path):
        with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=10) as r:
            return r.read().decode()

    def stats(self):
        text = self.get("/stats?filter=^(extension_config_discovery|wasmcustom)")
        out = {}
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if value.strip().isdigit():
                out[name] = int(value)
        return out

    def rss(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- the run -----------------------------------------------------------------------------

def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main():
    global ENVOY, MODULE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=200, help="requests a second, in all")
    parser.add_argument("--push-seconds", type=float, default=3)
    parser.add_argument("--swap-window-ms", type=float, default=200)
    parser.add_argument("--bucket-seconds", type=float, default=None)
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--prefix", default="soak")
    parser.add_argument("--envoy", default=os.environ.get("AKGUARD_ENVOY")
                        or str(ROOT / ".tools/venv/bin/envoy"))
    parser.add_argument("--module", default=str(ROOT / "target/wasm32-wasip1/release/akguard.wasm"))
    args = parser.parse_args()
    ENVOY, MODULE = args.envoy, pathlib.Path(args.module).resolve()
    for path in (ENVOY, MODULE):
        if not os.path.isfile(path):
            raise SystemExit(f"{path} is missing (./build.sh build; AKGUARD_ENVOY)")
    duration = args.minutes * 60
    bucket = args.bucket_seconds or (5 if args.minutes <= 5 else 30)
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    base_keys = default_leaked_keys()
    print(f"soak: building key sets of {', '.join(f'{s:,}' for s in SIZES)} packed keys",
          flush=True)
    texts = {(k, s): configuration(k, s, base_keys) for k in "AB" for s in SIZES}
    cases = evasion_cases.load(ROOT / "tests/evasion")
    mix = traffic(cases)

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="akguard-soak-"))
    ecds_file = workdir / "ecds" / "akguard.json"
    ecds_file.parent.mkdir()
    version = 1
    write_atomically(ecds_file, json.dumps(ecds_resource(version, texts[("A", SIZES[0])])).encode())
    port = free_port()
    gateway = Gateway(workdir, port, ecds_file)
    stop = threading.Event()
    lock = threading.Lock()
    records = []  # (sent, received, kind index, status)
    pushes = []  # dicts: at, valid, set, size, old, confirmed
    samples = []  # (t, rss, vm_memory)
    failures = []
    start = time.monotonic()

    def sender(offset, count):
        interval = count / args.rate
        n = offset
        next_at = time.monotonic()
        while not stop.is_set():
            kind = n % len(mix)
            n += count
            sent = time.monotonic()
            try:
                status = send(port, mix[kind][1])
            except (OSError, ValueError, IndexError) as e:
                status = f"error: {e}"
            received = time.monotonic()
            with lock:
                records.append((sent, received, kind, status))
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()

    def wait_counter(before, names, deadline_s=60):
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            now = gateway.stats()
            changed = [n for n in names if now.get(ECDS_PREFIX + n, 0) > before.get(ECDS_PREFIX + n, 0)]
            if changed:
                return changed[0], time.monotonic(), now
            time.sleep(0.01)
        return None, time.monotonic(), gateway.stats()

    def pusher():
        nonlocal version
        in_force, valid_pushes, invalid_pushes, size_index = "A", 0, 0, 1
        while not stop.wait(args.push_seconds):
            before = gateway.stats()
            version += 1
            if valid_pushes and valid_pushes % 2 == 0 and len(pushes) and pushes[-1]["valid"]:
                text, field = INVALID[invalid_pushes % len(INVALID)]
                invalid_pushes += 1
                at = time.monotonic()
                write_atomically(ecds_file, json.dumps(ecds_resource(version, text)).encode())
                which, confirmed, _ = wait_counter(before, ["config_fail", "update_success"])
                pushes.append({"at": at, "valid": False, "set": in_force, "old": in_force,
                               "size": 0, "confirmed": confirmed, "field": field})
                if which != "config_fail":
                    failures.append(f"invalid configuration ({field}): {which}")
                continue
            new = "B" if in_force == "A" else "A"
            size = SIZES[size_index % len(SIZES)]
            size_index += 1
            at = time.monotonic()
            write_atomically(ecds_file, json.dumps(ecds_resource(version, texts[(new, size)])).encode())
            push = {"at": at, "valid": True, "set": new, "old": in_force, "size": size,
                    "confirmed": None}
            with lock:
                pushes.append(push)
            which, confirmed, _ = wait_counter(before, ["update_success", "config_fail"])
            with lock:
                push["confirmed"] = confirmed
            if which != "update_success":
                failures.append(f"valid push of set {new} ({size:,} keys): {which}")
            in_force = new
            valid_pushes += 1

    def sampler():
        while not stop.wait(1.0):
            try:
                stats = gateway.stats()
                samples.append((time.monotonic(), gateway.rss(),
                                stats.get("wasmcustom.akguard.vm_memory_bytes", 0)))
            except OSError:
                pass

    senders = 4
    threads = [threading.Thread(target=sender, args=(i, senders)) for i in range(senders)]
    threads += [threading.Thread(target=pusher), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    while time.monotonic() - start < duration:
        time.sleep(min(5, max(0.1, duration - (time.monotonic() - start))))
        done = len(records)
        print(f"soak: {time.monotonic() - start:.0f} s, {done} requests, "
              f"{len(pushes)} pushes", flush=True)
    stop.set()
    for t in threads:
        t.join()
    log = gateway.log_path.read_text(errors="replace")
    gateway.stop()
    shutil.rmtree(workdir, ignore_errors=True)

    # Judge every response against the sets it may have met.
    window = args.swap_window_ms / 1000
    valid = [p for p in pushes if p["valid"]]
    ats = [p["at"] for p in valid]
    ends = [(p["confirmed"] or float("inf")) + window for p in valid]
    longest = max((e - a for a, e in zip(ats, ends)), default=0.0)
    unexpected, leaked_through, leaked_calls, examples = 0, 0, 0, []
    buckets = {}
    latest_old = 0.0
    for sent, received, kind, status in records:
        name, _, expect = mix[kind]
        last = bisect.bisect_right(ats, sent) - 1
        in_force = valid[last]["set"] if last >= 0 else "A"
        allowed = {in_force}
        for k in range(bisect.bisect_left(ats, sent - longest), bisect.bisect_right(ats, received)):
            if ends[k] >= sent:
                allowed |= {valid[k]["old"], valid[k]["set"]}
        outcomes = {expect(s) for s in allowed}
        ok = status in outcomes
        leaked = outcomes == {403}
        leaked_calls += leaked
        if not ok:
            unexpected += 1
            leaked_through += leaked
            if len(examples) < 10:
                examples.append(f"{name} at {sent - start:.3f} s: {status}, expected "
                                f"{sorted(outcomes)} (sets {sorted(allowed)})")
        elif expect(in_force) != status:
            # The old set's outcome after the push: how long a swap took.
            latest_old = max(latest_old, sent - ats[last])
        row = buckets.setdefault(int((sent - start) // bucket), [[], 0, 0])
        row[0].append((received - sent) * 1000)
        row[1] += not ok
        row[2] += not ok and leaked

    rows = []
    for n in range(int(-(-duration // bucket))):
        lo, hi = start + n * bucket, start + (n + 1) * bucket
        lat, bad, through = buckets.get(n, [[], 0, 0])
        mem = [s for s in samples if lo <= s[0] < hi]
        last = bisect.bisect_left(ats, hi) - 1
        keys = (valid[last]["size"] if last >= 0 else SIZES[0]) + len(base_keys) + 2
        rows.append({
            "t_s": round((n + 1) * bucket, 1),
            "requests": len(lat),
            "unexpected": bad,
            "leaked_through": through,
            "p50_ms": round(percentile(lat, 0.50), 2) if lat else "",
            "p99_ms": round(percentile(lat, 0.99), 2) if lat else "",
            "envoy_rss_mib": round(max(s[1] for s in mem) / 2**20, 1) if mem else "",
            "vm_memory_min_mib": round(min(s[2] for s in mem) / 2**20, 2) if mem else "",
            "vm_memory_max_mib": round(max(s[2] for s in mem) / 2**20, 2) if mem else "",
            "keys_in_force": keys,
        })
    csv_path = out_dir / f"{args.prefix}.csv"
    with open(csv_path, "w") as f:
        f.write(",".join(rows[0]) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row.values()) + "\n")
    svg_path = out_dir / f"{args.prefix}.svg"
    plot.svg_from_csv(csv_path, svg_path, f"akguard soak: {args.minutes:g} min, Envoy "
                      f"--concurrency 2, ECDS push every {args.push_seconds:g} s")

    vm_errors = [l for l in log.splitlines() if "RuntimeError" in l or "vm_reload" in l]
    if vm_errors:
        failures.append(f"the VM failed: {vm_errors[0]}")
    rejected_logged = log.count("akguard configuration rejected")
    for _, field in INVALID[:len([p for p in pushes if not p["valid"]])]:
        if f"akguard configuration rejected: {field}" not in log:
            failures.append(f"no rejection naming {field} in Envoy's log")
    invalid = [p for p in pushes if not p["valid"]]
    swap = [((p["confirmed"] or 0) - p["at"]) * 1000 for p in valid]
    third = [s for s in samples if s[0] >= start + duration / 3]
    rss = [s[1] / 2**20 for s in samples]
    vm = [s[2] / 2**20 for s in samples]
    p99 = [r["p99_ms"] for r in rows if r["p99_ms"] != ""]
    for line in examples:
        print(f"soak: unexpected: {line}")
    for line in failures:
        print(f"soak: failure: {line}")
    print(f"soak: {len(records)} requests over {args.minutes:g} min "
          f"({len(records) / duration:.0f}/s), {len(mix)} kinds in the mix "
          f"({len(cases)} evasion cases, each with its twin)")
    print(f"soak: pushes: {len(valid)} valid (confirmed after {min(swap, default=0):.0f} to "
          f"{max(swap, default=0):.0f} ms; the old set's outcome seen up to "
          f"{latest_old * 1000:.0f} ms after a push), {len(invalid)} invalid "
          f"(akguard logged {rejected_logged} rejections naming the field; "
          f"Envoy rejects a repeated invalid text itself)")
    if rss:
        print(f"soak: Envoy RSS {min(rss):.1f} to {max(rss):.1f} MiB (after the first third: "
              f"{min(s[1] for s in third) / 2**20:.1f} to {max(s[1] for s in third) / 2**20:.1f}); "
              f"VM linear memory {min(vm):.2f} to {max(vm):.2f} MiB (after the first third: "
              f"{min(s[2] for s in third) / 2**20:.2f} to {max(s[2] for s in third) / 2**20:.2f})")
    if p99:
        print(f"soak: p99 per {bucket:g} s: {min(p99):.2f} to {max(p99):.2f} ms")
    print(f"soak: wrote {csv_path} and {svg_path}")
    print(f"soak: requests={len(records)} unexpected={unexpected} "
          f"leaked_through={leaked_through} leaked_calls={leaked_calls} "
          f"valid_pushes={len(valid)} invalid_pushes={len(invalid)} failures={len(failures)}")
    bad = unexpected or leaked_through or failures or not valid or not invalid
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
