//! The MQTT 3.1.1 link, on rumqttc: `V4Link` (link.rs) queues the connection actor's
//! requests; the driver runs the link, in parts by what it does: connecting and reconnecting
//! (connect.rs), resuming after a CONNACK (resume.rs), reading and writing while connected
//! (wire.rs), and turning what rumqttc records into
//! [`NetEvent`](super::protocol::NetEvent)s (translate.rs). `Sending` is what the link and the
//! driver share of what is on its way; the `Engine` is the one way into rumqttc's state.

mod connect;
mod driver;
mod engine;
mod link;
mod resume;
mod sending;
mod translate;
mod wire;

pub use link::open;
