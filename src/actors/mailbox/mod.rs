//! The mailbox of one client: its received messages in lanes, by reader ([`lanes`]), behind
//! the lock and wake-ups the Lua thread and the actor thread share ([`shell`]); what a
//! protocol sees of it ([`room`]); the descriptor another event loop watches for it
//! ([`readiness`]).

mod lanes;
mod readiness;
mod room;
mod shell;

pub use lanes::{Claim, Lane, Matched, SubscriptionId, Taken};
pub use room::Room;
pub use shell::{Mailbox, Take};
