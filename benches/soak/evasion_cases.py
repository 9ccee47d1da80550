"""The evasion suite's requests (tests/evasion/*.txt, format in tests/evasion/mod.rs) as wire
bytes, for the soak's hostile traffic: each case with the leaked key and with its clean twin.
Cases that need their own configuration, other keys, a denied twin or that Envoy rejects
itself are left out: the soak runs one configuration for all its traffic."""

import pathlib
import re

LEAKED = "LTAI5tLeakedKey000000001"
CLEAN = "LTAI5tCleanKey0000000001"


def expand(text, key):
    encoded = "".join(f"%{b:02X}" for b in key.encode())
    twice = "".join(f"%25{b:02X}" for b in key.encode())
    text = (text.replace("{KEY%25}", twice).replace("{KEY%}", encoded)
            .replace("{KEY}", key).replace("{CLEAN}", CLEAN))
    out = bytearray()
    i = 0
    while i < len(text):
        if text.startswith("\\\\", i):
            out += b"\\"
            i += 2
        elif text.startswith("\\x", i):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        elif text.startswith("{REPEAT:", i):
            close = text.index("}", i)
            count, piece = text[i + 8:close].split(":", 1)
            out += piece.encode() * int(count)
            i = close + 1
        else:
            out += text[i].encode()
            i += 1
    return bytes(out)


def wire(head, body, key):
    """The request as sent: head lines with CRLF, a Content-Length when a body is present
    and the head has none, and `Connection: close` (one request a connection)."""
    lines = [expand(line, key) for line in head]
    has_length = any(re.match(rb"(?i)content-length\s*:", l) for l in lines[1:])
    data = expand(body, key)
    if data and not has_length:
        lines.append(b"Content-Length: %d" % len(data))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


def load(directory):
    """[(name, leaked wire, leaked is denied, clean wire)] for every usable case."""
    cases = []
    for path in sorted(pathlib.Path(directory).glob("*.txt")):
        blocks = path.read_text().split("\n## ")[1:]
        for block in blocks:
            name, _, rest = block.partition("\n")
            fields, _, request = rest.partition("\n\n")
            values = dict(l.split(":", 1) for l in fields.splitlines())
            values = {k.strip(): v.strip() for k, v in values.items()}
            if set(values) != {"expect"}:
                continue
            head, _, body = request.partition("\n\n")
            head = head.splitlines()
            body = body.rstrip("\n")
            denied = values["expect"].startswith("deny")
            title = f"{path.name}: {name.strip()}"
            cases.append((title, wire(head, body, LEAKED), denied, wire(head, body, CLEAN)))
    return cases
