//! copper_mqtt: the native half of the `mqtt` Lua module, an MQTT 3.1.1 client on rumqttc
//! driven by actix actors.
//!
//! Layout (dependencies point one way: `lua` → `actors` → `topic`):
//! - [`topic`]: topic names, filters and the wildcard trie; no I/O.
//! - [`options`]: connection and publish options, validated.
//! - [`actors`]: the connection, router and façade actors, the mailboxes the Lua side reads,
//!   and the background System they run on.
//! - [`lua`]: the module entry point and the userdata a script sees.
//! - [`telemetry`]: the tracing subscriber (`mqtt.log`, `MQTT_LOG`).
//! - [`error`]: the crate's one error type.

pub mod actors;
pub mod error;
pub mod lua;
pub mod options;
pub mod telemetry;
pub mod tls;
pub mod topic;

pub use error::{Error, Result};
