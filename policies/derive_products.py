#!/usr/bin/env python3
"""Writes policies/products.json, the catalog of known Alibaba Cloud products and their
endpoint host shapes, from public endpoint data and the shapes that data does not spell out.

    python3 policies/derive_products.py ENDPOINTS_JSON [--check]

ENDPOINTS_JSON is `aliyunsdkcore/data/endpoints.json` of Alibaba Cloud's Python core SDK
(PyPI `aliyun-python-sdk-core`; `./build.sh test` installs it into .tools/sdk-venv). Each of
its hosts gives its product a host code (the first label, as `<code>[.<region>].aliyuncs.com`)
or, for a host led by a region (`cn-hangzhou.fc.aliyuncs.com`), a shape. Codes that the
high-risk list (policies/high-risk.json) gives a listed product stay that product's, and the
listed products are known products too (so they stay known under a replacement list). The
shapes of policies/products-shapes.json (OSS buckets, Log Service projects, Function Compute
accounts, …) are merged in. --check compares with the file instead of writing it.
"""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REGION = re.compile(r"^(af|ap|cn|eu|me|na|rus|sa|us)-[a-z0-9-]*[a-z0-9]$")


def derive(endpoints):
    listed = json.loads((HERE / "high-risk.json").read_text())
    listed_codes = {code for row in listed["products"] for code in row["hosts"]}
    hand = json.loads((HERE / "products-shapes.json").read_text())
    products = {}

    def entry(product):
        return products.setdefault(product, {"product": product, "codes": set(), "shapes": set()})

    hosts = []
    for product, regions in endpoints["regional_endpoints"].items():
        hosts += [(product, host) for host in regions.values()]
    hosts += list(endpoints["global_endpoints"].items())
    for product, host in sorted(hosts):
        if not host.endswith(".aliyuncs.com"):
            continue  # not an Alibaba Cloud API host name (e.g. bsb.cloud.alipay.com)
        labels = host[: -len(".aliyuncs.com")].split(".")
        if len(labels) == 2 and REGION.match(labels[0]):
            entry(product)["shapes"].add("{region}." + labels[1])
            continue
        code = labels[0]
        # A legacy regional host (`ecs-cn-hangzhou`) gives the code before the region.
        head, _, tail = code.partition("-")
        if tail and REGION.match(tail) and head:
            code = head
        if code in listed_codes or any(code.startswith(c + "-") for c in listed_codes):
            continue  # a listed product's host
        entry(product)["codes"].add(code)
    for item in hand["products"]:
        e = entry(item["product"])
        e["codes"].update(item.get("codes", []))
        e["shapes"].update(item.get("shapes", []))
        for field in ("name", "errors"):
            if field in item:
                e[field] = item[field]
    # The listed products too, so that they stay known under a list that no longer names them
    # (a replacement list in the configuration).
    for row in listed["products"]:
        e = entry(row["product"])
        e["codes"].update(row["hosts"])
        e.setdefault("name", row["name"])
    # A code claimed by two products (one endpoint serving both) stays with the first.
    claimed = {}
    for product in sorted(products):
        e = products[product]
        e["codes"] = sorted(c for c in e["codes"] if claimed.setdefault(c, product) == product)
        e["shapes"] = sorted(e["shapes"])
    out = []
    for product in sorted(products):
        e = products[product]
        if not e["codes"] and not e["shapes"]:
            continue
        item = {"product": product}
        if "name" in e:
            item["name"] = e["name"]
        if e["codes"]:
            item["codes"] = e["codes"]
        if e["shapes"]:
            item["shapes"] = e["shapes"]
        if "errors" in e:
            item["errors"] = e["errors"]
        out.append(item)
    return {
        "source": "Alibaba Cloud's Python core SDK, aliyun-python-sdk-core "
                  f"{hand['sdk_version']}, aliyunsdkcore/data/endpoints.json (PyPI), "
                  "and the host shapes of policies/products-shapes.json",
        "recorded": hand["recorded"],
        "products": out,
    }


def render(catalog):
    lines = ["{",
             f'  "source": {json.dumps(catalog["source"])},',
             f'  "recorded": {json.dumps(catalog["recorded"])},',
             '  "products": [']
    items = [json.dumps(item, separators=(", ", ": ")) for item in catalog["products"]]
    lines += ["    " + item + ("," if i + 1 < len(items) else "") for i, item in enumerate(items)]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    endpoints = json.loads(Path(sys.argv[1]).read_text())
    text = render(derive(endpoints))
    target = HERE / "products.json"
    if "--check" in sys.argv[2:]:
        if target.read_text() != text:
            sys.exit(f"{target} differs from what {sys.argv[1]} gives: rerun without --check")
        print(f"{target}: up to date")
        return
    target.write_text(text)
    print(f"wrote {target}: {len(json.loads(text)['products'])} products")


if __name__ == "__main__":
    main()
