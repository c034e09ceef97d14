#!/usr/bin/env bash
# The test bed's broker cluster: NATS servers joined in one cluster, with JetStream and an MQTT
# listener on each, for the specs that lose a node (tests/lua/support/cluster.lua drives it).
#
#   cluster.sh start DIR [--nodes N] [--replicas R] [--conf LINE]...
#                        prints "NAME PORT PID MONITOR_PORT" for each node, one a line
#   cluster.sh stop DIR  stops every node (SIGTERM, then SIGKILL after 5 s)
#
# N is 3 by default. R is NATS' `mqtt { stream_replicas }`: how many nodes keep each of its
# MQTT streams (sessions, QoS 1 messages, retained messages); N by default, so that a session
# outlives the loss of a node. (Left unset, NATS 2.9 takes the number of route URLs in the
# node's config, at most 3: 2 here, where each node names the other two, and a stream on 2
# replicas stops when either is lost.) --conf adds a line to every node's config.
# Node K lives in DIR/nK, laid out as a tests/support/broker.sh DIR of kind nats (config,
# port, pid, log), so `broker.sh kill|stop|restart DIR/nK` act on one node, and the test
# runner kills it when the run ends. Every listener is bound to 127.0.0.1: MQTT (PORT), the
# monitoring endpoint (MONITOR_PORT: /healthz, /jsz, /connz?mqtt_client=ID), the routes and the
# NATS client port (kernel-chosen). The route and monitoring ports are drawn at random, since
# every node's routes name the others beforehand; when one is taken, the cluster starts again
# on new ones.
#
# start returns once every node has acknowledged a QoS 1 publish of an MQTT client. NATS logs
# "Server is ready" before its nodes have elected a JetStream metadata leader; an MQTT CONNECT
# made before that waits 4 s for the session stream and is closed, and one made before every
# node has joined is closed at once (no suitable peers for the R-replica streams). So each node
# is probed once its /healthz says it is in touch with the leader. It fails after 60 s.
set -euo pipefail
# broker.sh's launch, alive, wait_gone and random_port.
source "$(dirname "${BASH_SOURCE[0]}")/broker.sh"

die() { echo "cluster.sh: $*" >&2; exit 1; }

READY_SECS=60

# Writes DIR/nK/kind, monitor.port and nats.conf.in for nodes 1..N on the ports in the arrays
# route_port and monitor_port (the MQTT port is @PORT@, for broker.sh's launch).
write_configs() {
  local dir=$1 k j node routes
  for k in $(seq 1 "$nodes"); do
    node="$dir/n$k"
    rm -rf "$node"
    mkdir -p "$node"
    echo nats > "$node/kind"
    echo "${monitor_port[$k]}" > "$node/monitor.port"
    routes=""
    for j in $(seq 1 "$nodes"); do
      [ "$j" = "$k" ] || routes+="nats-route://127.0.0.1:${route_port[$j]}, "
    done
    {
      echo "server_name: n$k"
      echo "host: 127.0.0.1"
      echo "port: -1"
      echo "http: 127.0.0.1:${monitor_port[$k]}"
      echo "log_file: \"$node/log\""
      echo "jetstream { store_dir: \"$node/jetstream\" }"
      echo "cluster { name: copper_cluster, host: 127.0.0.1, port: ${route_port[$k]}, routes: [ ${routes%, } ] }"
      # ack_wait: a QoS 1 message NATS sent to a session as its node died is sent again after
      # 2 s (30 s by default). With 1 s, a node catching up on a backlog after the kill sent
      # most of it twice before the client's acknowledgements got through.
      echo "mqtt { host: 127.0.0.1, port: @PORT@, ack_wait: \"2s\", stream_replicas: $replicas }"
      for line in "${extra[@]}"; do echo "$line"; done
    } > "$node/nats.conf.in"
  done
}

# Draws N distinct ports for each array, none equal to another.
draw_ports() {
  local k p arr used=" "
  for k in $(seq 1 "$nodes"); do
    for arr in route_port monitor_port mqtt_port; do
      p=$(random_port)
      while [[ $used == *" $p "* ]]; do p=$(random_port); done
      used+="$p "
      eval "$arr[$k]=$p"
    done
  done
}

