# Sourced by scripts/test.sh and scripts/interop.sh: the root every broker and child process
# of a run lives under, and the layout busted loads the module from.

# Makes COPPER_TEST_ROOT; when the script exits, kills whatever was left running under it
# (brokers, the nodes of a cluster, RabbitMQ's epmd, child processes) and removes it, so
# nothing outlives a run.
testbed_root() {
  COPPER_TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/copper-test.XXXXXX")
  export COPPER_TEST_ROOT
  trap testbed_cleanup EXIT
}

testbed_cleanup() {
  local pidfile
  for pidfile in "$COPPER_TEST_ROOT"/*/*pid "$COPPER_TEST_ROOT"/*/*/pid "$COPPER_TEST_ROOT"/*.pid; do
    [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  done
  rm -rf "$COPPER_TEST_ROOT"
}

# target/lua: mqtt -> this checkout (init.lua), copper_mqtt.so -> the release build.
testbed_lua() {
  local release
  release="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release"
  mkdir -p target/lua
  ln -sfn ../.. target/lua/mqtt
  ln -sfn "$release/libcopper_mqtt.so" target/lua/copper_mqtt.so
}
