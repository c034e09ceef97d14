//! Test vectors: every example of MQTT 3.1.1 section 4.7 plus edge cases, each checked
//! against the validators, the reference matcher and the trie.

use super::TopicError::{self, *};

/// `(filter, topic, whether the filter matches the topic)`.
const MATCHING: &[(&str, &str, bool)] = &[
    // Section 4.7.1.2: multi-level wildcard.
    ("sport/tennis/player1/#", "sport/tennis/player1", true),
    (
        "sport/tennis/player1/#",
        "sport/tennis/player1/ranking",
        true,
    ),
    (
        "sport/tennis/player1/#",
        "sport/tennis/player1/score/wimbledon",
        true,
    ),
    ("sport/#", "sport", true),
    // Section 4.7.1.3: single-level wildcard.
    ("sport/tennis/+", "sport/tennis/player1", true),
    ("sport/tennis/+", "sport/tennis/player2", true),
    ("sport/tennis/+", "sport/tennis/player1/ranking", false),
    ("sport/+", "sport", false),
    ("sport/+", "sport/", true),
    ("+/+", "/finance", true),
    ("/+", "/finance", true),
    ("+", "/finance", false),
    // Section 4.7.2: topics beginning with '$'.
    ("#", "$SYS/monitor/Clients", false),
    ("+/monitor/Clients", "$SYS/monitor/Clients", false),
    ("$SYS/#", "$SYS/monitor/Clients", true),
    ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
    // Section 4.7.3: "/finance" has two levels; matching is case-sensitive; spaces count.
    ("/finance", "/finance", true),
    ("finance", "/finance", false),
    ("/finance", "finance", false),
    ("+/+/+", "/finance", false),
    ("ACCOUNTS", "Accounts", false),
    ("Accounts", "ACCOUNTS", false),
    ("Accounts", "Accounts", true),
    ("Accounts payable", "Accounts payable", true),
    ("Accounts payable", "Accounts  payable", false),
    ("+", "Accounts payable", true),
    ("Accounts payable/#", "Accounts payable", true),
    // '#' matches its parent level and everything below, never a '$' topic.
    ("#", "sport", true),
    ("#", "/", true),
    ("#", "a/b/c", true),
    ("#", "$SYS", false),
    ("#", "$", false),
    ("#", "$share/g/a", false),
    ("sport/#", "sport/", true),
    ("sport/#", "sport/a/b", true),
    ("sport/#", "sports", false),
    ("sport/#", "other/sport", false),
    ("a/#", "a//", true),
    ("/#", "/finance", true),
    ("/#", "finance", false),
    ("+/#", "a", true),
    ("+/#", "/", true),
    ("+/#", "$SYS/x", false),
    ("a/+/#", "a", false),
    ("a/+/#", "a/b", true),
    ("a/+/#", "a/b/c/d", true),
    ("+/+/#", "a", false),
    ("+/+/#", "a/b", true),
    // '+' matches exactly one level, an empty one included.
    ("a/+", "a/", true),
    ("+/+", "/", true),
    ("+", "a/b", false),
    ("+", "/", false),
    ("+", "$SYS", false),
    ("+/x", "$SYS/x", false),
    ("/+", "/", true),
    ("+/", "/", true),
    ("a/+/b", "a//b", true),
    ("a/+/b", "a/b", false),
    ("$SYS/+", "$SYS/x", true),
    ("$SYS/+", "$SYS", false),
    ("$SYS/+/+", "$SYS/x", false),
    // The '$' rule applies to the first level only.
    ("+/$SYS", "a/$SYS", true),
    ("a/#", "a/$x", true),
    ("+", "a$", true),
    ("$x", "$x", true),
    ("$x/#", "$x", true),
    // Empty levels are significant; comparison is exact.
    ("/", "/", true),
    ("//", "//", true),
    ("a//b", "a/b", false),
    ("a/", "a", false),
    ("a", "a/", false),
    ("sport/tennis", "sport/tennis/", false),
    ("sport/tennis", "sport/Tennis", false),
    ("sport/tennis", "sport/tennis ", false),
    ("café/+", "café/au lait", true),
    ("cafe/+", "café/au lait", false),
    // Shared subscriptions match with their pattern only.
    ("$share/g/a/+", "a/b", true),
    ("$share/g/#", "x/y", true),
    ("$share/g/#", "$SYS/x", false),
    ("$share/g/$SYS/#", "$SYS/x", true),
    ("$share/g/a", "$share/g/a", false),
    ("$shared/x", "$shared/x", true),
    ("$SHARE/g/x", "$SHARE/g/x", true),
];

/// `(topic name, validation outcome)`. Length limits are tested in `filter.rs`, where long
/// strings can be built.
const NAMES: &[(&str, Result<(), TopicError>)] = &[
    ("a", Ok(())),
    ("/", Ok(())),
    ("/finance", Ok(())),
    ("sport/tennis/player1", Ok(())),
    ("Accounts payable", Ok(())),
    ("$SYS/monitor/Clients", Ok(())),
    ("a//b", Ok(())),
    ("a/", Ok(())),
    (" ", Ok(())),
    ("café/🎾", Ok(())),
    ("$share/g/a", Ok(())),
    ("", Err(Empty)),
    ("+", Err(WildcardInName)),
    ("#", Err(WildcardInName)),
    ("a/+", Err(WildcardInName)),
    ("a#", Err(WildcardInName)),
    ("sport/tennis/#", Err(WildcardInName)),
    ("\0", Err(NulCharacter)),
    ("a\0b", Err(NulCharacter)),
];

