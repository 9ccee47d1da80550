#!/usr/bin/env python3
"""A stand-in for Alibaba Cloud's API servers, for the egress tests.

    standin.py --serve ADDR:PORT,CERT,KEY [--serve ...] --record FILE --ready-file FILE

Serves HTTP/1.1 over TLS on each address (one certificate per address, for every name it
covers), checks each request's signature the way Alibaba Cloud does (RPC signature V2,
HMAC-SHA1; V3, ACS3-HMAC-SHA256; OSS V1 and V4 on OSS hosts) and answers like the cloud: JSON
with `RequestId` (and the fields SDKs read for STS AssumeRole, GetCallerIdentity, ECS
DescribeRegions, SMS SendSms), or `SignatureDoesNotMatch`; OSS hosts as OSS does (objects kept
in memory, XML errors, `x-oss-request-id`). The secret of an AccessKey ID is `secret_for(id)`; an `STS.` key also
needs its security token, `token_for(id)`.

Every request is appended to --record as one JSON line, first as `"event": "headers"` once its
headers have arrived, then as `"event": "request"` with the whole body: listener, SNI, method,
target, version, headers in order as received, body (base64), the signature check's result and
the RequestId answered. A denied request must leave no line at all.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import sys
import threading
import uuid
from urllib.parse import quote, unquote, unquote_plus

STS_ROLE_LEAKED = "leaked"


def secret_for(key_id):
    return "secret-of-" + key_id


def token_for(key_id):
    return "token-of-" + key_id


def pct(text):
    """Alibaba Cloud's percent-encoding (RFC 3986 unreserved characters kept)."""
    return quote(text, safe="-_.~")


def parse_pairs(text):
    pairs = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.path, _, self.query = target.partition("?")

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def is_form(self):
        ctype = (self.header("content-type") or "").lower()
        return "x-www-form-urlencoded" in ctype

    def params(self):
        pairs = parse_pairs(self.query)
        if self.is_form():
            pairs += parse_pairs(self.body.decode("utf-8", "replace"))
        return pairs

    def param(self, name):
        for n, v in self.params():
            if n == name:
                return v
        return None

    def action(self):
        return self.header("x-acs-action") or self.param("Action") or ""


def check_v3(req, auth):
    """ACS3-HMAC-SHA256: the canonical request over method, path, query, signed headers, body."""
    fields = dict(
        part.strip().split("=", 1) for part in auth[len("ACS3-HMAC-SHA256 "):].split(",")
    )
    key_id = fields.get("Credential", "")
    signed = fields.get("SignedHeaders", "").split(";")
    query = sorted((pct(n), pct(v)) for n, v in parse_pairs(req.query))
    canonical_query = "&".join(f"{n}={v}" for n, v in query)
    canonical_headers = "".join(
        f"{name}:{(req.header(name) or '').strip()}\n" for name in signed
    )
    payload = hashlib.sha256(req.body).hexdigest()
    if req.header("x-acs-content-sha256") != payload:
        return key_id, "body hash mismatch"
    canonical = "\n".join(
        [req.method, req.path, canonical_query, canonical_headers, ";".join(signed), payload]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    want = hmac.new(secret_for(key_id).encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, fields.get("Signature", "")):
        return key_id, "signature mismatch"
    if key_id.startswith("STS.") and req.header("x-acs-security-token") != token_for(key_id):
        return key_id, "security token mismatch"
    return key_id, "ok"


def check_v2(req):
    """RPC V2 (HMAC-SHA1) over every query and form parameter but Signature."""
    # The server merges query and form parameters by name, as the SDKs do when they sign.
    params = dict(req.params())
    key_id = params.get("AccessKeyId", "")
    signature = params.get("Signature", "")
    pairs = sorted((pct(n), pct(v)) for n, v in params.items() if n != "Signature")
    canonical = "&".join(f"{n}={v}" for n, v in pairs)
    to_sign = f"{req.method}&{pct('/')}&{pct(canonical)}"
    digest = hmac.new((secret_for(key_id) + "&").encode(), to_sign.encode(), hashlib.sha1)
    want = base64.b64encode(digest.digest()).decode()
    if not hmac.compare_digest(want, signature):
        return key_id, "signature mismatch"
    if key_id.startswith("STS.") and req.param("SecurityToken") != token_for(key_id):
        return key_id, "security token mismatch"
    return key_id, "ok"


def oss_target(req):
    """The bucket (from the host: `<bucket>.oss-<region>.aliyuncs.com`) and the object key."""
    host = (req.header("host") or "").split(":")[0].lower()
    first, _, rest = host.partition(".")
    bucket = first if rest.startswith("oss-") else ""
    return bucket, unquote(req.path.lstrip("/"))


def check_oss_v1(req, auth):
    """OSS signature V1: HMAC-SHA1 over the verb, MD5, type, date, x-oss-* headers, resource."""
    key_id, _, signature = auth[len("OSS "):].partition(":")
    bucket, key = oss_target(req)
    oss_headers = sorted((n.lower(), v) for n, v in req.headers if n.lower().startswith("x-oss-"))
    canonical_headers = "".join(f"{n}:{v}\n" for n, v in oss_headers)
    resource = f"/{bucket}/{key}" if bucket else "/"
    to_sign = "\n".join([req.method, req.header("content-md5") or "",
                         req.header("content-type") or "",
                         req.header("x-oss-date") or req.header("date") or "",
                         canonical_headers + resource])
    digest = hmac.new(secret_for(key_id).encode(), to_sign.encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), signature):
        return key_id, "signature mismatch"
    return key_id, "ok"


