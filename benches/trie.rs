//! Throughput of `TopicTrie` on filter sets shaped like a telemetry deployment:
//! topics `site/<n>/device/<n>/<metric>`, filters mostly exact with some wildcards, and
//! the naive linear matcher it replaces for comparison.

use std::hint::black_box;
use std::time::Duration;

use copper_mqtt::options::splitmix64;
use copper_mqtt::topic::{TopicFilter, TopicTrie};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

const SITES: u64 = 100;
const DEVICES: u64 = 200;
const METRICS: [&str; 5] = ["temperature", "humidity", "pressure", "battery", "status"];

/// SplitMix64: deterministic across runs and platforms without a dependency on `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let out = splitmix64(self.0);
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        out
    }

    /// Modulo bias is irrelevant for bounds this far below 2^64.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn metric(&mut self) -> &'static str {
        METRICS[self.below(METRICS.len() as u64) as usize]
    }
}

fn topic(rng: &mut Rng) -> String {
    let (site, device) = (rng.below(SITES), rng.below(DEVICES));
    format!("site/{site}/device/{device}/{}", rng.metric())
}

/// About 70% exact filters, 20% with `+` and 10% ending in `#`.
fn filter(rng: &mut Rng) -> TopicFilter {
    let (site, device, metric) = (rng.below(SITES), rng.below(DEVICES), rng.metric());
    let text = match rng.below(100) {
        0..70 => format!("site/{site}/device/{device}/{metric}"),
        70..77 => format!("site/{site}/device/+/{metric}"),
        77..84 => format!("site/+/device/{device}/#"),
        84..90 => format!("site/{site}/device/{device}/+"),
        90..95 => format!("site/{site}/device/{device}/#"),
        _ => format!("site/{site}/#"),
    };
    // Every format above yields a valid filter, so this never panics.
    match TopicFilter::new(text) {
        Ok(filter) => filter,
        Err(err) => panic!("generated an invalid filter: {err}"),
    }
}

fn filters(count: usize, seed: u64) -> Vec<TopicFilter> {
    let mut rng = Rng(seed);
    (0..count).map(|_| filter(&mut rng)).collect()
}

fn trie_of(filters: &[TopicFilter]) -> TopicTrie<usize> {
    let mut trie = TopicTrie::new();
    for (id, filter) in filters.iter().enumerate() {
        trie.insert(filter, id);
    }
    trie
}

fn bench_matching(c: &mut Criterion) {
    let mut rng = Rng(7);
    let topics: Vec<String> = (0..4096).map(|_| topic(&mut rng)).collect();
    let mut group = c.benchmark_group("match");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    for count in [1_000, 10_000, 100_000] {
        let trie = trie_of(&filters(count, 42));
        let matched: usize = topics.iter().map(|topic| trie.matches(topic).len()).sum();
        println!(
            "match/{count}: {:.2} matching filters per topic",
            matched as f64 / topics.len() as f64
        );
        let mut next = topics.iter().cycle();
        group.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| {
                let topic = next.next().map_or("", String::as_str);
                let mut found = 0_usize;
                trie.for_each_match(black_box(topic), |_| found += 1);
                black_box(found)
            })
        });
    }
    group.finish();
}

/// The naive alternative the trie replaces: every filter checked in turn with `matches`.
fn bench_linear(c: &mut Criterion) {
    let mut rng = Rng(7);
    let topics: Vec<String> = (0..4096).map(|_| topic(&mut rng)).collect();
    let mut group = c.benchmark_group("linear");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10);
    for count in [10_000, 100_000] {
        let filters = filters(count, 42);
        let mut next = topics.iter().cycle();
        group.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| {
                let topic = next.next().map_or("", String::as_str);
                let found = filters
                    .iter()
                    .filter(|f| f.matches(black_box(topic)))
                    .count();
                black_box(found)
            })
        });
    }
    group.finish();
}

fn bench_updates(c: &mut Criterion) {
    const COUNT: usize = 10_000;
    let filters = filters(COUNT, 42);
    let full = trie_of(&filters);
    let mut group = c.benchmark_group("update");
    group
        .throughput(Throughput::Elements(COUNT as u64))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    group.bench_function(BenchmarkId::new("insert", COUNT), |b| {
        b.iter_batched(
            TopicTrie::new,
            |mut trie| {
                for (id, filter) in filters.iter().enumerate() {
                    trie.insert(filter, id);
                }
                trie
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function(BenchmarkId::new("remove", COUNT), |b| {
        b.iter_batched(
            || full.clone(),
            |mut trie| {
                for (id, filter) in filters.iter().enumerate() {
                    trie.remove(filter, &id);
                }
                trie
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_matching, bench_linear, bench_updates);
criterion_main!(benches);
