//! The connection actor's bookkeeping against a fake link, without a broker: which reply a
//! SUBACK or UNSUBACK answers, what a lost connection fails and what it leaves waiting, how
//! re-subscriptions are matched after a reconnect, and how closing waits for publishes.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver};

use actix::{Actor, Context, Handler};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::*;
use crate::actors::answer::{answer, Awaiting};
use crate::actors::mailbox::Mailbox;
use crate::actors::mailbox::SubscriptionId;
use crate::actors::messages::{AckToken, Granted, Reply, Subscribe, Unsubscribe};
use crate::options::PublishOptions;
use crate::topic::TopicName;

/// What the connection asked of the link.
#[derive(Debug, Clone, PartialEq)]
enum Asked {
    Subscribe(Vec<String>),
    Unsubscribe(String),
    Disconnect,
}

/// A link that records requests; its unfinished count is the test's to set.
#[derive(Default)]
struct FakeLink {
    asked: Rc<RefCell<Vec<Asked>>>,
    unfinished: Rc<RefCell<usize>>,
}

impl Link for FakeLink {
    fn publish(&mut self, _: TopicName, _: Vec<u8>, _: PublishOptions, _: Option<Reply<()>>) {}

    fn unfinished(&self) -> usize {
        *self.unfinished.borrow()
    }

    fn in_flight(&self) -> usize {
        0
    }

    fn confirm_completed(&mut self) {}

    fn subscribe(&mut self, filters: Vec<(TopicFilter, QoS)>) -> Result<(), Error> {
        let filters = filters.into_iter().map(|(f, _)| f.into_string()).collect();
        self.asked.borrow_mut().push(Asked::Subscribe(filters));
        Ok(())
    }

    fn unsubscribe(&mut self, filter: TopicFilter) -> Result<(), Error> {
        self.asked
            .borrow_mut()
            .push(Asked::Unsubscribe(filter.into_string()));
        Ok(())
    }

    fn ack(&mut self, _: Vec<AckToken>) {}

    fn disconnect(&mut self) -> Result<(), Error> {
        self.asked.borrow_mut().push(Asked::Disconnect);
        Ok(())
    }
}

/// Receives `Closed` in place of the façade.
struct ClosedProbe(Rc<RefCell<bool>>);

impl Actor for ClosedProbe {
    type Context = Context<Self>;
}

impl Handler<Closed> for ClosedProbe {
    type Result = ();

    fn handle(&mut self, _: Closed, _: &mut Context<Self>) {
        *self.0.borrow_mut() = true;
    }
}

/// A connection actor on a fake link, with the handles a test drives it by.
struct Bench {
    connection: actix::Addr<ConnectionActor>,
    events: UnboundedSender<Vec<NetEvent>>,
    asked: Rc<RefCell<Vec<Asked>>>,
    unfinished: Rc<RefCell<usize>>,
    closed: Rc<RefCell<bool>>,
    shared: Arc<ClientShared>,
    connected: Receiver<crate::error::Result<()>>,
}

impl Bench {
    /// Starts the actors; must run inside an actix System.
    fn start() -> Self {
        let (events, rx) = unbounded_channel::<Vec<NetEvent>>();
        let stream: NetEvents = Box::pin(futures_util::stream::unfold(rx, |mut rx| async {
            rx.recv().await.map(|batch| (batch, rx))
        }));
        let link = FakeLink::default();
        let (asked, unfinished) = (link.asked.clone(), link.unfinished.clone());
        let closed = Rc::new(RefCell::new(false));
        let probe = ClosedProbe(closed.clone()).start();
        let shared = Arc::new(ClientShared::new("t".into(), "broker:1883".into(), 10));
        let context = Context::<ConnectionActor>::new();
        let router = RouterActor::new(
            Arc::new(Mailbox::new(10)),
            context.address().recipient(),
            "t".into(),
        )
        .start();
        let (reply, connected) = mpsc::sync_channel(1);
        let connection = context.run(ConnectionActor::new(
            Box::new(link),
            stream,
            router,
            probe.recipient(),
            shared.clone(),
            Duration::from_secs(5),
            reply,
        ));
        Self {
            connection,
            events,
            asked,
            unfinished,
            closed,
            shared,
            connected,
        }
    }

    fn feed(&self, batch: Vec<NetEvent>) {
        self.events.send(batch).expect("the actor reads its events");
    }

    fn subscribe(&self, filter: &str, id: SubscriptionId) -> Awaiting<Granted> {
        let (reply, rx) = answer();
        let filters = vec![(TopicFilter::new(filter).unwrap(), QoS::AtLeastOnce, id)];
        self.connection.do_send(Subscribe { filters, reply });
        rx
    }

    fn asked(&self) -> Vec<Asked> {
        self.asked.borrow().clone()
    }
}

