"""Envoy bootstraps for the side-by-side runs: one listener per variant, each answering with
Envoy's own direct_response, so only the HTTP filters differ between them."""

import base64
import hashlib
import json

LEAKED = "LTAI5tLeakedKey000000001"
CLEAN = "LTAI5tCleanKey0000000001"
# The small leaked-key set, shared by akguard and the RBAC filter.
SMALL_KEYS = [LEAKED] + [f"LTAI5tSmallSet{i:010d}" for i in range(1, 10)]

ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}


def big_key(set_no, i):
    return f"LTAI5t{set_no:02d}{i:016d}"


BLOCK_ENTRIES = 6144


def packed_blocks(keys):
    """leaked_keys_packed: the sorted, distinct first 8 bytes of SHA-256(key), base64 in
    blocks of 6,144 entries (an array the filter reads without holding the whole text)."""
    entries = sorted({hashlib.sha256(k.encode()).digest()[:8] for k in keys})
    return [base64.b64encode(b"".join(entries[i:i + BLOCK_ENTRIES])).decode()
            for i in range(0, len(entries), BLOCK_ENTRIES)]


def big_keys(set_no, n):
    return [LEAKED] + [big_key(set_no, i) for i in range(1, n)]


def wasm_filter(name, module, configuration, vm_id):
    return {
        "name": name,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": name,
                "allow_on_headers_stop_iteration": True,
                "vm_config": {
                    "vm_id": vm_id,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": module}},
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": configuration,
                },
            },
        },
    }


def akguard_filter(module, configuration, vm_id):
    return wasm_filter("akguard", module, json.dumps(configuration), vm_id)


def empty_filter(module, reads=""):
    """The empty filter; `reads` is "", "read-headers", "read-4-headers",
    "read-headers-in-place" or "count"."""
    return wasm_filter("empty", module, reads, f"empty-{reads}")


def buffer_filter():
    """Reads the whole request before the route answers: without it, direct_response replies
    as soon as the headers arrive and Envoy closes the connection on a request whose body is
    still coming."""
    return {
        "name": "envoy.filters.http.buffer",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": 65536,
        },
    }


def _header(name, match):
    return {"header": {"name": name, "string_match": match}}


def rbac_filter(keys, actions, all_ops_hosts):
    """Native RBAC denying what akguard denies for `keys`, as far as header matchers can: a
    key in Authorization / x-acs-accesskey-id / the query, and a listed action in
    x-acs-action / the query, or a host whose product has every operation listed."""
    key_matchers = []
    for key in keys:
        key_matchers.append(_header("authorization", {"contains": key}))
        key_matchers.append(_header("x-acs-accesskey-id", {"exact": key}))
        key_matchers.append(_header(":path", {"contains": f"AccessKeyId={key}"}))
    action_rules = []
    for action in actions:
        action_rules.append(_header("x-acs-action", {"exact": action, "ignore_case": True}))
        action_rules.append(_header(":path", {"contains": f"Action={action}", "ignore_case": True}))
    for host in all_ops_hosts:
        action_rules.append(_header(":authority", {"prefix": f"{host}.", "ignore_case": True}))
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {
                "action": "DENY",
                "policies": {
                    "leaked-key-high-risk": {
                        "permissions": [{"or_rules": {"rules": action_rules}}],
                        "principals": [{"or_ids": {"ids": key_matchers}}],
                    }
                },
            },
        },
    }


def listener(name, port, filters):
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                            "stat_prefix": name,
                            "codec_type": "AUTO",
                            "route_config": {
                                "name": "local",
                                "virtual_hosts": [
                                    {
                                        "name": "all",
                                        "domains": ["*"],
                                        "routes": [
                                            {
                                                "match": {"prefix": "/"},
                                                "direct_response": {
                                                    "status": 200,
                                                    "body": {"inline_string": '{"RequestId":"upstream"}\n'},
                                                },
                                            }
                                        ],
                                    }
                                ],
                            },
                            "http_filters": filters + [ROUTER],
                        },
                    }
                ]
            }
        ],
    }


def bootstrap(listeners, admin_port, extra=None):
    config = {
        "node": {"id": "akguard-bench", "cluster": "akguard-bench"},
        "static_resources": {"listeners": listeners},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
    }
    if extra:
        config.update(extra)
    return config


def ecds_listener(name, port, directory):
    """A listener whose akguard filter comes from a watched file (ECDS)."""
    discovered = {
        "name": "akguard",
        "config_discovery": {
            "config_source": {
                "path_config_source": {
                    "path": f"{directory}/akguard.json",
                    "watched_directory": {"path": directory},
                }
            },
            "type_urls": ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"],
        },
    }
    return listener(name, port, [discovered])


def ecds_resource(module, configuration, version):
    typed = akguard_filter(module, configuration, "akguard")["typed_config"]
    return {
        "version_info": str(version),
        "resources": [
            {
                "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
                "name": "akguard",
                "typed_config": typed,
            }
        ],
    }
