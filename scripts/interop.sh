#!/usr/bin/env bash
# The interop suite: tests/lua/interop_spec.lua (connect, auth, QoS 0/1/2, retained messages,
# wildcards, the will, sessions, reconnection) against each kind of broker, every one started
# by tests/support/broker.sh on 127.0.0.1 with its own config: mosquitto, NATS' MQTT listener
# and RabbitMQ's MQTT plugin. docs/compatibility.md is filled from its output. Installs the
# Debian packages it needs first (scripts/deps.sh) and builds the release library.
#
#   scripts/interop.sh [all | KIND[,KIND]...] [busted arguments]   KIND: mosquitto, nats, rabbitmq
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=${1:-all}
[ $# -eq 0 ] || shift
[ "$kinds" != all ] || kinds=mosquitto,nats,rabbitmq
scripts/deps.sh
source scripts/testbed.sh
testbed_root

echo "== cargo build --release"
cargo build --release

echo "== busted (lua5.4): interop with $kinds"
testbed_lua
COPPER_INTEROP=$kinds timeout --kill-after=10 600 lua5.4 "$(command -v busted)" "$@" tests/lua/interop_spec.lua
