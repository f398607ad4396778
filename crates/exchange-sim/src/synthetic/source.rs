//! [`SyntheticMarket`] as a feed [`Source`]: a REST snapshot first, then SBE frames.

use market::InstrumentScale;

use super::engine::{SimEvent, SyntheticMarket};
use super::params::SyntheticParams;
use crate::feed::{EventKind, Source, SourceError, SourceEvent};
use crate::frames;
use crate::streams::StreamKind;

/// Levels per side in the initial snapshot handed to the served book.
const SNAPSHOT_LEVELS: usize = 5000;

/// The synthetic source.
#[derive(Debug)]
pub struct SyntheticSource {
    market: SyntheticMarket,
    symbol: String,
    scale: InstrumentScale,
    snapshot_sent: bool,
}

impl SyntheticSource {
    /// A source for `symbol` seeded with `seed`, starting at `start_time_us`.
    pub fn new(seed: u64, start_time_us: u64, params: SyntheticParams, symbol: String) -> Self {
        Self {
            market: SyntheticMarket::new(seed, start_time_us, params),
            symbol,
            scale: InstrumentScale::BTCUSDT_SPOT,
            snapshot_sent: false,
        }
    }

    fn encode(&self, event: SimEvent) -> Result<SourceEvent, SourceError> {
        let time = event.time_us();
        let mut frame = Vec::with_capacity(128);
        let (stream, diff, result) = match event {
            SimEvent::Trades {
                transact_time_us,
                fills,
            } => {
                let r = frames::trades(&mut frame, &self.scale, transact_time_us, &fills, &self.symbol);
                (StreamKind::Trade, None, r)
            }
            SimEvent::BestBidAsk(b) => {
                let r = frames::best_bid_ask(&mut frame, &self.scale, &b, &self.symbol);
                (StreamKind::BestBidAsk, None, r)
            }
            SimEvent::DepthDiff(d) => {
                let r = frames::depth_diff(&mut frame, &self.scale, &d, &self.symbol);
                (StreamKind::Depth, Some(d), r)
            }
        };
        result.map_err(|e| SourceError::Line {
            path: "synthetic".into(),
            line: 0,
            message: e.to_string(),
        })?;
        Ok(SourceEvent {
            pacing_us: time,
            kind: EventKind::Frame {
                stream,
                frame,
                diff,
                event_time_us: time,
            },
        })
    }
}

impl Source for SyntheticSource {
    fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        if !self.snapshot_sent {
            self.snapshot_sent = true;
            return Some(Ok(SourceEvent {
                pacing_us: self.market.now_us(),
                kind: EventKind::Snapshot(self.market.snapshot(SNAPSHOT_LEVELS)),
            }));
        }
        let event = self.market.next_event();
        Some(self.encode(event))
    }

    fn restart(&mut self) -> Result<bool, SourceError> {
        Ok(false)
    }

    fn skip(&mut self, us: u64) -> bool {
        self.market.skip(us);
        true
    }
}
