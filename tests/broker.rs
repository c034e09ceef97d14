//! The test bed itself: brokers start on free ports, stop by PID, die by kill -9 and come
//! back on the same port.

mod common;

use std::net::TcpStream;

use common::{next, Broker};
use copper_mqtt::actors::ClientHandle;
use copper_mqtt::options::{PublishOptions, QoS};
use copper_mqtt::topic::{TopicFilter, TopicName};

fn filter(f: &str) -> TopicFilter {
    TopicFilter::new(f).unwrap()
}

fn publish(c: &ClientHandle, topic: &str, qos: QoS) {
    let opts = PublishOptions {
        qos,
        ..PublishOptions::default()
    };
    c.publish(TopicName::new(topic).unwrap(), b"m".to_vec(), opts)
        .unwrap();
}

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

/// A broker started with a password file refuses a wrong password and accepts the right one.
#[test]
fn a_password_broker_checks_credentials() {
    let broker = Broker::start_with(&["--user", "alice:wonder"]);
    let mut o = broker.options();
    o.username = Some("alice".into());
    o.password = Some("wrong".into());
    let err = ClientHandle::connect(o.clone()).err().expect("refused");
    assert!(err.to_string().contains("not authorised"), "{err}");
    o.password = Some("wonder".into());
    assert!(ClientHandle::connect(o).is_ok());
}

/// A broker started with an ACL file delivers nothing the ACL denies.
#[test]
fn an_acl_broker_withholds_denied_topics() {
    let acl = std::env::temp_dir().join(format!("copper-acl-{}", std::process::id()));
    std::fs::write(&acl, "topic readwrite open/#\n").unwrap();
    let broker = Broker::start_with(&["--acl", acl.to_str().unwrap()]);
    let _ = std::fs::remove_file(&acl);
    let c = broker.client();
    c.subscribe(filter("#"), QoS::AtLeastOnce).unwrap();
    publish(&c, "closed/x", QoS::AtLeastOnce);
    publish(&c, "open/x", QoS::AtLeastOnce);
    assert_eq!(next(&c, 5).topic, "open/x");
}

/// With persistence, a session and its queued QoS 1 message survive a broker restart.
#[test]
fn a_persistent_broker_keeps_sessions_across_a_restart() {
    let mut broker = Broker::start_with(&["--persist"]);
    let mut o = broker.options();
    o.client_id = "persistent-sub".into();
    o.clean_session = false;
    let sub = ClientHandle::connect(o.clone()).unwrap();
    sub.subscribe(filter("kept/#"), QoS::AtLeastOnce).unwrap();
    sub.disconnect().unwrap();
    let publisher = broker.client();
    publish(&publisher, "kept/1", QoS::AtLeastOnce);
    publisher.disconnect().unwrap();
    broker.stop();
    broker.restart();
    let back = ClientHandle::connect(o).unwrap();
    let m = next(&back, 5);
    assert_eq!(m.topic, "kept/1");
    // Routed to the client even though this process never subscribed in this session.
    assert_eq!(m.subscription, None);
}
