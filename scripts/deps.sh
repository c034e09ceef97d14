#!/usr/bin/env bash
# Installs the Debian packages the demo and the tests need, when any is missing.
set -euo pipefail
# gcc builds the C host of the lifecycle spec; openssl makes the TLS test certificates;
# procps gives broker.sh its `ps`; nats-server and rabbitmq-server serve the interop specs;
# python3-paho-mqtt and util-linux (taskset) serve the benchmark suite (scripts/bench.sh);
# lua-cqueues and lua-luv are the event loops event_loops_spec.lua runs a consumer under;
# luarocks installs the rock (tests/support/rock.sh).
packages=(lua5.4 liblua5.4-dev lua-busted lua-dkjson lua-socket lua-cqueues lua-luv mosquitto
  mosquitto-clients openssl gcc procps nats-server rabbitmq-server python3-paho-mqtt util-linux
  luarocks)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "== installing ${missing[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
# Where the init system lets apt start services (systemd without a policy-rc.d that forbids
# it), these listen on every address: the tests start their own brokers on 127.0.0.1.
if [ -d /run/systemd/system ] &&
  printf '%s\n' "${missing[@]}" | grep -qx -e nats-server -e rabbitmq-server; then
  $sudo systemctl disable --now nats-server.service rabbitmq-server.service epmd.service epmd.socket
fi
