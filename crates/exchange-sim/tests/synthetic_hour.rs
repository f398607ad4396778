//! The pure synthetic market over one hour of simulated time: reproducible by seed, depth diffs with
//! contiguous update ids that rebuild a book which never crosses, sane best bid/ask and trades.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hash::{DefaultHasher, Hash, Hasher};

use exchange_sim::{SimEvent, SyntheticMarket, SyntheticParams};
use market::OrderBook;

const HOUR_US: u64 = 3_600_000_000;

/// The identifying content of an event (ids, time, prices and sizes).
fn digest(ev: &SimEvent) -> (u8, u64, u64, i64) {
    match ev {
        SimEvent::DepthDiff(d) => {
            let sum = d
                .bids
                .iter()
                .chain(&d.asks)
                .map(|l| l.price ^ l.qty)
                .fold(0, i64::wrapping_add);
            (0, d.last_update_id, d.event_time_us, sum)
        }
        SimEvent::BestBidAsk(b) => (1, b.update_id, b.event_time_us, b.bid.price ^ b.ask.qty),
        SimEvent::Trades {
            transact_time_us,
            fills,
        } => {
            let sum = fills.iter().map(|f| f.price ^ f.qty).fold(0, i64::wrapping_add);
            (2, fills.last().map_or(0, |f| f.trade_id), *transact_time_us, sum)
        }
    }
}

/// Runs `duration_us` of simulated time with every consistency check; returns an event hash and counts.
fn run_checked(seed: u64, duration_us: u64) -> (u64, [u64; 3]) {
    let mut m = SyntheticMarket::new(seed, 1_700_000_000_000_000, SyntheticParams::default());
    let end = m.now_us() + duration_us;
    let mut book: OrderBook = OrderBook::from_snapshot(&m.snapshot(usize::MAX));
    let mut hasher = DefaultHasher::new();
    let mut counts = [0u64; 3];
    let (mut last_trade_id, mut last_time) = (None::<u64>, 0u64);
    while m.now_us() < end {
        let ev = m.next_event();
        assert!(ev.time_us() >= last_time, "time never goes back");
        last_time = ev.time_us();
        match &ev {
            SimEvent::DepthDiff(d) => {
                counts[0] += 1;
                assert_eq!(
                    d.first_update_id,
                    book.last_update_id() + 1,
                    "contiguous update ids"
                );
                assert!(d.last_update_id >= d.first_update_id);
                book.apply_diff(d);
                assert!(!book.is_crossed(), "crossed at {}", d.last_update_id);
                let (bid, ask) = m.best();
                assert_eq!(
                    book.best_bid().map(|l| (l.price, l.qty)),
                    bid,
                    "diffs track the book"
                );
                assert_eq!(book.best_ask().map(|l| (l.price, l.qty)), ask);
            }
            SimEvent::BestBidAsk(b) => {
                counts[1] += 1;
                assert!(
                    b.bid.price < b.ask.price && b.bid.qty > 0 && b.ask.qty > 0,
                    "{b:?}"
                );
            }
            SimEvent::Trades { fills, .. } => {
                counts[2] += 1;
                assert!(!fills.is_empty());
                for f in fills {
                    // The first trade may start anywhere; every later one is exactly the next id.
                    if let Some(last) = last_trade_id {
                        assert_eq!(f.trade_id, last + 1, "trade ids contiguous");
                    }
                    last_trade_id = Some(f.trade_id);
                    assert!(f.qty > 0 && f.price > 0);
                }
            }
        }
        digest(&ev).hash(&mut hasher);
    }
    (hasher.finish(), counts)
}

#[test]
fn one_simulated_hour_keeps_ids_contiguous_and_the_book_uncrossed() {
    let (_, [diffs, bbo, trades]) = run_checked(42, HOUR_US);
    assert!(diffs > 3600 * 40, "diffs {diffs}");
    assert!(bbo > 3600 * 20, "bbo {bbo}");
    assert!(trades > 3600 * 5, "trade events {trades}");
}

#[test]
fn the_same_seed_reproduces_ten_minutes_exactly() {
    let ten_min = HOUR_US / 6;
    let (a, counts_a) = run_checked(7, ten_min);
    let (b, counts_b) = run_checked(7, ten_min);
    assert_eq!((a, counts_a), (b, counts_b));
    assert_ne!(run_checked(8, ten_min).0, a);
}
