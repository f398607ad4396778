//! The real 102-minute BTCUSDT perpetual 10-level snapshot series (../shared, skipped with a reason when
//! absent) becomes a labelled table: book features warm, trade features cold, labels on the mid.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use dataset::{Direction, Source, label, replay};
use features::spec::idx;
use market::InstrumentScale;

fn file() -> Option<PathBuf> {
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/rlmm/data/converted/binance/BTCUSDT_depth10_20230109.jsonl.gz");
    if f.exists() {
        Some(f)
    } else {
        println!("SKIP real_depth10: file not found at {}", f.display());
        None
    }
}

#[test]
fn the_snapshot_series_gives_about_3000_two_second_rows_with_book_features_and_cold_trade_features() {
    let Some(f) = file() else { return };
    let (samples, stats) = replay(&Source::BookSnapshots(f), 2000, InstrumentScale::BTCUSDT_SPOT).unwrap();
    println!("depth10: {stats:?}");
    assert_eq!(stats.events, 24_499);
    assert_eq!(stats.reanchors, 1);
    let rows = label(&samples, 2_000_000);
    // 102.3 min = 3 069 two-second points, minus the last 10 s.
    assert!((3_050..=3_070).contains(&rows.len()), "{} rows", rows.len());
    let last = rows.last().unwrap();
    assert!((17_100.0..17_300.0).contains(&last.price), "{}", last.price);
    let f = &last.sample.features;
    for i in [
        idx::BOOK_IMBALANCE,
        idx::BOOK_IMBALANCE + 1,
        idx::MICROPRICE_DEV_BPS,
        idx::OFI + 1,
        idx::RETURN + 4,
    ] {
        assert!(f.warm[i], "feature {i} warm");
    }
    for i in dataset::replay::TRADE_FEATURES {
        assert!(
            !f.warm[i] && f.values[i] == 0.0,
            "trade feature {i} must be cold: no trades in the data"
        );
    }
    assert!(f.completeness() < 1.0);
    let moved = rows.iter().filter(|r| r.direction != Direction::Flat).count();
    // An independent pass over the raw file (python, mid at the last snapshot <= t on the 2 s grid) finds
    // |10 s return| >= 0.5 bp in 35.2 % of the 3 064 points (17.7 % up, 17.6 % down).
    assert!(
        (rows.len() * 33 / 100..rows.len() * 37 / 100).contains(&moved),
        "{moved} of {}",
        rows.len()
    );
}
