//! The client's Rust core (ClientHandle and its actors) against a real mosquitto.

mod common;

use std::time::Duration;

use common::{eventually, next, Broker};
use copper_mqtt::actors::{ClientHandle, Lane};
use copper_mqtt::options::{PublishOptions, QoS, Reconnect};
use copper_mqtt::topic::{TopicFilter, TopicName};
use copper_mqtt::Error;

fn filter(f: &str) -> TopicFilter {
    TopicFilter::new(f).unwrap()
}

fn topic(t: &str) -> TopicName {
    TopicName::new(t).unwrap()
}

fn publish(c: &ClientHandle, t: &str, payload: &[u8], qos: QoS) {
    c.publish(
        topic(t),
        payload.to_vec(),
        PublishOptions {
            qos,
            ..PublishOptions::default()
        },
    )
    .unwrap();
}

/// A message published at each QoS comes back to a subscriber at that QoS, tagged with the
/// subscription that routed it.
#[test]
fn messages_round_trip_at_every_qos() {
    let broker = Broker::start();
    let c = broker.client();
    assert_eq!(
        c.subscribe(filter("q/+"), QoS::ExactlyOnce).unwrap(),
        QoS::ExactlyOnce
    );
    for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        publish(&c, &format!("q/{i}"), b"hello", qos);
        let m = next(&c, 5);
        assert_eq!(m.topic, format!("q/{i}"));
        assert_eq!(&m.payload[..], b"hello");
        assert_eq!(m.qos, qos);
        assert_eq!(m.subscription.as_deref(), Some("q/+"));
    }
}

/// A subscription the broker refuses (SUBACK 0x80) is an error naming the filter.
#[test]
fn a_refused_subscription_is_an_error() {
    let broker = Broker::start_with(&["--deny", "secret/#"]);
    let c = broker.client();
    let err = c
        .subscribe(filter("secret/#"), QoS::AtMostOnce)
        .unwrap_err();
    assert!(
        matches!(err, Error::SubscriptionRefused { ref filter } if filter == "secret/#"),
        "{err}"
    );
    assert_eq!(
        c.subscribe(filter("open/#"), QoS::AtLeastOnce).unwrap(),
        QoS::AtLeastOnce
    );
}

/// After UNSUBACK the filter delivers nothing more.
#[test]
fn unsubscribe_stops_delivery() {
    let broker = Broker::start();
    let c = broker.client();
    c.subscribe(filter("u/t"), QoS::AtLeastOnce).unwrap();
    c.unsubscribe(filter("u/t")).unwrap();
    publish(&c, "u/t", b"late", QoS::AtLeastOnce);
    c.subscribe(filter("u/marker"), QoS::AtLeastOnce).unwrap();
    publish(&c, "u/marker", b"end", QoS::AtLeastOnce);
    // Messages from one client are delivered in order, so the marker comes after anything.
    let m = next(&c, 5);
    assert_eq!(m.topic, "u/marker");
}

/// QoS 1 and 2 messages beyond the mailbox's capacity are held back, not dropped.
#[test]
fn a_full_mailbox_holds_qos1_messages_back() {
    let broker = Broker::start();
    let mut o = broker.options();
    o.capacity = 5;
    let c = ClientHandle::connect(o).unwrap();
    c.subscribe(filter("held"), QoS::AtLeastOnce).unwrap();
    for i in 0..50u32 {
        publish(&c, "held", &i.to_be_bytes(), QoS::AtLeastOnce);
    }
    for i in 0..50u32 {
        assert_eq!(&next(&c, 5).payload[..], &i.to_be_bytes());
    }
}

/// The packet ids in the broker's log lines that contain `prefix`, read after `marker`, in
/// order.
fn logged_ids(log: &str, prefix: &str, marker: &str) -> Vec<u32> {
    log.lines()
        .filter(|l| l.contains(prefix))
        .filter_map(|l| l.split_once(marker).map(|(_, rest)| rest))
        .map(|rest| {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[..end].parse().unwrap()
        })
        .collect()
}

