//! The real Binance USD-M recording (../shared, skipped with a reason when absent). Its `depth@0ms` diffs
//! chain on `pu == previous u` (not `U == previous u + 1` as on spot), so replayed as a spot recording the
//! book loses sync at the first diff after the snapshot; the USD-M source keeps it synced throughout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use dataset::{Source, label, replay};
use market::InstrumentScale;

fn usdm_file() -> Option<PathBuf> {
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/usdm/btcusdt_20240808.gz");
    if f.exists() {
        Some(f)
    } else {
        println!("SKIP real_usdm: recording not found at {}", f.display());
        None
    }
}

#[test]
fn replayed_with_spot_sequencing_the_usdm_book_does_not_stay_synced() {
    let Some(file) = usdm_file() else { return };
    let (_, stats) = replay(
        &Source::Recording(vec![file]),
        2000,
        InstrumentScale::BTCUSDT_SPOT,
    )
    .unwrap();
    println!("spot sequencing on USD-M: {stats:?}");
    assert!(
        stats.book_lost > 0 || stats.synced_samples * 2 < stats.samples,
        "{stats:?}"
    );
}

#[test]
fn the_usdm_source_chains_on_pu_and_stays_synced_for_the_whole_recording() {
    let Some(file) = usdm_file() else { return };
    let (samples, stats) = replay(
        &Source::UsdmRecording(vec![file]),
        2000,
        InstrumentScale::BTCUSDT_SPOT,
    )
    .unwrap();
    println!("USD-M source: {stats:?}");
    assert_eq!(stats.reanchors, 1, "{stats:?}");
    assert_eq!(stats.book_lost, 0, "{stats:?}");
    let rows = label(&samples, 2_000_000);
    // 5.7 min recording: about 165 two-second rows once synced, minus the last 10 s.
    assert!((150..=175).contains(&rows.len()), "{} rows", rows.len());
    let last = rows.last().unwrap();
    assert!((61_000.0..62_500.0).contains(&last.price), "{}", last.price);
    assert!(
        rows.iter()
            .rev()
            .take(20)
            .all(|r| r.sample.features.is_complete()),
        "trades and book both present: every feature warm at the end"
    );
}
