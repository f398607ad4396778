//! The real Binance spot recording (../shared, skipped with a reason when absent) becomes the expected
//! labelled table: one sync, a row every 2 s while synced, labels consistent with the rows 10 s later.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use dataset::{Direction, Source, label, replay};
use market::InstrumentScale;

fn spot_files() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot");
    let files = vec![dir.join("btcusdt_20240808.gz"), dir.join("btcusdt_20240809.gz")];
    if files.iter().all(|f| f.exists()) {
        Some(files)
    } else {
        println!("SKIP real_spot: recording not found under {}", dir.display());
        None
    }
}

#[test]
fn the_spot_recording_gives_about_320_two_second_rows_with_consistent_labels() {
    let Some(files) = spot_files() else { return };
    let (samples, stats) = replay(&Source::Recording(files), 2000, InstrumentScale::BTCUSDT_SPOT).unwrap();
    assert_eq!(stats.reanchors, 1);
    assert_eq!(stats.book_lost, 0);
    let rows = label(&samples, 2_000_000);
    assert!((300..=330).contains(&rows.len()), "{} rows", rows.len());
    assert!(rows.iter().all(|r| r.sample.synced));
    let mut compared = 0;
    for pair in rows.windows(6) {
        // Consecutive rows 10 s apart: the later row's price is the earlier row's future price.
        if pair[5].sample.time_us == pair[0].sample.time_us + 10_000_000 {
            assert_eq!(pair[5].price, pair[0].future_price);
            compared += 1;
        }
    }
    // One sync and a row every 2 s: every window of six rows spans exactly 10 s.
    assert_eq!(compared, rows.len() - 5, "label comparisons that ran");
    let moved = rows.iter().filter(|r| r.direction != Direction::Flat).count();
    assert!(moved > rows.len() / 2, "{moved} moved of {}", rows.len());
    let last = rows.last().unwrap();
    assert!((61_000.0..62_500.0).contains(&last.price), "{}", last.price);
    let warm_late = rows
        .iter()
        .rev()
        .take(100)
        .all(|r| r.sample.features.is_complete());
    assert!(warm_late, "after the first minute every feature is warm");
}
