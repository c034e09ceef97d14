#!/usr/bin/env bash
# The test bed's broker: starts a real broker on a free 127.0.0.1 port with a config file it
# writes, and stops, kills or restarts it by PID. Rust tests (tests/common) and Lua specs
# (tests/lua/support/broker.lua) both drive this one script. mosquitto is the broker of every
# test; NATS' MQTT listener and RabbitMQ's MQTT plugin serve the interop specs.
#
#   broker.sh start DIR [--kind mosquitto|nats|rabbitmq] [--user NAME:PASS]... [--conf LINE]...
#                       [--acl FILE] [--persist] [--deny FILTER]...   prints "PORT PID"
#   broker.sh restart DIR    same config, same port;  prints "PORT PID"
#   broker.sh stop DIR       SIGTERM, then SIGKILL after 5 s; waits until it is gone
#   broker.sh kill DIR       SIGKILL (kill -9); waits until it is gone
#
# --kind is mosquitto by default. --user turns anonymous access off (RabbitMQ takes one
# user). --conf adds a line to the broker's own config file. --acl, --persist and --deny are
# mosquitto's: --deny makes SUBSCRIBE to FILTER fail with 0x80 (through the dynamic-security
# plugin, since a plain acl_file grants and then delivers nothing); NATS and RabbitMQ always
# keep their state in DIR across a restart.
# Each broker's files live in DIR: kind, its config, port, pid, log (and RabbitMQ's Erlang
# distribution port, dist.port, and its own epmd: epmd.port, epmd.pid). A broker whose DIR lies under $COPPER_TEST_ROOT is also killed by the
# test runner when the run ends. Every port, NATS' client port and Erlang's distribution and
# epmd ports included, is bound to 127.0.0.1; NATS' monitoring port stays off.
# tests/support/cluster.sh sources this script for its functions: each node of a cluster lives
# in a DIR of kind nats that the commands here act on.
set -euo pipefail

