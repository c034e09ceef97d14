//! The MQTT 3.1.1 link, on rumqttc: `V4Link` queues the connection actor's requests, the
//! driver runs rumqttc's event loop (connecting, reconnecting, watching keep-alive) and turns
//! its events into [`NetEvent`](super::link::NetEvent)s, the wire is how it reads and writes
//! while connected, and `Sending` is what they share of what is on its way.

mod driver;
mod engine;
mod link;
mod sending;
mod wire;

pub use link::open;
