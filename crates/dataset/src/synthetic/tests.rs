use market::recording::RecordedEvent;

use super::*;
use crate::replay::Sampler;
use crate::source::PriceReference;

fn run(seed: u64, minutes: f64) -> Vec<RecordedEvent> {
    SyntheticMarket::new(SyntheticConfig::new(seed, minutes / 60.0)).collect()
}

#[test]
fn the_same_seed_replays_the_same_market_and_another_seed_does_not() {
    let a = run(3, 2.0);
    assert_eq!(a, run(3, 2.0));
    assert_ne!(a, run(4, 2.0));
}

#[test]
fn a_run_starts_with_a_snapshot_and_has_realistic_event_rates() {
    let events = run(1, 10.0);
    assert!(matches!(events.first(), Some(RecordedEvent::Snapshot(_))));
    let count = |f: fn(&RecordedEvent) -> bool| events.iter().filter(|e| f(e)).count() as f64 / 600.0;
    let bbo = count(|e| matches!(e, RecordedEvent::BookTicker(_)));
    let trades = count(|e| matches!(e, RecordedEvent::Trade(_)));
    let diffs = count(|e| matches!(e, RecordedEvent::Depth(_)));
    assert!((40.0..200.0).contains(&bbo), "bookTicker/s {bbo}");
    assert!((10.0..80.0).contains(&trades), "trades/s {trades}");
    assert!((9.0..=10.0).contains(&diffs), "diffs/s {diffs}");
}

#[test]
fn replaying_a_run_syncs_once_never_loses_the_book_and_the_ticker_matches_the_book() {
    let mut sampler = Sampler::new(
        1_000_000,
        true,
        PriceReference::Mid,
        market::InstrumentScale::BTCUSDT_SPOT,
    );
    let mut book = market::BookSync::new(market::SyncConfig::default());
    let mut last_bbo = None;
    for e in run(9, 10.0) {
        match &e {
            RecordedEvent::Snapshot(s) => {
                book.on_snapshot(book.epoch(), s);
            }
            RecordedEvent::Depth(d) => {
                book.on_diff(d.clone());
                let b = book.book().unwrap();
                assert!(!b.is_crossed());
                // The diff carries every change up to its time, so the book top equals the last ticker.
                let top: Option<(Level, Level)> = b.best_bid().zip(b.best_ask());
                assert_eq!(top, last_bbo);
            }
            RecordedEvent::BookTicker(t) => last_bbo = Some((t.bid, t.ask)),
            RecordedEvent::Trade(_) => {}
        }
        sampler.push(e);
    }
    let (samples, stats) = sampler.finish();
    assert_eq!((stats.reanchors, stats.book_lost), (1, 0));
    let complete = samples.iter().filter(|s| s.features.is_complete()).count();
    assert!(
        complete as f64 > 0.85 * samples.len() as f64,
        "{complete}/{}",
        samples.len()
    );
}
