//! Property test: the incremental engine equals the naive batch recomputation, bit for bit, after every
//! prefix of random event sequences (late events, gaps longer than every window, book losses included).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use features::{FeatureEngine, FeatureInput, FeatureVector, compute_batch};
use market::{BestBidAsk, InstrumentScale, Level, TopOfBook, Trade};
use proptest::prelude::*;

const SCALE: InstrumentScale = InstrumentScale::BTCUSDT_SPOT;

#[derive(Debug, Clone)]
enum Kind {
    Bbo { bid: i64, spread: i64, bq: i64, aq: i64 },
    Trade { price: i64, qty: i64, buyer_maker: bool },
    Book { levels: usize, seed: i64 },
    BookLost,
    Clock,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => (6_000_000i64..6_000_050, -1i64..4, 0i64..1_000_000, 0i64..1_000_000)
            .prop_map(|(bid, spread, bq, aq)| Kind::Bbo { bid, spread, bq, aq }),
        3 => (6_000_000i64..6_000_050, 1i64..500_000, any::<bool>())
            .prop_map(|(price, qty, buyer_maker)| Kind::Trade { price, qty, buyer_maker }),
        1 => (0usize..13, 0i64..1000).prop_map(|(levels, seed)| Kind::Book { levels, seed }),
        1 => Just(Kind::BookLost),
        1 => Just(Kind::Clock),
    ]
}

/// Time step: mostly on a 100 ms grid (so events land exactly on window edges), sometimes arbitrary µs,
/// zero, backwards (late), or a silence longer than every window.
fn step() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => (0i64..30).prop_map(|x| x * 100_000),
        2 => 0i64..3_000_000,
        1 => Just(0i64),
        1 => (-20i64..0).prop_map(|x| x * 100_000),
        1 => (600i64..1300).prop_map(|x| x * 100_000),
    ]
}

fn build(events: &[(i64, Kind)]) -> Vec<FeatureInput> {
    let mut t: i64 = 1_723_161_255_000_000;
    events
        .iter()
        .enumerate()
        .map(|(i, (dt, k))| {
            t += dt;
            let time_us = t.max(0) as u64;
            match k {
                Kind::Bbo { bid, spread, bq, aq } => FeatureInput::Bbo(BestBidAsk {
                    event_time_us: time_us,
                    update_id: i as u64,
                    bid: Level::new(*bid, *bq),
                    ask: Level::new(bid + spread, *aq),
                }),
                Kind::Trade {
                    price,
                    qty,
                    buyer_maker,
                } => FeatureInput::Trade(Trade {
                    event_time_us: time_us,
                    trade_id: i as u64,
                    price: *price,
                    qty: *qty,
                    is_buyer_maker: *buyer_maker,
                }),
                Kind::Book { levels, seed } => FeatureInput::Book {
                    time_us,
                    top: TopOfBook {
                        bids: (0..*levels as i64)
                            .map(|j| Level::new(5_999_999 - j, (seed * 7 + j * 13) % 1000 + 1))
                            .collect(),
                        asks: (0..*levels as i64)
                            .map(|j| Level::new(6_000_001 + j, (seed * 3 + j * 29) % 997 + 1))
                            .collect(),
                    },
                },
                Kind::BookLost => FeatureInput::BookLost { time_us },
                Kind::Clock => FeatureInput::Clock { time_us },
            }
        })
        .collect()
}

fn same(a: &FeatureVector, b: &FeatureVector) -> bool {
    a.warm == b.warm
        && a.event_time_us == b.event_time_us
        && a.values.map(f64::to_bits) == b.values.map(f64::to_bits)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn incremental_engine_equals_batch_recomputation_after_every_prefix(
        events in prop::collection::vec((step(), kind()), 1..160)
    ) {
        let inputs = build(&events);
        let mut engine = FeatureEngine::new(SCALE);
        for (n, input) in inputs.iter().enumerate() {
            engine.apply(input);
            let inc = engine.compute();
            let batch = compute_batch(&inputs[..=n], &SCALE);
            prop_assert!(same(&inc, &batch), "after {} inputs:\nincremental {:?}\nbatch       {:?}", n + 1, inc, batch);
        }
    }
}
