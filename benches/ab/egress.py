#!/usr/bin/env python3
"""Cost per request of the egress gateway examples, side by side with the demo.

Run through `./build.sh bench --egress` (as root: the stand-in for Alibaba Cloud listens on
port 443 of a loopback address, where the gateway's dynamic forward proxy connects).

One gateway Envoy (`--concurrency 1`, pinned to CPU 0) holds, each on a port of its own:
the demo (akguard in front of `direct_response`), the proxy-mode listener of
`examples/envoy-egress-proxy.yaml` and the TLS listener of
`examples/envoy-egress-intercept.yaml` (clients that DNS points at the gateway), as shipped
but for addresses, the DNS resolver, the CA bundle and the gateway certificate; and each of
the three again without akguard. Both egress listeners forward over verified TLS to a stand-in
for Alibaba Cloud: a second Envoy (`direct_response`, a certificate from a CA the run makes,
on CPU 1 with wrk). wrk sends the same clean V3 call to each in turn, rounds alternating the
order; the gateway's CPU per request (utime+stime) is reported, with each mode's cost over
the demo and akguard's share in each mode.
"""

import argparse
import copy
import json
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import envoy_configs as cfg  # noqa: E402
import run  # noqa: E402

try:
    import yaml  # noqa: E402
except ImportError:
    sys.exit("PyYAML is missing: pip install pyyaml (it reads the example files)")

ROOT = run.ROOT
WORK = run.WORK / "egress"
GATEWAY_ADMIN = 9921
CLOUD_ADMIN = 9922
PORTS = {"demo": 10300, "demo-bare": 10301, "proxy": 10302, "proxy-bare": 10303,
         "intercept": 10304, "intercept-bare": 10305}
CLOUD_IP = "127.77.0.2"


def example(name):
    return yaml.safe_load((ROOT / "examples" / name).read_text())


def each_dict(value, visit):
    if isinstance(value, dict):
        visit(value)
        for inner in value.values():
            each_dict(inner, visit)
    elif isinstance(value, list):
        for inner in value:
            each_dict(inner, visit)


def localise(node, dns_port, certs):
    """The example's resolvers, CA bundle and gateway certificate, replaced by the run's."""
    def visit(d):
        if "resolvers" in d:
            d["resolvers"] = [{"socket_address": {"address": "127.0.0.1", "port_value": dns_port}}]
        if "trusted_ca" in d:
            d["trusted_ca"] = {"filename": str(certs / "cloud-ca.pem")}
        if "tls_certificates" in d:
            d["tls_certificates"] = [{"certificate_chain": {"filename": str(certs / "gateway.pem")},
                                      "private_key": {"filename": str(certs / "gateway.key")}}]
    each_dict(node, visit)
    return node


def listener_named(bootstrap, name):
    return next(l for l in bootstrap["static_resources"]["listeners"] if l["name"] == name)


def on_port(listener, name, port):
    listener = copy.deepcopy(listener)
    listener["name"] = name
    listener["address"] = {"socket_address": {"address": "127.0.0.1", "port_value": port}}
    return listener


def without_akguard(listener):
    listener = copy.deepcopy(listener)
    def visit(d):
        if "http_filters" in d:
            d["http_filters"] = [f for f in d["http_filters"] if f.get("name") != "akguard"]
    each_dict(listener, visit)
    return listener


def gateway_bootstrap(dns_port, certs):
    proxy = localise(example("envoy-egress-proxy.yaml"), dns_port, certs)
    intercept = localise(example("envoy-egress-intercept.yaml"), dns_port, certs)
    demo = yaml.safe_load((ROOT / "examples/envoy-demo.yaml").read_text())
    demo_listener = demo["static_resources"]["listeners"][0]
    proxy_listener = listener_named(proxy, "aliyun_egress_proxy")
    tls_listener = listener_named(intercept, "aliyun_egress_tls")
    listeners = []
    for name, base in (("demo", demo_listener), ("proxy", proxy_listener),
                       ("intercept", tls_listener)):
        listeners.append(on_port(base, name, PORTS[name]))
        listeners.append(without_akguard(on_port(base, f"{name}-bare", PORTS[f"{name}-bare"])))
    clusters = [c for c in proxy["static_resources"]["clusters"] if c["name"] == "alibaba_cloud_api"]
    config = cfg.bootstrap(listeners, GATEWAY_ADMIN)
    config["static_resources"]["clusters"] = clusters
    return config


def cloud_bootstrap(certs):
    listener = cfg.listener("cloud", 443, [])
    listener["address"]["socket_address"]["address"] = CLOUD_IP
    listener["filter_chains"][0]["transport_socket"] = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {"tls_certificates": [{
                "certificate_chain": {"filename": str(certs / "cloud.pem")},
                "private_key": {"filename": str(certs / "cloud.key")}}]},
        },
    }
    return cfg.bootstrap([listener], CLOUD_ADMIN)


