//! Validation of topic names and filters (MQTT 3.1.1 sections 1.5.3 and 4.7), shared
//! subscription parsing, and the reference matcher.

use std::fmt;
use std::str::FromStr;

/// The packet encoding prefixes every string with a 16-bit length.
const MAX_LEN: usize = 65_535;

const SHARE_PREFIX: &str = "$share/";

/// Why a topic name or filter was rejected.
///
/// The texts describe the offending string without naming it, so callers can write
/// `format!("topic filter {filter:?} {err}")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// The string is empty.
    #[error("must not be empty")]
    Empty,
    /// The string is longer than 65,535 bytes of UTF-8; holds the actual length.
    #[error("is {0} bytes long; at most 65535 bytes are allowed")]
    TooLong(usize),
    /// The bytes are not valid UTF-8.
    #[error("is not valid UTF-8")]
    InvalidUtf8,
    /// The string contains U+0000.
    #[error("must not contain the NUL character (U+0000)")]
    NulCharacter,
    /// A topic name contains `+` or `#`.
    #[error("wildcards ('+' and '#') are not allowed in topic names")]
    WildcardInName,
    /// A `#` in a filter is not a whole level, or not the last one.
    #[error("'#' must be the last level of a filter, on its own (as in \"a/#\")")]
    HashNotLast,
    /// A `+` in a filter shares its level with other characters.
    #[error("'+' must occupy a whole level (as in \"a/+/b\")")]
    WildcardNotWholeLevel,
    /// `$share//...` or `$share/`: the share name is empty.
    #[error("the share name of \"$share/<group>/<filter>\" must not be empty")]
    EmptyShareGroup,
    /// The share name contains `+` or `#`.
    #[error("the share name of \"$share/<group>/<filter>\" must not contain '+' or '#'")]
    InvalidShareGroup,
    /// `$share/<group>` or `$share/<group>/` has no filter after the share name.
    #[error("\"$share/<group>/\" must be followed by a topic filter")]
    MissingShareFilter,
}

/// A validated topic name, as used in PUBLISH packets and will messages.
///
/// Non-empty, at most 65,535 bytes, no U+0000, no `+` or `#`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicName(String);

impl TopicName {
    /// Validates `name` as a topic name.
    ///
    /// # Errors
    ///
    /// The [`TopicError`] of the first rule `name` breaks, checked in this order: emptiness,
    /// length, NUL, wildcards.
    pub fn new(name: impl Into<String>) -> Result<Self, TopicError> {
        let name = name.into();
        validate_name(&name)?;
        Ok(Self(name))
    }

    /// Validates raw bytes (for example from a packet) as a topic name.
    ///
    /// # Errors
    ///
    /// [`TopicError::InvalidUtf8`] if `bytes` is not UTF-8, else as [`new`](Self::new).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TopicError> {
        let name = std::str::from_utf8(bytes).map_err(|_| TopicError::InvalidUtf8)?;
        validate_name(name)?;
        Ok(Self(name.to_owned()))
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Unwraps the name's text.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for TopicName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TopicName {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A validated topic filter, as used in SUBSCRIBE and UNSUBSCRIBE packets.
///
/// It may be a shared subscription `$share/<group>/<filter>`, in which case only
/// `<filter>` (the [`pattern`](Self::pattern)) takes part in matching.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicFilter {
    text: String,
    /// Byte offset of the pattern in `text`: 0, or just past `$share/<group>/`.
    pattern_start: usize,
}

impl TopicFilter {
    /// Validates `filter` as a topic filter, recognising `$share/<group>/<filter>`.
    ///
    /// # Errors
    ///
    /// The [`TopicError`] of the first rule `filter` breaks, checked in this order:
    /// emptiness, length, NUL, the `$share/<group>/` prefix, then each level from the left.
    pub fn new(filter: impl Into<String>) -> Result<Self, TopicError> {
        let text = filter.into();
        let pattern_start = parse_filter(&text)?;
        Ok(Self {
            text,
            pattern_start,
        })
    }

