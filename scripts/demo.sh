#!/usr/bin/env bash
# The demo: builds the module, starts mosquitto on a free 127.0.0.1 port, and runs
# examples/quickstart.lua (the documentation's Quick Start) against it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release

COPPER_TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/copper-demo.XXXXXX")
trap 'bash tests/support/broker.sh stop "$COPPER_TEST_ROOT/broker"; rm -rf "$COPPER_TEST_ROOT"' EXIT
read -r port _ < <(bash tests/support/broker.sh start "$COPPER_TEST_ROOT/broker")
echo "== mosquitto on 127.0.0.1:$port; running examples/quickstart.lua"

# Lay the module out as a user would: mqtt/init.lua on package.path, the library on cpath.
# target/lua: mqtt -> this checkout (init.lua), copper_mqtt.so -> the release build.
release="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release"
mkdir -p target/lua
ln -sfn ../.. target/lua/mqtt
ln -sfn "$release/libcopper_mqtt.so" target/lua/copper_mqtt.so
MQTT_PORT=$port LUA_PATH="./target/lua/?/init.lua;;" LUA_CPATH="./target/lua/?.so;;" \
  timeout 30 lua5.4 examples/quickstart.lua
