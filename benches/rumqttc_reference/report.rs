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
    pub p50_us: Option<f64>,
    pub p90_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub rss_base_kib: Option<u64>,
    pub rss_connected_kib: Option<u64>,
    pub rss_subscribed_kib: Option<u64>,
}

impl Report {
    /// `received` of `n` messages in `span`, which cost `cpu_s` seconds of CPU.
    pub fn timed(n: usize, received: usize, span: Duration, cpu_s: f64) -> Self {
        Report {
            n,
            lost: n - received,
            seconds: span.as_secs_f64(),
            cpu_s,
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
                r#""msgs_per_s":{},"cpu_s":{:.6},"peak_rss_kib":{},"p50_us":{},"p90_us":{},"#,
                r#""p99_us":{},"lost":{},"rss_base_kib":{},"rss_connected_kib":{},"#,
                r#""rss_subscribed_kib":{}}}"#
            ),
            shape,
            workload,
            self.n,
            self.seconds,
            rate,
            self.cpu_s,
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

/// User plus system CPU time of the whole process (every thread), in seconds.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
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
