//! A trie of topic filters that finds every filter matching a topic without scanning them
//! all.
//!
//! One concept in about 450 lines of code: the node layout (levels stored inline, a short
//! list of children before a hash map) is what insert, remove and the matching walk all rely
//! on, and splitting them apart would spread that layout's invariants over several files.

use rustc_hash::FxHashMap;

use super::TopicFilter;

/// Maps topic filters to values; one filter can hold several values.
///
/// A filter without wildcards matches one topic only: it is a key of a hash map, found with
/// one lookup of the whole topic. The others live in a trie where each level of a filter is
/// an edge: exact levels in a list or hash map, `+` in a slot of its own.
/// Values of a filter live on the node its last level leads to, except that values of a
/// filter ending in `#` live in the `#` slot of the node its parent level leads to.
/// Shared subscriptions are stored under their [pattern](TopicFilter::pattern), so
/// `$share/g/a` and `a` are the same key.
///
/// Matching, removal, cloning and dropping recurse once per level, so their stack use grows
/// with the number of levels of the deepest filter held.
#[derive(Debug, Clone)]
pub struct TopicTrie<V> {
    /// Values of the filters without wildcards, by pattern.
    exact: FxHashMap<Box<str>, Vec<V>>,
    /// The filters with wildcards.
    root: Node<V>,
    len: usize,
}

#[derive(Debug, Clone)]
struct Node<V> {
    children: Children<V>,
    plus: Option<Box<Node<V>>>,
    /// The values held here, boxed so that the many nodes that hold none stay small.
    ends: Option<Box<Ends<V>>>,
}

#[derive(Debug, Clone)]
struct Ends<V> {
    /// Values of the filters that end at this node.
    values: Vec<V>,
    /// Values of the filters that end in a `#` level below this node.
    multi_level: Vec<V>,
}

impl<V> Default for Ends<V> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            multi_level: Vec::new(),
        }
    }
}

/// The exact-level children of a node: a list sized to fit while there are few (most nodes
/// of a large tree have one), a hash map beyond [`FEW`]. A map holding one child would take
/// four slots; the list takes one.
#[derive(Debug, Clone)]
enum Children<V> {
    Few(Vec<(Label, Node<V>)>),
    Many(FxHashMap<Label, Node<V>>),
}

/// Longest topic level a [`Label`] holds inline.
const INLINE: usize = 22;

/// A child's topic level. Levels up to [`INLINE`] bytes (nearly all) are held inline, so that
/// comparing one touches no memory beyond the node: a match through a large trie is bound by
/// cache misses, not by comparisons.
#[derive(Debug, Clone)]
enum Label {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Label {
    fn new(level: &str) -> Self {
        match u8::try_from(level.len()) {
            Ok(len) if level.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..level.len()].copy_from_slice(level.as_bytes());
                Label::Inline { len, bytes }
            }
            _ => Label::Heap(level.as_bytes().into()),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Label::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Label::Heap(bytes) => bytes,
        }
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Label {}

/// Hashes as its bytes do, so that a map of labels can be searched with a level's bytes.
impl std::hash::Hash for Label {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
}

impl std::borrow::Borrow<[u8]> for Label {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

/// Most children a node keeps in a list.
const FEW: usize = 8;

impl<V> Children<V> {
    fn get(&self, level: &str) -> Option<&Node<V>> {
        match self {
            Children::Few(list) => list
                .iter()
                .find(|(k, _)| k.bytes() == level.as_bytes())
                .map(|(_, n)| n),
            Children::Many(map) => map.get(level.as_bytes()),
        }
    }

    fn get_mut(&mut self, level: &str) -> Option<&mut Node<V>> {
        match self {
            Children::Few(list) => list
                .iter_mut()
                .find(|(k, _)| k.bytes() == level.as_bytes())
                .map(|(_, n)| n),
            Children::Many(map) => map.get_mut(level.as_bytes()),
        }
    }

