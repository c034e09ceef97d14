//! Reconnection delays: capped exponential backoff with jitter.

use std::time::Duration;

use crate::options::splitmix64;

/// The delay before each reconnection attempt. Each failure doubles the base delay up to
/// `max`; each delay is drawn between half and all of the base ("equal jitter"), so that many
/// clients cut off together do not reconnect in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    /// The base delay of the next attempt.
    next: Duration,
    /// State of the jitter generator.
    seed: u64,
}

impl Backoff {
    /// A backoff from `min` rising to `max`.
    pub fn new(min: Duration, max: Duration, seed: u64) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
            seed,
        }
    }

    /// The delay before the next attempt; advances the base delay.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        self.seed = splitmix64(self.seed);
        let unit = (self.seed >> 11) as f64 / (1u64 << 53) as f64;
        base.mul_f64(0.5 + 0.5 * unit)
    }

    /// Back to the shortest delay, after a successful connection.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_stay_within_jitter_bounds() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30), 7);
        let mut base = Duration::from_millis(500);
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(
                d >= base / 2 && d <= base,
                "{d:?} outside {base:?}/2..={base:?}"
            );
            base = (base * 2).min(Duration::from_secs(30));
        }
    }

    #[test]
    fn reset_returns_to_the_shortest_delay() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 1);
        for _ in 0..10 {
            b.next_delay();
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_differs_between_seeds() {
        let a = Backoff::new(Duration::from_secs(1), Duration::from_secs(1), 1).next_delay();
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1), 2).next_delay();
        assert_ne!(a, b);
    }
}