def oss_v4_encode(text, keep_slash):
    return quote(text, safe="-_.~" + ("/" if keep_slash else ""))


def check_oss_v4(req, auth):
    """OSS signature V4 (OSS4-HMAC-SHA256): a canonical request, a scope, a derived key."""
    fields = dict(part.strip().split("=", 1) for part in auth[len("OSS4-HMAC-SHA256 "):].split(","))
    credential = fields.get("Credential", "")
    key_id, _, scope = credential.partition("/")
    date, region, product, _ = (scope.split("/") + ["", "", "", ""])[:4]
    additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
    bucket, key = oss_target(req)
    uri = oss_v4_encode(f"/{bucket}/{key}" if bucket else "/", True)
    query = sorted((oss_v4_encode(n, False), oss_v4_encode(v, False))
                   for n, v in parse_pairs(req.query))
    canonical_query = "&".join(f"{n}={v}" if v else n for n, v in query)
    signed = sorted((n.lower(), v) for n, v in req.headers
                    if n.lower().startswith("x-oss-")
                    or n.lower() in ("content-type", "content-md5") or n.lower() in additional)
    canonical_headers = "".join(f"{n}:{v}\n" for n, v in signed)
    canonical = "\n".join([req.method, uri, canonical_query, canonical_headers,
                           ";".join(sorted(additional)),
                           req.header("x-oss-content-sha256") or "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["OSS4-HMAC-SHA256", req.header("x-oss-date") or "", scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    signing = ("aliyun_v4" + secret_for(key_id)).encode()
    for part in (date, region, product, "aliyun_v4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    want = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, fields.get("Signature", "")):
        return key_id, "signature mismatch"
    return key_id, "ok"


def check_signature(req):
    auth = req.header("authorization") or ""
    if auth.startswith("OSS "):
        return check_oss_v1(req, auth)
    if auth.startswith("OSS4-HMAC-SHA256 "):
        return check_oss_v4(req, auth)
    if auth.startswith("ACS3-HMAC-SHA256 "):
        return check_v3(req, auth)
    if req.param("Signature") is not None:
        return check_v2(req)
    return "", "no signature"


def success_body(req, key_id, request_id):
    action = req.action()
    body = {"RequestId": request_id}
    if action == "AssumeRole":
        role = req.param("RoleArn") or ""
        temp = "STS.DemoLeakedTemporary1" if STS_ROLE_LEAKED in role else "STS.Clean" + uuid.uuid4().hex[:12]
        body["AssumedRoleUser"] = {"Arn": role, "AssumedRoleId": "300000000000:" + temp}
        body["Credentials"] = {
            "AccessKeyId": temp,
            "AccessKeySecret": secret_for(temp),
            "SecurityToken": token_for(temp),
            "Expiration": "2099-01-01T00:00:00Z",
        }
    elif action == "GetCallerIdentity":
        body.update({"AccountId": "1000000000000000", "UserId": key_id,
                     "Arn": "acs:ram::1000000000000000:user/test", "IdentityType": "RAMUser",
                     "PrincipalId": key_id})
    elif action == "DescribeRegions":
        body["Regions"] = {"Region": [{"RegionId": "cn-hangzhou", "LocalName": "Hangzhou",
                                       "RegionEndpoint": "ecs.cn-hangzhou.aliyuncs.com"}]}
    elif action == "SendSms":
        body.update({"Code": "OK", "Message": "OK", "BizId": "900000000000000000^0"})
    return body


OSS_OBJECTS = {}
OSS_LOCK = threading.Lock()


def oss_answer(req, verdict, request_id):
    """OSS's answer: the object operation done in memory, or OSS's XML error."""
    bucket, key = oss_target(req)
    headers = {"x-oss-request-id": request_id}
    if verdict != "ok":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n"
                "  <Code>SignatureDoesNotMatch</Code>\n"
                f"  <Message>The request signature we calculated does not match ({verdict}).</Message>\n"
                f"  <RequestId>{request_id}</RequestId>\n  <HostId>{req.header('host')}</HostId>\n"
                "</Error>\n").encode()
        headers["content-type"] = "application/xml"
        return "403 Forbidden", headers, body
    with OSS_LOCK:
        if req.method == "PUT":
            OSS_OBJECTS[(bucket, key)] = req.body
            headers["etag"] = '"' + hashlib.md5(req.body).hexdigest().upper() + '"'
            return "200 OK", headers, b""
        data = OSS_OBJECTS.get((bucket, key))
        if req.method == "DELETE":
            OSS_OBJECTS.pop((bucket, key), None)
            return "204 No Content", headers, b""
    if data is None:
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>NoSuchKey</Code>\n"
                "  <Message>The specified key does not exist.</Message>\n"
                f"  <RequestId>{request_id}</RequestId>\n</Error>\n").encode()
        headers["content-type"] = "application/xml"
        return "404 Not Found", headers, (b"" if req.method == "HEAD" else body)
    headers["etag"] = '"' + hashlib.md5(data).hexdigest().upper() + '"'
    headers["content-type"] = "application/octet-stream"
    headers["x-oss-object-type"] = "Normal"
    headers["last-modified"] = "Wed, 02 Dec 2026 00:00:00 GMT"
    if req.method == "HEAD":
        headers["content-length"] = str(len(data))
        return "200 OK", headers, b""
    return "200 OK", headers, data


def is_oss(req):
    auth = req.header("authorization") or ""
    return auth.startswith("OSS ") or auth.startswith("OSS4-HMAC-SHA256 ")


class Recorder:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, entry):
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()