    /// Validates raw bytes (for example from a packet) as a topic filter.
    ///
    /// # Errors
    ///
    /// [`TopicError::InvalidUtf8`] if `bytes` is not UTF-8, else as [`new`](Self::new).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TopicError> {
        let text = std::str::from_utf8(bytes).map_err(|_| TopicError::InvalidUtf8)?;
        let pattern_start = parse_filter(text)?;
        Ok(Self {
            text: text.to_owned(),
            pattern_start,
        })
    }

    /// The full text, `$share/<group>/` prefix included.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The part that is matched against topic names: `a/+` for `$share/g/a/+`, the whole
    /// text for an ordinary filter.
    pub fn pattern(&self) -> &str {
        &self.text[self.pattern_start..]
    }

    /// The share name of a shared subscription: `Some("g")` for `$share/g/a/+`.
    pub fn share_group(&self) -> Option<&str> {
        // The pattern starts one byte past the '/' that ends the group.
        (self.pattern_start > 0).then(|| &self.text[SHARE_PREFIX.len()..self.pattern_start - 1])
    }

    /// Whether this filter's [`pattern`](Self::pattern) matches the topic name `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        matches(self.pattern(), topic)
    }

    /// Unwraps the full text.
    pub fn into_string(self) -> String {
        self.text
    }
}

