//! The MQTT quality-of-service levels.

/// An MQTT quality-of-service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    #[default]
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    /// The level as the number a Lua script sees.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}