/// While the script keeps up rumqttc acknowledges QoS 1 and 2 messages as it reads them;
/// once the script has stopped reading with its mailbox full (a slow consumer), each
/// acknowledgement waits for its message to reach the mailbox, so the broker holds the rest
/// back. Across the switches every message arrives, in order, and the broker gets one
/// acknowledgement per message, in the order it sent them (MQTT 3.1.1 section 4.6).
#[test]
fn acknowledgements_stay_one_per_message_and_in_order_as_the_mailbox_fills_and_drains() {
    for (qos, ack) in [(QoS::AtLeastOnce, "PUBACK"), (QoS::ExactlyOnce, "PUBREC")] {
        let broker = Broker::start_with(&["--conf", "log_type all"]);
        let mut o = broker.options();
        o.capacity = 100;
        o.client_id = format!("acks-{}", qos.as_u8());
        let sub = ClientHandle::connect(o.clone()).unwrap();
        sub.subscribe(filter("a/#"), qos).unwrap();
        let publisher = broker.client();
        for i in 0..600u32 {
            publish(&publisher, "a/x", &i.to_be_bytes(), qos);
        }
        publisher.flush(Duration::from_secs(10)).unwrap();
        // The mailbox (100) and the broker's in-flight window (20) fill before anything is read.
        let sent = format!("Sending PUBLISH to {} ", o.client_id);
        assert!(eventually(Duration::from_secs(10), || {
            broker.log().matches(&sent).count() >= 120
        }));
        for i in 0..600u32 {
            assert_eq!(&next(&sub, 5).payload[..], &i.to_be_bytes());
        }
        assert!(sub.take(&[Lane::Client], Duration::ZERO).unwrap().is_none());
        let acked = format!("Received {ack} from {} ", o.client_id);
        assert!(eventually(Duration::from_secs(10), || {
            broker.log().matches(&acked).count() >= 600
        }));
        let log = broker.log();
        assert_eq!(
            logged_ids(&log, &acked, "(Mid: "),
            logged_ids(&log, &sent, ", m")
        );
    }
}

/// Publishes queued before disconnect() reach the broker before DISCONNECT.
#[test]
fn disconnect_sends_what_was_published_first() {
    let broker = Broker::start();
    let sub = broker.client();
    sub.subscribe(filter("flush/#"), QoS::AtLeastOnce).unwrap();
    let publisher = broker.client();
    for i in 0..200u32 {
        publish(&publisher, "flush/x", &i.to_be_bytes(), QoS::AtLeastOnce);
    }
    publisher.disconnect().unwrap();
    for i in 0..200u32 {
        assert_eq!(&next(&sub, 5).payload[..], &i.to_be_bytes());
    }
}

/// After a kill -9 and restart of the broker the client reconnects by itself, re-subscribes
/// and receives again.
#[test]
fn the_client_reconnects_and_resubscribes_after_a_broker_restart() {
    let mut broker = Broker::start();
    let c = broker.client();
    c.subscribe(filter("r/#"), QoS::AtLeastOnce).unwrap();
    broker.kill9();
    assert!(eventually(Duration::from_secs(10), || !c.is_connected()));
    broker.restart();
    assert!(eventually(Duration::from_secs(15), || c.is_connected()));
    let other = broker.client();
    // The re-subscription may trail the CONNACK: publish until one arrives, within a bound.
    let got = eventually(Duration::from_secs(10), || {
        publish(&other, "r/x", b"again", QoS::AtLeastOnce);
        matches!(c.take(&[Lane::Client], Duration::from_millis(200)), Ok(Some(m)) if &m.payload[..] == b"again")
    });
    assert!(got, "no message after the restart");
}

/// A publish waiting for its PUBACK keeps waiting across a reconnect: the broker, killed
/// while it held it unacknowledged, gets it again (renumbered, with no session) and its
/// acknowledgement ends the wait.
#[test]
fn a_confirmed_publish_outlives_a_reconnect() {
    let mut broker = Broker::start();
    let mut o = broker.options();
    o.timeout = Duration::from_secs(10);
    o.reconnect = Some(Reconnect {
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        max_attempts: None,
    });
    let c = ClientHandle::connect(o).unwrap();
    broker.freeze();
    std::thread::scope(|s| {
        let waiting = s.spawn(|| {
            c.publish(
                topic("confirm/reconnect"),
                b"x".to_vec(),
                PublishOptions {
                    qos: QoS::AtLeastOnce,
                    wait: true,
                    ..PublishOptions::default()
                },
            )
        });
        assert!(eventually(Duration::from_secs(5), || c.stats().in_flight == 1));
        broker.kill9();
        broker.restart();
        let outcome = waiting.join().unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
    });
    assert_eq!(c.stats().reconnects, 1);
    assert_eq!(c.stats().in_flight, 0);
}

