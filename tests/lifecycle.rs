//! The client's footprint over its life: threads and file descriptors come back to where
//! they were, and many clients share one actor thread.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{eventually, Broker};
use copper_mqtt::actors::ClientHandle;

/// Thread and descriptor counts are per process: these tests must not overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// 1,000 connect/disconnect cycles leave the thread count and open descriptors flat.
#[test]
fn a_thousand_cycles_leave_threads_and_descriptors_flat() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let broker = Broker::start();
    broker.client().disconnect().unwrap();
    let (threads_before, fds_before) = (threads(), fds());
    for _ in 0..1000 {
        broker.client().disconnect().unwrap();
    }
    let settled = eventually(Duration::from_secs(5), || {
        threads() <= threads_before && fds() <= fds_before
    });
    eprintln!(
        "after 1000 cycles: threads {threads_before} -> {}, descriptors {fds_before} -> {}",
        threads(),
        fds()
    );
    assert!(settled);
}

/// 100 clients at once run on one actor thread; when they are gone, so is the thread.
#[test]
fn a_hundred_clients_share_one_actor_thread() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let broker = Broker::start();
    let before = threads();
    let clients: Vec<ClientHandle> = (0..100).map(|_| broker.client()).collect();
    let during = threads();
    eprintln!("threads: {before} with no client, {during} with 100 clients");
    assert!(
        during <= before + 1,
        "{before} threads before, {during} with 100 clients"
    );
    drop(clients);
    assert!(eventually(Duration::from_secs(5), || threads() <= before));
}
