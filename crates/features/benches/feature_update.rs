//! Criterion bench of one feature-engine update + vector computation on a warm engine, per input kind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use features::FeatureEngine;
use market::{BestBidAsk, InstrumentScale, Level, TopOfBook, Trade};

const STEP_US: u64 = 9_000; // ~112 updates/s, as on Binance spot

fn warm_engine() -> (FeatureEngine, u64) {
    let mut e = FeatureEngine::new(InstrumentScale::BTCUSDT_SPOT);
    let mut t = 1_723_161_255_000_000u64;
    for i in 0..10_000i64 {
        t += STEP_US;
        e.on_bbo(&bbo(t, i));
        if i % 4 == 0 {
            e.on_trade(&trade(t, i));
        }
    }
    (e, t)
}

fn bbo(t: u64, i: i64) -> BestBidAsk {
    let bid = 6_000_000 + (i % 7);
    BestBidAsk {
        event_time_us: t,
        update_id: 0,
        bid: Level::new(bid, 1_000 + i % 50),
        ask: Level::new(bid + 1, 900),
    }
}

fn trade(t: u64, i: i64) -> Trade {
    Trade {
        event_time_us: t,
        trade_id: 0,
        price: 6_000_000,
        qty: 100 + i % 9,
        is_buyer_maker: i % 3 == 0,
    }
}

fn feature_update(c: &mut Criterion) {
    let top = TopOfBook {
        bids: (0..10).map(|i| Level::new(6_000_000 - i, 500 + i)).collect(),
        asks: (0..10).map(|i| Level::new(6_000_001 + i, 400 + i)).collect(),
    };
    let mut g = c.benchmark_group("feature_update");
    let (mut e, mut t) = warm_engine();
    let mut i = 0i64;
    g.bench_function("bbo_then_compute", |b| {
        b.iter(|| {
            t += STEP_US;
            i += 1;
            e.on_bbo(&bbo(t, i));
            e.compute()
        });
    });
    g.bench_function("trade_then_compute", |b| {
        b.iter(|| {
            t += STEP_US;
            i += 1;
            e.on_trade(&trade(t, i));
            e.compute()
        });
    });
    g.bench_function("book_then_compute", |b| {
        b.iter(|| {
            t += STEP_US;
            e.on_book(t, &top);
            e.compute()
        });
    });
    g.bench_function("update_only_bbo", |b| {
        b.iter(|| {
            t += STEP_US;
            i += 1;
            e.on_bbo(&bbo(t, i));
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = feature_update
}
criterion_main!(benches);
