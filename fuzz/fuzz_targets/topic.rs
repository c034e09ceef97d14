//! Topic validation and matching on arbitrary bytes: validation never panics, every valid
//! pair matches the same way through `TopicFilter::matches` and the trie, and inserting then
//! removing leaves the trie empty.
#![no_main]

use copper_mqtt::topic::{matches, TopicFilter, TopicName, TopicTrie};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into filters and topics.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let cut = (split as usize).min(rest.len());
    let (filter_bytes, topic_bytes) = rest.split_at(cut);
    let filters: Vec<TopicFilter> = filter_bytes
        .split(|&b| b == b'\n')
        .filter_map(|f| TopicFilter::from_bytes(f).ok())
        .collect();
    let topics: Vec<TopicName> = topic_bytes
        .split(|&b| b == b'\n')
        .filter_map(|t| TopicName::from_bytes(t).ok())
        .collect();
    let mut trie = TopicTrie::new();
    for (id, f) in filters.iter().enumerate() {
        trie.insert(f, id);
    }
    for t in &topics {
        let mut got: Vec<usize> = trie.matches(t.as_str()).into_iter().copied().collect();
        got.sort_unstable();
        let mut want: Vec<usize> = (0..filters.len())
            .filter(|&id| matches(filters[id].pattern(), t.as_str()))
            .collect();
        want.sort_unstable();
        // A filter may be held twice (same pattern): the trie keeps each (filter, id) once.
        assert_eq!(got, want, "topic {:?}", t.as_str());
        for (id, f) in filters.iter().enumerate() {
            assert_eq!(f.matches(t.as_str()), want.binary_search(&id).is_ok());
        }
    }
    for (id, f) in filters.iter().enumerate() {
        assert!(trie.remove(f, &id));
    }
    assert!(trie.is_empty());
});
