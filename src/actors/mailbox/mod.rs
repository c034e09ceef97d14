//! The mailbox of one client: its received messages in lanes, by reader ([`lanes`]), behind
//! the lock and wake-ups the Lua thread and the actor thread share ([`shell`]).

mod lanes;
mod shell;

pub use lanes::{Claim, Lane, Matched, SubscriptionId, Taken};
pub use shell::{Mailbox, Take};
