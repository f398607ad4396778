//! SBE (Binance) → pipeline event encoding (pure). Prices and quantities stay exact mantissas
//! with the message's exponents; exchange times stay in µs.
//!
//! `@depth20` frames have no pipeline event (a top-20 view must never be taken for a full
//! snapshot downstream), so they are not forwarded.

use binance_sbe::StreamEvent;
use binance_sbe::rest::DepthResponseDecoder;
use pipeline_events::{
    BestBidAskEvent, DepthDiffEvent, DepthSnapshotEvent, EncodeError, Event, EventMeta, Fill, PriceLevel,
    TradeEvent,
};

/// Reusable scratch space for the borrowed event types.
#[derive(Debug, Default)]
pub struct Normalizer {
    fills: Vec<Fill>,
    bids: Vec<PriceLevel>,
    asks: Vec<PriceLevel>,
}

impl Normalizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the pipeline event for `ev` to `out` and returns its length; `None` when the
    /// frame kind is not forwarded (`@depth20`).
    pub fn stream_event(
        &mut self,
        ev: &StreamEvent<'_>,
        meta: EventMeta,
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, EncodeError> {
        let event = match ev {
            StreamEvent::Trades(d) => {
                self.fills.clear();
                self.fills.extend(d.trade_list().map(|t| Fill {
                    trade_id: t.id,
                    price: t.price.mantissa,
                    qty: t.qty.mantissa,
                    is_buyer_maker: t.is_buyer_maker,
                }));
                Event::Trade(TradeEvent {
                    meta,
                    symbol: d.symbol(),
                    event_time_us: d.event_time(),
                    trade_time_us: d.transact_time(),
                    price_exponent: d.price_exponent(),
                    qty_exponent: d.qty_exponent(),
                    fills: &self.fills,
                })
            }
            StreamEvent::BestBidAsk(d) => Event::BestBidAsk(BestBidAskEvent {
                meta,
                symbol: d.symbol(),
                event_time_us: d.event_time(),
                book_update_id: d.book_update_id(),
                price_exponent: d.price_exponent(),
                qty_exponent: d.qty_exponent(),
                bid_price: d.bid_price(),
                bid_qty: d.bid_qty(),
                ask_price: d.ask_price(),
                ask_qty: d.ask_qty(),
            }),
            StreamEvent::DepthDiff(d) => {
                fill_levels(&mut self.bids, d.bids().map(|e| (e.price(), e.qty())));
                fill_levels(&mut self.asks, d.asks().map(|e| (e.price(), e.qty())));
                Event::DepthDiff(DepthDiffEvent {
                    meta,
                    symbol: d.symbol(),
                    event_time_us: d.event_time(),
                    first_update_id: d.first_book_update_id(),
                    last_update_id: d.last_book_update_id(),
                    price_exponent: d.price_exponent(),
                    qty_exponent: d.qty_exponent(),
                    bids: &self.bids,
                    asks: &self.asks,
                })
            }
            StreamEvent::DepthSnapshot(_) => return Ok(None),
        };
        encode(&event, out).map(Some)
    }

    /// Appends the `DepthSnapshot` event for a REST depth response of `symbol`.
    pub fn rest_depth(
        &mut self,
        d: &DepthResponseDecoder<'_>,
        symbol: &str,
        meta: EventMeta,
        out: &mut Vec<u8>,
    ) -> Result<usize, EncodeError> {
        fill_levels(&mut self.bids, d.bids().map(|e| (e.price(), e.qty())));
        fill_levels(&mut self.asks, d.asks().map(|e| (e.price(), e.qty())));
        let event = Event::DepthSnapshot(DepthSnapshotEvent {
            meta,
            symbol,
            exchange_time_us: None,
            last_update_id: d.last_update_id(),
            price_exponent: d.price_exponent(),
            qty_exponent: d.qty_exponent(),
            bids: &self.bids,
            asks: &self.asks,
        });
        encode(&event, out)
    }
}

fn fill_levels(v: &mut Vec<PriceLevel>, it: impl Iterator<Item = (i64, i64)>) {
    v.clear();
    v.extend(it.map(|(price, qty)| PriceLevel { price, qty }));
}

