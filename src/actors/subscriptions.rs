//! Subscriptions: the one list of a client's active subscriptions, those a SUBACK granted and
//! no UNSUBACK has ended. The connection actor writes it at those answers (before it answers
//! the asker, who may look at it at once); the Lua side asks it whether a subscription is
//! still active and which filter it has; the link makes its filters again after a reconnect
//! without a session; the stats count them. The router's trie is an index of it for
//! matching, kept by the same answers (`Register`, `Unregister`).

use std::sync::Arc;

use dashmap::DashMap;

use super::mailbox::SubscriptionId;
use crate::options::QoS;

#[derive(Debug, Default)]
pub struct Subscriptions {
    /// Each filter subscribed, with the QoS the broker last granted it and the ids of the
    /// subscriptions made to it (one filter may be subscribed to more than once).
    filters: DashMap<Arc<str>, (QoS, Vec<SubscriptionId>)>,
    /// Each active subscription's filter.
    ids: DashMap<SubscriptionId, Arc<str>>,
}

impl Subscriptions {
    /// A SUBACK granted `filter` at `qos`, for subscription `id` (none when the client
    /// subscribed again by itself: the filter keeps the subscriptions it has). Returns the
    /// QoS the filter had, if it was subscribed.
    pub fn add(&self, filter: Arc<str>, qos: QoS, id: Option<SubscriptionId>) -> Option<QoS> {
        let mut previous = None;
        let mut entry = self
            .filters
            .entry(filter.clone())
            .and_modify(|e| previous = Some(e.0))
            .or_insert((qos, Vec::new()));
        entry.0 = qos;
        if let Some(id) = id {
            entry.1.push(id);
            self.ids.insert(id, filter);
        }
        previous
    }

    /// Takes back an [`add`](Self::add) that returned `previous`.
    pub fn withdraw(&self, filter: &str, id: Option<SubscriptionId>, previous: Option<QoS>) {
        if let Some(id) = id {
            self.ids.remove(&id);
        }
        match previous {
            None => {
                self.filters.remove(filter);
            }
            Some(qos) => {
                if let Some(mut e) = self.filters.get_mut(filter) {
                    e.0 = qos;
                    e.1.retain(|other| Some(*other) != id);
                }
            }
        }
    }

    /// An UNSUBACK ended every subscription to `filter`: their QoS and ids, if there were.
    pub fn end(&self, filter: &str) -> Option<(QoS, Vec<SubscriptionId>)> {
        let (_, (qos, ids)) = self.filters.remove(filter)?;
        for id in &ids {
            self.ids.remove(id);
        }
        Some((qos, ids))
    }

    /// Takes back an [`end`](Self::end).
    pub fn restore(&self, filter: Arc<str>, qos: QoS, ids: Vec<SubscriptionId>) {
        for id in &ids {
            self.ids.insert(*id, filter.clone());
        }
        self.filters.insert(filter, (qos, ids));
    }

    /// The QoS granted to `filter`, if it is subscribed.
    pub fn qos(&self, filter: &str) -> Option<QoS> {
        self.filters.get(filter).map(|e| e.0)
    }

    /// The filter of subscription `id`, while it is active.
    pub fn filter_of(&self, id: SubscriptionId) -> Option<Arc<str>> {
        self.ids.get(&id).map(|f| f.clone())
    }

    /// Every filter subscribed, with its QoS.
    pub fn active(&self) -> Vec<(Arc<str>, QoS)> {
        self.filters
            .iter()
            .map(|e| (e.key().clone(), e.value().0))
            .collect()
    }

    /// Filters subscribed.
    pub fn len(&self) -> usize {
        self.filters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_subscribed_twice_keeps_both_ids_until_it_ends() {
        let s = Subscriptions::default();
        s.add("a/#".into(), QoS::AtLeastOnce, Some(1));
        s.add("a/#".into(), QoS::AtMostOnce, Some(2));
        s.add("b".into(), QoS::ExactlyOnce, Some(3));
        assert_eq!(s.len(), 2);
        assert_eq!(s.qos("a/#"), Some(QoS::AtMostOnce), "the last grant");
        assert_eq!(s.filter_of(2).as_deref(), Some("a/#"));
        assert_eq!(s.end("a/#"), Some((QoS::AtMostOnce, vec![1, 2])));
        assert_eq!(s.filter_of(1), None);
        assert_eq!(s.filter_of(2), None);
        assert_eq!(s.filter_of(3).as_deref(), Some("b"));
        assert_eq!(s.active(), [(Arc::from("b"), QoS::ExactlyOnce)]);
    }

    #[test]
    fn subscribing_again_by_itself_keeps_the_subscriptions_of_a_filter() {
        let s = Subscriptions::default();
        assert_eq!(s.add("a".into(), QoS::AtLeastOnce, Some(1)), None);
        assert_eq!(
            s.add("a".into(), QoS::AtMostOnce, None),
            Some(QoS::AtLeastOnce)
        );
        assert_eq!(s.qos("a"), Some(QoS::AtMostOnce));
        assert_eq!(s.end("gone"), None);
        assert_eq!(s.end("a"), Some((QoS::AtMostOnce, vec![1])));
    }

    #[test]
    fn an_add_or_an_end_taken_back_leaves_the_list_as_it_was() {
        let s = Subscriptions::default();
        s.add("a".into(), QoS::AtLeastOnce, Some(1));
        let previous = s.add("a".into(), QoS::AtMostOnce, Some(2));
        s.withdraw("a", Some(2), previous);
        let fresh = s.add("b".into(), QoS::AtMostOnce, Some(3));
        s.withdraw("b", Some(3), fresh);
        assert_eq!(s.active(), [(Arc::from("a"), QoS::AtLeastOnce)]);
        assert!(s.filter_of(1).is_some());
        assert_eq!((s.filter_of(2), s.filter_of(3)), (None, None));
        let (qos, ids) = s.end("a").unwrap();
        s.restore("a".into(), qos, ids);
        assert_eq!(s.filter_of(1).as_deref(), Some("a"));
        assert_eq!(s.qos("a"), Some(QoS::AtLeastOnce));
    }
}
