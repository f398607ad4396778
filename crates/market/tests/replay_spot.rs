//! Replays the real recorded Binance spot BTCUSDT stream (`../shared/data/market`, two consecutive files)
//! through the re-anchor state machine, following Binance's local-book procedure, and checks the final
//! book against the last bookTicker. Skips with a printed reason when the shared data is absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use market::recording::{RecordedEvent, open_gz};
use market::{BestBidAsk, BookSync, InstrumentScale, Level, SyncConfig, SyncOutcome, SyncState};

fn spot_files() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot");
    let files: Vec<_> = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    if files.iter().all(|f| f.exists()) {
        Some(files)
    } else {
        eprintln!("SKIP: recorded spot data not found under {}", dir.display());
        None
    }
}

#[derive(Default, Debug)]
struct Counts {
    applied: usize,
    stale: usize,
    buffered: usize,
    reanchored: usize,
    other: Vec<String>,
}

#[test]
fn replayed_spot_book_syncs_once_never_crosses_and_ends_at_the_last_book_ticker() {
    let Some(files) = spot_files() else { return };
    let mut sync = BookSync::new(SyncConfig::default());
    let mut counts = Counts::default();
    let mut last_ticker: Option<BestBidAsk> = None;
    let mut snapshot_line_seen_after_bridging_diff = false;
    for file in files {
        for line in open_gz(&file, InstrumentScale::BTCUSDT_SPOT).unwrap() {
            let line = line.unwrap();
            let outcome = match line.event {
                RecordedEvent::Depth(diff) => sync.on_diff(diff),
                RecordedEvent::Snapshot(snap) => {
                    snapshot_line_seen_after_bridging_diff = sync.buffered() > 0;
                    sync.on_snapshot(sync.epoch(), &snap)
                }
                RecordedEvent::BookTicker(t) => {
                    last_ticker = Some(t);
                    continue;
                }
                RecordedEvent::Trade(_) => continue,
            };
            match outcome {
                SyncOutcome::Applied => counts.applied += 1,
                SyncOutcome::Stale => counts.stale += 1,
                SyncOutcome::Buffered => counts.buffered += 1,
                SyncOutcome::Reanchored(_) => counts.reanchored += 1,
                other => counts.other.push(format!("{other:?}")),
            }
            if let Some(book) = sync.book() {
                assert!(
                    !book.is_crossed(),
                    "book crossed at update id {}",
                    book.last_update_id()
                );
            }
        }
    }
    assert!(
        snapshot_line_seen_after_bridging_diff,
        "the recording buffers diffs before its snapshot"
    );
    assert!(counts.other.is_empty(), "unexpected outcomes: {:?}", counts.other);
    assert_eq!(counts.reanchored, 1, "{counts:?}");
    assert!(counts.applied > 6000, "{counts:?}");
    assert_eq!(sync.state(), SyncState::Synced);
    let book = sync.book().unwrap();
    let ticker = last_ticker.unwrap();
    assert_eq!(book.best_bid().map(|l| l.price), Some(ticker.bid.price));
    assert_eq!(book.best_ask().map(|l| l.price), Some(ticker.ask.price));
    assert_eq!(
        (ticker.bid.price, ticker.ask.price),
        (6_160_201, 6_160_202),
        "61602.01 / 61602.02"
    );
    assert_eq!(
        book.best_bid(),
        Some(Level::new(6_160_201, ticker.bid.qty)),
        "bid quantity matches too"
    );
}
