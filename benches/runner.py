"""The benchmark suite's runner (scripts/bench.sh calls it): starts its own mosquitto pinned
to CPU 0, runs every workload with every client, writes every JSON line to
target/bench/results.jsonl, and prints one markdown table of medians with the issue's
targets. See docs/performance.md ("The benchmark suite").

    python3 benches/runner.py [--quick] [--runs N] [--lua-api receive|listen]
        [--only W1,W4,...] [--clients lua,async,threaded,paho] [--baseline DIR]

--baseline DIR adds a client, "Lua (baseline)": the same Lua programs loading the module
from DIR/target/lua (another checkout, its library built and laid out as bench.sh does),
run in turn with the others, for an A/B of two versions in one run.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "bench")
BROKER_CPU = "0"
# The broker must not drop: no limit on queued messages (QoS 0 included) or on QoS 1/2 in
# flight (past its default of 20 QoS 2 messages mosquitto closed raw rumqttc's connection,
# whose window is 100), and no $SYS traffic.
BROKER_CONF = ["max_queued_messages 0", "max_inflight_messages 0", "sys_interval 0"]
CLIENTS = ["lua", "async", "threaded", "paho"]
TITLES = {"lua": "Lua (copper-mqtt)", "async": "rumqttc async", "threaded": "rumqttc threaded",
          "paho": "Paho Python", "baseline": "Lua (baseline)"}
PROCESS_TIMEOUT = 300


def workloads(quick):
    """Each workload: name, mode, QoS, n, client CPU (None: unpinned), the W5 files, and
    for a Lua-only variant, `only` and its handlers."""
    n = (lambda full, small: small) if quick else (lambda full, small: full)
    return [
        dict(name="W1", mode="roundtrip", qos=0, n=n(100_000, 5_000)),
        dict(name="W1 in mqtt.run", mode="roundtrip", qos=0, n=n(100_000, 5_000), tasks=True,
             only="lua"),
        dict(name="W2", mode="roundtrip", qos=1, n=n(20_000, 2_000)),
        dict(name="W3", mode="roundtrip", qos=2, n=n(5_000, 1_000)),
        dict(name="U0 unpaced", mode="unpaced", qos=0, n=n(100_000, 5_000)),
        dict(name="U1 unpaced", mode="unpaced", qos=1, n=n(20_000, 2_000)),
        dict(name="U2 unpaced", mode="unpaced", qos=2, n=n(5_000, 1_000)),
        dict(name="W4 same core", mode="latency", qos=0, n=n(5_000, 500), cpu="0"),
        dict(name="W4 other core", mode="latency", qos=0, n=n(5_000, 500), cpu="1"),
        dict(name="W4 cqueues", mode="latency", qos=0, n=n(5_000, 500), cpu="1", loop="cqueues",
             only="lua"),
        dict(name="W4 luv", mode="latency", qos=0, n=n(5_000, 500), cpu="1", loop="luv",
             only="lua"),
        dict(name="W5", mode="routing", qos=0, n=n(100_000, 5_000), filters="w5"),
        dict(name="W5 shared handler", mode="routing", qos=0, n=n(100_000, 5_000), filters="w5",
             handlers="shared", only="lua"),
        dict(name="W5 1 filter", mode="routing", qos=0, n=n(100_000, 5_000), filters="one"),
        dict(name="W6 QoS 0", mode="pair", qos=0, n=n(100_000, 5_000)),
        dict(name="W6 QoS 1", mode="pair", qos=1, n=n(20_000, 2_000)),
        dict(name="W7 many clients", mode="many", qos=0, n=n(100_000, 10_000), only="lua"),
        dict(name="idle clients", mode="idle", qos=0, n=0, only="lua"),
        dict(name="memory", mode="memory", qos=0, n=0, filters="w5"),
    ]


def w5_plan(path_filters, path_topics, filters, messages, seed=6):
    """10,000 distinct filters over site/<s>/dev/<d>/<metric> (1,000 sites, 100 devices, 5
    metrics): 70% exact, 20% with `+`, 10% with `#`; the wide forms (`site/+/...`,
    `site/<s>/#`) are rare so that most messages match one filter. Each message's topic
    instantiates a filter drawn at random, so every message matches at least one."""
    rng = random.Random(seed)
    metrics = ["temperature", "humidity", "pressure", "battery", "status"]
    s, d, m = (lambda: rng.randrange(1000)), (lambda: rng.randrange(100)), (lambda: rng.choice(metrics))
    forms = [
        (70, lambda: f"site/{s()}/dev/{d()}/{m()}"),
        (17.8, lambda: f"site/{s()}/dev/{d()}/+"),
        (2, lambda: f"site/{s()}/dev/+/{m()}"),
        (0.2, lambda: f"site/+/dev/{d()}/{m()}"),
        (9.7, lambda: f"site/{s()}/dev/{d()}/#"),
        (0.3, lambda: f"site/{s()}/#"),
    ]
    weights = [w for w, _ in forms]
    chosen = {}
    while len(chosen) < filters:
        chosen.setdefault(rng.choices(forms, weights)[0][1](), None)
    chosen = list(chosen)

    def instance(f):
        """A topic the filter matches: `#` stands for the missing levels, each `+` gets a value."""
        levels = f.split("/")
        if levels[-1] == "#":
            levels = levels[:-1] + ["+"] * (6 - len(levels))
        pick = {1: lambda: str(s()), 2: lambda: "dev", 3: lambda: str(d()), 4: m}
        return "/".join(pick[i]() if x == "+" else x for i, x in enumerate(levels))

    with open(path_filters, "w") as fh:
        fh.write("\n".join(chosen) + "\n")
    with open(path_topics, "w") as fh:
        fh.write("\n".join(instance(rng.choice(chosen)) for _ in range(messages)) + "\n")


def command(client, mode, args):
    """The command line of one client process; `mode` as the programs name it."""
    if client in ("lua", "baseline"):
        return ["lua5.4", "benches/lua_bench.lua", "--mode", mode] + args
    if client == "paho":
        # Debian's python3-paho-mqtt lives in the system Python, whatever python3 is first.
        return ["/usr/bin/python3", "benches/paho_bench.py", "--mode", mode] + args
    return ["target/release/examples/rumqttc_reference", "--shape", client, "--mode", mode] + args


def last_json(stdout):
    lines = [l for l in stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def run_process(cmd, cpu, env):
    if cpu is not None:
        cmd = ["taskset", "-c", cpu] + cmd
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=PROCESS_TIMEOUT)
    line = last_json(p.stdout)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-500:]}")
    return line


def run_pair(client, w, common, env):
    """W6: the subscriber first, the publisher once it says `ready`; the subscriber's line."""
    topic = ["--topic", f"bench/w6/{os.getpid()}"]
    sub = subprocess.Popen(command(client, "subscriber", common + topic), cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if sub.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{client} subscriber did not get ready: {sub.stderr.read()[-500:]}")
        publisher = run_process(command(client, "publisher", common + topic), None, env)
        out, err = sub.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()
    line = last_json(out)
    if sub.returncode != 0 or line is None:
        raise RuntimeError(f"{client} subscriber exited {sub.returncode}: {err.strip()[-500:]}")
    return line, publisher


def run_one(client, w, port, files, lua_api, env):
    """One run of workload `w` with `client`; returns its JSON lines (the measured one first)."""
    common = ["--port", str(port), "--workload", w["name"], "--qos", str(w["qos"])]
    if w["n"]:
        common += ["--n", str(w["n"])]
    lua = client in ("lua", "baseline")
    if lua and w["mode"] in ("roundtrip", "subscriber", "pair"):
        common += ["--api", lua_api]
    if lua and w.get("tasks"):
        common += ["--tasks", "1"]
    if lua and w.get("loop"):
        common += ["--loop", w["loop"]]
    if w["mode"] == "pair":
        return list(run_pair(client, w, common, env))
    mode = w["mode"]
    if "filters" in w:
        common += ["--filters", files[w["filters"]]]
        if mode == "routing":
            common += ["--topics", files["topics"]]
            # Only the Lua client routes; the others receive the same messages unrouted.
            mode = "routing" if lua else "roundtrip"
            if lua and "handlers" in w:
                common += ["--handlers", w["handlers"]]
    else:
        common += ["--topic", f"bench/{w['name'].split()[0].lower()}/{client}"]
        if w["mode"] == "unpaced":
            # The client subscribes to <topic>/#: a topic of its own per run.
            common[-1] += f"/{os.getpid()}-{random.randrange(1 << 30)}"
    return [run_process(command(client, mode, common), w.get("cpu"), env)]


def start_broker():
    broker_dir = os.path.join(OUT, "broker")
    conf = [a for line in BROKER_CONF for a in ("--conf", line)]
    out = subprocess.run(["bash", "tests/support/broker.sh", "start", broker_dir] + conf,
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    port, pid = out.split()
    subprocess.run(["taskset", "-pc", BROKER_CPU, pid], check=True, capture_output=True)
    return int(port), broker_dir


def median(lines, key):
    values = [l[key] for l in lines if l.get(key) is not None]
    return statistics.median(values) if values else None


# ---- the table -------------------------------------------------------------------------

def fmt_rate(v):
    return "–" if v is None else f"{v / 1000:.1f}k/s" if v >= 1000 else f"{v:.0f}/s"


def fmt_mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def cell(w, lines):
    """One client's medians for one workload."""
    if not lines:
        return "–"
    lost = max(l["lost"] or 0 for l in lines)
    flag = f" **lost {lost}**" if lost else ""
    if w["mode"] == "memory":
        base, conn, subs = (median(lines, k) for k in
                            ("rss_base_kib", "rss_connected_kib", "rss_subscribed_kib"))
        return (f"idle +{(conn - base) / 1024:.2f} MiB ({fmt_mib(conn)}), "
                f"{lines[0]['n']:,} subs +{(subs - conn) / 1024:.2f} MiB")
    if w["mode"] == "latency":
        return (f"p50 {median(lines, 'p50_us'):.0f} µs, p99 {median(lines, 'p99_us'):.0f} µs · "
                f"CPU {median(lines, 'cpu_s'):.2f} s{flag}")
    if w["mode"] == "idle":
        share = median([{"v": l["cpu_s"] / l["seconds"]} for l in lines], "v")
        return f"{100 * share:.2f}% of a core over {median(lines, 'seconds'):.0f} s"
    extra = ""
    if lines[0].get("deliveries"):
        extra = f" · {median(lines, 'deliveries') / lines[0]['n']:.2f} deliveries/msg"
    return (f"{fmt_rate(median(lines, 'msgs_per_s'))} · CPU {median(lines, 'cpu_s'):.2f} s · "
            f"{fmt_mib(median(lines, 'peak_rss_kib'))}{extra}{flag}")


def ratio(w, lua, ref):
    if not lua or not ref or w["mode"] in ("memory", "idle"):
        return "–"
    if w["mode"] == "latency":
        return (f"p50 {median(lua, 'p50_us') / median(ref, 'p50_us'):.2f}×, "
                f"p99 {median(lua, 'p99_us') / median(ref, 'p99_us'):.2f}×")
    return (f"rate {median(lua, 'msgs_per_s') / median(ref, 'msgs_per_s'):.2f}×, "
            f"CPU {median(lua, 'cpu_s') / median(ref, 'cpu_s'):.2f}×")


def per_message_us(lines, key):
    """A CPU field's median per message (per round trip in W4), in µs."""
    v = median(lines, key)
    return None if v is None else v / lines[0]["n"] * 1e6


def cpu_cell(lines):
    """Client CPU per message, and the part of it the thread running the workload used."""
    total, main = per_message_us(lines, "cpu_s"), per_message_us(lines, "main_cpu_s")
    if total is None:
        return "–"
    if main is None:
        return f"{total:.2f}"
    return f"{total:.2f} ({main:.2f} + {max(0.0, total - main):.2f})"


def cpu_table(ws, results, clients):
    """Client CPU per message by thread: the one running the workload (the Lua script,
    the program's main thread), and the others (network, actors)."""
    head = ["workload"] + [TITLES[c] for c in clients]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in ws:
        if w["mode"] in ("memory", "idle"):
            continue
        cells = [cpu_cell(results.get((w["name"], c), [])) for c in clients]
        rows.append("| " + " | ".join([w["name"]] + cells) + " |")
    return "\n".join(rows)


def table(ws, results, clients):
    head = ["workload"] + [TITLES[c] for c in clients]
    ratios = [c for c in ("async", "threaded", "baseline") if "lua" in clients and c in clients]
    head += [f"Lua ÷ {TITLES[c]}" for c in ratios]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in ws:
        got = {c: results.get((w["name"], c), []) for c in clients}
        row = [f"{w['name']} ({w['n']:,})" if w["n"] else w["name"]]
        row += [cell(w, got[c]) for c in clients]
        row += [ratio(w, got["lua"], got[c]) for c in ratios]
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows)


def targets(ws, results):
    """The issue's targets, each PASS or FAIL with the numbers."""
    get = lambda name, client: results.get((name, client), [])
    out = []

    def verdict(ok, text):
        out.append(f"- {'PASS' if ok else 'FAIL'}: {text}")

    names = {w["name"] for w in ws}
    for name in ("W1", "W2", "W3", "W6 QoS 0", "W6 QoS 1"):
        lua, refs = get(name, "lua"), [get(name, c) for c in ("async", "threaded")]
        if name in names and lua and all(refs):
            best = max(median(r, "msgs_per_s") for r in refs)
            have = median(lua, "msgs_per_s")
            verdict(have >= 0.95 * best,
                    f"{name} throughput {fmt_rate(have)} ≥ 0.95 × the faster raw shape "
                    f"{fmt_rate(best)} ({have / best:.2f}×)")
    for w in ws:
        if w["mode"] != "unpaced":
            continue
        lua, threaded = get(w["name"], "lua"), get(w["name"], "threaded")
        if lua and threaded:
            lost = max(l["lost"] for l in lua)
            verdict(lost == 0, f"{w['name']} (QoS {w['qos']}): every message received with the "
                               f"default options ({lost} lost at most in a run)")
            a, b = median(lua, "msgs_per_s"), median(threaded, "msgs_per_s")
            verdict(a >= 0.95 * b, f"{w['name']} throughput {fmt_rate(a)} ≥ 0.95 × threaded raw "
                                   f"{fmt_rate(b)} ({a / b:.2f}×)")
            a, b = median(lua, "cpu_s"), median(threaded, "cpu_s")
            verdict(a <= 1.2 * b, f"{w['name']} client CPU {a:.2f} s ≤ 1.2 × threaded raw "
                                  f"{b:.2f} s ({a / b:.2f}×)")
    blocking = get("W4 other core", "lua")
    for name in ("W4 cqueues", "W4 luv"):
        loop = get(name, "lua")
        if loop and blocking:
            a, b = median(loop, "p50_us"), median(blocking, "p50_us")
            verdict(a <= 1.2 * b, f"{name} p50 {a:.0f} µs ≤ 1.2 × a blocking receive's "
                                  f"{b:.0f} µs (W4 other core; {a / b:.2f}×)")
    many, w1 = get("W7 many clients", "lua"), get("W1", "lua")
    if many:
        lost = max(l["lost"] for l in many)
        verdict(lost == 0, f"W7 many clients: every message delivered ({lost} lost at most in a run)")
        if w1:
            a, b = per_message_us(many, "cpu_s"), per_message_us(w1, "cpu_s")
            verdict(a <= 1.2 * b, f"W7 client CPU {a:.2f} µs a message ≤ 1.2 × W1's {b:.2f} µs "
                                  f"({a / b:.2f}×)")
    idle = get("idle clients", "lua")
    if idle:
        share = median([{"v": l["cpu_s"] / l["seconds"]} for l in idle], "v")
        verdict(share < 0.01, f"100 idle clients in mqtt.run: {100 * share:.2f}% of a core < 1%")
    tasks, blocking = get("W1 in mqtt.run", "lua"), get("W1", "lua")
    if tasks and blocking:
        a, b = median(tasks, "msgs_per_s"), median(blocking, "msgs_per_s")
        verdict(a >= 0.95 * b, f"W1 in mqtt.run {fmt_rate(a)} ≥ 0.95 × W1 blocking "
                               f"{fmt_rate(b)} ({a / b:.2f}×)")
    lua, threaded = get("W1", "lua"), get("W1", "threaded")
    if lua and threaded:
        a, b = median(lua, "cpu_s"), median(threaded, "cpu_s")
        verdict(a <= b, f"W1 client CPU {a:.2f} s ≤ threaded raw {b:.2f} s ({a / b:.2f}×)")
    for name in ("W4 same core", "W4 other core"):
        lua, threaded = get(name, "lua"), get(name, "threaded")
        if lua and threaded:
            for p in ("p50_us", "p99_us"):
                a, b = median(lua, p), median(threaded, p)
                verdict(a <= 1.1 * b, f"{name} {p[:3]} {a:.0f} µs ≤ 1.1 × threaded raw "
                                      f"{b:.0f} µs ({a / b:.2f}×)")
            if name == "W4 same core" and median(lua, "main_cpu_s") is not None:
                us = per_message_us
                out.append(f"  (on one core a round trip takes the CPU work of every step in "
                           f"turn: Lua {us(lua, 'cpu_s'):.1f} µs of client CPU per round trip, "
                           f"{us(lua, 'main_cpu_s'):.1f} µs of it on the script's thread; "
                           f"threaded raw {us(threaded, 'cpu_s'):.1f} µs, "
                           f"{us(threaded, 'main_cpu_s'):.1f} µs on its main thread; 10% of "
                           f"its p50 is {0.1 * median(threaded, 'p50_us'):.1f} µs)")
    w5, w1, one = get("W5", "lua"), get("W1", "lua"), get("W5 1 filter", "lua")
    if w5 and w1:
        per = lambda lines: median(lines, "cpu_s") / lines[0]["n"]
        extra = per(w5) / per(w1) - 1
        against_one = f"; over the same run with 1 filter: {per(w5) / per(one) - 1:+.0%}" if one else ""
        verdict(extra < 0.10, f"W5 client CPU per message {per(w5) * 1e6:.2f} µs is "
                              f"{extra:+.0%} over W1's {per(w1) * 1e6:.2f} µs (< +10%){against_one}")
        raw = [f"{c} {per(get('W5', c)) / per(get('W1', c)) - 1:+.0%}"
               for c in ("async", "threaded") if get("W5", c) and get("W1", c)]
        if raw:
            out.append(f"  (for scale, the raw shapes route nothing, yet their W5 costs per message "
                       f"over their W1: {', '.join(raw)})")
        shared = get("W5 shared handler", "lua")
        if one and shared:
            us = lambda lines, key: per_message_us(lines, key) or 0.0
            handlers = us(w5, "cpu_s") - us(shared, "cpu_s")
            main = us(shared, "main_cpu_s") - us(one, "main_cpu_s")
            rest = us(shared, "cpu_s") - us(one, "cpu_s") - main
            out.append(f"  (W5 over the run with 1 filter, per message: {handlers:+.2f} µs "
                       f"calling a Lua handler per subscription instead of one shared (W5 − "
                       f"W5 shared handler); {main + rest:+.2f} µs routing and dispatching in "
                       f"the client (W5 shared handler − W5 1 filter), {main:+.2f} µs of it "
                       f"on the script's thread and {rest:+.2f} µs on the others; +10% of W1 "
                       f"is {0.1 * per(w1) * 1e6:.2f} µs)")
    if w5:
        bad = max(l["lost"] + (l.get("misrouted") or 0) for l in w5)
        verdict(bad == 0, f"W5 routing: every subscription got exactly the messages "
                          f"mqtt.topic.matches predicts ({bad} deliveries wrong or missing)")
    mem = get("memory", "lua")
    if mem:
        idle = median(mem, "rss_connected_kib") - median(mem, "rss_base_kib")
        subs = median(mem, "rss_subscribed_kib") - median(mem, "rss_connected_kib")
        verdict(idle < 1024, f"idle connected client {idle / 1024:.2f} MiB of its own < 1 MiB")
        verdict(subs < 10240, f"{mem[0]['n']:,} subscriptions {subs / 1024:.2f} MiB < 10 MiB")
    lossy = sorted({k for k, lines in results.items() if any(l["lost"] for l in lines)})
    verdict(not lossy, "no message lost" + (f" (lost in: {lossy})" if lossy else ""))
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1 run, small n: a smoke test")
    p.add_argument("--runs", type=int)
    p.add_argument("--lua-api", default="receive", choices=["receive", "listen"])
    p.add_argument("--only", help="comma-separated workload names or prefixes (W1,W4,...)")
    p.add_argument("--clients", default=",".join(CLIENTS))
    p.add_argument("--baseline", help="another checkout whose target/lua the baseline loads")
    a = p.parse_args()
    runs = a.runs or (1 if a.quick else 3)
    clients = a.clients.split(",") + (["baseline"] if a.baseline else [])
    ws = workloads(a.quick)
    if a.only:
        ws = [w for w in ws if any(w["name"].startswith(o) for o in a.only.split(","))]
    os.makedirs(OUT, exist_ok=True)
    files = {k: os.path.join(OUT, f"w5_{k}.txt") for k in ("w5", "one", "topics")}
    w5 = next(w for w in workloads(a.quick) if w["name"] == "W5")
    w5_plan(files["w5"], files["topics"], 1_000 if a.quick else 10_000, w5["n"])
    with open(files["one"], "w") as fh:
        fh.write("site/#\n")
    env = dict(os.environ, LUA_PATH="./target/lua/?/init.lua;;", LUA_CPATH="./target/lua/?.so;;")
    envs = {c: env for c in clients}
    if a.baseline:
        lua_dir = os.path.join(os.path.abspath(a.baseline), "target", "lua")
        envs["baseline"] = dict(os.environ, LUA_PATH=f"{lua_dir}/?/init.lua;;",
                                LUA_CPATH=f"{lua_dir}/?.so;;")
    port, broker_dir = start_broker()
    results, failures = {}, []
    started = time.time()
    try:
        with open(os.path.join(OUT, "results.jsonl"), "w") as log:
            for run in range(runs):
                for w in ws:
                    for client in clients:
                        # A Lua-only workload runs for the baseline too: it is Lua.
                        only = w.get("only")
                        if only and only != ("lua" if client == "baseline" else client):
                            continue
                        print(f"run {run + 1}/{runs}: {w['name']} {client}", file=sys.stderr)
                        try:
                            lines = run_one(client, w, port, files, a.lua_api, envs[client])
                        except (RuntimeError, subprocess.TimeoutExpired) as e:
                            failures.append(f"{w['name']} {client}: {e}")
                            continue
                        results.setdefault((w["name"], client), []).append(lines[0])
                        for role, line in zip(("measured", "publisher"), lines):
                            line.update(run=run + 1, role=role, placement=w.get("cpu"))
                            if client == "baseline":
                                line["client"] = client
                            log.write(json.dumps(line) + "\n")
    finally:
        subprocess.run(["bash", "tests/support/broker.sh", "stop", broker_dir], cwd=ROOT)
    print(f"## Benchmark: medians of {runs} run(s), {time.time() - started:.0f} s\n")
    print(f"Broker: mosquitto pinned to CPU {BROKER_CPU} ({'; '.join(BROKER_CONF)}). "
          f"W4 clients pinned to the CPU named; the others unpinned. Lua reads with "
          f"`client:{a.lua_api}`, W5 with handlers and `client:dispatch`. "
          f"Cells: msg/s · client CPU s · peak RSS.\n")
    print(table(ws, results, clients))
    print("\nClient CPU per message (W4: per round trip), µs: total (the thread running the "
          "workload + every other thread). W6: the subscriber.\n")
    print(cpu_table(ws, results, clients))
    print("\n## Targets\n")
    print(targets(ws, results))
    if failures:
        print("\n## Failed runs\n")
        print("\n".join(f"- {f}" for f in failures))
    print(f"\nEvery run's JSON line: {os.path.relpath(os.path.join(OUT, 'results.jsonl'), ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