/// `(topic filter, validation outcome)`.
const FILTERS: &[(&str, Result<(), TopicError>)] = &[
    // Section 4.7.1.
    ("sport/tennis/player1/#", Ok(())),
    ("#", Ok(())),
    ("sport/tennis/#", Ok(())),
    ("sport/tennis#", Err(HashNotLast)),
    ("sport/tennis/#/ranking", Err(HashNotLast)),
    ("+", Ok(())),
    ("+/tennis/#", Ok(())),
    ("sport+", Err(WildcardNotWholeLevel)),
    ("sport/+/player1", Ok(())),
    ("+/+", Ok(())),
    ("/+", Ok(())),
    // More placements of wildcards.
    ("a/#", Ok(())),
    ("/#", Ok(())),
    ("+/#", Ok(())),
    ("+/+/+", Ok(())),
    ("a/+/#", Ok(())),
    ("a#", Err(HashNotLast)),
    ("a/b#", Err(HashNotLast)),
    ("#/a", Err(HashNotLast)),
    ("a/#/", Err(HashNotLast)),
    ("##", Err(HashNotLast)),
    ("+#", Err(HashNotLast)),
    ("a+", Err(WildcardNotWholeLevel)),
    ("a/+b", Err(WildcardNotWholeLevel)),
    ("+a/b", Err(WildcardNotWholeLevel)),
    ("++", Err(WildcardNotWholeLevel)),
    // No wildcards.
    ("/", Ok(())),
    ("a//b", Ok(())),
    ("$SYS/#", Ok(())),
    ("$SYS/monitor/+", Ok(())),
    ("Accounts payable", Ok(())),
    ("", Err(Empty)),
    ("a\0", Err(NulCharacter)),
    ("\0/#", Err(NulCharacter)),
    // Shared subscriptions.
    ("$share/g/#", Ok(())),
    ("$share/g/a/+", Ok(())),
    ("$share/g/+", Ok(())),
    ("$share/g//", Ok(())),
    ("$share/group-1/sport/+/player1", Ok(())),
    ("$share/g/$SYS/#", Ok(())),
    ("$share/g", Err(MissingShareFilter)),
    ("$share/g/", Err(MissingShareFilter)),
    ("$share//a", Err(EmptyShareGroup)),
    ("$share/", Err(EmptyShareGroup)),
    ("$share/g+/a", Err(InvalidShareGroup)),
    ("$share/g#/a", Err(InvalidShareGroup)),
    ("$share/+/a", Err(InvalidShareGroup)),
    ("$share/#", Err(InvalidShareGroup)),
    ("$share/g/a#", Err(HashNotLast)),
    ("$share/g/a+", Err(WildcardNotWholeLevel)),
    ("$share/g/a\0", Err(NulCharacter)),
    // Ordinary filters that merely look like shared ones.
    ("$share", Ok(())),
    ("$shared/x", Ok(())),
    ("$SHARE/g/x", Ok(())),
    ("$shared/+/#", Ok(())),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::{matches, TopicFilter, TopicName, TopicTrie};

    #[test]
    fn the_tables_hold_enough_vectors() {
        assert!(MATCHING.len() >= 60, "{}", MATCHING.len());
        assert!(MATCHING.iter().any(|&(_, _, expected)| expected));
        assert!(MATCHING.iter().any(|&(_, _, expected)| !expected));
    }

    #[test]
    fn every_name_vector_validates_as_expected() {
        for &(name, expected) in NAMES {
            let parsed = TopicName::new(name).map(|parsed| assert_eq!(parsed.as_str(), name));
            assert_eq!(parsed, expected, "name {name:?}");
            assert_eq!(TopicName::from_bytes(name.as_bytes()).map(drop), expected);
        }
    }

    #[test]
    fn every_filter_vector_validates_as_expected() {
        for &(filter, expected) in FILTERS {
            let parsed = TopicFilter::new(filter).map(|parsed| assert_eq!(parsed.as_str(), filter));
            assert_eq!(parsed, expected, "filter {filter:?}");
            assert_eq!(
                TopicFilter::from_bytes(filter.as_bytes()).map(drop),
                expected
            );
        }
    }

    #[test]
    fn every_matching_vector_uses_a_valid_filter_and_name() {
        for &(filter, topic, _) in MATCHING {
            assert!(TopicFilter::new(filter).is_ok(), "filter {filter:?}");
            assert!(TopicName::new(topic).is_ok(), "topic {topic:?}");
        }
    }

    #[test]
    fn every_matching_vector_agrees_with_the_reference_matcher() {
        for &(filter, topic, expected) in MATCHING {
            let parsed = TopicFilter::new(filter).unwrap();
            assert_eq!(parsed.matches(topic), expected, "{filter:?} vs {topic:?}");
            assert_eq!(matches(parsed.pattern(), topic), expected);
        }
    }

    #[test]
    fn every_matching_vector_agrees_with_a_trie_of_its_filter_alone() {
        for &(filter, topic, expected) in MATCHING {
            let mut trie = TopicTrie::new();
            trie.insert(&TopicFilter::new(filter).unwrap(), ());
            assert_eq!(
                trie.matches(topic).len(),
                usize::from(expected),
                "{filter:?} vs {topic:?}"
            );
        }
    }

    #[test]
    fn every_matching_vector_agrees_with_a_trie_of_all_filters() {
        let mut trie = TopicTrie::new();
        for (id, &(filter, _, _)) in MATCHING.iter().enumerate() {
            assert!(trie.insert(&TopicFilter::new(filter).unwrap(), id));
        }
        for (id, &(filter, topic, expected)) in MATCHING.iter().enumerate() {
            let found = trie.matches(topic).contains(&&id);
            assert_eq!(found, expected, "{filter:?} vs {topic:?}");
        }
    }
}