    fn get_or_insert(&mut self, level: &str) -> &mut Node<V> {
        if let Children::Few(list) = self {
            if list.len() >= FEW && !list.iter().any(|(k, _)| k.bytes() == level.as_bytes()) {
                *self = Children::Many(std::mem::take(list).into_iter().collect());
            }
        }
        match self {
            Children::Few(list) => {
                let index = match list.iter().position(|(k, _)| k.bytes() == level.as_bytes()) {
                    Some(index) => index,
                    None => {
                        list.reserve_exact(1);
                        list.push((Label::new(level), Node::default()));
                        list.len() - 1
                    }
                };
                &mut list[index].1
            }
            Children::Many(map) => map.entry(Label::new(level)).or_default(),
        }
    }

    fn remove(&mut self, level: &str) {
        match self {
            Children::Few(list) => {
                if let Some(index) = list.iter().position(|(k, _)| k.bytes() == level.as_bytes()) {
                    list.swap_remove(index);
                    list.shrink_to_fit();
                }
            }
            Children::Many(map) => {
                map.remove(level.as_bytes());
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Children::Few(list) => list.is_empty(),
            Children::Many(map) => map.is_empty(),
        }
    }

    #[cfg(test)]
    fn nodes(&self) -> Vec<&Node<V>> {
        match self {
            Children::Few(list) => list.iter().map(|(_, n)| n).collect(),
            Children::Many(map) => map.values().collect(),
        }
    }
}

impl<V> Default for Node<V> {
    fn default() -> Self {
        Self {
            children: Children::Few(Vec::new()),
            plus: None,
            ends: None,
        }
    }
}

impl<V> Default for TopicTrie<V> {
    fn default() -> Self {
        Self {
            exact: FxHashMap::default(),
            root: Node::default(),
            len: 0,
        }
    }
}

impl<V> TopicTrie<V> {
    /// An empty trie. O(1), allocates nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `f` once per (filter, value) pair whose filter matches the topic name `topic`,
    /// in no particular order. Allocates nothing.
    ///
    /// O(L + p·ℓ + m): L is the length of `topic`, hashed once for the filters without
    /// wildcards; p is the number of trie nodes visited, which are the wildcard filters'
    /// prefixes that match a prefix of `topic`; ℓ is the length of a topic level, hashed
    /// once per visited node; m is the number of matches. A filter stops costing anything at
    /// the first level where it differs from `topic`, so the cost grows with the levels of
    /// `topic` and its matches, not with the number of filters held.
    pub fn for_each_match<'a>(&'a self, topic: &str, mut f: impl FnMut(&'a V)) {
        if let Some(values) = self.exact.get(topic) {
            values.iter().for_each(&mut f);
        }
        let (level, rest) = split_level(topic);
        // MQTT 3.1.1 section 4.7.2: a topic starting with '$' is not matched by a filter
        // whose first level is a wildcard; deeper wildcards are unaffected.
        if !topic.starts_with('$') {
            self.root.multi_level().iter().for_each(&mut f);
            if let Some(plus) = &self.root.plus {
                plus.visit(rest, &mut f);
            }
        }
        if let Some(child) = self.root.children.get(level) {
            child.visit(rest, &mut f);
        }
    }

    /// Collects the values [`for_each_match`](Self::for_each_match) reports for `topic`.
    /// Same cost, plus the returned vector.
    pub fn matches(&self, topic: &str) -> Vec<&V> {
        let mut found = Vec::new();
        self.for_each_match(topic, |value| found.push(value));
        found
    }

    /// Number of (filter, value) pairs held. O(1).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no value is held. O(1).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<V: PartialEq> TopicTrie<V> {
    /// Adds `value` under `filter.pattern()`. Returns `false`, and adds nothing, if that
    /// pattern already holds an equal value.
    ///
    /// O(L + k): L is the pattern's length, k the number of values it already holds.
    pub fn insert(&mut self, filter: &TopicFilter, value: V) -> bool {
        let pattern = filter.pattern();
        let slot = if is_exact(pattern) {
            self.exact.entry(pattern.into()).or_default()
        } else {
            let (path, multi_level) = split_multi_level(pattern);
            let mut node = &mut self.root;
            for level in path.into_iter().flat_map(|path| path.split('/')) {
                node = node.child_or_insert(level);
            }
            let ends = node.ends.get_or_insert_with(Box::default);
            if multi_level {
                &mut ends.multi_level
            } else {
                &mut ends.values
            }
        };
        if slot.contains(&value) {
            return false;
        }
        slot.reserve_exact(1);
        slot.push(value);
        self.len += 1;
        true
    }

