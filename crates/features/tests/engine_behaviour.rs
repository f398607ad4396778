//! Behaviour of individual features on hand-made sequences.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use features::spec::idx;
use features::{FEATURE_NAMES, FeatureEngine, N_FEATURES};
use market::{BestBidAsk, InstrumentScale, Level, TopOfBook, Trade};

const S: u64 = 1_000_000;

fn bbo(t: u64, bid: i64, ask: i64) -> BestBidAsk {
    BestBidAsk {
        event_time_us: t,
        update_id: 0,
        bid: Level::new(bid, 300),
        ask: Level::new(ask, 100),
    }
}

fn trade(t: u64, qty: i64, buyer_maker: bool) -> Trade {
    Trade {
        event_time_us: t,
        trade_id: 0,
        price: 6_000_000,
        qty,
        is_buyer_maker: buyer_maker,
    }
}

fn engine() -> FeatureEngine {
    FeatureEngine::new(InstrumentScale::BTCUSDT_SPOT)
}

#[test]
fn fresh_engine_is_fully_cold() {
    let v = engine().compute();
    assert_eq!(v.completeness(), 0.0);
    assert_eq!(v.values.len(), FEATURE_NAMES.len());
}

#[test]
fn mid_spread_and_microprice_follow_the_best_bid_ask() {
    let mut e = engine();
    e.on_bbo(&bbo(S, 6_000_000, 6_000_002));
    let v = e.compute();
    assert_eq!(v.values[idx::MID_PRICE], 60_000.01);
    assert!((v.values[idx::SPREAD_BPS] - 2.0 / 6_000_001.0 * 1e4).abs() < 1e-12);
    assert!(
        v.values[idx::MICROPRICE_DEV_BPS] > 0.0,
        "more bid size pushes the microprice up"
    );
    assert!(
        v.warm[idx::MID_PRICE] && !v.warm[idx::RETURN],
        "returns need history"
    );
}

#[test]
fn returns_warm_up_after_their_horizon_and_are_scale_free() {
    let mut low = engine();
    let mut high = engine();
    for (t, m) in [(0, 100), (S, 101)] {
        low.on_bbo(&bbo(t + S, 6_000_000 * m / 100, 6_000_000 * m / 100 + 2));
        high.on_bbo(&bbo(t + S, 12_000_000 * m / 100, 12_000_000 * m / 100 + 4));
    }
    let (l, h) = (low.compute(), high.compute());
    assert!(l.warm[idx::RETURN] && !l.warm[idx::RETURN + 1]);
    assert!((l.values[idx::RETURN] - 1e4 * 1.01f64.ln()).abs() < 1e-3);
    assert!(
        (l.values[idx::RETURN] - h.values[idx::RETURN]).abs() < 1e-9,
        "doubling the price level changes nothing"
    );
}

#[test]
fn trade_flow_imbalance_is_positive_for_aggressive_buying_and_windows_expire() {
    let mut e = engine();
    e.advance_to(0);
    e.on_trade(&trade(S, 100, true));
    e.on_trade(&trade(29 * S, 300, false));
    e.on_trade(&trade(30 * S, 100, false));
    let v = e.compute();
    assert_eq!(v.values[idx::TFI + 3], 0.6, "(400 - 100) / 500 over 30 s");
    assert_eq!(v.values[idx::TFI], 1.0);
    assert!(v.warm[idx::TFI + 3]);
    e.advance_to(61 * S);
    let v = e.compute();
    assert_eq!(
        (v.values[idx::TFI + 3], v.values[idx::LOG_VOLUME + 3]),
        (0.0, 0.0)
    );
    assert_eq!(v.values[idx::TIME_SINCE_LAST_TRADE_S], 31.0);
    assert_eq!(v.values[idx::TRADE_RATE_10S], 0.0);
}

#[test]
fn book_imbalance_needs_enough_levels_and_goes_cold_when_the_book_is_lost() {
    let mut e = engine();
    let top = TopOfBook {
        bids: (0..5).map(|i| Level::new(100 - i, 3)).collect(),
        asks: (0..5).map(|i| Level::new(101 + i, 1)).collect(),
    };
    e.on_book(S, &top);
    let v = e.compute();
    assert_eq!(v.values[idx::BOOK_IMBALANCE], 0.5);
    assert_eq!(v.values[idx::BOOK_IMBALANCE + 1], 0.5);
    assert!(
        !v.warm[idx::BOOK_IMBALANCE + 2],
        "only 5 levels: the 10-level imbalance is cold"
    );
    e.on_book_lost(2 * S);
    assert!(!e.compute().warm[idx::BOOK_IMBALANCE]);
}

#[test]
fn late_events_are_clamped_to_the_engine_clock_and_counted() {
    let mut e = engine();
    e.on_trade(&trade(10 * S, 1, false));
    e.on_trade(&trade(5 * S, 1, false));
    assert_eq!(e.now_us(), 10 * S);
    assert_eq!(e.counters().late_events, 1);
}

#[test]
fn a_long_steady_stream_makes_every_feature_warm() {
    let mut e = engine();
    e.on_book(
        0,
        &TopOfBook {
            bids: (0..10).map(|i| Level::new(6_000_000 - i, 5)).collect(),
            asks: (0..10).map(|i| Level::new(6_000_002 + i, 5)).collect(),
        },
    );
    for i in 0..700u64 {
        let t = i * 100_000;
        e.on_bbo(&bbo(t, 6_000_000 + (i % 3) as i64, 6_000_002 + (i % 3) as i64));
        e.on_trade(&trade(t, 10, i % 2 == 0));
    }
    let v = e.compute();
    let cold: Vec<_> = (0..N_FEATURES)
        .filter(|i| !v.warm[*i])
        .map(|i| FEATURE_NAMES[i])
        .collect();
    assert!(cold.is_empty(), "cold: {cold:?}");
    assert!(v.is_complete());
    assert!(v.values[idx::REALIZED_VOL] > 0.0);
}
