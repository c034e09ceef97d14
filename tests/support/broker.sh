#!/usr/bin/env bash
# The test bed's broker: starts a real mosquitto on a free 127.0.0.1 port with a config file
# it writes, and stops, kills or restarts it by PID. Rust tests (tests/common) and Lua specs
# (tests/lua/support/broker.lua) both drive this one script.
#
#   broker.sh start DIR [--user NAME:PASS]... [--acl FILE] [--persist] [--deny FILTER]...
#                       [--conf LINE]...            prints "PORT PID"
#   broker.sh restart DIR    same config, same port;  prints "PORT PID"
#   broker.sh stop DIR       SIGTERM, then SIGKILL after 5 s; waits until it is gone
#   broker.sh kill DIR       SIGKILL (kill -9); waits until it is gone
#
# --user turns anonymous access off; --deny makes SUBSCRIBE to FILTER fail with 0x80 (through
# the dynamic-security plugin, since a plain acl_file grants and then delivers nothing).
# Each broker's files live in DIR: mosquitto.conf, port, pid, log. A broker whose DIR lies
# under $COPPER_TEST_ROOT is also killed by the test runner when the run ends.
set -euo pipefail

DYNSEC_PLUGIN=${DYNSEC_PLUGIN:-$(ls /usr/lib/*/mosquitto_dynamic_security.so 2>/dev/null | head -n 1)}

die() { echo "broker.sh: $*" >&2; exit 1; }

# Whether a PID runs; a zombie (exited, not yet reaped) does not.
alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ "${stat:0:1}" != Z ]
}

# Waits for a PID to exit, at most $2 tenths of a second; returns 1 if it is still there.
wait_gone() {
  local pid=$1 tries=$2
  while alive "$pid"; do
    tries=$((tries - 1)); [ "$tries" -gt 0 ] || return 1
    sleep 0.1
  done
}

write_config() {
  local dir=$1; shift
  local users=() acl="" persist=0 denies=() extra=()
  while [ $# -gt 0 ]; do
    case $1 in
      --user) users+=("$2"); shift 2 ;;
      --acl) acl=$2; shift 2 ;;
      --persist) persist=1; shift ;;
      --deny) denies+=("$2"); shift 2 ;;
      --conf) extra+=("$2"); shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  {
    echo "listener PORT 127.0.0.1"
    # Started as root, mosquitto would switch to its own user and lose access to DIR.
    echo "user $(id -un)"
    echo "log_dest file $dir/log"
    echo "log_type error"
    echo "log_type warning"
    echo "log_type notice"
    echo "log_type information"
    echo "max_queued_messages 100000"
    if [ ${#users[@]} -gt 0 ]; then
      : > "$dir/passwd"
      for u in "${users[@]}"; do mosquitto_passwd -b "$dir/passwd" "${u%%:*}" "${u#*:}"; done
      echo "allow_anonymous false"
      echo "password_file $dir/passwd"
    else
      echo "allow_anonymous true"
    fi
    [ -z "$acl" ] || { cp "$acl" "$dir/acl"; echo "acl_file $dir/acl"; }
    if [ $persist = 1 ]; then
      echo "persistence true"
      echo "persistence_location $dir/"
      echo "autosave_interval 1"
    fi
    if [ ${#denies[@]} -gt 0 ]; then
      [ -n "$DYNSEC_PLUGIN" ] || die "the dynamic-security plugin is not installed"
      write_dynsec "$dir/dynsec.json" "${denies[@]}"
      echo "plugin $DYNSEC_PLUGIN"
      echo "plugin_opt_config_file $dir/dynsec.json"
    fi
    for line in "${extra[@]}"; do echo "$line"; done
  } > "$dir/mosquitto.conf.in"
}

# Anonymous clients may do everything except subscribe to the denied filters.
write_dynsec() {
  local file=$1; shift
  local acls="" f
  for f in "$@"; do
    acls+="{\"acltype\":\"subscribePattern\",\"topic\":\"$f\",\"priority\":10,\"allow\":false},"
  done
  cat > "$file" <<JSON
{"clients":[],
 "groups":[{"groupname":"anonymous","roles":[{"rolename":"tests"}]}],
 "roles":[{"rolename":"tests","acls":[${acls}
   {"acltype":"subscribePattern","topic":"#","allow":true},
   {"acltype":"publishClientSend","topic":"#","allow":true},
   {"acltype":"publishClientReceive","topic":"#","allow":true},
   {"acltype":"unsubscribePattern","topic":"#","allow":true}]}],
 "anonymousGroup":"anonymous",
 "defaultACLAccess":{"publishClientSend":true,"publishClientReceive":true,"subscribe":true,"unsubscribe":true}}
JSON
}

# Starts mosquitto on $port; 0 when it is up, 1 when the port was taken, 2 on other failures.
launch() {
  local dir=$1 port=$2
  sed "s/^listener PORT /listener $port /" "$dir/mosquitto.conf.in" > "$dir/mosquitto.conf"
  : > "$dir/log"
  setsid mosquitto -c "$dir/mosquitto.conf" > "$dir/stderr" 2>&1 < /dev/null &
  local pid=$! tries=100
  echo "$pid" > "$dir/pid"
  echo "$port" > "$dir/port"
  # Up when it logs "running" (after binding); a taken port makes it exit instead.
  while [ $tries -gt 0 ]; do
    grep -q " running$" "$dir/log" 2>/dev/null && return 0
    if ! alive "$pid"; then
      grep -qi "address already in use" "$dir/log" "$dir/stderr" && return 1
      return 2
    fi
    tries=$((tries - 1))
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  return 2
}

start() {
  local dir=$1; shift
  mkdir -p "$dir"
  write_config "$dir" "$@"
  local attempt rc
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    local port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    rc=0; launch "$dir" "$port" || rc=$?
    case $rc in
      0) echo "$port $(cat "$dir/pid")"; return 0 ;;
      1) continue ;;
      *) die "mosquitto did not start: $(cat "$dir/stderr" "$dir/log" 2>/dev/null | tail -n 5)" ;;
    esac
  done
  die "no free port found in 10 attempts"
}

restart() {
  local dir=$1 port
  port=$(cat "$dir/port")
  # The old socket may linger briefly in the kernel after a kill: retry the same port.
  local tries=50 rc
  while :; do
    rc=0; launch "$dir" "$port" || rc=$?
    [ $rc = 0 ] && { echo "$port $(cat "$dir/pid")"; return 0; }
    [ $rc = 1 ] && [ $tries -gt 0 ] || die "mosquitto did not restart on port $port: $(tail -n 5 "$dir/log")"
    tries=$((tries - 1)); sleep 0.1
  done
}

stop() {
  local dir=$1 pid
  pid=$(cat "$dir/pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  wait_gone "$pid" 50 || { kill -9 "$pid" 2>/dev/null || true; wait_gone "$pid" 50; }
}

kill9() {
  local dir=$1 pid
  pid=$(cat "$dir/pid" 2>/dev/null) || return 0
  kill -9 "$pid" 2>/dev/null || true
  wait_gone "$pid" 50
}

cmd=${1:-}; [ $# -ge 2 ] || die "usage: broker.sh start|restart|stop|kill DIR [options]"
shift
case $cmd in
  start) start "$@" ;;
  restart) restart "$1" ;;
  stop) stop "$1" ;;
  kill) kill9 "$1" ;;
  *) die "unknown command $cmd" ;;
esac