DYNSEC_PLUGIN=${DYNSEC_PLUGIN:-$(ls /usr/lib/*/mosquitto_dynamic_security.so 2>/dev/null | head -n 1)}
RABBITMQ_SERVER=${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}

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

random_port() { echo $(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 )); }

# Writes DIR/kind and the broker's config template (its port is @PORT@).
write_config() {
  local dir=$1; shift
  local kind=mosquitto users=() acl="" persist=0 denies=() extra=()
  while [ $# -gt 0 ]; do
    case $1 in
      --kind) kind=$2; shift 2 ;;
      --user) users+=("$2"); shift 2 ;;
      --acl) acl=$2; shift 2 ;;
      --persist) persist=1; shift ;;
      --deny) denies+=("$2"); shift 2 ;;
      --conf) extra+=("$2"); shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  if [ "$kind" != mosquitto ]; then
    [ -z "$acl" ] && [ ${#denies[@]} = 0 ] || die "--acl and --deny are mosquitto options"
  fi
  echo "$kind" > "$dir/kind"
  case $kind in
    mosquitto) write_mosquitto_config "$dir" ;;
    nats) write_nats_config "$dir" ;;
    rabbitmq) write_rabbitmq_config "$dir" ;;
    *) die "unknown broker kind $kind (mosquitto, nats or rabbitmq)" ;;
  esac
}

# The write_*_config functions read write_config's option variables.
write_mosquitto_config() {
  local dir=$1
  {
    echo "listener @PORT@ 127.0.0.1"
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

# NATS serves MQTT only with JetStream (which keeps sessions and retained messages) and a
# server name. MQTT clients log in as NATS users. A QoS 1 message NATS sent to a session's
# connection as it closed is sent again only after `ack_wait` (30 s by default): 1 s here.
write_nats_config() {
  local dir=$1 u
  {
    echo "server_name: copper_test"
    echo "host: 127.0.0.1"
    echo "port: -1"
    echo "log_file: \"$dir/log\""
    echo "jetstream { store_dir: \"$dir/jetstream\" }"
    echo "mqtt { host: 127.0.0.1, port: @PORT@, ack_wait: \"1s\" }"
    if [ ${#users[@]} -gt 0 ]; then
      echo "authorization { users = ["
      for u in "${users[@]}"; do echo "  { user: \"${u%%:*}\", password: \"${u#*:}\" }"; done
      echo "] }"
    fi
    for line in "${extra[@]}"; do echo "$line"; done
  } > "$dir/nats.conf.in"
}

# RabbitMQ with the MQTT plugin alone: no AMQP listener. Anonymous MQTT clients log in as
# the default user (guest, or the --user).
write_rabbitmq_config() {
  local dir=$1
  [ ${#users[@]} -le 1 ] || die "rabbitmq takes one --user"
  echo "[rabbitmq_mqtt]." > "$dir/enabled_plugins"
  : > "$dir/rabbitmq-env.conf"
  {
    echo "listeners.tcp = none"
    echo "mqtt.listeners.tcp.1 = 127.0.0.1:@PORT@"
    echo "log.console = false"
    if [ ${#users[@]} -gt 0 ]; then
      echo "default_user = ${users[0]%%:*}"
      echo "default_pass = ${users[0]#*:}"
      echo "mqtt.allow_anonymous = false"
    else
      echo "mqtt.allow_anonymous = true"
    fi
    for line in "${extra[@]}"; do echo "$line"; done
  } > "$dir/rabbitmq.conf.in"
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

# Waits until the broker's log in DIR has a line matching $3, at most $4 twentieths of a second;
# 0 when it did, 1 when the broker exited because a port was taken, 2 on other failures.
await_start() {
  local dir=$1 pid=$2 ready=$3 tries=$4
  while [ "$tries" -gt 0 ]; do
    grep -q "$ready" "$dir/log" 2>/dev/null && return 0
    if ! alive "$pid"; then
      grep -qiE "address already in use|eaddrinuse|dist_port_already_used" "$dir/log" "$dir/stderr" &&
        return 1
      return 2
    fi
    tries=$((tries - 1))
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  return 2
}

# Starts the broker of DIR on $port; returns as await_start does.
launch() {
  local dir=$1 port=$2 kind pid
  kind=$(cat "$dir/kind")
  echo "$port" > "$dir/port"
  : > "$dir/log"
  case $kind in
    mosquitto)
      sed "s/@PORT@/$port/" "$dir/mosquitto.conf.in" > "$dir/mosquitto.conf"
      setsid mosquitto -c "$dir/mosquitto.conf" > "$dir/stderr" 2>&1 < /dev/null &
      pid=$!; echo "$pid" > "$dir/pid"
      # Up when it logs "running" (after binding); a taken port makes it exit instead.
      await_start "$dir" "$pid" " running$" 100 ;;
    nats)
      sed "s/@PORT@/$port/" "$dir/nats.conf.in" > "$dir/nats.conf"
      setsid nats-server -c "$dir/nats.conf" > "$dir/stderr" 2>&1 < /dev/null &
      pid=$!; echo "$pid" > "$dir/pid"
      await_start "$dir" "$pid" "Server is ready" 200 ;;
    rabbitmq)
      start_epmd "$dir" || return 1
      sed "s/@PORT@/$port/" "$dir/rabbitmq.conf.in" > "$dir/rabbitmq.conf"
      [ -f "$dir/dist.port" ] || random_port > "$dir/dist.port"
      # RABBITMQ_ALLOW_INPUT makes the script exec the Erlang VM (with -noinput) instead of
      # waiting for it in a shell, so that the PID is the broker's own.
      env HOME="$dir" \
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_NODENAME=copper@localhost \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_DIST_PORT="$(cat "$dir/dist.port")" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" \
        RABBITMQ_LOG_BASE="$dir" \
        RABBITMQ_LOGS="$dir/log" \
        RABBITMQ_ALLOW_INPUT=true \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-noinput -start_epmd false -kernel inet_dist_use_interface {127,0,0,1}" \
        ERL_CRASH_DUMP="$dir/erl_crash.dump" \
        ERL_EPMD_ADDRESS=127.0.0.1 \
        ERL_EPMD_PORT="$(cat "$dir/epmd.port")" \
        setsid "$RABBITMQ_SERVER" > "$dir/stderr" 2>&1 < /dev/null &
      pid=$!; echo "$pid" > "$dir/pid"
      await_start "$dir" "$pid" "Server startup complete" 1800 ;;
  esac
}

# RabbitMQ's node registers with an epmd of its own on 127.0.0.1, started here (in the
# foreground, so that it has a PID to stop) unless it still runs; 1 when its port was taken.
start_epmd() {
  local dir=$1 port pid tries=50
  [ -f "$dir/epmd.pid" ] && alive "$(cat "$dir/epmd.pid")" && return 0
  port=$(cat "$dir/epmd.port" 2>/dev/null || random_port)
  echo "$port" > "$dir/epmd.port"
  setsid epmd -address 127.0.0.1 -port "$port" > "$dir/epmd.log" 2>&1 < /dev/null &
  pid=$!; echo "$pid" > "$dir/epmd.pid"
  until epmd -port "$port" -names > /dev/null 2>&1; do
    if ! alive "$pid" || [ $tries = 0 ]; then
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/epmd.port" "$dir/epmd.pid"
      return 1
    fi
    tries=$((tries - 1)); sleep 0.1
  done
}

start() {
  local dir=$1; shift
  mkdir -p "$dir"
  write_config "$dir" "$@"
  local attempt rc
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$dir/dist.port"
    rc=0; launch "$dir" "$(random_port)" || rc=$?
    case $rc in
      0) echo "$(cat "$dir/port") $(cat "$dir/pid")"; return 0 ;;
      1) continue ;;
      *) die "$(cat "$dir/kind") did not start: $(cat "$dir/stderr" "$dir/log" 2>/dev/null | tail -n 5)" ;;
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
    [ $rc = 1 ] && [ $tries -gt 0 ] || die "$(cat "$dir/kind") did not restart on port $port: $(tail -n 5 "$dir/log")"
    tries=$((tries - 1)); sleep 0.1
  done
}

# SIGTERM, then SIGKILL after 5 s, for the PID in a file; waits until it is gone.
terminate() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  wait_gone "$pid" 50 || { kill -9 "$pid" 2>/dev/null || true; wait_gone "$pid" 50; }
}

stop() {
  terminate "$1/pid"
  terminate "$1/epmd.pid"
}

kill9() {
  local dir=$1 pid
  pid=$(cat "$dir/pid" 2>/dev/null) || return 0
  kill -9 "$pid" 2>/dev/null || true
  wait_gone "$pid" 50
}

# Sourced (by cluster.sh), the script only defines its functions.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

cmd=${1:-}; [ $# -ge 2 ] || die "usage: broker.sh start|restart|stop|kill DIR [options]"
shift
case $cmd in
  start) start "$@" ;;
  restart) restart "$1" ;;
  stop) stop "$1" ;;
  kill) kill9 "$1" ;;
  *) die "unknown command $cmd" ;;
esac
