//! The options of one publish, and the size of the packet that carries it.

use super::qos::QoS;

/// Options of one `publish` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishOptions {
    pub qos: QoS,
    pub retain: bool,
    /// Return only once the broker has acknowledged the message (QoS 1 and 2).
    pub wait: bool,
}

/// Bytes of the PUBLISH packet that carries `payload` bytes to `topic`, counted as rumqttc
/// counts them when it holds a packet to [`MAX_PACKET_SIZE`](super::MAX_PACKET_SIZE).
pub fn publish_packet_size(topic: &str, payload: usize, qos: QoS) -> usize {
    let packet_id = if qos == QoS::AtMostOnce { 0 } else { 2 };
    let remaining = (2 + topic.len() + packet_id).saturating_add(payload);
    let length_bytes = match remaining {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    remaining.saturating_add(1 + length_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::MAX_PACKET_SIZE;

    #[test]
    fn publish_sizes_are_counted_as_rumqttc_counts_them() {
        for (payload, qos) in [
            (0, QoS::AtMostOnce),
            (120, QoS::AtMostOnce),
            (121, QoS::AtLeastOnce),
            (16_380, QoS::ExactlyOnce),
            (2_097_140, QoS::AtLeastOnce),
            (3_000_000, QoS::AtMostOnce),
        ] {
            let level = match qos {
                QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
                QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
                QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
            };
            let mut packet = rumqttc::Publish::new("a/b", level, vec![0; payload]);
            packet.pkid = u16::from(qos != QoS::AtMostOnce);
            assert_eq!(
                publish_packet_size("a/b", payload, qos),
                packet.size(),
                "{payload} {qos:?}"
            );
        }
        let largest = MAX_PACKET_SIZE - 1 - 4 - 2 - 3;
        assert_eq!(
            publish_packet_size("a/b", largest, QoS::AtMostOnce),
            MAX_PACKET_SIZE
        );
        assert_eq!(
            publish_packet_size("a/b", usize::MAX, QoS::ExactlyOnce),
            usize::MAX
        );
    }
}