def read_until(conn, buf, marker):
    while marker not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return buf


def read_exact(conn, buf, n):
    while len(buf) < n:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return buf


def read_chunked(conn, buf):
    body = b""
    while True:
        buf = read_until(conn, buf, b"\r\n")
        if buf is None:
            return None, None
        line, buf = buf.split(b"\r\n", 1)
        size = int(line.split(b";")[0], 16)
        if size == 0:
            buf = read_until(conn, buf, b"\r\n")
            if buf is None:
                return None, None
            # Trailers are not expected; skip to the blank line.
            while not buf.startswith(b"\r\n"):
                _, buf = buf.split(b"\r\n", 1)
                buf = read_until(conn, buf, b"\r\n")
            return body, buf[2:]
        buf = read_exact(conn, buf, size + 2)
        if buf is None:
            return None, None
        body += buf[:size]
        buf = buf[size + 2:]


def serve_connection(conn, listener, sni, recorder):
    buf = b""
    while True:
        buf = read_until(conn, buf, b"\r\n\r\n")
        if buf is None:
            return
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = [tuple(part.strip() for part in l.split(":", 1)) for l in lines[1:]]
        base = {"listener": listener, "sni": sni, "method": method, "target": target,
                "version": version, "headers": [list(h) for h in headers]}
        recorder.write(dict(base, event="headers"))
        hdr = {n.lower(): v for n, v in headers}
        if "chunked" in hdr.get("transfer-encoding", "").lower():
            body, buf = read_chunked(conn, buf)
        else:
            length = int(hdr.get("content-length", "0"))
            buf = read_exact(conn, buf, length)
            body, buf = (buf[:length], buf[length:]) if buf is not None else (None, None)
        if body is None:
            return
        req = Request(method, target, version, headers, body)
        request_id = str(uuid.uuid4()).upper()
        key_id, verdict = check_signature(req)
        recorder.write(dict(base, event="request", body=base64.b64encode(body).decode(),
                            action=req.action(), key=key_id, signature=verdict,
                            request_id=request_id))
        if is_oss(req):
            status, headers, payload = oss_answer(req, verdict, request_id)
            if "content-length" not in headers:
                headers["content-length"] = str(len(payload))
            conn.sendall(f"HTTP/1.1 {status}\r\n".encode()
                         + "".join(f"{n}: {v}\r\n" for n, v in headers.items()).encode()
                         + b"\r\n" + payload)
            continue
        if verdict == "ok":
            status, reply = "200 OK", success_body(req, key_id, request_id)
        else:
            status, reply = "400 Bad Request", {
                "RequestId": request_id, "HostId": hdr.get("host", ""),
                "Code": "SignatureDoesNotMatch",
                "Message": f"Specified signature does not match our calculation ({verdict})."}
        payload = json.dumps(reply).encode()
        conn.sendall(
            f"HTTP/1.1 {status}\r\ncontent-type: application/json;charset=utf-8\r\n"
            f"x-acs-request-id: {request_id}\r\ncontent-length: {len(payload)}\r\n\r\n"
            .encode() + payload)


def serve(address, cert, key, recorder):
    host, _, port = address.rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = {}

    def remember(sslobj, name, _ctx):
        names[id(sslobj)] = name

    context.sni_callback = remember
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(64)
    listener = f"{host}:{sock.getsockname()[1]}"

    def handle(raw):
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                serve_connection(conn, listener, names.pop(id(conn), None), recorder)
        except (OSError, ValueError, ssl.SSLError):
            pass

    def accept():
        while True:
            raw, _ = sock.accept()
            threading.Thread(target=handle, args=(raw,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="append", required=True, metavar="ADDR:PORT,CERT,KEY")
    parser.add_argument("--record", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()
    recorder = Recorder(args.record)
    bound = [serve(*item.split(","), recorder) for item in args.serve]
    with open(args.ready_file + ".tmp", "w", encoding="ascii") as f:
        f.write("\n".join(bound) + "\n")
    os.replace(args.ready_file + ".tmp", args.ready_file)
    if args.until_stdin_closes:
        # Started by a test: end with it (its end closes our stdin).
        sys.stdin.buffer.read()
    else:
        threading.Event().wait()


if __name__ == "__main__":
    main()
