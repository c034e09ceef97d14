//! Pending: a call that waits for the broker (connect, subscribe, unsubscribe, flush,
//! disconnect, a publish that waits), made for a task of `mqtt.run` on a thread of its own,
//! so that the Lua thread runs the other tasks meanwhile. The task yields the pending call
//! to the scheduler, which waits on its descriptor (`news_fd`, like a client's) among the
//! others; once it is readable, `result()` gives what the blocking call would have
//! returned: its values, or `nil, "<call>: <reason>"`.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use mlua::{IntoLua, IntoLuaMulti, Lua, MultiValue, UserData, UserDataMethods};

use super::errors::Result;
use crate::error::Error;

/// Turns the call's outcome into Lua values, on the Lua thread.
type Outcome = Box<dyn FnOnce(&Lua) -> mlua::Result<MultiValue> + Send>;

/// A call running on its own thread.
pub struct Pending {
    /// Readable once the call has ended.
    done: UnixStream,
    outcome: Arc<Mutex<Option<Outcome>>>,
}

impl Pending {
    /// Runs `work` on a thread of its own; `convert` turns what it returns into Lua values
    /// once the Lua side asks. Errors and panics become `nil, "<call>: <reason>"`.
    ///
    /// # Errors
    /// The system refused a thread or a socket pair.
    pub fn start<T, R>(
        call: &'static str,
        work: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
        convert: impl FnOnce(&Lua, T) -> Result<R> + Send + 'static,
    ) -> Result<Self>
    where
        T: Send + 'static,
        R: IntoLua,
    {
        let (done, mut signal) =
            UnixStream::pair().map_err(|e| Error::Descriptor(e.to_string()))?;
        let outcome = Arc::new(Mutex::new(None));
        let slot = outcome.clone();
        std::thread::Builder::new()
            .name("copper-mqtt-call".into())
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(work));
                let finish: Outcome = Box::new(move |lua: &Lua| {
                    let values: std::result::Result<R, String> = match result {
                        Ok(Ok(v)) => convert(lua, v).map_err(|e| format!("{call}: {e}")),
                        Ok(Err(e)) => Err(format!("{call}: {e}")),
                        Err(_) => Err(format!("{call}: internal error: the call panicked")),
                    };
                    values.into_lua_multi(lua)
                });
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(finish);
                // Nothing reads the other end once Lua has dropped the pending call.
                let _ = signal.write_all(&[1]);
            })
            .map_err(|e| Error::Descriptor(e.to_string()))?;
        Ok(Self { done, outcome })
    }
}

impl UserData for Pending {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("news_fd", |_, this, ()| Ok(this.done.as_raw_fd()));
        // The call ends once: its descriptor stays readable, and nothing is left to clear.
        m.add_method("clear_news", |_, _, ()| Ok(()));
        // The call's values once it has ended; `false` before.
        m.add_method("result", |lua, this, ()| {
            let finish = this
                .outcome
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            match finish {
                Some(finish) => {
                    let mut byte = [0u8; 1];
                    let _ = (&this.done).read(&mut byte);
                    finish(lua)
                }
                None => false.into_lua_multi(lua),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits (10 s at most) until the call has ended; tests take the outcome directly.
    fn wait_done(p: &Pending) {
        let mut byte = [0u8; 1];
        p.done
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        (&p.done)
            .read_exact(&mut byte)
            .expect("the call ended within 10 s");
    }

    #[test]
    fn the_outcome_of_a_call_becomes_its_values_or_nil_and_the_named_error() {
        let lua = Lua::new();
        let ok = Pending::start("mqtt.flush", || Ok(7), |_, v: i32| Ok(v + 1)).unwrap();
        wait_done(&ok);
        let finish = ok.outcome.lock().unwrap().take().unwrap();
        let values: Vec<mlua::Value> = finish(&lua).unwrap().into_iter().collect();
        assert_eq!(values, [mlua::Value::Integer(8)]);

        let failed = Pending::start(
            "mqtt.subscribe",
            || Err::<i32, _>(Error::Disconnected),
            |_, v: i32| Ok(v),
        )
        .unwrap();
        wait_done(&failed);
        let finish = failed.outcome.lock().unwrap().take().unwrap();
        let values: Vec<mlua::Value> = finish(&lua).unwrap().into_iter().collect();
        assert_eq!(values[0], mlua::Value::Nil);
        assert_eq!(
            values[1].to_string().unwrap(),
            "mqtt.subscribe: the client is disconnected"
        );
    }
}
