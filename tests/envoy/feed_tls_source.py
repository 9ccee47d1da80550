"""A key-feed source over TLS for tests/envoy_feed_tls.rs: serves one file with an ETag (its
size and modification time) and answers 304 to a matching If-None-Match. Prints its port, then
one line per request on stdout ("<status> <If-None-Match or ->").

usage: feed_tls_source.py DOCUMENT CERT KEY
"""
import http.server
import os
import ssl
import sys

document, cert, key = sys.argv[1:4]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        stat = os.stat(document)
        etag = '"%d-%d"' % (stat.st_size, stat.st_mtime_ns)
        asked = self.headers.get("If-None-Match")
        if asked == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            with open(document, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        print("%d %s" % (304 if asked == etag else 200, asked or "-"), flush=True)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
