#!/usr/bin/env bash
# The LuaRocks install, as a plain-Lua user makes it: `luarocks make` in this checkout into a
# throwaway tree, then the Quick Start (examples/quickstart.lua) run from another directory
# with only that tree's paths (`luarocks path`), against a broker of its own. Fails unless it
# prints what the Quick Start promises.
set -euo pipefail
cd "$(dirname "$0")/../.."
checkout=$PWD
root=$(mktemp -d "${TMPDIR:-/tmp}/copper-rock.XXXXXX")
trap 'bash "$checkout/tests/support/broker.sh" stop "$root/broker"; rm -rf "$root"' EXIT

timeout 900 luarocks make --lua-version 5.4 --tree "$root/tree" >"$root/make.log" 2>&1 ||
  { cat "$root/make.log"; exit 1; }
read -r port _ < <(bash tests/support/broker.sh start "$root/broker")
cp examples/quickstart.lua "$root/"
out=$(cd "$root" && eval "$(luarocks --lua-version 5.4 --tree "$root/tree" path)" &&
  MQTT_PORT=$port timeout 30 lua5.4 quickstart.lua)
expected=$'sensors/temperature\n22.5'
if [ "$out" != "$expected" ]; then
  printf 'the Quick Start from the rock printed:\n%s\nexpected:\n%s\n' "$out" "$expected" >&2
  exit 1
fi
echo "the Quick Start ran from a rock tree: ok"