/// Encodes `event` at the end of `out`; on error `out` is left as it was.
pub fn encode(event: &Event<'_>, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
    let start = out.len();
    event.encode(out).inspect_err(|_| out.truncate(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use binance_sbe::decode_stream_frame;
    use binance_sbe::stream::{BoolEnum, DepthDiffStreamEventEncoder, TradesStreamEventEncoder};
    use pipeline_events::{OwnedEvent, RecordBuilder, RecordReader};

    const META: EventMeta = EventMeta {
        ingest_time_ns: 1_700_000_000_000_000_123,
        connection_epoch: 9,
    };

    fn roundtrip(frame: &[u8]) -> OwnedEvent {
        let ev = decode_stream_frame(frame).unwrap();
        let mut out = Vec::new();
        let n = Normalizer::new()
            .stream_event(&ev, META, &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(n, out.len());
        let mut rec = RecordBuilder::new(1, 1, 1, pipeline_events::MAX_RECORD_BYTES);
        rec.push_encoded(&out).unwrap();
        let reader = RecordReader::new(rec.as_bytes()).unwrap();
        let mut events = reader.events();
        events.next().unwrap().unwrap().to_owned_event()
    }

    #[test]
    fn a_trade_frame_keeps_every_fill_exactly_with_its_exponents_and_times() {
        let mut frame = Vec::new();
        let mut enc = TradesStreamEventEncoder::new(&mut frame);
        enc.event_time(1_723_161_255_343_000)
            .transact_time(1_723_161_255_342_000)
            .price_exponent(-2)
            .qty_exponent(-8);
        {
            let mut g = enc.trades().unwrap();
            g.entry()
                .unwrap()
                .id(41)
                .price(6_183_763)
                .qty(2_000_000)
                .is_buyer_maker(BoolEnum::True);
            g.entry()
                .unwrap()
                .id(42)
                .price(6_183_764)
                .qty(1)
                .is_buyer_maker(BoolEnum::False);
        }
        enc.symbol("BTCUSDT").unwrap();
        enc.finish();
        let OwnedEvent::Trade {
            meta,
            symbol,
            event_time_us,
            trade_time_us,
            price_exponent,
            qty_exponent,
            fills,
        } = roundtrip(&frame)
        else {
            panic!("not a trade")
        };
        assert_eq!((meta, symbol.as_str()), (META, "BTCUSDT"));
        assert_eq!(
            (event_time_us, trade_time_us),
            (1_723_161_255_343_000, 1_723_161_255_342_000)
        );
        assert_eq!((price_exponent, qty_exponent), (-2, -8));
        assert_eq!(
            fills,
            vec![
                Fill {
                    trade_id: 41,
                    price: 6_183_763,
                    qty: 2_000_000,
                    is_buyer_maker: true
                },
                Fill {
                    trade_id: 42,
                    price: 6_183_764,
                    qty: 1,
                    is_buyer_maker: false
                },
            ]
        );
    }

    #[test]
    fn a_depth_diff_keeps_its_update_id_range_and_levels() {
        let mut frame = Vec::new();
        let mut enc = DepthDiffStreamEventEncoder::new(&mut frame);
        enc.event_time(5)
            .first_book_update_id(100)
            .last_book_update_id(104)
            .price_exponent(-2)
            .qty_exponent(-8);
        {
            let mut b = enc.bids().unwrap();
            b.entry().unwrap().price(10).qty(0);
        }
        {
            let mut a = enc.asks().unwrap();
            a.entry().unwrap().price(11).qty(7);
            a.entry().unwrap().price(12).qty(8);
        }
        enc.symbol("BTCUSDT").unwrap();
        enc.finish();
        let OwnedEvent::DepthDiff {
            first_update_id,
            last_update_id,
            bids,
            asks,
            ..
        } = roundtrip(&frame)
        else {
            panic!("not a diff")
        };
        assert_eq!((first_update_id, last_update_id), (100, 104));
        assert_eq!(bids, vec![PriceLevel { price: 10, qty: 0 }]);
        assert_eq!(asks.len(), 2);
        assert_eq!(asks[1], PriceLevel { price: 12, qty: 8 });
    }
}