def start_dns():
    port_file = WORK / "dns.port"
    port_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/egress/dns.py"), "--listen", "127.0.0.1:0",
         "--port-file", str(port_file), "--map", f"aliyuncs.com={CLOUD_IP}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text())
        time.sleep(0.01)
    proc.kill()
    sys.exit("the DNS stand-in did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    certs = WORK / "certs"
    subprocess.run(["bash", str(ROOT / "tests/egress/make-certs.sh"), str(certs)], check=True)
    dns, dns_port = start_dns()
    cloud = gateway = None
    try:
        cloud = run.Envoy("egress-cloud", cloud_bootstrap(certs), concurrency=1, cpus="1",
                          admin_port=CLOUD_ADMIN)
        gateway = run.Envoy("egress-gateway", gateway_bootstrap(dns_port, certs), concurrency=1,
                            cpus="0", admin_port=GATEWAY_ADMIN)
        request = run.V3_CLEAN
        order = list(PORTS)
        scripts = {name: run.lua_script(f"egress-{name}", request) for name in order}
        for name in order:  # every variant reaches its upstream before anything is measured
            scheme = "https" if name.startswith("intercept") else "http"
            got = run.wrk(PORTS[name], scripts[name], 1, 1, scheme=scheme)
            if got["non2xx"] or got["socket_errors"] or not got["requests"]:
                sys.exit(f"{name}: {got}")
        rounds = []
        for r in range(args.rounds):
            results = {}
            for name in (order if r % 2 == 0 else order[::-1]):
                scheme = "https" if name.startswith("intercept") else "http"
                before = gateway.cpu_seconds()
                res = run.wrk(PORTS[name], scripts[name], args.duration, args.connections,
                              scheme=scheme)
                res["cpu_us"] = (gateway.cpu_seconds() - before) * 1e6 / max(res["requests"], 1)
                if res["non2xx"] or res["socket_errors"]:
                    sys.exit(f"{name}: {res}")
                results[name] = res
                run.log(f"round {r + 1} {name:15} {res['rps']:8.0f} req/s  p50 {res['p50']:6.0f} µs"
                        f"  p99 {res['p99']:6.0f} µs  cpu {res['cpu_us']:6.1f} µs/req")
            rounds.append(results)
    finally:
        for envoy in (gateway, cloud):
            if envoy:
                envoy.stop()
        dns.kill()
    print(report(rounds, args))
    (WORK / "rounds.json").write_text(json.dumps(rounds, indent=1))


def report(rounds, args):
    med = run.med
    labels = {
        "demo": "demo: akguard, `direct_response`",
        "demo-bare": "demo without akguard",
        "proxy": "proxy mode: akguard, TLS to the stand-in",
        "proxy-bare": "proxy mode without akguard",
        "intercept": "intercept mode (DNS): TLS in, akguard, TLS to the stand-in",
        "intercept-bare": "intercept mode without akguard",
    }
    lines = ["| variant | req/s | p50 µs | p99 µs | gateway CPU µs/req | CPU/req × demo |",
             "|---|---|---|---|---|---|"]
    for name, label in labels.items():
        row = [label] + [fmt.format(med([r[name][key] for r in rounds]))
                         for key, fmt in (("rps", "{:.0f}"), ("p50", "{:.0f}"), ("p99", "{:.0f}"),
                                          ("cpu_us", "{:.1f}"))]
        row.append("{:.2f}".format(med([r[name]["cpu_us"] / r["demo"]["cpu_us"] for r in rounds])))
        lines.append("| " + " | ".join(row) + " |")

    def diff(a, b):
        return med([r[a]["cpu_us"] - r[b]["cpu_us"] for r in rounds])

    lines += [
        "",
        "| derived (gateway CPU per request, median over rounds) | µs |",
        "|---|---|",
        f"| proxy mode over the demo | {diff('proxy', 'demo'):.1f} |",
        f"| intercept mode over the demo | {diff('intercept', 'demo'):.1f} |",
        f"| akguard in the demo (over the demo without it) | {diff('demo', 'demo-bare'):.1f} |",
        f"| akguard in proxy mode | {diff('proxy', 'proxy-bare'):.1f} |",
        f"| akguard in intercept mode | {diff('intercept', 'intercept-bare'):.1f} |",
        "",
        f"{len(rounds)} rounds of {args.duration} s per variant, wrk `-t1 -c{args.connections}` "
        "(keep-alive), the gateway at `--concurrency 1` on CPU 0, wrk and the stand-in on CPU 1.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
