#!/usr/bin/env bash
# Long runs that stay out of CI: the slow consumer with 1,000,000 QoS 0 messages.
# Usage: scripts/soak.sh [COUNT]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release
count=${1:-1000000}
COPPER_TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/copper-soak.XXXXXX")
export COPPER_TEST_ROOT
trap 'bash tests/support/broker.sh stop "$COPPER_TEST_ROOT/broker"; rm -rf "$COPPER_TEST_ROOT"' EXIT
read -r port _ < <(bash tests/support/broker.sh start "$COPPER_TEST_ROOT/broker")
# target/lua: mqtt -> this checkout (init.lua), copper_mqtt.so -> the release build.
release="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release"
mkdir -p target/lua
ln -sfn ../.. target/lua/mqtt
ln -sfn "$release/libcopper_mqtt.so" target/lua/copper_mqtt.so
LUA_PATH="./target/lua/?/init.lua;./tests/lua/?.lua;;" LUA_CPATH="./target/lua/?.so;;" lua5.4 -e "
  local r = require('support.flood')($port, $count, 2)
  for _, k in ipairs({ 'received', 'dropped', 'waiting', 'flood_secs', 'connected', 'reconnects',
                       'flows_again', 'rss_before_kb', 'rss_peak_kb', 'rss_after_kb' }) do
    print(('%-14s %s'):format(k, tostring(r[k])))
  end
  assert(r.connected and r.flows_again and r.received + r.dropped == $count, 'the slow consumer failed')
"
