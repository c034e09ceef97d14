//! The workloads, written once over `Endpoint`. Each returns a `Report` of what it measured.

use std::io::Write;
use std::time::{Duration, Instant};

use rumqttc::QoS;

use crate::report::{percentile, status_kib, Cpu, Report};
use crate::shapes::Endpoint;

/// 64 bytes, as in every throughput and latency workload.
pub const PAYLOAD: [u8; 64] = [b'x'; 64];
/// How long a workload waits for a message before it counts the rest as lost.
const LOSS_TIMEOUT: Duration = Duration::from_secs(10);

/// The topics to publish to, in order: one topic `n` times, or a list read from a file.
pub enum Topics {
    Repeat(String, usize),
    List(Vec<String>),
}

impl Topics {
    pub fn len(&self) -> usize {
        match self {
            Topics::Repeat(_, n) => *n,
            Topics::List(list) => list.len(),
        }
    }

    fn get(&self, i: usize) -> &str {
        match self {
            Topics::Repeat(topic, _) => topic,
            Topics::List(list) => &list[i],
        }
    }
}

/// W1–W3 and W5: publish `topics` while at most `window` messages are on their way, and
/// receive every one. Timed from the first publish to the last receive.
pub async fn roundtrip<E: Endpoint>(
    mut ep: E,
    filters: &[String],
    topics: &Topics,
    qos: QoS,
    window: usize,
) -> Report {
    ep.subscribe(filters, qos).await;
    let n = topics.len();
    let (cpu, started) = (Cpu::now(), Instant::now());
    let (mut sent, mut received) = (0, 0);
    while received < n {
        while sent < n && sent - received < window {
            ep.publish(topics.get(sent), &PAYLOAD, qos).await;
            sent += 1;
        }
        if ep.receive(LOSS_TIMEOUT).await.is_none() {
            break;
        }
        received += 1;
    }
    let report = Report::timed(n, received, started.elapsed(), cpu);
    ep.close().await;
    report
}

/// The unpaced loop (a user's first loop): subscribe to `{topic}/#`, publish `n` messages
/// to `{topic}/t` as fast as the client takes them, taking after each publish the message
/// that has arrived, if any, without waiting; then receive the rest. Timed from the first
/// publish to the last receive.
pub async fn unpaced<E: Endpoint>(mut ep: E, topic: &str, n: usize, qos: QoS) -> Report {
    ep.subscribe(&[format!("{topic}/#")], qos).await;
    let to = format!("{topic}/t");
    let (cpu, started) = (Cpu::now(), Instant::now());
    let mut received = 0;
    for _ in 0..n {
        ep.publish(&to, &PAYLOAD, qos).await;
        received += usize::from(ep.try_receive().is_some());
    }
    while received < n && ep.receive(LOSS_TIMEOUT).await.is_some() {
        received += 1;
    }
    let report = Report::timed(n, received, started.elapsed(), cpu);
    ep.close().await;
    report
}

/// W4: publish one message and receive it, `n` times in a row; the round trips' percentiles.
pub async fn latency<E: Endpoint>(mut ep: E, topic: &str, n: usize, qos: QoS) -> Report {
    ep.subscribe(&[topic.to_owned()], qos).await;
    let mut samples = Vec::with_capacity(n);
    let (cpu, started) = (Cpu::now(), Instant::now());
    for _ in 0..n {
        let sent = Instant::now();
        ep.publish(topic, &PAYLOAD, qos).await;
        if ep.receive(LOSS_TIMEOUT).await.is_none() {
            break;
        }
        samples.push(sent.elapsed().as_secs_f64() * 1e6);
    }
    let mut report = Report::timed(n, samples.len(), started.elapsed(), cpu);
    samples.sort_by(f64::total_cmp);
    report.p50_us = percentile(&samples, 0.50);
    report.p90_us = percentile(&samples, 0.90);
    report.p99_us = percentile(&samples, 0.99);
    ep.close().await;
    report
}

/// W6, subscriber side: says `ready` on stdout once subscribed, then receives until `n`
/// messages came or none came for a while. Timed from the first message to the last.
pub async fn subscriber<E: Endpoint>(mut ep: E, topic: &str, n: usize, qos: QoS) -> Report {
    ep.subscribe(&[topic.to_owned()], qos).await;
    println!("ready");
    let _ = std::io::stdout().flush();
    let cpu = Cpu::now();
    let mut received = 0;
    let (mut first, mut last) = (None, Instant::now());
    let mut wait = Duration::from_secs(60);
    while received < n && ep.receive(wait).await.is_some() {
        last = Instant::now();
        first.get_or_insert(last);
        received += 1;
        wait = LOSS_TIMEOUT;
    }
    let span = first.map_or(Duration::ZERO, |first| last - first);
    let report = Report::timed(n, received, span, cpu);
    ep.close().await;
    report
}

/// W6, publisher side: publishes `n` messages as fast as it can, waits for the broker's
/// acknowledgements of QoS 1 and 2 (mosquitto drops those still unacknowledged when the
/// publisher says DISCONNECT), then disconnects.
pub async fn publisher<E: Endpoint>(mut ep: E, topic: &str, n: usize, qos: QoS) -> Report {
    let (cpu, started) = (Cpu::now(), Instant::now());
    for _ in 0..n {
        ep.publish(topic, &PAYLOAD, qos).await;
    }
    let acked = qos == QoS::AtMostOnce || ep.acknowledged(n, LOSS_TIMEOUT).await;
    ep.close().await;
    Report::timed(n, if acked { n } else { 0 }, started.elapsed(), cpu)
}

/// Memory: RSS before connecting (`base_kib`), connected and idle, and with `filters` subscribed.
pub async fn memory<E: Endpoint>(mut ep: E, base_kib: u64, filters: &[String]) -> Report {
    let mut report = Report {
        n: filters.len(),
        ..Report::default()
    };
    std::thread::sleep(Duration::from_millis(500));
    report.rss_base_kib = Some(base_kib);
    report.rss_connected_kib = status_kib("VmRSS");
    ep.subscribe(filters, QoS::AtMostOnce).await;
    std::thread::sleep(Duration::from_millis(500));
    report.rss_subscribed_kib = status_kib("VmRSS");
    ep.close().await;
    report
}
