//! Limits: the range each option's value must fall in (rumqttc panics on some out-of-range
//! values, so nothing reaches it unchecked), MQTT's size limits, and how a bad value is
//! quoted back.

use std::time::Duration;

use super::qos::QoS;

/// The largest message the client sends or accepts: mosquitto's own default limit (256 MiB).
pub const MAX_PACKET_SIZE: usize = 256 * 1024 * 1024;

/// Longest string or binary field of a CONNECT packet (client id, user name, password, will
/// payload): its length is 16 bits.
pub const MAX_FIELD: usize = 65_535;

/// Longest piece of a bad value quoted back in a message.
const QUOTE_LIMIT: usize = 60;

/// A value as messages quote it: its first characters, the rest cut to `...`.
pub fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// What a number must be, worded for error messages.
pub mod expect {
    pub const PORT: &str = "an integer port from 1 to 65535";
    pub const QOS: &str = "a QoS of 0, 1 or 2";
    pub const KEEP_ALIVE: &str = "whole seconds from 1 to 65535, or 0 to turn keep-alive off";
    pub const TIMEOUT: &str = "a finite number of seconds greater than 0";
    pub const WAIT: &str = "a finite number of seconds, 0 or more";
    pub const CAPACITY: &str = "an integer from 1 to 1000000";
    pub const BOOLEAN: &str = "true or false";
    pub const TEXT: &str = "a UTF-8 string";
    pub const MQTT_TEXT: &str = "a UTF-8 string of at most 65535 bytes without NUL";
    pub const PASSWORD: &str = "a UTF-8 string of at most 65535 bytes";
    pub const WILL_PAYLOAD: &str = "a string or a number of at most 65535 bytes";
    pub const DELAY: &str = "a finite number of seconds, 0 or more, at most one day";
    pub const ATTEMPTS: &str = "an integer from 1 to 1000000";
    pub const RECONNECT: &str = "true, false or a table { min_delay, max_delay, max_attempts }";
}

/// The largest mailbox bound: a million messages is already far beyond any sane buffer.
const MAX_CAPACITY: f64 = 1_000_000.0;

fn whole(n: f64, min: f64, max: f64) -> Option<f64> {
    (n.fract() == 0.0 && n >= min && n <= max).then_some(n)
}

/// A TCP port: an integer from 1 to 65535.
pub fn port(n: f64) -> Option<u16> {
    whole(n, 1.0, 65535.0).map(|n| n as u16)
}

/// A QoS level: 0, 1 or 2.
pub fn qos(n: f64) -> Option<QoS> {
    match whole(n, 0.0, 2.0)? as u8 {
        0 => Some(QoS::AtMostOnce),
        1 => Some(QoS::AtLeastOnce),
        _ => Some(QoS::ExactlyOnce),
    }
}

/// A keep-alive interval: 0 (off) or whole seconds that fit MQTT's 16-bit field.
pub fn keep_alive(n: f64) -> Option<Duration> {
    whole(n, 0.0, 65535.0).map(Duration::from_secs_f64)
}

/// A connection or call timeout: finite and positive.
pub fn timeout(n: f64) -> Option<Duration> {
    (n.is_finite() && n > 0.0)
        .then(|| Duration::try_from_secs_f64(n).ok())
        .flatten()
}

/// A wait such as `receive(seconds)`: finite and not negative; 0 polls. One longer than a
/// `Duration` holds (1e300 s) waits without end, which is what it means in practice.
pub fn wait(n: f64) -> Option<Duration> {
    (n.is_finite() && n >= 0.0).then(|| Duration::try_from_secs_f64(n).unwrap_or(Duration::MAX))
}

/// A reconnection delay: finite, not negative, at most a day.
pub fn delay(n: f64) -> Option<Duration> {
    (n.is_finite() && (0.0..=86_400.0).contains(&n)).then(|| Duration::from_secs_f64(n))
}

/// A number of reconnection attempts: an integer from 1 to 1,000,000.
pub fn attempts(n: f64) -> Option<u32> {
    whole(n, 1.0, 1_000_000.0).map(|n| n as u32)
}

/// A mailbox bound: an integer from 1 to 1,000,000.
pub fn capacity(n: f64) -> Option<usize> {
    whole(n, 1.0, MAX_CAPACITY).map(|n| n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_whole_numbers_in_range() {
        assert_eq!(port(1883.0), Some(1883));
        assert_eq!(port(65535.0), Some(65535));
        for bad in [0.0, -1.0, 70000.0, 1883.5, f64::NAN, f64::INFINITY] {
            assert_eq!(port(bad), None, "{bad}");
        }
    }

    #[test]
    fn qos_is_zero_one_or_two() {
        assert_eq!(qos(0.0), Some(QoS::AtMostOnce));
        assert_eq!(qos(1.0), Some(QoS::AtLeastOnce));
        assert_eq!(qos(2.0), Some(QoS::ExactlyOnce));
        for bad in [3.0, -1.0, 1.5, f64::NAN] {
            assert_eq!(qos(bad), None, "{bad}");
        }
    }

    #[test]
    fn keep_alive_below_one_second_is_refused_except_zero() {
        assert_eq!(keep_alive(0.0), Some(Duration::ZERO));
        assert_eq!(keep_alive(1.0), Some(Duration::from_secs(1)));
        assert_eq!(keep_alive(65535.0), Some(Duration::from_secs(65535)));
        for bad in [0.5, -1.0, 65536.0, f64::NAN, f64::INFINITY] {
            assert_eq!(keep_alive(bad), None, "{bad}");
        }
    }

    #[test]
    fn timeouts_are_positive_and_finite() {
        assert_eq!(timeout(0.25), Some(Duration::from_millis(250)));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(timeout(bad), None, "{bad}");
        }
        assert_eq!(wait(0.0), Some(Duration::ZERO));
        assert_eq!(wait(-0.1), None);
        assert_eq!(wait(1e300), Some(Duration::MAX));
        assert_eq!(wait(f64::INFINITY), None);
    }

    #[test]
    fn capacity_is_bounded() {
        assert_eq!(capacity(100.0), Some(100));
        for bad in [0.0, -1.0, 2f64.powi(40), 10.5] {
            assert_eq!(capacity(bad), None, "{bad}");
        }
    }
}