impl AsRef<str> for TopicFilter {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for TopicFilter {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// The reference matcher: whether the filter pattern `filter` (valid, without a `$share/`
/// prefix) matches the topic name `topic` (valid).
///
/// A plain level-by-level comparison in O(length of `filter` + length of `topic`);
/// [`TopicTrie`](super::TopicTrie) must agree with it.
pub fn matches(filter: &str, topic: &str) -> bool {
    // A valid filter starting with '+' or '#' has that wildcard as its whole first level.
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    let mut topic_levels = topic.split('/');
    loop {
        match (filter_levels.next(), topic_levels.next()) {
            // '#' also matches the parent level alone, so it matches even when the topic has
            // no level left.
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(t)) if f == t => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The rules shared by names and filters.
fn validate_text(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.len() > MAX_LEN {
        return Err(TopicError::TooLong(s.len()));
    }
    if s.contains('\0') {
        return Err(TopicError::NulCharacter);
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<(), TopicError> {
    validate_text(name)?;
    if name.contains(['+', '#']) {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// Validates a whole filter and returns the byte offset where its pattern starts.
fn parse_filter(filter: &str) -> Result<usize, TopicError> {
    validate_text(filter)?;
    let pattern_start = match filter.strip_prefix(SHARE_PREFIX) {
        None => 0,
        Some(rest) => {
            let (group, pattern) = rest.split_once('/').unwrap_or((rest, ""));
            if group.is_empty() {
                return Err(TopicError::EmptyShareGroup);
            }
            if group.contains(['+', '#']) {
                return Err(TopicError::InvalidShareGroup);
            }
            if pattern.is_empty() {
                return Err(TopicError::MissingShareFilter);
            }
            SHARE_PREFIX.len() + group.len() + 1
        }
    };
    validate_pattern(&filter[pattern_start..])?;
    Ok(pattern_start)
}

fn validate_pattern(pattern: &str) -> Result<(), TopicError> {
    let mut levels = pattern.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(TopicError::HashNotLast);
        }
        if level.contains('+') && level != "+" {
            return Err(TopicError::WildcardNotWholeLevel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_of_exactly_65535_bytes_is_accepted() {
        for name in [
            "a".repeat(65_535),
            "é".repeat(32_767) + "a",
            "€".repeat(21_845),
        ] {
            assert_eq!(name.len(), 65_535);
            assert!(TopicName::new(name.clone()).is_ok());
            assert!(TopicFilter::new(name).is_ok());
        }
    }

    #[test]
    fn a_name_of_65536_bytes_is_rejected_with_its_length() {
        for name in ["a".repeat(65_536), "é".repeat(32_768), "🎾".repeat(16_384)] {
            assert_eq!(
                TopicName::new(name.clone()),
                Err(TopicError::TooLong(65_536))
            );
            assert_eq!(TopicFilter::new(name), Err(TopicError::TooLong(65_536)));
        }
    }

    #[test]
    fn the_length_limit_counts_the_share_prefix() {
        let fits = format!("$share/g/{}", "a".repeat(65_535 - 9));
        assert_eq!(
            TopicFilter::new(fits.clone() + "/#"),
            Err(TopicError::TooLong(65_537))
        );
        let filter = TopicFilter::new(fits).unwrap();
        assert_eq!(filter.pattern().len(), 65_535 - 9);
    }

    #[test]
    fn nul_is_rejected_anywhere() {
        for text in ["\0", "a\0", "\0/a", "a/\0/b", "$share/g/a\0"] {
            assert_eq!(TopicName::new(text), Err(TopicError::NulCharacter));
            assert_eq!(TopicFilter::new(text), Err(TopicError::NulCharacter));
        }
    }

    #[test]
    fn invalid_utf8_bytes_are_rejected() {
        let cases: [&[u8]; 4] = [b"\xff", b"a/\xc3", b"\xed\xa0\x80", b"a/\xc0\xaf"];
        for bytes in cases {
            assert_eq!(TopicName::from_bytes(bytes), Err(TopicError::InvalidUtf8));
            assert_eq!(TopicFilter::from_bytes(bytes), Err(TopicError::InvalidUtf8));
        }
    }

    #[test]
    fn from_bytes_validates_like_new() {
        assert_eq!(TopicName::from_bytes(b"a/b").unwrap().as_str(), "a/b");
        assert_eq!(
            TopicName::from_bytes(b"a/+"),
            Err(TopicError::WildcardInName)
        );
        assert_eq!(TopicName::from_bytes(b""), Err(TopicError::Empty));
        let filter = TopicFilter::from_bytes(b"$share/g/a/+").unwrap();
        assert_eq!(filter, TopicFilter::new("$share/g/a/+").unwrap());
        assert_eq!(TopicFilter::from_bytes(b"a#"), Err(TopicError::HashNotLast));
    }

    #[test]
    fn a_shared_filter_exposes_its_group_and_pattern() {
        let filter = TopicFilter::new("$share/g/a/+").unwrap();
        assert_eq!(filter.as_str(), "$share/g/a/+");
        assert_eq!(filter.pattern(), "a/+");
        assert_eq!(filter.share_group(), Some("g"));
        assert!(filter.matches("a/b"));
        assert!(!filter.matches("$share/g/a/b"));
        assert_eq!(filter.into_string(), "$share/g/a/+");

        let filter = TopicFilter::new("$share/consumers-1/#").unwrap();
        assert_eq!(filter.share_group(), Some("consumers-1"));
        assert_eq!(filter.pattern(), "#");
    }

    #[test]
    fn an_ordinary_filter_has_no_group_and_is_its_own_pattern() {
        for text in ["a/+", "$shared/x", "$SHARE/g/x", "$share", "x/$share/g/y"] {
            let filter = TopicFilter::new(text).unwrap();
            assert_eq!(filter.pattern(), text);
            assert_eq!(filter.share_group(), None);
        }
    }

    #[test]
    fn names_and_filters_round_trip_through_their_text() {
        let name: TopicName = "sport/tennis".parse().unwrap();
        assert_eq!(name.to_string(), "sport/tennis");
        assert_eq!(name.as_ref(), "sport/tennis");
        assert_eq!(name.into_string(), "sport/tennis");
        let filter: TopicFilter = "$share/g/sport/#".parse().unwrap();
        assert_eq!(filter.to_string(), "$share/g/sport/#");
        assert_eq!(filter.as_ref(), "$share/g/sport/#");
    }

    #[test]
    fn error_texts_are_lowercase_without_a_trailing_period() {
        let errors = [
            TopicError::Empty,
            TopicError::TooLong(70_000),
            TopicError::InvalidUtf8,
            TopicError::NulCharacter,
            TopicError::WildcardInName,
            TopicError::HashNotLast,
            TopicError::WildcardNotWholeLevel,
            TopicError::EmptyShareGroup,
            TopicError::InvalidShareGroup,
            TopicError::MissingShareFilter,
        ];
        for error in errors {
            let text = error.to_string();
            assert!(!text.ends_with('.'), "{text}");
            assert!(!text.starts_with(char::is_uppercase), "{text}");
        }
        assert_eq!(
            TopicError::TooLong(70_000).to_string(),
            "is 70000 bytes long; at most 65535 bytes are allowed"
        );
    }
}
