//! What a run measured, printed as the one JSON line every benchmark program prints, and
//! how the process's CPU time and memory are read.

use std::time::Duration;

/// One run's figures; `None` prints as `null`.
#[derive(Default)]
pub struct Report {
    pub n: usize,
    pub lost: usize,
    pub seconds: f64,
    pub cpu_s: f64,
    /// CPU time of the thread that ran the workload (`main_cpu_s`).
    pub main_cpu_s: Option<f64>,
    pub p50_us: Option<f64>,
    pub p90_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub rss_base_kib: Option<u64>,
    pub rss_connected_kib: Option<u64>,
    pub rss_subscribed_kib: Option<u64>,
}

impl Report {
    /// `received` of `n` messages in `span`, with the CPU time used since `since`.
    pub fn timed(n: usize, received: usize, span: Duration, since: Cpu) -> Self {
        let now = Cpu::now();
        Report {
            n,
            lost: n - received,
            seconds: span.as_secs_f64(),
            cpu_s: now.process - since.process,
            main_cpu_s: Some(now.thread - since.thread),
            ..Report::default()
        }
    }

    /// The JSON line, with the process's peak RSS read now.
    pub fn json(&self, shape: &str, workload: &str) -> String {
        let opt = |v: Option<f64>| v.map_or("null".to_owned(), |v| format!("{v:.1}"));
        let kib = |v: Option<u64>| v.map_or("null".to_owned(), |v| v.to_string());
        let rate = match self.seconds > 0.0 {
            true => format!("{:.1}", (self.n - self.lost) as f64 / self.seconds),
            false => "null".to_owned(),
        };
        format!(
            concat!(
                r#"{{"client":"rumqttc","shape":"{}","workload":"{}","n":{},"seconds":{:.6},"#,
                r#""msgs_per_s":{},"cpu_s":{:.6},"main_cpu_s":{},"peak_rss_kib":{},"#,
                r#""p50_us":{},"p90_us":{},"p99_us":{},"lost":{},"rss_base_kib":{},"#,
                r#""rss_connected_kib":{},"rss_subscribed_kib":{}}}"#
            ),
            shape,
            workload,
            self.n,
            self.seconds,
            rate,
            self.cpu_s,
            self.main_cpu_s
                .map_or("null".to_owned(), |v| format!("{v:.6}")),
            kib(status_kib("VmHWM")),
            opt(self.p50_us),
            opt(self.p90_us),
            opt(self.p99_us),
            self.lost,
            kib(self.rss_base_kib),
            kib(self.rss_connected_kib),
            kib(self.rss_subscribed_kib),
        )
    }
}

/// CPU time used so far, user plus system, in seconds.
#[derive(Clone, Copy)]
pub struct Cpu {
    /// By the whole process (every thread).
    process: f64,
    /// By the calling thread alone.
    thread: f64,
}

impl Cpu {
    pub fn now() -> Self {
        // SAFETY: getrusage and clock_gettime only write the structs they are given.
        let (usage, clock) = unsafe {
            let mut usage = std::mem::zeroed::<libc::rusage>();
            libc::getrusage(libc::RUSAGE_SELF, &mut usage);
            let mut clock = std::mem::zeroed::<libc::timespec>();
            libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut clock);
            (usage, clock)
        };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Cpu {
            process: secs(usage.ru_utime) + secs(usage.ru_stime),
            thread: clock.tv_sec as f64 + clock.tv_nsec as f64 / 1e9,
        }
    }
}

/// A `kB` field of /proc/self/status (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The `q` quantile of sorted samples (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted.get(rank - 1).copied()
}
