#!/usr/bin/env python3
"""akguard's Wasm plugin image, built without a container engine.

The image follows Higress's Wasm plugin image specification, one file a layer:
spec.yaml (application/vnd.module.wasm.spec.v1+yaml), README.md
(application/vnd.module.wasm.doc.v1+markdown), and plugin.wasm last, in a gzipped tar
(application/vnd.oci.image.layer.v1.tar+gzip), which is also the layer Istio's WasmPlugin and
Envoy Gateway read. It is written as an OCI image layout directory and as a tar archive of that
directory. Nothing in it depends on the time or the machine (tar entries dated 0, owned by 0,
gzip without a name or a date), so the same module, spec and README give the same digest.

Prints the image digest and the module's sha256.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile

SPEC_TYPE = "application/vnd.module.wasm.spec.v1+yaml"
DOC_TYPE = "application/vnd.module.wasm.doc.v1+markdown"
WASM_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
TITLE = "org.opencontainers.image.title"
REF_NAME = "org.opencontainers.image.ref.name"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def one_file_tar(name, data):
    """A tar holding one file, with nothing of the build machine in its header."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def gzipped(data):
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def package_version(cargo_toml):
    """The version in Cargo.toml's [package] table."""
    with open(cargo_toml, encoding="utf-8") as f:
        text = f.read()
    package = text.split("[package]", 1)[1].split("\n[", 1)[0]
    match = re.search(r'^version\s*=\s*"([^"]+)"', package, re.M)
    if not match:
        sys.exit(f"akguard image: no version in {cargo_toml}'s [package]")
    return match.group(1)


def spec_version(spec):
    match = re.search(r"^info:\n(?:  .*\n)*?  version:\s*(\S+)", spec.decode(), re.M)
    return match.group(1) if match else None


def build(module, spec, readme, version):
    """The image's blobs (digest -> bytes) and its manifest's digest."""
    blobs = {}

    def add(data):
        digest = sha256(data)
        blobs[digest] = data
        return digest

    layers, diff_ids = [], []
    for name, data, media_type, stored in [
        ("spec.yaml", spec, SPEC_TYPE, spec),
        ("README.md", readme, DOC_TYPE, readme),
        ("plugin.wasm", module, WASM_LAYER_TYPE, None),
    ]:
        if stored is None:
            tar = one_file_tar(name, data)
            stored = gzipped(tar)
            diff_ids.append(sha256(tar))
        else:
            diff_ids.append(sha256(stored))
        layers.append(
            {
                "mediaType": media_type,
                "digest": add(stored),
                "size": len(stored),
                "annotations": {TITLE: name},
            }
        )
    config = canonical_json(
        {
            "architecture": "wasm",
            "os": "wasip1",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    )
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": add(config), "size": len(config)},
            "layers": layers,
            "annotations": {
                "org.opencontainers.image.title": "akguard",
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.description": "akguard Wasm plugin (Higress Wasm plugin image specification)",
            },
        }
    )
    digest = add(manifest)
    return blobs, digest, len(manifest)


def write_layout(directory, blobs, digest, size, version):
    """An OCI image layout: oci-layout, index.json (the manifest tagged `version`), blobs."""
    if os.path.exists(directory):
        shutil.rmtree(directory)
    os.makedirs(os.path.join(directory, "blobs", "sha256"))
    files = {
        "oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    {
                        "mediaType": MANIFEST_TYPE,
                        "digest": digest,
                        "size": size,
                        "annotations": {REF_NAME: version},
                    }
                ],
            }
        ),
    }
    for blob_digest, data in blobs.items():
        files["blobs/sha256/" + blob_digest.split(":", 1)[1]] = data
    for path, data in files.items():
        with open(os.path.join(directory, path), "wb") as f:
            f.write(data)
    return files


def write_archive(path, files):
    """The layout as one tar (what skopeo's oci-archive: transport reads), entries sorted."""
    with tarfile.open(path + ".tmp", mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for directory in ["blobs", "blobs/sha256"]:
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = 0
            tar.addfile(info)
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    os.replace(path + ".tmp", path)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", default=os.path.join(root, "target/wasm32-wasip1/release/akguard.wasm"))
    parser.add_argument("--spec", default=os.path.join(root, "deploy/image/spec.yaml"))
    parser.add_argument("--readme", default=os.path.join(root, "README.md"))
    parser.add_argument("--out", default=os.path.join(root, "target/image"))
    args = parser.parse_args()

    version = package_version(os.path.join(root, "Cargo.toml"))
    with open(args.module, "rb") as f:
        module = f.read()
    with open(args.spec, "rb") as f:
        spec = f.read()
    with open(args.readme, "rb") as f:
        readme = f.read()
    if spec_version(spec) != version:
        sys.exit(
            f"akguard image: {args.spec} gives version {spec_version(spec)}, Cargo.toml {version}"
        )

    blobs, digest, size = build(module, spec, readme, version)
    os.makedirs(args.out, exist_ok=True)
    layout = os.path.join(args.out, "akguard-oci")
    files = write_layout(layout, blobs, digest, size, version)
    archive = os.path.join(args.out, f"akguard-{version}.oci.tar")
    write_archive(archive, files)
    module_sha = hashlib.sha256(module).hexdigest()
    with open(os.path.join(args.out, "digest"), "w", encoding="utf-8") as f:
        f.write(digest + "\n")
    with open(os.path.join(args.out, "akguard.wasm.sha256"), "w", encoding="utf-8") as f:
        f.write(f"{module_sha}  akguard.wasm\n")
    print(f"image:   {layout} (OCI layout, tag {version})")
    print(f"archive: {archive}")
    print(f"digest:  {digest}")
    print(f"module:  sha256:{module_sha} ({len(module)} bytes)")


if __name__ == "__main__":
    main()
