//! Any bytes given to the stream-frame decoder: a typed error or a fully readable event, never a panic.
#![no_main]

use binance_sbe::{StreamEvent, decode_stream_frame};
use libfuzzer_sys::fuzz_target;
use std::hint::black_box;

fuzz_target!(|data: &[u8]| {
    let Ok(ev) = decode_stream_frame(data) else { return };
    assert!(black_box(ev.symbol()).len() <= 255);
    match ev {
        StreamEvent::Trades(t) => {
            for x in t.trade_list() {
                black_box(x.price.to_string());
            }
        }
        StreamEvent::BestBidAsk(b) => {
            black_box((b.bid_price_decimal().to_f64(), b.ask_qty_decimal().to_ticks(-2)));
        }
        StreamEvent::DepthSnapshot(d) => {
            black_box(d.bid_levels().chain(d.ask_levels()).count());
        }
        StreamEvent::DepthDiff(d) => {
            black_box(d.bid_levels().chain(d.ask_levels()).map(|l| l.qty.to_string()).count());
        }
    }
    assert!(ev_len(&ev) <= data.len());
});

fn ev_len(ev: &StreamEvent<'_>) -> usize {
    match ev {
        StreamEvent::Trades(d) => d.encoded_len(),
        StreamEvent::BestBidAsk(d) => d.encoded_len(),
        StreamEvent::DepthSnapshot(d) => d.encoded_len(),
        StreamEvent::DepthDiff(d) => d.encoded_len(),
    }
}
