//! Answer: the reply to a request whose asker may give up waiting (a subscribe or an
//! unsubscribe that times out). Which came first is decided once: either the answer was
//! given, and the asker takes it even if its wait ended at that moment, or the asker gave up,
//! and the one answering learns it and undoes what the request did.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

const WAITING: u8 = 0;
const GIVEN: u8 = 1;
const GAVE_UP: u8 = 2;

/// The side that answers.
#[derive(Debug)]
pub struct Answer<T> {
    tx: SyncSender<Result<T>>,
    state: Arc<AtomicU8>,
}

/// The side that waits.
pub struct Awaiting<T> {
    rx: Receiver<Result<T>>,
    state: Arc<AtomicU8>,
}

pub fn answer<T>() -> (Answer<T>, Awaiting<T>) {
    let (tx, rx) = mpsc::sync_channel(1);
    let state = Arc::new(AtomicU8::new(WAITING));
    (
        Answer {
            tx,
            state: state.clone(),
        },
        Awaiting { rx, state },
    )
}

impl<T> Answer<T> {
    /// Gives `value` to the asker; or, if it has given up, returns `value`.
    ///
    /// # Errors
    /// The value, when nobody waits for it any more.
    pub fn give(self, value: Result<T>) -> std::result::Result<(), Result<T>> {
        match self
            .state
            .compare_exchange(WAITING, GIVEN, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                let _ = self.tx.send(value);
                Ok(())
            }
            Err(_) => Err(value),
        }
    }
}

impl<T> Awaiting<T> {
    /// The answer, waiting up to `timeout` for it; `ack` names what was awaited.
    ///
    /// # Errors
    /// The answer's error; `AckTimeout` once given up; `Disconnected` if the request was
    /// dropped unanswered (the client closed).
    pub fn wait(self, timeout: Duration, ack: &'static str) -> Result<T> {
        match self.rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => match self.state.compare_exchange(
                WAITING,
                GAVE_UP,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => Err(Error::AckTimeout {
                    ack,
                    secs: timeout.as_secs_f64(),
                }),
                // Given as the wait ended: it is on its way.
                Err(_) => self.rx.recv().unwrap_or(Err(Error::Disconnected)),
            },
            Err(RecvTimeoutError::Disconnected) => Err(Error::Disconnected),
        }
    }
}

#[cfg(test)]
impl<T> Awaiting<T> {
    /// The answer if it has come, without waiting or giving up.
    pub fn try_take(&self) -> Option<Result<T>> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_in_time_is_taken() {
        let (answer, awaiting) = answer::<u8>();
        assert!(answer.give(Ok(7)).is_ok());
        assert_eq!(awaiting.wait(Duration::from_secs(1), "X").unwrap(), 7);
    }

    #[test]
    fn an_answer_after_the_asker_gave_up_comes_back_to_the_one_answering() {
        let (answer, awaiting) = answer::<u8>();
        let e = awaiting
            .wait(Duration::from_millis(10), "SUBACK")
            .unwrap_err();
        assert!(matches!(e, Error::AckTimeout { ack: "SUBACK", .. }), "{e}");
        assert_eq!(answer.give(Ok(7)).unwrap_err().unwrap(), 7);
    }

    #[test]
    fn an_answer_dropped_unanswered_reads_as_disconnected() {
        let (answer, awaiting) = answer::<u8>();
        drop(answer);
        let e = awaiting.wait(Duration::from_secs(1), "X").unwrap_err();
        assert!(matches!(e, Error::Disconnected), "{e}");
    }

    #[test]
    fn racing_the_timeout_either_side_wins_and_both_agree() {
        for i in 0..200 {
            let (answer, awaiting) = answer::<u32>();
            let giver = std::thread::spawn(move || answer.give(Ok(i)).is_ok());
            let taken = awaiting.wait(Duration::from_micros(u64::from(i % 20)), "X");
            let given = giver.join().unwrap();
            assert_eq!(
                given,
                taken.is_ok(),
                "run {i}: given {given}, taken {taken:?}"
            );
        }
    }
}
