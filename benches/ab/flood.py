#!/usr/bin/env python3
"""Clean traffic through akguard with and without a concurrent flood of leaked-key calls.

Run through `./build.sh bench --flood`, which builds the module and installs Envoy and wrk.

One Envoy (`--concurrency 2`, both workers pinned to CPU 0) with akguard (10 leaked keys)
on two listeners: one with the default deny log bound, one logging every deny whole
(`deny_log_lines_per_second` at its maximum), wasm logs at warning level into a file as a
gateway would keep them. For each listener, rounds alternate: clean V3 calls alone (wrk,
CPU 1), then the same clean calls while a second wrk (CPU 1) sends leaked-key `RunInstances`
as fast as it can. Reported: the clean calls' requests/s and p50/p99 latency, each with the
flood as a ratio to without (median over rounds), the flood's rate, Envoy CPU per request,
and the deny log lines written against the denies counted.
"""

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import envoy_configs as cfg  # noqa: E402
import run  # noqa: E402

PORT = 10300
ADMIN = 9931


def wrk_pair(clean_port, clean_script, flood_script, seconds, connections, flood_connections):
    """The clean load, and the flood at once when a flood script is given."""

    flood = {}

    def flood_run():
        flood.update(run.wrk(clean_port, flood_script, seconds, flood_connections))

    thread = None
    if flood_script is not None:
        thread = threading.Thread(target=flood_run)
        thread.start()
    try:
        clean = run.wrk(clean_port, clean_script, seconds, connections)
    finally:
        if thread is not None:
            thread.join()
    return clean, flood


def log_lines(envoy):
    text = envoy.log_path.read_text(errors="replace")
    full = text.count("akguard deny: ")
    summaries = [line for line in text.splitlines() if "akguard deny-summary: " in line]
    counted = 0
    for line in summaries:
        for word in line.split():
            if word.startswith("count="):
                counted += int(word[len("count="):])
    return full, len(summaries), counted


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="clean load's connections")
    parser.add_argument("--flood-connections", type=int, default=32)
    args = parser.parse_args()

    run.WORK.mkdir(parents=True, exist_ok=True)
    run.WASM_LOG_LEVEL = "warning"
    module = str(run.MODULE)
    variants = [
        ("bounded", {"leaked_keys": cfg.SMALL_KEYS}, "deny log bound at its default (20 lines a second a VM)"),
        ("every-line", {"leaked_keys": cfg.SMALL_KEYS, "deny_log_lines_per_second": 100000},
         "every deny logged whole"),
    ]
    listeners = [cfg.listener(name, PORT + i, [cfg.akguard_filter(module, conf, f"flood-{name}")])
                 for i, (name, conf, _l) in enumerate(variants)]
    envoy = run.Envoy("flood", cfg.bootstrap(listeners, ADMIN), concurrency=2, cpus="0",
                      admin_port=ADMIN)
    clean_script = run.lua_script("flood-clean", run.V3_CLEAN)
    flood_script = run.lua_script("flood-leaked", run.V3_LEAKED)
    rows = {}
    try:
        for i, (name, _c, _l) in enumerate(variants):
            if run.send(PORT + i, run.V3_CLEAN) != 200 or run.send(PORT + i, run.V3_LEAKED) != 403:
                sys.exit(f"{name}: the listener does not answer 200 / 403")
            run.wrk(PORT + i, clean_script, 1, args.connections)  # warm-up
        for r in range(args.rounds):
            for i, (name, _c, _l) in enumerate(variants):
                for flooded in ([False, True] if r % 2 == 0 else [True, False]):
                    full_before = log_lines(envoy)
                    cpu_before = envoy.cpu_seconds()
                    clean, flood = wrk_pair(PORT + i, clean_script,
                                            flood_script if flooded else None,
                                            args.duration, args.connections, args.flood_connections)
                    cpu = envoy.cpu_seconds() - cpu_before
                    if clean["non2xx"] or clean["socket_errors"]:
                        sys.exit(f"{name}: clean calls failed: {clean}")
                    total = clean["requests"] + flood.get("requests", 0)
                    full_after = log_lines(envoy)
                    key = (name, flooded)
                    rows.setdefault(key, []).append({
                        "rps": clean["rps"], "p50": clean["p50"], "p99": clean["p99"],
                        "flood_rps": flood.get("rps", 0.0),
                        "cpu_us": cpu * 1e6 / max(total, 1),
                        "full_lines": full_after[0] - full_before[0],
                    })
                    run.log(f"round {r + 1} {name:10} flood={flooded!s:5} clean {clean['rps']:8.0f} req/s "
                            f"p50 {clean['p50']:6.0f} µs p99 {clean['p99']:6.0f} µs; "
                            f"flood {flood.get('rps', 0):8.0f} req/s; cpu {cpu * 1e6 / max(total, 1):5.1f} µs/req; "
                            f"{full_after[0] - full_before[0]} full deny lines")
        # Every deny accounted for: the last second's summaries are written by the next tick.
        time.sleep(2.5)
        full, summaries, counted = log_lines(envoy)
        text = run.admin("/stats?filter=akguard.denied$", ADMIN)
        denied = sum(int(line.rsplit(": ", 1)[1]) for line in text.splitlines() if ": " in line)
    finally:
        envoy.stop()

    med = statistics.median
    print("| listener | clean req/s alone | with flood | × | p50 µs alone | with flood | × | "
          "p99 µs alone | with flood | × | flood req/s | Envoy CPU µs/req (flooded) | full deny lines/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, _c, label in variants:
        alone, flooded = rows[(name, False)], rows[(name, True)]

        def ratio(key):
            return med([f[key] / a[key] for a, f in zip(alone, flooded)])

        lines_per_s = med([f["full_lines"] / args.duration for f in flooded])
        print(f"| {label} | {med([a['rps'] for a in alone]):.0f} | {med([f['rps'] for f in flooded]):.0f} | "
              f"{ratio('rps'):.2f} | {med([a['p50'] for a in alone]):.0f} | {med([f['p50'] for f in flooded]):.0f} | "
              f"{ratio('p50'):.2f} | {med([a['p99'] for a in alone]):.0f} | {med([f['p99'] for f in flooded]):.0f} | "
              f"{ratio('p99'):.2f} | {med([f['flood_rps'] for f in flooded]):.0f} | "
              f"{med([f['cpu_us'] for f in flooded]):.1f} | {lines_per_s:.0f} |")
    print()
    print(f"Deny accounting over the whole run: {denied} denies counted by akguard.denied; "
          f"{full} full lines + {counted} in {summaries} summary lines = {full + counted}.")
    print(f"{args.rounds} rounds of {args.duration} s, clean wrk `-t1 -c{args.connections}`, flood wrk "
          f"`-t1 -c{args.flood_connections}`, both on CPU 1; Envoy `--concurrency 2` on CPU 0.")
    if full + counted != denied:
        sys.exit("denies not accounted for")


if __name__ == "__main__":
    main()
