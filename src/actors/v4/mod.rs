//! The MQTT 3.1.1 link, on rumqttc: `V4Link` takes the connection actor's requests, the
//! driver runs rumqttc's event loop (connecting, reconnecting, watching keep-alive) and turns
//! its events into [`NetEvent`](super::link::NetEvent)s, and `Outgoing` is the bookkeeping of
//! publishes they share.

mod driver;
mod link;
mod outgoing;

pub use link::open;
