//! Connection and publish options as plain Rust values, and the range rules that keep every
//! value inside what MQTT 3.1.1 and rumqttc accept. The Lua layer reads tables into these
//! types.

mod connect;
mod limits;
mod publish;
mod qos;
mod server;

pub use connect::{generate_client_id, splitmix64, ConnectOptions, Reconnect, TlsOptions, Will};
pub use limits::{
    attempts, capacity, delay, expect, keep_alive, port, qos, quote, timeout, wait, MAX_FIELD,
    MAX_PACKET_SIZE,
};
pub use publish::{publish_packet_size, PublishOptions};
pub use qos::QoS;
pub use server::{Server, Transport};
