#!/usr/bin/env bash
# Runs every test: the Rust unit, property and integration tests, then the Lua specs (busted
# under lua5.4) against the release library, each against real brokers on 127.0.0.1:
# mosquitto, and for the interop spec NATS and RabbitMQ too (COPPER_INTEROP narrows that).
# Installs the Debian packages it needs first (scripts/deps.sh). Arguments go to busted,
# e.g. `scripts/test.sh tests/lua/will_spec.lua` (then the LuaRocks check is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

# No broker or child process outlives the run, whatever happened in it.
source scripts/testbed.sh
testbed_root

echo "== cargo test (vendored Lua, so tests can create Lua states)"
# Bounds on the whole run: a test that hangs fails the run instead of stalling it.
timeout --kill-after=10 900 cargo test --no-default-features --features vendored

echo "== cargo build --release (the module lua5.4 and CopperMoon load)"
cargo build --release

echo "== busted (lua5.4)"
testbed_lua
COPPER_INTEROP=${COPPER_INTEROP:-mosquitto,nats,rabbitmq} \
  timeout --kill-after=10 600 lua5.4 "$(command -v busted)" "$@"

if [ $# -eq 0 ]; then
  echo "== luarocks make into a throwaway tree, then the Quick Start from it"
  bash tests/support/rock.sh
fi
