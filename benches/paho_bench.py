"""Paho Python's side of the benchmark suite (scripts/bench.sh): the workloads of
benches/rumqttc_reference with Debian's python3-paho-mqtt (1.6), in its usual shape: the
network loop on its own thread (loop_start), callbacks there, the main thread publishing.
Prints one JSON line per run.

    python3 benches/paho_bench.py --mode roundtrip|unpaced|latency|subscriber|publisher|memory
        --port PORT [--workload LABEL] [--n N] [--qos 0|1|2] [--window W] [--topic TOPIC]
        [--filters FILE] [--topics FILE]

Like the other clients it sets TCP_NODELAY (paho leaves Nagle on) and an in-flight window
of 100 (paho's default is 20). W5 (`roundtrip` with --filters/--topics) only receives:
routing 10,000 filters through message_callback_add would scan them all per message.
"""

import argparse
import json
import math
import os
import queue
import resource
import socket
import sys
import threading
import time

import paho.mqtt.client as mqtt

PAYLOAD = b"x" * 64
# How long a workload waits for a message before it counts the rest as lost.
LOSS_TIMEOUT = 10
FILTERS_PER_PACKET = 1000


def status_kib(field):
    """A kB field of /proc/self/status (VmRSS, VmHWM), in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def cpu_now():
    """CPU seconds so far: of the whole process (every thread), and of this thread alone."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, time.thread_time()


def cpu_used(since):
    """The report fields of the CPU time used since `cpu_now()` gave `since`."""
    process, thread = cpu_now()
    return {"cpu_s": process - since[0], "main_cpu_s": thread - since[1]}


def percentile(sorted_samples, q):
    """The q quantile of sorted samples (nearest rank)."""
    if not sorted_samples:
        return None
    return sorted_samples[max(1, math.ceil(q * len(sorted_samples))) - 1]


