//! Pending snapshot requests (pure): one per symbol, coalesced, each with the time it was first
//! asked for. A request that stays unsatisfied longer than `max_age` expires: it may need an
//! update id the exchange never reaches (the exchange restarted its ids, a hostile control entry),
//! or the exchange may keep refusing. Expired requests are returned for the caller to count; the
//! next gap, reconnect, periodic or control request asks again.

use crate::ingest::SnapshotRequest;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
struct Entry {
    req: SnapshotRequest,
    since: Instant,
}

#[derive(Debug)]
pub struct Pending {
    max_age: Duration,
    by_symbol: BTreeMap<Arc<str>, Entry>,
}

impl Pending {
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            by_symbol: BTreeMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_symbol.is_empty()
    }

    /// Adds `req`, or merges it into the symbol's pending request (the higher `min_update_id`
    /// wins; the age runs from the first request).
    pub fn add(&mut self, req: SnapshotRequest, now: Instant) {
        match self.by_symbol.get_mut(&req.symbol) {
            Some(e) => e.req.min_update_id = e.req.min_update_id.max(req.min_update_id),
            None => {
                self.by_symbol
                    .insert(req.symbol.clone(), Entry { req, since: now });
            }
        }
    }

    /// The next request to try (symbol order).
    pub fn next(&self) -> Option<SnapshotRequest> {
        self.by_symbol.values().next().map(|e| e.req.clone())
    }

    /// The request for `symbol` was satisfied.
    pub fn done(&mut self, symbol: &str) {
        self.by_symbol.remove(symbol);
    }

    /// Removes and returns every request older than `max_age` at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<SnapshotRequest> {
        let max_age = self.max_age;
        let old: Vec<Arc<str>> = self
            .by_symbol
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.since) > max_age)
            .map(|(k, _)| k.clone())
            .collect();
        old.iter()
            .filter_map(|k| self.by_symbol.remove(k).map(|e| e.req))
            .collect()
    }

    /// When the oldest request expires (`None` when nothing is pending).
    pub fn next_expiry(&self) -> Option<Instant> {
        self.by_symbol
            .values()
            .map(|e| e.since.checked_add(self.max_age).unwrap_or(e.since))
            .min()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ingest::SnapshotReason;

    fn req(symbol: &str, min: Option<i64>) -> SnapshotRequest {
        SnapshotRequest {
            symbol: Arc::from(symbol),
            reason: SnapshotReason::Gap,
            min_update_id: min,
        }
    }

    #[test]
    fn requests_coalesce_per_symbol_and_expire_from_the_first_ask() {
        let t0 = Instant::now();
        let mut p = Pending::new(Duration::from_secs(10));
        p.add(req("BTCUSDT", Some(5)), t0);
        p.add(req("BTCUSDT", Some(9)), t0 + Duration::from_secs(8));
        p.add(req("ETHUSDT", None), t0 + Duration::from_secs(5));
        assert_eq!(p.next().unwrap().min_update_id, Some(9));
        assert_eq!(p.next_expiry(), Some(t0 + Duration::from_secs(10)));
        assert!(p.expire(t0 + Duration::from_secs(10)).is_empty());
        let gone = p.expire(t0 + Duration::from_secs(11));
        assert_eq!(gone, vec![req("BTCUSDT", Some(9))]);
        assert_eq!(p.next().unwrap().symbol.as_ref(), "ETHUSDT");
        p.done("ETHUSDT");
        assert!(p.is_empty());
        assert_eq!(p.next_expiry(), None);
    }
}
