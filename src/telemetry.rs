//! The library's tracing subscriber. Installed once, when the module loads: warnings and
//! errors to stderr, or what the `MQTT_LOG` environment variable says (tracing-subscriber's
//! EnvFilter syntax, e.g. `info` or `copper_mqtt=debug`). rumqttc's `log` records are bridged
//! into it. [`configure`] (Lua's `mqtt.log`) swaps its filter, format and destination.
//! Nothing logs a password or payload bytes: events carry sizes only.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Layer, Registry};

use crate::error::{Error, Result};

type Boxed = Box<dyn Layer<Registry> + Send + Sync>;

/// The handle that swaps the installed layer; unset if another subscriber won.
static HANDLE: OnceLock<Option<reload::Handle<Boxed, Registry>>> = OnceLock::new();

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One human-readable line per event.
    #[default]
    Pretty,
    /// One JSON object per line, with the spans (client_id, broker, filter…) it happened in.
    Json,
}

/// What `mqtt.log` sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// An EnvFilter directive: a level (`info`) or per-target levels.
    pub filter: String,
    pub format: Format,
    /// Append to this file instead of writing to stderr.
    pub file: Option<PathBuf>,
}

impl Default for LogConfig {
    /// Warnings and errors to stderr, or `MQTT_LOG`'s filter.
    fn default() -> Self {
        Self {
            filter: std::env::var("MQTT_LOG").unwrap_or_else(|_| "warn".into()),
            format: Format::Pretty,
            file: None,
        }
    }
}

/// What `level` must be, worded for the error.
const LEVEL: &str = "a level (error, warn, info, debug, trace, off) or an EnvFilter directive";

/// A directive that is one bare word names a level, or a target of this library; anything
/// else is taken for a mistyped level (EnvFilter would read "inf" as a target, and log
/// nothing of ours).
fn bare_word_is_known(directive: &str) -> bool {
    let word = directive.trim();
    word.is_empty()
        || word.contains(['=', '[', ':'])
        || word
            .parse::<tracing_subscriber::filter::LevelFilter>()
            .is_ok()
        || ["copper_mqtt", "rumqttc"]
            .iter()
            .any(|t| word.starts_with(t))
}

fn layer(cfg: &LogConfig) -> Result<Boxed> {
    let refused = |why: String| Error::BadOption {
        name: "level".into(),
        expected: LEVEL,
        got: format!("{:?} ({why})", cfg.filter),
    };
    if let Some(word) = cfg.filter.split(',').find(|d| !bare_word_is_known(d)) {
        return Err(refused(format!("{:?} is not a level", word.trim())));
    }
    let filter = EnvFilter::try_new(&cfg.filter).map_err(|e| refused(e.to_string()))?;
    let writer = match &cfg.file {
        None => BoxMakeWriter::new(std::io::stderr),
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::BadOption {
                    name: "file".into(),
                    expected: "a file the process can append to",
                    got: format!("{path:?} ({e})"),
                })?;
            BoxMakeWriter::new(Mutex::new(file))
        }
    };
    Ok(match cfg.format {
        Format::Pretty => fmt::layer()
            .with_ansi(false)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
        Format::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    })
}

/// Installs the subscriber, once per process; later calls do nothing.
pub fn init() {
    HANDLE.get_or_init(|| {
        let initial = layer(&LogConfig::default()).or_else(|_| {
            layer(&LogConfig {
                filter: "warn".into(),
                ..LogConfig::default()
            })
        });
        let initial = initial.ok()?;
        let (reloadable, handle) = reload::Layer::new(initial);
        let subscriber = Registry::default().with(reloadable);
        tracing::subscriber::set_global_default(subscriber).ok()?;
        // rumqttc logs through the `log` crate.
        let _ = tracing_log::LogTracer::init();
        Some(handle)
    });
}

/// Replaces the filter, format and destination of the library's log.
///
/// # Errors
/// `BadOption` for a filter that does not parse or a file that cannot be opened;
/// `Internal` when another subscriber was installed first.
pub fn configure(cfg: &LogConfig) -> Result<()> {
    init();
    let new = layer(cfg)?;
    match HANDLE.get() {
        Some(Some(handle)) => handle
            .reload(new)
            .map_err(|e| Error::Internal(format!("cannot reconfigure the log: {e}"))),
        _ => Err(Error::Internal(
            "another tracing subscriber is installed in this library's process".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_that_does_not_parse_is_refused_with_the_option_named() {
        let cfg = LogConfig {
            filter: "warn,[[[".into(),
            ..LogConfig::default()
        };
        let err = layer(&cfg).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("bad option 'level'"), "{err}");
    }

    #[test]
    fn a_mistyped_level_is_refused_and_real_directives_are_taken() {
        for bad in ["inf", "warn,debugg", "verbose"] {
            let cfg = LogConfig {
                filter: bad.into(),
                ..LogConfig::default()
            };
            let err = layer(&cfg).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("is not a level"), "{bad}: {err}");
        }
        for good in [
            "info",
            "WARN",
            "off",
            "3",
            "",
            "copper_mqtt",
            "rumqttc",
            "copper_mqtt=debug",
            "warn,copper_mqtt::actors=trace",
        ] {
            let cfg = LogConfig {
                filter: good.into(),
                ..LogConfig::default()
            };
            assert!(layer(&cfg).is_ok(), "{good}");
        }
    }

    #[test]
    fn an_unwritable_file_is_refused_with_the_option_named() {
        let cfg = LogConfig {
            filter: "info".into(),
            format: Format::Json,
            file: Some("/nonexistent-dir/x.log".into()),
        };
        let err = layer(&cfg).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("bad option 'file'"), "{err}");
    }
}