/// Nothing listening: connect fails at once with a clear reason.
#[test]
fn connecting_where_nothing_listens_fails_clearly() {
    let mut broker = Broker::start();
    let o = broker.options();
    broker.stop();
    let err = ClientHandle::connect(o)
        .err()
        .expect("no broker, no client");
    assert!(err.to_string().contains("connection refused"), "{err}");
}

/// disconnect() twice is fine, and calls afterwards fail with Disconnected.
#[test]
fn a_disconnected_client_refuses_further_calls() {
    let broker = Broker::start();
    let c = broker.client();
    c.disconnect().unwrap();
    c.disconnect().unwrap();
    assert!(matches!(
        c.subscribe(filter("a"), QoS::AtMostOnce),
        Err(Error::Disconnected)
    ));
    assert!(matches!(
        c.publish(topic("a"), vec![], PublishOptions::default()),
        Err(Error::Disconnected)
    ));
    assert!(matches!(
        c.take(&[Lane::Client], Duration::ZERO),
        Err(Error::Disconnected)
    ));
    assert!(!c.is_connected());
}

/// Interleaved QoS 0, 1 and 2 publishes all arrive: QoS 2 exchanges stay within the broker's
/// in-flight quota (mosquitto drops QoS 1 messages beyond it) and packet ids are never reused
/// while a QoS 2 exchange still holds them.
#[test]
fn interleaved_qos_levels_lose_nothing() {
    let broker = Broker::start();
    let mut o = broker.options();
    o.capacity = 1000;
    let sub = ClientHandle::connect(o).unwrap();
    sub.subscribe(filter("mix/#"), QoS::ExactlyOnce).unwrap();
    let publisher = broker.client();
    let levels = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];
    for i in 0..600u32 {
        publish(
            &publisher,
            &format!("mix/{}", i % 3),
            &i.to_be_bytes(),
            levels[i as usize % 3],
        );
    }
    publisher.disconnect().unwrap();
    let mut seen = vec![false; 600];
    for _ in 0..600 {
        let m = next(&sub, 5);
        seen[u32::from_be_bytes(m.payload[..4].try_into().unwrap()) as usize] = true;
    }
    let missing: Vec<usize> = (0..600).filter(|&i| !seen[i]).collect();
    assert!(missing.is_empty(), "missing {missing:?}");
}

/// Overlapping subscriptions still give one delivery per PUBLISH the broker sent.
#[test]
fn overlapping_subscriptions_deliver_each_message_once() {
    let broker = Broker::start();
    let c = broker.client();
    c.subscribe(filter("o/#"), QoS::AtLeastOnce).unwrap();
    c.subscribe(filter("o/+"), QoS::AtLeastOnce).unwrap();
    publish(&c, "o/x", b"one", QoS::AtLeastOnce);
    publish(&c, "o/y/z", b"marker", QoS::AtLeastOnce);
    assert_eq!(&next(&c, 5).payload[..], b"one");
    assert_eq!(&next(&c, 5).payload[..], b"marker");
}

/// Closed clients give their sockets back: opening and closing many leaves the process's
/// open file descriptors where they were.
#[test]
fn closed_clients_free_their_sockets() {
    let broker = Broker::start();
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    // The first client starts the shared actor thread and its runtime's descriptors.
    broker.client().disconnect().unwrap();
    let before = fds();
    for _ in 0..30 {
        broker.client().disconnect().unwrap();
    }
    assert!(
        eventually(Duration::from_secs(5), || fds() <= before),
        "{} descriptors open, {before} before",
        fds()
    );
}

/// A burst of 10,000 QoS 1 messages arrives whole: acknowledgements that do not fit
/// rumqttc's request queue wait their turn instead of being lost (a lost PUBACK stalls
/// the broker's in-flight window for the client).
#[test]
fn a_burst_of_qos1_messages_arrives_whole() {
    let broker = Broker::start();
    let mut o = broker.options();
    o.capacity = 20_000;
    let sub = ClientHandle::connect(o).unwrap();
    sub.subscribe(filter("burst/#"), QoS::AtLeastOnce).unwrap();
    let publisher = broker.client();
    for i in 0..10_000u32 {
        publish(&publisher, "burst/x", &i.to_be_bytes(), QoS::AtLeastOnce);
    }
    publisher.flush(Duration::from_secs(30)).unwrap();
    for i in 0..10_000u32 {
        assert_eq!(&next(&sub, 10).payload[..], &i.to_be_bytes(), "message {i}");
    }
}
