"""What every Python SDK driver shares: the plan, the test's DNS, the per-call record window.

A driver reads a plan (JSON, path in argv[1]):
    {"mode": "proxy" | "intercept-dns" | "intercept-connect",
     "proxy": "http://gateway:80", "connect_proxy": "http://gateway:3128", "ca": "org-ca.pem",
     "hosts": {"aliyuncs.com": "gateway address"}, "record": "stand-in record file",
     "region": "cn-hangzhou",
     "calls": [{"id", "product", "action", "key", "secret"} or {"id", "product", "action",
               "credentials_from": "id of an AssumeRole call"}, plus "role" for AssumeRole]}
runs the calls in order, and prints one JSON line per call: `ok` with the `request_id` (and
the `credentials` AssumeRole returned), or the SDK's `error` text (with `code`, `status`,
`message`, `error_request_id` when the SDK gives them), and `recorded`: the stand-in's record
lines written during the call.
"""

import json
import os
import socket
import sys


def load():
    with open(sys.argv[1], encoding="utf-8") as f:
        plan = json.load(f)
    point_names_at(plan.get("hosts") or {})
    return plan


def point_names_at(hosts):
    """The organisation's DNS, for the test: names under a suffix resolve to its address."""
    if not hosts:
        return
    original = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else (host or "")
        for suffix, address in hosts.items():
            if name.lower() == suffix or name.lower().endswith("." + suffix):
                return original(address, port, *args, **kwargs)
        return original(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def run(plan, call_one):
    """Runs each call through `call_one(call, credentials)` and prints its result line."""
    issued = {}
    for call in plan["calls"]:
        if "credentials_from" in call:
            credentials = issued[call["credentials_from"]]
        else:
            credentials = {"key": call["key"], "secret": call["secret"]}
        start = os.path.getsize(plan["record"]) if os.path.exists(plan["record"]) else 0
        result = {"id": call["id"]}
        try:
            result.update(call_one(call, credentials))
            result["ok"] = True
        except Exception as error:  # every SDK error is a result to report
            result.update(ok=False, error=str(error), type=type(error).__name__,
                          code=getattr(error, "code", None) or getattr(error, "error_code", None),
                          status=getattr(error, "status_code", None)
                          or getattr(error, "http_status", None),
                          message=getattr(error, "message", None),
                          error_request_id=getattr(error, "request_id", None))
            if callable(getattr(error, "get_error_code", None)):
                result.update(code=error.get_error_code(), status=error.get_http_status())
        with open(plan["record"], "rb") as f:
            f.seek(start)
            result["recorded"] = [json.loads(line) for line in f.read().splitlines() if line]
        if "credentials" in result:
            issued[call["id"]] = result["credentials"]
        print(json.dumps(result, default=str), flush=True)
