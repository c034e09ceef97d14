//! The raw rumqttc reference for the benchmark suite (`scripts/bench.sh`): the same
//! workloads as `benches/lua_bench.lua` and `benches/paho_bench.py`, on rumqttc alone, in
//! two shapes (see `shapes.rs`). Prints one JSON line per run.
//!
//! ```text
//! rumqttc_reference --shape async|threaded --mode roundtrip|unpaced|latency|subscriber|publisher|memory
//!                   --port PORT [--workload LABEL] [--n N] [--qos 0|1|2] [--window W]
//!                   [--topic TOPIC] [--filters FILE] [--topics FILE]
//! ```
//!
//! `--filters`/`--topics` name files with one filter or topic a line (W5 and memory);
//! without them the workload subscribes and publishes to `--topic`.

mod report;
mod shapes;
mod workloads;

use std::collections::HashMap;

use rumqttc::QoS;

use report::{status_kib, Report};
use shapes::{AsyncShape, Endpoint, ThreadedShape};
use workloads::Topics;

struct Args {
    shape: String,
    mode: String,
    workload: String,
    port: u16,
    n: usize,
    qos: QoS,
    window: usize,
    topic: String,
    filters: Option<Vec<String>>,
    topics: Option<Vec<String>>,
}

fn usage(why: impl std::fmt::Display) -> ! {
    eprintln!("rumqttc_reference: {why} (see the comment at the top of main.rs)");
    std::process::exit(2)
}

fn lines(path: &str) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.lines().map(str::to_owned).collect(),
        Err(e) => usage(format!("cannot read {path:?}: {e}")),
    }
}

fn parse_args() -> Args {
    let mut raw: HashMap<String, String> = HashMap::new();
    let mut argv = std::env::args().skip(1);
    while let Some(key) = argv.next() {
        let Some(name) = key.strip_prefix("--") else {
            usage(format!("unexpected argument {key:?}"))
        };
        let Some(value) = argv.next() else {
            usage(format!("{key} needs a value"))
        };
        raw.insert(name.to_owned(), value);
    }
    let mut take = |name: &str, default: Option<&str>| {
        raw.remove(name)
            .or(default.map(str::to_owned))
            .unwrap_or_else(|| usage(format!("--{name} is required")))
    };
    let number = |name: &str, text: String| -> usize {
        text.parse()
            .unwrap_or_else(|_| usage(format!("--{name}: expected a number, got {text:?}")))
    };
    let mode = take("mode", None);
    let args = Args {
        shape: take("shape", None),
        workload: take("workload", Some(&mode)),
        port: number("port", take("port", None)) as u16,
        n: number("n", take("n", Some("100000"))),
        qos: match take("qos", Some("0")).as_str() {
            "0" => QoS::AtMostOnce,
            "1" => QoS::AtLeastOnce,
            "2" => QoS::ExactlyOnce,
            other => usage(format!("--qos: expected 0, 1 or 2, got {other:?}")),
        },
        window: number("window", take("window", Some("1000"))),
        topic: take("topic", Some("bench/raw")),
        filters: raw.remove("filters").map(|path| lines(&path)),
        topics: raw.remove("topics").map(|path| lines(&path)),
        mode,
    };
    if let Some(name) = raw.keys().next() {
        usage(format!("unknown option --{name}"));
    }
    args
}

async fn run<E: Endpoint>(ep: E, args: &Args, base_kib: u64) -> Report {
    let one = [args.topic.clone()];
    let filters = args.filters.as_deref().unwrap_or(&one);
    match args.mode.as_str() {
        "roundtrip" => {
            let topics = match &args.topics {
                Some(list) => Topics::List(list.clone()),
                None => Topics::Repeat(args.topic.clone(), args.n),
            };
            workloads::roundtrip(ep, filters, &topics, args.qos, args.window).await
        }
        "unpaced" => workloads::unpaced(ep, &args.topic, args.n, args.qos).await,
        "latency" => workloads::latency(ep, &args.topic, args.n, args.qos).await,
        "subscriber" => workloads::subscriber(ep, &args.topic, args.n, args.qos).await,
        "publisher" => workloads::publisher(ep, &args.topic, args.n, args.qos).await,
        "memory" => workloads::memory(ep, base_kib, filters).await,
        other => usage(format!("unknown --mode {other:?}")),
    }
}

fn main() {
    let args = parse_args();
    let base_kib = status_kib("VmRSS").unwrap_or(0);
    let client_id = format!("rumqttc-{}-{}", args.shape, std::process::id());
    let report = match args.shape.as_str() {
        "async" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| {
                rt.block_on(async {
                    let ep = AsyncShape::connect(args.port, &client_id).await;
                    run(ep, &args, base_kib).await
                })
            }),
        // The main thread needs no I/O or timers of tokio's: it only runs the workload's
        // future, whose waits are blocking calls on the std channel.
        "threaded" => tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|rt| {
                rt.block_on(async {
                    let ep = ThreadedShape::connect(args.port, &client_id);
                    run(ep, &args, base_kib).await
                })
            }),
        other => usage(format!("unknown --shape {other:?}")),
    };
    match report {
        Ok(report) => println!("{}", report.json(&args.shape, &args.workload)),
        Err(e) => usage(format!("cannot start a tokio runtime: {e}")),
    }
}
