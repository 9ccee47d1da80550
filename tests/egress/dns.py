#!/usr/bin/env python3
"""A tiny DNS server for the egress tests: stands in for the VPC's resolver.

    dns.py --listen 127.0.0.1:0 --port-file FILE --map SUFFIX=IPV4 [--map ...]
           [--nxdomain NAME ...] [--log FILE]

Answers A queries for names equal to or under a mapped suffix with that address (the longest
suffix wins), an empty answer (NOERROR) to other types for those names, and NXDOMAIN to every
other name and to the --nxdomain names. Serves UDP and TCP on the same port; writes the UDP port, once bound, to
--port-file. Every question is appended to --log as `qtype name`.
"""

import argparse
import os
import socket
import socketserver
import struct
import sys
import threading

TYPE_A = 1


def parse_question(packet):
    """The query id, flags, question name (lower case), type and the question's raw bytes."""
    if len(packet) < 12:
        raise ValueError("short packet")
    qid, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    labels, offset = [], 12
    while True:
        length = packet[offset]
        offset += 1
        if length == 0:
            break
        if length & 0xC0:
            raise ValueError("compressed question name")
        labels.append(packet[offset:offset + length].decode("ascii", "replace"))
        offset += length
    qtype, _qclass = struct.unpack("!HH", packet[offset:offset + 4])
    question = packet[12:offset + 4]
    return qid, flags, ".".join(labels).lower(), qtype, question


class Resolver:
    def __init__(self, mapping, missing, log_path):
        # Longest suffix first.
        self.mapping = sorted(mapping, key=lambda m: -len(m[0]))
        self.missing = missing
        self.log_path = log_path
        self.lock = threading.Lock()

    def lookup(self, name):
        if name in self.missing:
            return None
        for suffix, address in self.mapping:
            if name == suffix or name.endswith("." + suffix):
                return address
        return None

    def answer(self, packet):
        qid, flags, name, qtype, question = parse_question(packet)
        if self.log_path:
            with self.lock, open(self.log_path, "a", encoding="utf-8") as log:
                log.write(f"{qtype} {name}\n")
        address = self.lookup(name)
        rd = flags & 0x0100
        # QR, AA, RD copied, RA; RCODE 3 (NXDOMAIN) for unknown names.
        rcode = 0 if address else 3
        reply_flags = 0x8000 | 0x0400 | rd | 0x0080 | rcode
        answers = b""
        ancount = 0
        if address and qtype == TYPE_A:
            ancount = 1
            # Name pointer to the question (offset 12), type A, class IN, TTL 30, 4 bytes.
            answers = struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, 30, 4) + socket.inet_aton(address)
        header = struct.pack("!HHHHHH", qid, reply_flags, 1, ancount, 0, 0)
        return header + question + answers


def serve(resolver, host, port):
    class Udp(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            try:
                sock.sendto(resolver.answer(data), self.client_address)
            except (ValueError, IndexError, struct.error):
                pass

    class Tcp(socketserver.BaseRequestHandler):
        def handle(self):
            while True:
                head = self.request.recv(2)
                if len(head) < 2:
                    return
                (length,) = struct.unpack("!H", head)
                data = b""
                while len(data) < length:
                    chunk = self.request.recv(length - len(data))
                    if not chunk:
                        return
                    data += chunk
                try:
                    reply = resolver.answer(data)
                except (ValueError, IndexError, struct.error):
                    return
                self.request.sendall(struct.pack("!H", len(reply)) + reply)

    socketserver.ThreadingUDPServer.allow_reuse_address = True
    udp = socketserver.ThreadingUDPServer((host, port), Udp)
    bound = udp.server_address[1]
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    tcp = socketserver.ThreadingTCPServer((host, bound), Tcp)
    for server in (udp, tcp):
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return bound


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--map", action="append", default=[], metavar="SUFFIX=IPV4")
    parser.add_argument("--nxdomain", action="append", default=[], metavar="NAME")
    parser.add_argument("--log")
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()
    mapping = []
    for item in args.map:
        suffix, _, address = item.partition("=")
        socket.inet_aton(address)
        mapping.append((suffix.lower().strip("."), address))
    host, _, port = args.listen.rpartition(":")
    bound = serve(Resolver(mapping, {n.lower() for n in args.nxdomain}, args.log), host, int(port))
    with open(args.port_file + ".tmp", "w", encoding="ascii") as f:
        f.write(str(bound))
    os.replace(args.port_file + ".tmp", args.port_file)
    if args.until_stdin_closes:
        # Started by a test: end with it (its end closes our stdin).
        sys.stdin.buffer.read()
    else:
        threading.Event().wait()


if __name__ == "__main__":
    main()