    /// Removes `value` from `filter.pattern()`, keeping the pattern's other values, and
    /// prunes the branches left empty. Returns whether the value was there.
    ///
    /// O(L + k): L is the pattern's length, k the number of values it holds.
    pub fn remove(&mut self, filter: &TopicFilter, value: &V) -> bool {
        let pattern = filter.pattern();
        let removed = if is_exact(pattern) {
            self.remove_exact(pattern, value)
        } else {
            let (path, multi_level) = split_multi_level(pattern);
            self.root.remove(path, multi_level, value)
        };
        if removed {
            self.len -= 1;
        }
        removed
    }
}

impl<V> Node<V> {
    /// Values of the filters that end at this node.
    fn values(&self) -> &[V] {
        self.ends.as_deref().map_or(&[], |e| &e.values)
    }

    /// Values of the filters that end in a `#` level below this node.
    fn multi_level(&self) -> &[V] {
        self.ends.as_deref().map_or(&[], |e| &e.multi_level)
    }

    fn is_empty(&self) -> bool {
        self.ends.is_none() && self.plus.is_none() && self.children.is_empty()
    }

    fn child_or_insert(&mut self, level: &str) -> &mut Node<V> {
        if level == "+" {
            self.plus.get_or_insert_with(Box::default)
        } else {
            self.children.get_or_insert(level)
        }
    }

