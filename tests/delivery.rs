//! Delivery guarantees across a broker killed with -9 and restarted, with persistence and
//! persistent sessions: QoS 1 loses nothing, QoS 2 delivers each message once, and what was
//! published while the broker was gone arrives after it returns.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::Broker;
use copper_mqtt::actors::{ClientHandle, Lane};
use copper_mqtt::options::{PublishOptions, QoS, Reconnect};
use copper_mqtt::topic::{TopicFilter, TopicName};

fn persistent(broker: &Broker, id: &str) -> ClientHandle {
    let mut o = broker.options();
    o.client_id = id.into();
    o.clean_session = false;
    o.capacity = 10_000;
    o.reconnect = Some(Reconnect {
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        max_attempts: None,
    });
    ClientHandle::connect(o).unwrap()
}

fn publish_range(c: &ClientHandle, range: std::ops::RangeInclusive<u32>, qos: QoS) {
    for i in range {
        let topic = TopicName::new(format!("d/{}", i % 4)).unwrap();
        c.publish(
            topic,
            i.to_string().into_bytes(),
            PublishOptions {
                qos,
                ..PublishOptions::default()
            },
        )
        .unwrap();
    }
}

/// Receives until every number in `wanted` has arrived, or `bound` passes; returns how often
/// each number came and whether any copy had DUP set.
fn collect(
    c: &ClientHandle,
    wanted: std::ops::RangeInclusive<u32>,
    bound: Duration,
) -> HashMap<u32, (u32, bool)> {
    let deadline = Instant::now() + bound;
    let mut seen: HashMap<u32, (u32, bool)> = HashMap::new();
    let mut complete = false;
    while Instant::now() < deadline {
        complete = complete || wanted.clone().all(|n| seen.contains_key(&n));
        // Once all have come, a quiet 300 ms says no late copy is on its way.
        let wait = Duration::from_millis(if complete { 300 } else { 200 });
        match c.take(&[Lane::Client], wait).unwrap() {
            Some(m) => {
                let n: u32 = std::str::from_utf8(&m.payload).unwrap().parse().unwrap();
                let entry = seen.entry(n).or_insert((0, false));
                entry.0 += 1;
                entry.1 |= m.dup;
            }
            None if complete => break,
            None => {}
        }
    }
    seen
}

fn survive_a_kill(qos: QoS) -> (u32, u32) {
    let mut broker = Broker::start_with(&[
        "--persist",
        "--conf",
        "autosave_on_changes true",
        "--conf",
        "log_type all",
    ]);
    let tag = qos.as_u8();
    let sub = persistent(&broker, &format!("sub-{tag}"));
    sub.subscribe(TopicFilter::new("d/#").unwrap(), qos)
        .unwrap();
    let publisher = persistent(&broker, &format!("pub-{tag}"));

    publish_range(&publisher, 1..=100, qos);
    let before = collect(&sub, 1..=100, Duration::from_secs(10));
    assert_eq!(before.len(), 100);
    // A SUBACK means the broker has read every acknowledgement the subscriber sent before,
    // and (autosave_on_changes) the subscription change makes it save its state.
    sub.subscribe(TopicFilter::new("sync/#").unwrap(), qos)
        .unwrap();
    // A frozen broker takes the next publishes into its socket but never acknowledges them.
    broker.freeze();
    publish_range(&publisher, 101..=200, qos);
    broker.kill9();
    broker.restart();
    // These go out once the publisher has reconnected.
    publish_range(&publisher, 201..=300, qos);

    let mut seen = collect(&sub, 101..=300, Duration::from_secs(30));
    for (n, (count, _)) in before {
        seen.entry(n).or_insert((0, false)).0 += count;
    }
    let lost: Vec<u32> = (101..=300).filter(|n| !seen.contains_key(n)).collect();
    assert!(lost.is_empty(), "QoS {tag}: lost {lost:?}");
    let duplicated = seen.values().filter(|(count, _)| *count > 1).count() as u32;
    let with_dup = seen.values().filter(|(_, dup)| *dup).count();
    eprintln!("QoS {tag}: 300 published, {} distinct received, {duplicated} duplicated, {with_dup} with DUP", seen.len());
    let resent_with_dup = broker
        .log()
        .lines()
        .filter(|l| l.contains(&format!("Received PUBLISH from pub-{tag} (d1")))
        .count() as u32;
    (duplicated, resent_with_dup)
}

/// QoS 1: every message arrives after a kill -9 and restart; the publisher resends what the
/// dead broker never acknowledged, with DUP set.
#[test]
fn qos1_loses_nothing_across_a_broker_kill() {
    let (_duplicated, resent_with_dup) = survive_a_kill(QoS::AtLeastOnce);
    assert!(resent_with_dup > 0, "no publish was re-sent with DUP");
}

/// QoS 2: every message arrives exactly once after a kill -9 and restart.
#[test]
fn qos2_delivers_each_message_once_across_a_broker_kill() {
    let (duplicated, resent_with_dup) = survive_a_kill(QoS::ExactlyOnce);
    assert_eq!(duplicated, 0, "QoS 2 messages delivered twice");
    assert!(resent_with_dup > 0, "no publish was re-sent with DUP");
}

/// Messages published while a persistent-session subscriber was away reach it when it
/// comes back.
#[test]
fn a_returning_persistent_subscriber_gets_what_it_missed() {
    let broker = Broker::start();
    let sub = persistent(&broker, "away");
    sub.subscribe(TopicFilter::new("d/#").unwrap(), QoS::AtLeastOnce)
        .unwrap();
    sub.disconnect().unwrap();
    let publisher = broker.client();
    publish_range(&publisher, 1..=50, QoS::AtLeastOnce);
    publisher.disconnect().unwrap();
    let back = persistent(&broker, "away");
    let seen = collect(&back, 1..=50, Duration::from_secs(10));
    assert_eq!(seen.len(), 50);
}
