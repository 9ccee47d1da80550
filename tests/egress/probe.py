#!/usr/bin/env python3
"""Sends one raw HTTP/1.1 request to the gateway and prints what came back, as JSON.

    probe.py --to ADDR:PORT [--connect HOST:PORT [--http10]] [--tls SNI --ca FILE]
             [--method GET] [--host HOST] TARGET

--connect first asks for a tunnel (a refusal is the answer printed); --tls then speaks TLS
(to the gateway, or inside the tunnel) with that SNI, trusting --ca. Prints `status`,
`headers` (names lower-cased), `body`, `stage` ("connect" or "request") and `seconds`, or
`error`. Gives up after 10 s: a request that is held gets an error, not a hang.
"""

import argparse
import json
import socket
import ssl
import time


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = [[n.strip().lower(), v.strip()] for n, _, v in (l.partition(":") for l in lines[1:])]
    length = next((int(v) for n, v in headers if n == "content-length"), None)
    while length is not None and len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return {"status": status, "headers": headers, "body": rest[:length].decode("utf-8", "replace")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", required=True)
    parser.add_argument("--connect")
    parser.add_argument("--http10", action="store_true")
    parser.add_argument("--tls")
    parser.add_argument("--ca")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--host")
    parser.add_argument("target")
    args = parser.parse_args()
    started = time.monotonic()
    host, _, port = args.to.rpartition(":")
    result = {}
    try:
        sock = socket.create_connection((host, int(port)), timeout=10)
        if args.connect:
            version = "HTTP/1.0" if args.http10 else "HTTP/1.1"
            sock.sendall(f"CONNECT {args.connect} {version}\r\nHost: {args.connect}\r\n\r\n".encode())
            result = read_response(sock)
            result["stage"] = "connect"
            if result["status"] != 200:
                raise StopIteration
        if args.tls:
            context = ssl.create_default_context(cafile=args.ca)
            sock = context.wrap_socket(sock, server_hostname=args.tls)
        absolute = args.target.split("/")[2] if "://" in args.target else None
        authority = args.host or absolute or args.tls or (args.connect or "").rpartition(":")[0]
        sock.sendall(f"{args.method} {args.target} HTTP/1.1\r\nHost: {authority}\r\n"
                     f"Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        result = read_response(sock)
        result["stage"] = "request"
    except StopIteration:
        pass
    except (OSError, ValueError, IndexError) as error:
        result = {"error": f"{type(error).__name__}: {error}", "stage": result.get("stage")}
    result["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
