//! The test bed for Rust integration tests: a real mosquitto per test, started on a free
//! 127.0.0.1 port through tests/support/broker.sh (the same script the Lua specs use) and
//! stopped by PID when the `Broker` is dropped, also when the test panics.

#![allow(dead_code)] // each test file uses its own part of this module

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use copper_mqtt::actors::{ClientHandle, Lane, Message};
use copper_mqtt::options::ConnectOptions;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// One running mosquitto.
pub struct Broker {
    dir: PathBuf,
    pub port: u16,
    pub pid: u32,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/broker.sh")
}

fn run(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .expect("run tests/support/broker.sh");
    assert!(
        out.status.success(),
        "broker.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn parse(out: &str) -> (u16, u32) {
    let mut words = out.split_whitespace();
    let port = words.next().and_then(|w| w.parse().ok());
    let pid = words.next().and_then(|w| w.parse().ok());
    (port.expect("port"), pid.expect("pid"))
}

impl Broker {
    /// An anonymous broker.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A broker with broker.sh options, e.g. `["--user", "u:p"]`, `["--deny", "a/#"]`.
    pub fn start_with(options: &[&str]) -> Self {
        let root = std::env::var_os("COPPER_TEST_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("copper-test-{}", std::process::id()))
            });
        let dir = root.join(format!(
            "rust-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let dir_text = dir.to_string_lossy().into_owned();
        let mut args = vec!["start", dir_text.as_str()];
        args.extend_from_slice(options);
        let (port, pid) = parse(&run(&args));
        Self { dir, port, pid }
    }

    fn dir(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    /// kill -9: no goodbye to any client.
    pub fn kill9(&mut self) {
        run(&["kill", &self.dir()]);
    }

    /// Starts again on the same port with the same config (and persistence, if any).
    pub fn restart(&mut self) {
        let (port, pid) = parse(&run(&["restart", &self.dir()]));
        assert_eq!(port, self.port);
        self.pid = pid;
    }

    /// SIGSTOP: the broker stays connected but reads and answers nothing.
    pub fn freeze(&self) {
        let status = Command::new("kill")
            .args(["-STOP", &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Stops the broker gracefully.
    pub fn stop(&mut self) {
        run(&["stop", &self.dir()]);
    }

    /// Whether the broker's process is alive.
    pub fn is_running(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    }

    /// Connect options for this broker, with a short timeout.
    pub fn options(&self) -> ConnectOptions {
        let mut o = ConnectOptions::new("127.0.0.1");
        o.port = self.port;
        o.timeout = Duration::from_secs(5);
        o
    }

    /// A connected client.
    pub fn client(&self) -> ClientHandle {
        ClientHandle::connect(self.options()).expect("connect to the test broker")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", &self.dir()])
            .output();
    }
}

/// The next message, within `secs`.
pub fn next(client: &ClientHandle, secs: u64) -> Message {
    client
        .take(&[Lane::Client], Duration::from_secs(secs))
        .expect("take")
        .unwrap_or_else(|| panic!("no message within {secs} s"))
}

/// Waits, up to `bound`, until `cond` holds; false if it never did.
pub fn eventually(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}