/// Lets the actors run until `done` holds: every message and event sent so far is handled
/// within a bounded number of turns of the single-threaded executor.
async fn until(done: impl Fn() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the actors did not get there within 1000 turns");
}

fn granted(qos: Option<QoS>, filter: &str) -> (TopicFilter, Option<QoS>) {
    (TopicFilter::new(filter).unwrap(), qos)
}

fn suback(pkid: u16, granted: Vec<Option<QoS>>) -> NetEvent {
    NetEvent::SubAck { pkid, granted }
}

fn connected() -> NetEvent {
    NetEvent::Connected {
        resubscribed: Vec::new(),
    }
}

#[test]
fn subacks_answer_the_subscribes_of_their_packet_ids_in_any_order() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        let (a, z) = (b.subscribe("a", 1), b.subscribe("z", 2));
        until(|| b.asked().len() == 2).await;
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 7 },
            NetEvent::SubscribeSent { pkid: 8 },
            suback(8, vec![Some(QoS::AtMostOnce)]),
            suback(7, vec![None]),
        ]);
        until(|| {
            a.try_take()
                .is_some_and(|r| r.unwrap() == vec![granted(None, "a")])
        })
        .await;
        assert_eq!(
            z.try_take().unwrap().unwrap(),
            vec![granted(Some(QoS::AtMostOnce), "z")]
        );
        assert!(b.connected.try_recv().unwrap().is_ok());
        let active: Vec<String> = b
            .shared
            .subscriptions
            .active()
            .into_iter()
            .map(|(f, _)| f.to_string())
            .collect();
        assert_eq!(active, ["z"], "a refused filter is not active");
    });
}

#[test]
fn a_suback_with_too_few_return_codes_refuses_the_rest() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        let (reply, rx) = answer();
        let filters = ["p", "q"]
            .iter()
            .zip(1..)
            .map(|(f, id)| (TopicFilter::new(*f).unwrap(), QoS::AtLeastOnce, id))
            .collect();
        b.connection.do_send(Subscribe { filters, reply });
        until(|| !b.asked().is_empty()).await;
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 1 },
            suback(1, vec![Some(QoS::AtLeastOnce)]),
        ]);
        until(|| {
            rx.try_take().is_some_and(|r| {
                r.unwrap() == vec![granted(Some(QoS::AtLeastOnce), "p"), granted(None, "q")]
            })
        })
        .await;
    });
}

#[test]
fn a_lost_connection_fails_the_subscribes_sent_on_it_and_keeps_the_others_waiting() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        let (sent, waiting) = (b.subscribe("sent", 1), b.subscribe("waiting", 2));
        until(|| b.asked().len() == 2).await;
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 1 },
            NetEvent::Failed(Error::LinkLost("reset".into())),
        ]);
        until(|| {
            sent.try_take()
                .is_some_and(|r| matches!(r, Err(Error::ConnectionLost(why)) if why == "reset"))
        })
        .await;
        assert!(waiting.try_take().is_none(), "not sent yet: it waits");
        b.feed(vec![connected(), NetEvent::SubscribeSent { pkid: 1 }]);
        b.feed(vec![suback(1, vec![Some(QoS::AtLeastOnce)])]);
        until(|| waiting.try_take().is_some_and(|r| r.is_ok())).await;
    });
}

#[test]
fn re_subscriptions_after_a_reconnect_take_the_first_subacks() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        let mine = b.subscribe("mine", 1);
        until(|| b.asked().len() == 1).await;
        let again = vec![(TopicFilter::new("old").unwrap(), QoS::AtLeastOnce)];
        b.feed(vec![
            NetEvent::Failed(Error::LinkLost("reset".into())),
            NetEvent::Connected {
                resubscribed: vec![again],
            },
            NetEvent::SubscribeSent { pkid: 1 },
            NetEvent::SubscribeSent { pkid: 2 },
            suback(1, vec![Some(QoS::AtLeastOnce)]),
        ]);
        until(|| b.shared.subscriptions.qos("old").is_some()).await;
        assert!(
            mine.try_take().is_none(),
            "the first SUBACK was the re-subscription's"
        );
        b.feed(vec![suback(2, vec![Some(QoS::AtLeastOnce)])]);
        until(|| mine.try_take().is_some_and(|r| r.is_ok())).await;
    });
}

#[test]
fn unsubscribe_is_answered_at_its_unsuback_and_ends_the_filter() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        let sub = b.subscribe("f", 1);
        until(|| !b.asked().is_empty()).await;
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 1 },
            suback(1, vec![Some(QoS::AtLeastOnce)]),
        ]);
        until(|| sub.try_take().is_some()).await;
        let (reply, rx) = answer();
        b.connection.do_send(Unsubscribe {
            filter: TopicFilter::new("f").unwrap(),
            reply,
        });
        until(|| b.asked().contains(&Asked::Unsubscribe("f".into()))).await;
        b.feed(vec![
            NetEvent::UnsubscribeSent { pkid: 2 },
            NetEvent::UnsubAck { pkid: 2 },
        ]);
        until(|| rx.try_take().is_some_and(|r| r.unwrap() == [1])).await;
        assert!(b.shared.subscriptions.qos("f").is_none());
        assert_eq!(b.shared.subscriptions.filter_of(1), None);
    });
}

