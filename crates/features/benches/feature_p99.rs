//! Per-event latency of the whole pure pipeline on the real spot recording: parse up front, then time
//! each event through `market` (sync + top-10 on book change) and `features` (update + compute the
//! vector). Writes `{"feature_update_us_p99": <µs>}` to `$CARGO_TARGET_DIR/bench/parts/features.json`
//! (default `<workspace>/target/bench/parts/features.json`). Skips with a printed reason when
//! `../shared/data/market` is absent. Run: `cargo bench -p features --bench feature_p99`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use features::FeatureEngine;
use market::recording::{RecordedEvent, open_gz};
use market::{BookSync, InstrumentScale, SyncConfig, TopOfBook};

const PASSES: usize = 3;
const SCALE: InstrumentScale = InstrumentScale::BTCUSDT_SPOT;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load() -> Option<Vec<RecordedEvent>> {
    let dir = workspace().join("../shared/data/market/hftbacktest/examples/spot");
    let files = [dir.join("btcusdt_20240808.gz"), dir.join("btcusdt_20240809.gz")];
    if !files.iter().all(|f| f.exists()) {
        println!(
            "SKIP feature_p99: recorded spot data not found under {}",
            dir.display()
        );
        return None;
    }
    let mut events = Vec::new();
    for f in &files {
        for line in open_gz(f, SCALE).expect("open recording") {
            events.push(line.expect("parse recording").event);
        }
    }
    Some(events)
}

/// Replays all events once; returns per-event nanoseconds.
fn replay(events: &[RecordedEvent]) -> Vec<u64> {
    let mut sync = BookSync::new(SyncConfig::default());
    let mut engine = FeatureEngine::new(SCALE);
    let mut top = TopOfBook::with_capacity(10);
    let mut exchange_now = 0u64;
    let mut samples = Vec::with_capacity(events.len());
    for ev in events {
        // The aggregator receives diffs by value; clone outside the timed region.
        let mut owned = if let RecordedEvent::Depth(d) = ev {
            Some(d.clone())
        } else {
            None
        };
        let started = Instant::now();
        match ev {
            RecordedEvent::Depth(d) => {
                exchange_now = exchange_now.max(d.event_time_us);
                let outcome = sync.on_diff(owned.take().unwrap_or_default());
                if let Some(book) = sync.book().filter(|_| outcome.book_changed()) {
                    book.top_n(10, &mut top);
                    engine.on_book(d.event_time_us, &top);
                }
            }
            RecordedEvent::Snapshot(s) => {
                sync.on_snapshot(sync.epoch(), s);
            }
            RecordedEvent::Trade(t) => {
                exchange_now = exchange_now.max(t.event_time_us);
                engine.on_trade(t);
            }
            RecordedEvent::BookTicker(b) => {
                // Spot bookTicker carries no event time: use the latest exchange time seen.
                let mut b = *b;
                if b.event_time_us == 0 {
                    b.event_time_us = exchange_now;
                }
                engine.on_bbo(&b);
            }
        }
        black_box(engine.compute());
        samples.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    samples
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default() as f64 / 1000.0
}

fn main() {
    let Some(events) = load() else { return };
    let mut samples = Vec::new();
    for pass in 0..PASSES {
        let s = replay(&events);
        if pass > 0 {
            samples.extend(s); // pass 0 warms caches and the allocator
        }
    }
    samples.sort_unstable();
    let p99 = pct(&samples, 0.99);
    println!(
        "feature_p99: {} events x {} timed passes: p50 {:.3} µs, p90 {:.3} µs, p99 {:.3} µs, p99.9 {:.3} µs, max {:.3} µs",
        events.len(),
        PASSES - 1,
        pct(&samples, 0.5),
        pct(&samples, 0.9),
        p99,
        pct(&samples, 0.999),
        pct(&samples, 1.0),
    );
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    let dir = target.join("bench/parts");
    std::fs::create_dir_all(&dir).expect("create bench/parts");
    let path = dir.join("features.json");
    std::fs::write(&path, format!("{{\"feature_update_us_p99\": {p99:.3}}}\n")).expect("write features.json");
    println!("wrote {}", path.display());
}
