//! MQTT 3.1.1 topic names, topic filters and the matching between them (section 4.7).
//!
//! # Topic names
//!
//! A [`TopicName`] is what a message is published to. It is non-empty, at most 65,535
//! bytes of UTF-8, contains no U+0000, and contains neither `+` nor `#`.
//!
//! - valid: `sport/tennis/player1`, `/finance`, `Accounts payable`, `$SYS/monitor/Clients`,
//!   `a//b`, `a/`
//! - invalid: `""` (empty), `sport/+` and `sport/#` (wildcards), `a\0b` (NUL)
//!
//! # Topic filters
//!
//! A [`TopicFilter`] is what a client subscribes to. It follows the same rules as a name,
//! except that `+` may occupy a whole level and `#` may occupy the whole last level.
//!
//! - valid: `sport/tennis/player1/#`, `#`, `sport/#`, `+`, `+/tennis/#`, `sport/+/player1`,
//!   `+/+`, `/+`, `/#`
//! - invalid: `sport/tennis#` and `sport/tennis/#/ranking` (`#` not alone or not last),
//!   `sport+` and `a/+b` (`+` not alone)
//!
//! A filter `$share/<group>/<filter>` is a shared subscription: the share name `<group>` is
//! non-empty and contains none of `/`, `+` and `#`, and `<filter>` is a valid, non-empty
//! filter. Only `<filter>`, the [`pattern`](TopicFilter::pattern), is matched against
//! topics.
//!
//! - valid: `$share/g/#`, `$share/g/sport/+`; `$shared/x` and `$SHARE/g/x` are valid
//!   ordinary filters
//! - invalid: `$share/g` and `$share/g/` (no filter), `$share//a` (empty share name),
//!   `$share/g+/a` (wildcard in the share name)
//!
//! # Matching
//!
//! Levels are separated by `/` and compared exactly and case-sensitively. Empty levels
//! count: `/finance` has the levels `""` and `"finance"`, `a//b` has three levels.
//!
//! - `+` matches exactly one level, an empty one included: `sport/+` matches `sport/` and
//!   `+/+` matches `/finance`.
//! - `#` matches its parent level and any number of levels below: `sport/#` matches
//!   `sport`, `sport/` and `sport/tennis/player1`.
//! - A topic starting with `$` is not matched by a filter whose first level is `+` or `#`;
//!   `$SYS/#` and `$SYS/monitor/+` do match `$SYS/monitor/Clients`.
//!
//! Valid but non-matching pairs: `sport/+` and `sport`; `+` and `/finance`;
//! `sport/tennis/+` and `sport/tennis/player1/ranking`; `#` and `$SYS/monitor/Clients`;
//! `+/monitor/Clients` and `$SYS/monitor/Clients`; `ACCOUNTS` and `Accounts`.
//!
//! [`matches()`] compares one filter with one topic; [`TopicTrie`] finds every matching
//! filter among many without scanning them all.
//!
//! ```
//! use copper_mqtt::topic::{TopicError, TopicFilter, TopicTrie};
//!
//! let shared = TopicFilter::new("$share/g/sport/+")?;
//! assert_eq!(shared.share_group(), Some("g"));
//! assert!(shared.matches("sport/"));
//! assert_eq!(TopicFilter::new("sport/tennis#"), Err(TopicError::HashNotLast));
//!
//! let mut trie = TopicTrie::new();
//! trie.insert(&TopicFilter::new("sport/#")?, "all sport");
//! trie.insert(&shared, "one level");
//! trie.insert(&TopicFilter::new("#")?, "everything");
//! assert_eq!(trie.matches("sport").len(), 2);
//! assert_eq!(trie.matches("$SYS/uptime").len(), 0);
//! # Ok::<(), TopicError>(())
//! ```

mod filter;
mod trie;
#[cfg(test)]
mod vectors;

pub use filter::{matches, TopicError, TopicFilter, TopicName};
pub use trie::TopicTrie;
