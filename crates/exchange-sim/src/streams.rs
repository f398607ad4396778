//! Stream names (`<symbol>@trade` …) and per-connection subscription sets.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four SBE market-data streams (JSON: the stream-name suffix, e.g. `"bestBidAsk"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StreamKind {
    /// `@trade` → TradesStreamEvent (10000).
    #[serde(rename = "trade")]
    Trade,
    /// `@bestBidAsk` → BestBidAskStreamEvent (10001).
    #[serde(rename = "bestBidAsk")]
    BestBidAsk,
    /// `@depth` → DepthDiffStreamEvent (10003).
    #[serde(rename = "depth")]
    Depth,
    /// `@depth20` → DepthSnapshotStreamEvent (10002).
    #[serde(rename = "depth20")]
    Depth20,
}

impl StreamKind {
    /// All kinds, in a fixed order (index = [`StreamKind::index`]).
    pub const ALL: [StreamKind; 4] = [Self::Trade, Self::BestBidAsk, Self::Depth, Self::Depth20];

    /// Stream-name suffix after `@`.
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::Trade => "trade",
            Self::BestBidAsk => "bestBidAsk",
            Self::Depth => "depth",
            Self::Depth20 => "depth20",
        }
    }

    /// Dense index for counters and bit sets.
    pub const fn index(self) -> usize {
        match self {
            Self::Trade => 0,
            Self::BestBidAsk => 1,
            Self::Depth => 2,
            Self::Depth20 => 3,
        }
    }

    fn from_suffix(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.suffix() == s)
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// Parses `<symbol>@<kind>` for the simulated symbol (`symbol` lower case). `None` for anything else.
pub fn parse_stream(name: &str, symbol: &str) -> Option<StreamKind> {
    let (sym, kind) = name.split_once('@')?;
    (sym == symbol).then_some(())?;
    StreamKind::from_suffix(kind)
}

/// A connection's subscriptions, in subscription order (Binance lists them that way).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    order: Vec<StreamKind>,
}

impl Subscriptions {
    /// Adds a stream (no-op when already subscribed).
    pub fn add(&mut self, kind: StreamKind) {
        if !self.order.contains(&kind) {
            self.order.push(kind);
        }
    }

    /// Removes a stream.
    pub fn remove(&mut self, kind: StreamKind) {
        self.order.retain(|k| *k != kind);
    }

    /// Subscribed to `kind`?
    pub fn contains(&self, kind: StreamKind) -> bool {
        self.order.contains(&kind)
    }

    /// No subscription at all?
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Stream names as `LIST_SUBSCRIPTIONS` answers them.
    pub fn names(&self, symbol: &str) -> Vec<String> {
        self.order.iter().map(|k| format!("{symbol}@{k}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_parse_only_for_the_simulated_symbol_and_known_kinds() {
        let cases = [
            ("btcusdt@trade", Some(StreamKind::Trade)),
            ("btcusdt@bestBidAsk", Some(StreamKind::BestBidAsk)),
            ("btcusdt@depth", Some(StreamKind::Depth)),
            ("btcusdt@depth20", Some(StreamKind::Depth20)),
            ("btcusdt@bookTicker", None),
            ("btcusdt@depth@100ms", None),
            ("ethusdt@trade", None),
            ("BTCUSDT@trade", None),
            ("btcusdt", None),
        ];
        for (name, expected) in cases {
            assert_eq!(parse_stream(name, "btcusdt"), expected, "{name}");
        }
    }

    #[test]
    fn subscriptions_keep_order_and_ignore_duplicates() {
        let mut s = Subscriptions::default();
        s.add(StreamKind::Depth);
        s.add(StreamKind::Trade);
        s.add(StreamKind::Depth);
        assert_eq!(s.names("btcusdt"), ["btcusdt@depth", "btcusdt@trade"]);
        s.remove(StreamKind::Depth);
        assert!(!s.contains(StreamKind::Depth));
        assert!(s.contains(StreamKind::Trade));
    }
}
