//! The library's tracing subscriber. Installed once, when the module loads: warnings and
//! errors to stderr, or what the `MQTT_LOG` environment variable says (tracing-subscriber's
//! EnvFilter syntax, e.g. `info` or `copper_mqtt=debug`). rumqttc's `log` records are bridged
//! into it. [`configure`] (Lua's `mqtt.log`) swaps its filter, format and destination.
//! Nothing logs a password or payload bytes: events carry sizes only.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Context, Layered, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{fmt, reload, EnvFilter, Layer, Registry};

use crate::error::{Error, Result};

/// The registry under the global filter, which the format layers sit on.
type Filtered = Layered<reload::Layer<EnvFilter, Registry>, Registry>;

type Boxed = Box<dyn Layer<Filtered> + Send + Sync>;

/// The handles that swap the installed filter and format layers; unset if another
/// subscriber won.
static HANDLES: OnceLock<Option<Handles>> = OnceLock::new();

struct Handles {
    filter: reload::Handle<EnvFilter, Registry>,
    format: reload::Handle<Boxed, Filtered>,
}

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

/// The filter and the format layers `cfg` asks for.
fn layers(cfg: &LogConfig) -> Result<(EnvFilter, Boxed)> {
    let refused = |why: String| Error::InvalidOption {
        option: "level".into(),
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
                .map_err(|e| Error::InvalidOption {
                    option: "file".into(),
                    expected: "a file the process can append to",
                    got: format!("{path:?} ({e})"),
                })?;
            BoxMakeWriter::new(Mutex::new(file))
        }
    };
    // Both formats keep the fields of every span, whichever writes the lines: a span lives
    // as long as its client, and a format switched to later finds its fields there (the JSON
    // format panics on a span whose fields only the other one recorded).
    let pretty = fmt::layer().with_ansi(false);
    let json = fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true);
    let format = match cfg.format {
        Format::Pretty => pretty.with_writer(writer).and_then(SpansOnly(json)).boxed(),
        Format::Json => json.with_writer(writer).and_then(SpansOnly(pretty)).boxed(),
    };
    Ok((filter, format))
}

/// A layer that keeps its spans' state and writes no events: the format not in use.
struct SpansOnly<L>(L);

impl<S, L> Layer<S> for SpansOnly<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.0.on_record(id, values, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.0.on_close(id, ctx);
    }
}

/// Installs the subscriber, once per process; later calls do nothing. A bad `MQTT_LOG` is
/// said on stderr, and warnings are logged instead.
pub fn init() {
    HANDLES.get_or_init(|| {
        let initial = layers(&LogConfig::default()).or_else(|e| {
            eprintln!("copper_mqtt: MQTT_LOG: {e}; logging warnings and errors instead");
            layers(&LogConfig {
                filter: "warn".into(),
                ..LogConfig::default()
            })
        });
        let (filter, format) = initial.ok()?;
        let (filter, filter_handle) = reload::Layer::new(filter);
        let (format, format_handle) = reload::Layer::new(format);
        let subscriber = Registry::default().with(filter).with(format);
        tracing::subscriber::set_global_default(subscriber).ok()?;
        // rumqttc logs through the `log` crate.
        let _ = tracing_log::LogTracer::init();
        Some(Handles {
            filter: filter_handle,
            format: format_handle,
        })
    });
}

/// Replaces the filter, format and destination of the library's log.
///
/// # Errors
/// `BadOption` for a filter that does not parse or a file that cannot be opened;
/// `Internal` when another subscriber was installed first.
pub fn configure(cfg: &LogConfig) -> Result<()> {
    init();
    let (filter, format) = layers(cfg)?;
    let Some(Some(handles)) = HANDLES.get() else {
        return Err(Error::Internal(
            "another tracing subscriber is installed in this library's process".into(),
        ));
    };
    let failed = |e: reload::Error| Error::Internal(format!("cannot reconfigure the log: {e}"));
    handles.format.reload(format).map_err(failed)?;
    handles.filter.reload(filter).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why the log refuses `filter` (empty if it takes it).
    fn refusal(filter: &str) -> String {
        let cfg = LogConfig {
            filter: filter.into(),
            ..LogConfig::default()
        };
        layers(&cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_filter_that_does_not_parse_is_refused_with_the_option_named() {
        let err = refusal("warn,[[[");
        assert!(err.contains("invalid option level"), "{err}");
    }

    #[test]
    fn a_mistyped_level_is_refused_and_real_directives_are_taken() {
        for bad in ["inf", "warn,debugg", "verbose"] {
            let err = refusal(bad);
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
            assert_eq!(refusal(good), "", "{good}");
        }
    }

    #[test]
    fn an_unwritable_file_is_refused_with_the_option_named() {
        let cfg = LogConfig {
            filter: "info".into(),
            format: Format::Json,
            file: Some("/nonexistent-dir/x.log".into()),
        };
        let err = layers(&cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("invalid option file"), "{err}");
    }
}