class Endpoint:
    """A connected paho client, its loop thread running, with what its callbacks saw."""

    def __init__(self, port):
        self.client = mqtt.Client(client_id=f"paho-{os.getpid()}", clean_session=True,
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(100)
        self.on_message = lambda: None
        self.subacks = set()
        self.lock = threading.Condition()
        connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc: connected.set()
        self.client.on_subscribe = self._subscribed
        self.client.on_message = lambda c, u, msg: self.on_message()
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.loop_start()
        if not connected.wait(30):
            sys.exit("paho_bench: no CONNACK within 30 s")

    def _subscribed(self, client, userdata, mid, granted):
        with self.lock:
            self.subacks.add(mid)
            self.lock.notify_all()

    def subscribe(self, filters, qos):
        """Subscribes to every filter, 1,000 a packet, and waits for every SUBACK."""
        mids = []
        for i in range(0, len(filters), FILTERS_PER_PACKET):
            rc, mid = self.client.subscribe([(f, qos) for f in filters[i:i + FILTERS_PER_PACKET]])
            if rc != mqtt.MQTT_ERR_SUCCESS:
                sys.exit(f"paho_bench: subscribe failed: {mqtt.error_string(rc)}")
            mids.append(mid)
        with self.lock:
            if not self.lock.wait_for(lambda: all(m in self.subacks for m in mids), 30):
                sys.exit("paho_bench: no SUBACK within 30 s")

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def roundtrip(ep, args, filters, topics):
    """W1–W3, W5: publish while at most `window` messages are on their way; receive all."""
    n = len(topics) if topics else args.n
    room = threading.Semaphore(args.window)
    done = threading.Event()
    state = {"received": 0, "last": None}

    def received():
        state["received"] += 1
        state["last"] = time.perf_counter()
        room.release()
        if state["received"] == n:
            done.set()

    ep.subscribe(filters, args.qos)
    ep.on_message = received
    cpu, started = cpu_now(), time.perf_counter()
    for i in range(n):
        if not room.acquire(timeout=LOSS_TIMEOUT):
            break
        ep.client.publish(topics[i] if topics else args.topic, PAYLOAD, args.qos)
    done.wait(LOSS_TIMEOUT)
    seconds = (state["last"] or started) - started
    report = {"n": n, "lost": n - state["received"], "seconds": seconds, **cpu_used(cpu)}
    ep.close()
    return report


def unpaced(ep, args):
    """The unpaced loop: subscribe to `<topic>/#`, publish n messages to `<topic>/t` as fast
    as paho takes them, taking after each publish a message that has arrived, if any (from
    the queue the loop thread's callback fills), then receive the rest."""
    arrived = queue.SimpleQueue()
    ep.subscribe([args.topic + "/#"], args.qos)
    ep.on_message = lambda: arrived.put(None)
    received = 0
    topic = args.topic + "/t"
    cpu, started = cpu_now(), time.perf_counter()
    for _ in range(args.n):
        ep.client.publish(topic, PAYLOAD, args.qos)
        try:
            arrived.get_nowait()
            received += 1
        except queue.Empty:
            pass
    while received < args.n:
        try:
            arrived.get(timeout=LOSS_TIMEOUT)
        except queue.Empty:
            break
        received += 1
    report = {"n": args.n, "lost": args.n - received, "seconds": time.perf_counter() - started,
              **cpu_used(cpu)}
    ep.close()
    return report


def latency(ep, args):
    """W4: publish one message and receive it, n times in a row."""
    arrived = threading.Event()
    ep.subscribe([args.topic], args.qos)
    ep.on_message = arrived.set
    samples = []
    cpu, started = cpu_now(), time.perf_counter()
    for _ in range(args.n):
        t = time.perf_counter()
        ep.client.publish(args.topic, PAYLOAD, args.qos)
        if not arrived.wait(LOSS_TIMEOUT):
            break
        arrived.clear()
        samples.append((time.perf_counter() - t) * 1e6)
    report = {"n": args.n, "lost": args.n - len(samples), "seconds": time.perf_counter() - started,
              **cpu_used(cpu)}
    samples.sort()
    for key, q in (("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99)):
        report[key] = percentile(samples, q)
    ep.close()
    return report


def subscriber(ep, args):
    """W6, subscriber: says `ready` once subscribed, receives until n messages came or
    none came for a while; timed from the first message to the last."""
    done = threading.Event()
    state = {"received": 0, "first": None, "last": None}

    def received():
        now = time.perf_counter()
        state["first"] = state["first"] or now
        state["last"] = now
        state["received"] += 1
        if state["received"] == args.n:
            done.set()

    ep.on_message = received
    ep.subscribe([args.topic], args.qos)
    print("ready", flush=True)
    cpu, started = cpu_now(), time.perf_counter()
    while not done.wait(0.5):
        last = state["last"] or started + 60 - LOSS_TIMEOUT
        if time.perf_counter() - last > LOSS_TIMEOUT:
            break
    first, last = state["first"], state["last"]
    report = {"n": args.n, "lost": args.n - state["received"],
              "seconds": last - first if first else 0, **cpu_used(cpu)}
    ep.close()
    return report


def publisher(ep, args):
    """W6, publisher: publishes n messages as fast as it can, waits until the last one is
    handed to the network (acknowledged, for QoS 1 and 2), then disconnects."""
    cpu, started = cpu_now(), time.perf_counter()
    info = None
    for _ in range(args.n):
        info = ep.client.publish(args.topic, PAYLOAD, args.qos)
    if info is not None:
        info.wait_for_publish(60)
    ep.close()
    return {"n": args.n, "lost": 0, "seconds": time.perf_counter() - started, **cpu_used(cpu)}


def memory(args, filters):
    """RSS after import (base), connected and idle, and with every filter subscribed."""
    report = {"n": len(filters), "lost": 0, "seconds": 0, "cpu_s": 0,
              "rss_base_kib": status_kib("VmRSS")}
    ep = Endpoint(args.port)
    time.sleep(0.5)
    report["rss_connected_kib"] = status_kib("VmRSS")
    ep.subscribe(filters, 0)
    time.sleep(0.5)
    report["rss_subscribed_kib"] = status_kib("VmRSS")
    ep.close()
    return report


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True,
                   choices=["roundtrip", "unpaced", "latency", "subscriber", "publisher", "memory"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workload")
    p.add_argument("--n", type=int, default=100000)
    p.add_argument("--qos", type=int, default=0, choices=[0, 1, 2])
    p.add_argument("--window", type=int, default=1000)
    p.add_argument("--topic", default="bench/paho")
    p.add_argument("--filters")
    p.add_argument("--topics")
    args = p.parse_args()
    read = lambda path: open(path).read().splitlines() if path else None
    filters = read(args.filters) or [args.topic]
    if args.mode == "memory":
        report = memory(args, filters)
    else:
        ep = Endpoint(args.port)
        if args.mode == "roundtrip":
            report = roundtrip(ep, args, filters, read(args.topics))
        elif args.mode == "unpaced":
            report = unpaced(ep, args)
        elif args.mode == "latency":
            report = latency(ep, args)
        elif args.mode == "subscriber":
            report = subscriber(ep, args)
        else:
            report = publisher(ep, args)
    line = {"client": "paho", "shape": "loop_start", "workload": args.workload or args.mode,
            "n": report["n"], "seconds": report["seconds"],
            "msgs_per_s": (report["n"] - report["lost"]) / report["seconds"]
            if report["seconds"] > 0 else None,
            "cpu_s": report["cpu_s"], "main_cpu_s": report.get("main_cpu_s"),
            "peak_rss_kib": status_kib("VmHWM")}
    for key in ("p50_us", "p90_us", "p99_us", "lost", "rss_base_kib", "rss_connected_kib",
                "rss_subscribed_kib"):
        line[key] = report.get(key)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