    /// Reports the values below this node that match `rest`, the topic levels still to be
    /// matched, or `None` once every level has been consumed.
    fn visit<'a>(&'a self, rest: Option<&str>, f: &mut impl FnMut(&'a V)) {
        // '#' also matches its parent level alone, so these match whether levels remain or
        // not.
        self.multi_level().iter().for_each(&mut *f);
        let Some(rest) = rest else {
            self.values().iter().for_each(f);
            return;
        };
        let (level, rest) = split_level(rest);
        if let Some(child) = self.children.get(level) {
            child.visit(rest, f);
        }
        if let Some(plus) = &self.plus {
            plus.visit(rest, f);
        }
    }
}

impl<V: PartialEq> Node<V> {
    /// Removes `value` from the slot that `path` (the levels left, `None` for this node)
    /// leads to, and drops children that this leaves empty.
    fn remove(&mut self, path: Option<&str>, multi_level: bool, value: &V) -> bool {
        let Some(path) = path else {
            let Some(ends) = self.ends.as_deref_mut() else {
                return false;
            };
            let slot = if multi_level {
                &mut ends.multi_level
            } else {
                &mut ends.values
            };
            let Some(index) = slot.iter().position(|held| held == value) else {
                return false;
            };
            // Not swap_remove: keeping insertion order costs nothing more than the search.
            slot.remove(index);
            if ends.values.is_empty() && ends.multi_level.is_empty() {
                self.ends = None;
            }
            return true;
        };
        let (level, rest) = split_level(path);
        let child = if level == "+" {
            self.plus.as_deref_mut()
        } else {
            self.children.get_mut(level)
        };
        let Some(child) = child else {
            return false;
        };
        if !child.remove(rest, multi_level, value) {
            return false;
        }
        if child.is_empty() {
            if level == "+" {
                self.plus = None;
            } else {
                self.children.remove(level);
            }
        }
        true
    }
}

impl<V: PartialEq> TopicTrie<V> {
    fn remove_exact(&mut self, pattern: &str, value: &V) -> bool {
        let Some(values) = self.exact.get_mut(pattern) else {
            return false;
        };
        let Some(index) = values.iter().position(|held| held == value) else {
            return false;
        };
        values.remove(index);
        if values.is_empty() {
            self.exact.remove(pattern);
        }
        true
    }
}

/// Whether a valid pattern has no wildcard level (a valid filter has `+` and `#` only as
/// whole levels).
fn is_exact(pattern: &str) -> bool {
    !pattern.bytes().any(|b| b == b'+' || b == b'#')
}

/// Splits `levels` into its first level and the rest, `None` if there is no rest.
fn split_level(levels: &str) -> (&str, Option<&str>) {
    match levels.split_once('/') {
        Some((level, rest)) => (level, Some(rest)),
        None => (levels, None),
    }
}

/// Splits a valid pattern into the levels leading to the node that holds its values
/// (`None` for the root) and whether it ends in `#`, whose values go in that node's `#`
/// slot.
fn split_multi_level(pattern: &str) -> (Option<&str>, bool) {
    if pattern == "#" {
        (None, true)
    } else if let Some(path) = pattern.strip_suffix("/#") {
        (Some(path), true)
    } else {
        (Some(pattern), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn filter(text: &str) -> TopicFilter {
        TopicFilter::new(text).unwrap()
    }

    fn node_count<V>(node: &Node<V>) -> usize {
        1 + node
            .children
            .nodes()
            .into_iter()
            .map(node_count)
            .sum::<usize>()
            + node.plus.as_deref().map_or(0, node_count)
    }

    fn sorted_matches(trie: &TopicTrie<usize>, topic: &str) -> Vec<usize> {
        let mut found: Vec<usize> = trie.matches(topic).into_iter().copied().collect();
        found.sort_unstable();
        found
    }

    fn linear_scan(filters: &[(TopicFilter, usize)], topic: &str) -> Vec<usize> {
        let mut found: Vec<usize> = filters
            .iter()
            .filter(|(filter, _)| filter.matches(topic))
            .map(|&(_, id)| id)
            .collect();
        found.sort_unstable();
        found
    }

    fn trie_of(filters: &[(TopicFilter, usize)]) -> TopicTrie<usize> {
        let mut trie = TopicTrie::new();
        for (filter, id) in filters {
            assert!(trie.insert(filter, *id));
        }
        trie
    }

    #[test]
    fn a_new_trie_is_empty_and_matches_nothing() {
        let trie = TopicTrie::<u32>::default();
        assert!(trie.is_empty());
        assert_eq!(trie.len(), 0);
        assert!(trie.matches("a").is_empty());
        assert_eq!(node_count(&trie.root), 1);
    }

    #[test]
    fn a_node_with_many_children_keeps_them_all() {
        let names: Vec<String> = (0..3 * FEW).map(|n| format!("a/{n}/x")).collect();
        let mut trie = TopicTrie::new();
        for (id, name) in names.iter().enumerate() {
            assert!(trie.insert(&filter(name), id));
        }
        for (id, name) in names.iter().enumerate() {
            assert_eq!(sorted_matches(&trie, name), [id]);
        }
        for (id, name) in names.iter().enumerate() {
            assert!(trie.remove(&filter(name), &id));
        }
        assert_eq!(node_count(&trie.root), 1);
    }

    #[test]
    fn inserting_an_equal_value_twice_is_refused() {
        let mut trie = TopicTrie::new();
        assert!(trie.insert(&filter("a/+"), 1));
        assert!(!trie.insert(&filter("a/+"), 1));
        assert!(trie.insert(&filter("a/+"), 2));
        assert!(trie.insert(&filter("a/#"), 1));
        assert_eq!(trie.len(), 3);
        assert_eq!(sorted_matches(&trie, "a/b"), [1, 1, 2]);
    }

    #[test]
    fn a_shared_filter_is_stored_under_its_pattern() {
        let mut trie = TopicTrie::new();
        assert!(trie.insert(&filter("$share/g/a/+"), 1));
        assert!(!trie.insert(&filter("a/+"), 1));
        assert!(trie.insert(&filter("a/+"), 2));
        assert_eq!(sorted_matches(&trie, "a/b"), [1, 2]);
        assert!(trie.matches("$share/g/a/b").is_empty());
        assert!(trie.remove(&filter("$share/h/a/+"), &1));
        assert_eq!(trie.matches("a/b"), [&2]);
    }

    #[test]
    fn removing_one_value_keeps_the_others_on_the_same_filter() {
        let mut trie = TopicTrie::new();
        for id in 0..4 {
            trie.insert(&filter("a/+/c"), id);
            trie.insert(&filter("a/#"), id + 10);
        }
        assert!(trie.remove(&filter("a/+/c"), &2));
        assert!(trie.remove(&filter("a/#"), &11));
        assert_eq!(trie.len(), 6);
        assert_eq!(sorted_matches(&trie, "a/b/c"), [0, 1, 3, 10, 12, 13]);
    }

    #[test]
    fn removing_an_absent_value_changes_nothing() {
        let mut trie = TopicTrie::new();
        trie.insert(&filter("a/b"), 1);
        let nodes = node_count(&trie.root);
        assert!(!trie.remove(&filter("a/b"), &2));
        assert!(!trie.remove(&filter("a/b/c"), &1));
        assert!(!trie.remove(&filter("a/#"), &1));
        assert!(!trie.remove(&filter("a/+"), &1));
        assert!(!trie.remove(&filter("a"), &1));
        assert_eq!(trie.len(), 1);
        assert_eq!(node_count(&trie.root), nodes);
    }

    #[test]
    fn removing_everything_prunes_every_branch() {
        let filters = ["a/b/c", "a/+/c", "+/#", "#", "a/b/#", "/", "+", "$SYS/+/x"];
        let mut trie = TopicTrie::new();
        for (id, text) in filters.iter().enumerate() {
            trie.insert(&filter(text), id);
        }
        assert!(node_count(&trie.root) > 1);
        for (id, text) in filters.iter().enumerate() {
            assert!(trie.remove(&filter(text), &id));
        }
        assert!(trie.is_empty());
        assert!(trie.root.is_empty());
        assert_eq!(node_count(&trie.root), 1);
    }

    #[test]
    fn a_hash_filter_and_its_parent_both_match_the_parent() {
        let mut trie = TopicTrie::new();
        trie.insert(&filter("a"), 1);
        trie.insert(&filter("a/#"), 2);
        assert_eq!(
            node_count(&trie.root),
            2,
            "the exact filter is not in the trie"
        );
        assert_eq!(sorted_matches(&trie, "a"), [1, 2]);
        assert_eq!(trie.matches("a/b"), [&2]);
        trie.remove(&filter("a/#"), &2);
        assert_eq!(trie.matches("a"), [&1]);
        assert_eq!(node_count(&trie.root), 1);
        trie.remove(&filter("a"), &1);
        assert!(trie.exact.is_empty());
        assert!(trie.is_empty());
    }

    #[test]
    fn plus_does_not_match_a_dollar_topic() {
        let mut trie = TopicTrie::new();
        trie.insert(&filter("+/x"), 1);
        trie.insert(&filter("+"), 2);
        assert!(trie.matches("$SYS/x").is_empty());
        assert!(trie.matches("$SYS").is_empty());
        assert_eq!(trie.matches("SYS/x"), [&1]);
    }

    #[test]
    fn hash_does_not_match_a_dollar_topic_but_dollar_sys_hash_does() {
        let mut trie = TopicTrie::new();
        trie.insert(&filter("#"), 1);
        trie.insert(&filter("$SYS/#"), 2);
        assert_eq!(trie.matches("$SYS"), [&2]);
        assert_eq!(trie.matches("$SYS/broker/uptime"), [&2]);
        assert_eq!(trie.matches("SYS"), [&1]);
    }

    #[test]
    fn the_dollar_rule_applies_at_the_first_level_only() {
        let mut trie = TopicTrie::new();
        trie.insert(&filter("a/+"), 1);
        trie.insert(&filter("a/#"), 2);
        assert_eq!(sorted_matches(&trie, "a/$x"), [1, 2]);
    }

    #[test]
    fn a_deep_filter_is_matched_and_removed() {
        let deep = vec!["+"; 2_000].join("/");
        let topic = vec!["x"; 2_000].join("/");
        let mut trie = TopicTrie::new();
        trie.insert(&filter(&deep), 1);
        trie.insert(&filter(&format!("{deep}/#")), 2);
        assert_eq!(sorted_matches(&trie, &topic), [1, 2]);
        assert!(trie.remove(&filter(&deep), &1));
        assert!(trie.remove(&filter(&format!("{deep}/#")), &2));
        assert_eq!(node_count(&trie.root), 1);
    }

    /// Levels chosen so that random topics and filters often collide, including on empty
    /// levels and on the `$` rule.
    static LEVELS: [&str; 5] = ["", "$SYS", "$x", "a", "b"];

    fn any_topic() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(&LEVELS[..]), 1..=4)
            .prop_map(|levels| levels.join("/"))
            .prop_filter("topic names are non-empty", |topic| !topic.is_empty())
    }

    fn any_filter() -> impl Strategy<Value = TopicFilter> {
        let level = prop_oneof![4 => prop::sample::select(&LEVELS[..]), 2 => Just("+")];
        let share = prop::option::weighted(0.2, prop::sample::select(vec!["g", "h"]));
        (share, prop::collection::vec(level, 0..=4), any::<bool>())
            .prop_map(|(share, mut levels, hash)| {
                if hash {
                    levels.push("#");
                }
                (share, levels.join("/"))
            })
            .prop_filter("filters are non-empty", |(_, pattern)| !pattern.is_empty())
            .prop_map(|(share, pattern)| {
                let text = match share {
                    Some(group) => format!("$share/{group}/{pattern}"),
                    None => pattern,
                };
                TopicFilter::new(text).unwrap()
            })
    }

    fn any_filters(max: usize) -> impl Strategy<Value = Vec<(TopicFilter, usize)>> {
        prop::collection::vec(any_filter(), 1..max)
            .prop_map(|filters| filters.into_iter().zip(0..).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn trie_matches_equal_a_linear_scan_with_the_reference_matcher(
            filters in any_filters(24),
            topics in prop::collection::vec(any_topic(), 1..8),
        ) {
            let mut trie = trie_of(&filters);
            for (filter, id) in &filters {
                prop_assert!(!trie.insert(filter, *id));
            }
            prop_assert_eq!(trie.len(), filters.len());
            for topic in &topics {
                prop_assert_eq!(sorted_matches(&trie, topic), linear_scan(&filters, topic));
            }
        }

        #[test]
        fn removing_every_value_leaves_the_trie_empty_and_pruned(
            (filters, order) in any_filters(24).prop_flat_map(|filters| {
                let order: Vec<usize> = (0..filters.len()).collect();
                (Just(filters), Just(order).prop_shuffle())
            }),
        ) {
            let mut trie = trie_of(&filters);
            for &index in &order {
                let (filter, id) = &filters[index];
                prop_assert!(trie.remove(filter, id));
                prop_assert!(!trie.remove(filter, id));
            }
            prop_assert!(trie.is_empty());
            prop_assert!(trie.root.is_empty());
            prop_assert!(trie.exact.is_empty());
            prop_assert_eq!(node_count(&trie.root), 1);
        }

        #[test]
        fn removing_some_values_keeps_the_others(
            filters in any_filters(24),
            removed in prop::collection::vec(any::<bool>(), 24),
            topics in prop::collection::vec(any_topic(), 1..8),
        ) {
            let mut trie = trie_of(&filters);
            let (gone, kept): (Vec<_>, Vec<_>) = filters
                .into_iter()
                .partition(|&(_, id)| removed[id]);
            for (filter, id) in &gone {
                prop_assert!(trie.remove(filter, id));
            }
            prop_assert_eq!(trie.len(), kept.len());
            // Pruning must leave exactly the nodes a trie built from the survivors has.
            let survivors = trie_of(&kept);
            prop_assert_eq!(node_count(&trie.root), node_count(&survivors.root));
            prop_assert_eq!(trie.exact.len(), survivors.exact.len());
            for topic in &topics {
                prop_assert_eq!(sorted_matches(&trie, topic), linear_scan(&kept, topic));
            }
        }
    }
}
