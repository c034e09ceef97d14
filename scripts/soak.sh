#!/usr/bin/env bash
# Long runs that stay out of CI.
# Usage: scripts/soak.sh [COUNT]          the slow consumer: COUNT QoS 0 messages of 64 bytes
#                                         to a client that does not read (default 1000000)
#        scripts/soak.sh chaos [MINUTES]  QoS 1 both ways, 1,000 messages a second each,
#                                         between two persistent-session clients through a
#                                         TCP proxy, while the broker is killed every 30 s
#                                         and the network blackholed every 45 s (default 30
#                                         minutes; tests/lua/support/chaos.lua); fails if a
#                                         message is lost
# SOAK_NO_BUILD=1 runs the library already built instead of `cargo build --release` first.
# SOAK_SIGNAL=KILL makes the chaos run kill the broker with -9 instead of SIGTERM: mosquitto
# then loses what it had not saved yet (docs/guarantees.md), so a run can fail on its account.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=flood
if [ "${1:-}" = chaos ]; then
  mode=chaos
  shift
fi
scripts/deps.sh
[ "${SOAK_NO_BUILD:-0}" = 1 ] || cargo build --release
# Every broker and child process of the run lives under COPPER_TEST_ROOT, killed at exit.
source scripts/testbed.sh
testbed_root
testbed_lua
run_lua() {
  LUA_PATH="./target/lua/?/init.lua;./tests/lua/?.lua;;" LUA_CPATH="./target/lua/?.so;;" lua5.4 -e "$1"
}

case $mode in
flood)
  count=${1:-1000000}
  read -r port _ < <(bash tests/support/broker.sh start "$COPPER_TEST_ROOT/broker")
  run_lua "
    local r = require('support.flood')($port, $count, 2)
    for _, k in ipairs({ 'received', 'dropped', 'waiting', 'flood_secs', 'connected', 'reconnects',
                         'flows_again', 'rss_before_kb', 'rss_peak_kb', 'rss_after_kb' }) do
      print(('%-14s %s'):format(k, tostring(r[k])))
    end
    assert(r.connected and r.flows_again and r.received + r.dropped == $count, 'the slow consumer failed')
  "
  ;;
chaos)
  minutes=${1:-30}
  signal=${SOAK_SIGNAL:-TERM}
  [[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || { echo "soak.sh: MINUTES must be a whole number >= 1" >&2; exit 2; }
  [[ $signal =~ ^(TERM|KILL)$ ]] || { echo "soak.sh: SOAK_SIGNAL must be TERM or KILL" >&2; exit 2; }
  echo "== chaos: $minutes min, SIG$signal, library $(sha256sum target/lua/copper_mqtt.so | cut -c1-16)"
  run_lua "
    local r = require('support.chaos')({ minutes = $minutes, signal = '$signal' })
    local e = r.events
    print(('published for %.1f s, drained in %.1f s; broker killed (SIG$signal) %d times (slowest %.2f s, '
      .. 'restart %.2f s), network blackholed %d times'):format(r.published_secs, r.drain_secs, e.kills,
      e.slowest_kill, e.slowest_restart, e.blackholes))
    local lost = 0
    for _, d in ipairs(r.directions) do
      print(('%-9s sent %d (%.1f/s, at most %d behind), received %d, missing %d, duplicates %d, out of order %d, '
        .. 'longest pause %.2f s'):format(d.name, d.sent, d.rate, d.max_lag, d.received, d.missing, d.duplicates,
        d.out_of_order, d.longest_gap))
      if d.missing > 0 then
        print('  first missing: ' .. table.concat(d.first_missing, ' '))
      end
      lost = lost + d.missing
    end
    for _, c in ipairs(r.clients) do
      print(('client %s  reconnects %d, publishes refused %d%s, queued %d, in flight %d, last error %s')
        :format(c.name, c.reconnects, c.refused, c.last_refusal and (' (' .. c.last_refusal .. ')') or '',
          c.queued, c.in_flight, tostring(c.last_error)))
    end
    local series = {}
    for _, s in ipairs(r.rss) do
      series[#series + 1] = ('%.2f:%d'):format(s.minute, s.rss_kb)
    end
    print('RSS kB by minute: ' .. table.concat(series, ' '))
    -- Flat after warm-up: minute 5 (or 1 in a short run) against the last minute of publishing.
    local warm = r.rss[math.min(#r.rss - 1, ($minutes >= 10) and 6 or 2)]
    local last = r.rss[#r.rss - 1]
    print(('RSS after warm-up: minute %.2f %d kB -> minute %.2f %d kB (%+d kB)')
      :format(warm.minute, warm.rss_kb, last.minute, last.rss_kb, last.rss_kb - warm.rss_kb))
    assert(r.faults_status == 0, 'the faults process failed: ' .. r.faults_output)
    assert(r.stray == 0, r.stray .. ' messages with an unexpected topic or payload')
    assert(lost == 0, lost .. ' messages lost')
  "
  ;;
esac