# GET of a path on a monitoring port (bash's /dev/tcp, within 2 s): the response, headers first.
monitor() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "GET %s HTTP/1.0\r\n\r\n" "$1" >&3 && cat <&3' \
    "$1" "$2" 2>/dev/null || true
}

# Whether a node's log says it exited because a port was taken.
port_taken() {
  grep -qiE "address already in use" "$1/log" "$1/stderr" 2>/dev/null
}

# Polls every node until each has acknowledged a QoS 1 publish (mosquitto_pub, bounded per
# try), for at most READY_SECS; 0 when all did, 1 when a node exited because a port was
# taken, 2 on other failures.
await_ready() {
  local dir=$1 deadline k node pending
  deadline=$((SECONDS + READY_SECS))
  pending=$(seq 1 "$nodes")
  while [ -n "$pending" ]; do
    local left=""
    for k in $pending; do
      node="$dir/n$k"
      if ! alive "$(cat "$node/pid")"; then
        port_taken "$node" && return 1
        echo "cluster.sh: node n$k exited: $(tail -n 5 "$node/log")" >&2
        return 2
      fi
      # Probed before it is in touch with a metadata leader, a node holds the CONNECT for 4 s.
      if ! monitor "$(cat "$node/monitor.port")" /healthz | grep -q '"status": *"ok"'; then
        left+="$k "
        continue
      fi
      timeout 5 mosquitto_pub -h 127.0.0.1 -p "$(cat "$node/port")" -V mqttv311 \
        -i "copper-ready-n$k" -q 1 -t copper/cluster/ready -m "n$k" > /dev/null 2>&1 ||
        left+="$k "
    done
    pending=$left
    [ -n "$pending" ] || return 0
    if [ $SECONDS -ge $deadline ]; then
      echo "cluster.sh: nodes $pending not ready for MQTT within ${READY_SECS} s" >&2
      return 2
    fi
    sleep 0.2
  done
}

# SIGTERM to every node still running (a killed node's PID may belong to another process by
# now: only a nats-server is signalled), then SIGKILL to those left after 5 s.
stop_all() {
  local dir=$1 k pid pids=()
  for k in $(seq 1 "$(cat "$dir/nodes" 2>/dev/null || echo 0)"); do
    pid=$(cat "$dir/n$k/pid" 2>/dev/null) || continue
    [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = nats-server ] && alive "$pid" || continue
    kill "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  for pid in "${pids[@]}"; do
    wait_gone "$pid" 50 || { kill -9 "$pid" 2>/dev/null || true; wait_gone "$pid" 50; }
  done
}

start() {
  local dir=$1; shift
  nodes=3 replicas="" extra=()
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes) nodes=$2; shift 2 ;;
      --replicas) replicas=$2; shift 2 ;;
      --conf) extra+=("$2"); shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  replicas=${replicas:-$nodes}
  mkdir -p "$dir"
  echo "$nodes" > "$dir/nodes"
  local attempt k rc
  for attempt in 1 2 3 4 5; do
    route_port=() monitor_port=() mqtt_port=()
    draw_ports
    write_configs "$dir"
    rc=0
    for k in $(seq 1 "$nodes"); do
      launch "$dir/n$k" "${mqtt_port[$k]}" || { rc=$?; break; }
    done
    [ $rc = 0 ] && { await_ready "$dir" || rc=$?; }
    case $rc in
      0)
        for k in $(seq 1 "$nodes"); do
          echo "n$k $(cat "$dir/n$k/port") $(cat "$dir/n$k/pid") $(cat "$dir/n$k/monitor.port")"
        done
        return 0 ;;
      1) stop_all "$dir" ;;
      *)
        stop_all "$dir"
        die "the cluster did not start: $(for k in $(seq 1 "$nodes"); do tail -n 3 "$dir/n$k/log" 2>/dev/null; done)" ;;
    esac
  done
  die "no free ports found in 5 attempts"
}

cmd=${1:-}; [ $# -ge 2 ] || die "usage: cluster.sh start|stop DIR [options]"
shift
case $cmd in
  start) start "$@" ;;
  stop) stop_all "$1" ;;
  *) die "unknown command $cmd" ;;
esac
