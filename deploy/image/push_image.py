#!/usr/bin/env python3
"""Pushes the image build_image.py wrote to a registry, with skopeo.

    push_image.py REGISTRY/NAME:TAG [--layout DIR] [--insecure-registry]

The layout's manifest and blobs go as they are (--preserve-digests: the digest printed by the
build is the one the registry serves). skopeo uploads every blob before the manifest, so the
tag names the image only once all of it is there: a push that fails leaves the tag where it
was. --insecure-registry allows plain HTTP (and unverified TLS): a registry on the local host.
A failure is reported with the registry and the reason, and exits 1.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys


def fail(message):
    print(f"akguard image: {message}", file=sys.stderr)
    sys.exit(1)


def reason(stderr):
    """skopeo's last error line, without its log prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "skopeo gave no reason"
    last = lines[-1]
    match = re.search(r'msg="(.*)"', last)
    text = match.group(1) if match else last
    text = text.replace('\\"', '"').replace("\\n", " ").strip()
    return re.sub(r"^(time=\S+ level=\S+ )?(Error: |FATA\[\d+\] )?", "", text)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", help="REGISTRY/NAME:TAG")
    parser.add_argument("--layout", default=os.path.join(root, "target/image/akguard-oci"))
    parser.add_argument("--insecure-registry", action="store_true")
    args = parser.parse_args()

    match = re.fullmatch(r"([^/]+)/(.+):([A-Za-z0-9_][A-Za-z0-9._-]{0,127})", args.reference)
    if not match or ("." not in match.group(1) and ":" not in match.group(1)
                     and match.group(1) != "localhost"):
        fail(f"{args.reference}: expected REGISTRY/NAME:TAG (e.g. registry.example.com/security/akguard:0.1.0)")
    registry = match.group(1)
    if shutil.which("skopeo") is None:
        fail("skopeo is not installed (Debian: apt-get install skopeo)")
    try:
        with open(os.path.join(args.layout, "index.json"), encoding="utf-8") as f:
            index = json.load(f)
        manifest = index["manifests"][0]
        digest = manifest["digest"]
        tag = manifest["annotations"]["org.opencontainers.image.ref.name"]
    except (OSError, ValueError, KeyError, IndexError) as e:
        fail(f"no image at {args.layout} ({e}): run ./build.sh image first")

    command = ["skopeo", "--insecure-policy", "copy", "--quiet", "--retry-times", "0",
               "--preserve-digests", f"oci:{args.layout}:{tag}", f"docker://{args.reference}"]
    if args.insecure_registry:
        command.insert(3, "--dest-tls-verify=false")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        fail(f"push to {registry} failed: {reason(result.stderr)}")
    print(f"pushed:  {args.reference}")
    print(f"digest:  {digest}")
    print(f"pin:     {args.reference.rsplit(':', 1)[0]}@{digest}")


if __name__ == "__main__":
    main()
