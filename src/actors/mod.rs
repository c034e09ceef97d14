//! The actors behind a client, and the thread-safe pieces the Lua side shares with them.
//!
//! - [`ConnectionActor`] owns the protocol link (the `Link` of one protocol version) and the state
//!   of the conversation with the broker: pending acknowledgements, reconnection, closing.
//! - [`RouterActor`] owns the active subscriptions in a topic trie and routes every incoming
//!   PUBLISH to a mailbox.
//! - [`FacadeActor`] stands for the Lua side: it builds the other actors, hands the Lua side
//!   the connection's address for its requests, and closes the mailbox when the client ends.
//!
//! All of them run on one background actix System ([`system`]), shared by every client.

mod answer;
mod backoff;
mod client_side;
mod connection;
mod facade;
mod handle;
mod mailbox;
mod messages;
mod pacing;
mod protocol;
mod reconnecting;
mod router;
mod send_queue;
mod shared;
mod subscriptions;
pub mod system;
mod v4;

pub use connection::ConnectionActor;
pub use facade::FacadeActor;
pub use handle::{ClientHandle, Subscribed};
pub use mailbox::{Claim, Lane, Mailbox, SubscriptionId, Take};
pub use messages::Message;
pub use router::RouterActor;
pub use shared::{ClientShared, Stats};
