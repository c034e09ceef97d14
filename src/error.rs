//! The crate's one error type. The Lua layer turns it into the message a script catches.

use crate::topic::TopicError;

/// Everything that can go wrong in the client, below the Lua boundary.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("invalid topic {topic:?}: {why}")]
    InvalidTopic { topic: String, why: TopicError },
    #[error("bad option 'will.topic': invalid topic {topic:?}: {why}")]
    InvalidWillTopic { topic: String, why: TopicError },
    #[error("invalid filter {filter:?}: {why}")]
    InvalidFilter { filter: String, why: TopicError },
    #[error("bad argument #{position} '{name}': expected {expected}, got {got}")]
    BadArgument {
        position: usize,
        name: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error("bad option '{name}': expected {expected}, got {got}")]
    BadOption {
        name: String,
        expected: &'static str,
        got: String,
    },
    #[error("bad argument #2 'payload': expected a message of at most {max} bytes with its topic (MQTT's limit), got {size}")]
    PayloadTooLarge { size: usize, max: usize },
    #[error("unknown option {name:?} (known options: {known})")]
    UnknownOption { name: String, known: &'static str },
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
