//! The client's one error type: typed reasons, worded for Rust. The Lua layer
//! (`src/lua/errors.rs`) words them for scripts, and adds what only a Lua call can get
//! wrong (an argument's position, an unknown option).

use crate::topic::TopicError;

/// Everything that can go wrong in the client, below the Lua boundary.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("invalid topic {topic:?}: {why}")]
    InvalidTopic { topic: String, why: TopicError },
    #[error("invalid filter {filter:?}: {why}")]
    InvalidFilter { filter: String, why: TopicError },
    /// An option's value breaks its rule; `option` is its name in the API (`tls.ca_file`).
    #[error("invalid option {option}: expected {expected}, got {got}")]
    InvalidOption {
        option: String,
        expected: &'static str,
        got: String,
    },
    /// A message too large for an MQTT packet, counted with its topic.
    #[error("a message of {size} bytes with its topic is over MQTT's limit of {max}")]
    PayloadTooLarge { size: usize, max: usize },
    #[error("bad connect string {text:?}: {why}")]
    BadConnectString { text: String, why: String },
    #[error("could not resolve host {host:?}: {why}")]
    UnknownHost { host: String, why: String },
    #[error("could not connect to {addr}: {why}")]
    Unreachable { addr: String, why: String },
    #[error("could not connect to any server: {0}")]
    NoServer(String),
    #[error("no answer from {addr} within {secs} s")]
    ConnectTimeout { addr: String, secs: f64 },
    #[error("the broker at {addr} refused the connection: {reason}")]
    Refused { addr: String, reason: &'static str },
    #[error("the broker refused the subscription to {filter:?} (return code 0x80)")]
    SubscriptionRefused { filter: String },
    #[error("the broker refused the subscriptions to {0:?} (return code 0x80)")]
    SubscriptionsRefused(Vec<String>),
    #[error("no {ack} from the broker within {secs} s")]
    AckTimeout { ack: &'static str, secs: f64 },
    #[error("the connection was lost before the broker answered ({0})")]
    ConnectionLost(String),
    #[error("the connection to the broker was lost: {0}")]
    LinkLost(String),
    #[error("the broker closed the connection each time it received the publish to {topic:?} at QoS {qos}; the client gave it up ({})", rejection_hint(*.qos))]
    PublishRejected { topic: String, qos: u8 },
    #[error("the publish queue is full ({0} messages waiting to be sent)")]
    QueueFull(usize),
    #[error("the client is disconnected")]
    Disconnected,
    #[error("the system gave no descriptor to watch: {0}")]
    Descriptor(String),
    #[error("request to the {0} actor was dropped")]
    ActorGone(&'static str),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a broker may close the connection on a publish, by its QoS.
fn rejection_hint(qos: u8) -> &'static str {
    match qos {
        2 => "a broker may not support QoS 2: NATS does not",
        _ => "a broker may refuse a topic, a size or a QoS it does not take",
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_publish_is_explained_by_its_qos() {
        let rejected = |qos| {
            Error::PublishRejected {
                topic: "t".into(),
                qos,
            }
            .to_string()
        };
        assert!(rejected(2).ends_with("(a broker may not support QoS 2: NATS does not)"));
        assert!(!rejected(1).contains("NATS"), "{}", rejected(1));
    }
}