#[test]
fn closing_waits_for_unfinished_publishes_then_says_disconnect_and_stops() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        until(|| b.connected.try_recv().is_ok()).await;
        *b.unfinished.borrow_mut() = 1;
        let (reply, rx) = mpsc::sync_channel(1);
        b.connection.do_send(Disconnect { reply: Some(reply) });
        // Handled in order: once the link has this subscribe, the disconnect was handled.
        let _probe = b.subscribe("probe", 1);
        until(|| b.asked().len() == 1).await;
        assert_eq!(
            b.asked(),
            [Asked::Subscribe(vec!["probe".into()])],
            "a publish is unfinished"
        );
        *b.unfinished.borrow_mut() = 0;
        b.feed(vec![NetEvent::PublishAcked { pkid: 1 }]);
        until(|| b.asked().contains(&Asked::Disconnect)).await;
        assert!(!*b.closed.borrow());
        b.feed(vec![NetEvent::DisconnectSent]);
        until(|| *b.closed.borrow()).await;
        assert!(rx.try_recv().unwrap().is_ok());
        assert!(b.shared.is_closed());
    });
}

/// Gives up waiting on `awaiting` at once, as an asker whose timeout has passed.
fn give_up<T: std::fmt::Debug>(awaiting: Awaiting<T>) {
    let e = awaiting.wait(Duration::ZERO, "SUBACK").unwrap_err();
    assert!(matches!(e, Error::AckTimeout { .. }), "{e}");
}

#[test]
fn a_subscribe_answered_after_its_asker_gave_up_is_undone() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        give_up(b.subscribe("late", 1));
        until(|| !b.asked().is_empty()).await;
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 1 },
            suback(1, vec![Some(QoS::AtLeastOnce)]),
        ]);
        until(|| b.asked().contains(&Asked::Unsubscribe("late".into()))).await;
        assert!(b.shared.subscriptions.qos("late").is_none());
        // The undoing UNSUBSCRIBE's answer asks nothing more.
        b.feed(vec![
            NetEvent::UnsubscribeSent { pkid: 2 },
            NetEvent::UnsubAck { pkid: 2 },
        ]);
        let probe = b.subscribe("probe", 3);
        until(|| b.asked().len() == 3).await;
        assert_eq!(
            b.asked(),
            [
                Asked::Subscribe(vec!["late".into()]),
                Asked::Unsubscribe("late".into()),
                Asked::Subscribe(vec!["probe".into()]),
            ]
        );
        drop(probe);
    });
}

#[test]
fn a_late_subscribe_to_an_active_filter_gives_it_its_earlier_qos_back() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        let first = b.subscribe("f", 1);
        until(|| b.asked().len() == 1).await;
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 1 },
            suback(1, vec![Some(QoS::AtLeastOnce)]),
        ]);
        until(|| first.try_take().is_some()).await;
        give_up(b.subscribe("f", 2));
        until(|| b.asked().len() == 2).await;
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 2 },
            suback(2, vec![Some(QoS::AtMostOnce)]),
        ]);
        until(|| b.asked().len() == 3).await;
        assert_eq!(b.asked()[2], Asked::Subscribe(vec!["f".into()]));
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 3 },
            suback(3, vec![Some(QoS::AtLeastOnce)]),
        ]);
        until(|| b.shared.subscriptions.qos("f") == Some(QoS::AtLeastOnce)).await;
    });
}

#[test]
fn an_unsubscribe_answered_after_its_asker_gave_up_subscribes_again() {
    actix::System::new().block_on(async {
        let b = Bench::start();
        b.feed(vec![connected()]);
        let sub = b.subscribe("kept", 1);
        until(|| !b.asked().is_empty()).await;
        b.feed(vec![
            NetEvent::SubscribeSent { pkid: 1 },
            suback(1, vec![Some(QoS::AtLeastOnce)]),
        ]);
        until(|| sub.try_take().is_some()).await;
        let (reply, awaiting) = answer();
        b.connection.do_send(Unsubscribe {
            filter: TopicFilter::new("kept").unwrap(),
            reply,
        });
        give_up(awaiting);
        until(|| b.asked().len() == 2).await;
        b.feed(vec![
            NetEvent::UnsubscribeSent { pkid: 2 },
            NetEvent::UnsubAck { pkid: 2 },
        ]);
        until(|| b.asked().len() == 3).await;
        assert_eq!(b.asked()[2], Asked::Subscribe(vec!["kept".into()]));
        assert!(b.shared.subscriptions.qos("kept").is_some());
    });
}
