//! The test bed itself: brokers start on free ports, stop by PID, die by kill -9 and come
//! back on the same port.

mod common;

use std::net::TcpStream;

use common::Broker;

/// Two brokers started together get different ports, and each accepts connections.
#[test]
fn brokers_start_on_distinct_free_ports() {
    let a = Broker::start();
    let b = Broker::start();
    assert_ne!(a.port, b.port);
    for broker in [&a, &b] {
        assert!(TcpStream::connect(("127.0.0.1", broker.port)).is_ok());
    }
}

/// After kill -9 nothing listens; after restart the same port accepts again.
#[test]
fn a_killed_broker_restarts_on_the_same_port() {
    let mut broker = Broker::start();
    let port = broker.port;
    broker.kill9();
    assert!(!broker.is_running());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    broker.restart();
    assert_eq!(broker.port, port);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
}

/// Stop ends the process.
#[test]
fn stop_ends_the_broker_process() {
    let mut broker = Broker::start();
    assert!(broker.is_running());
    broker.stop();
    assert!(!broker.is_running());
}

/// A broker dropped by a panicking test is stopped too.
#[test]
fn a_panicking_test_leaves_no_broker_behind() {
    let pid = std::panic::catch_unwind(|| {
        let broker = Broker::start();
        let pid = broker.pid;
        std::panic::panic_any(pid);
    })
    .unwrap_err()
    .downcast::<u32>()
    .expect("the pid");
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false);
    assert!(!alive, "broker {pid} outlived its test");
}
