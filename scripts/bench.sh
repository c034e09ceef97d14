#!/usr/bin/env bash
# The benchmark suite (issue 6; outside CI): W1–W6 and memory with the Lua client, raw
# rumqttc in two shapes and Paho Python, against a mosquitto it starts pinned to CPU 0.
# Prints one markdown table of medians and the targets; every run's JSON line goes to
# target/bench/results.jsonl. See docs/performance.md.
# Usage: scripts/bench.sh [--quick] [--runs N] [--lua-api receive|listen] [--only W1,W4,...]
#                         [--clients lua,async,threaded,paho] [--baseline DIR]
# --baseline DIR: an A/B in one run; DIR is another checkout whose library this script has
# built and laid out (run `scripts/bench.sh --quick --only W1` there once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
[ "$(nproc)" -ge 2 ] || echo "bench.sh: warning: one CPU; the W4 placements are the same" >&2

echo "== cargo build --release (the module, and the raw rumqttc reference)" >&2
cargo build --release >&2
cargo build --release --example rumqttc_reference >&2

# target/lua: mqtt -> this checkout (init.lua), copper_mqtt.so -> the release build.
release="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release"
mkdir -p target/lua
ln -sfn ../.. target/lua/mqtt
ln -sfn "$release/libcopper_mqtt.so" target/lua/copper_mqtt.so
if [ "$release" != "$(realpath -m target/release)" ]; then
  mkdir -p target/release/examples
  ln -sfn "$release/examples/rumqttc_reference" target/release/examples/rumqttc_reference
fi

exec python3 benches/runner.py "$@"
