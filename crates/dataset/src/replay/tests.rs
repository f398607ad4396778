use features::spec::idx;
use market::recording::RecordedEvent;
use market::{BestBidAsk, DepthDiff, DepthSnapshot, InstrumentScale, Level, Trade};

use super::*;

const S: u64 = 1_000_000;

fn sampler() -> Sampler {
    Sampler::new(S, true, PriceReference::Mid, InstrumentScale::BTCUSDT_SPOT)
}

fn bbo(t: u64, bid: i64, ask: i64) -> RecordedEvent {
    RecordedEvent::BookTicker(BestBidAsk {
        event_time_us: t,
        update_id: 0,
        bid: Level::new(bid, 100_000_000),
        ask: Level::new(ask, 100_000_000),
    })
}

fn trade(t: u64, price: i64) -> RecordedEvent {
    RecordedEvent::Trade(Trade {
        event_time_us: t,
        trade_id: t,
        price,
        qty: 1000,
        is_buyer_maker: false,
    })
}

fn levels(start: i64, step: i64) -> Vec<Level> {
    (0..12).map(|i| Level::new(start + i * step, 100_000)).collect()
}

fn snapshot(id: u64) -> RecordedEvent {
    RecordedEvent::Snapshot(DepthSnapshot {
        last_update_id: id,
        bids: levels(9_999, -1),
        asks: levels(10_000, 1),
    })
}

fn diff(t: u64, first: u64, last: u64) -> RecordedEvent {
    RecordedEvent::Depth(DepthDiff {
        first_update_id: first,
        last_update_id: last,
        event_time_us: t,
        bids: vec![Level::new(9_999, 200_000)],
        asks: vec![],
    })
}

#[test]
fn a_sample_at_t_sees_events_up_to_t_and_none_after() {
    let mut s = sampler();
    s.push(bbo(10 * S - 1, 10_000, 10_002));
    s.push(bbo(10 * S, 10_000, 10_004)); // exactly on the grid point: included
    s.push(bbo(10 * S + 1, 10_000, 10_010)); // after: excluded
    s.push(trade(11 * S + 5, 10_000)); // triggers the 11 s sample
    let (samples, stats) = s.finish();
    let times: Vec<u64> = samples.iter().map(|x| x.time_us).collect();
    assert_eq!(times, [10 * S, 11 * S]);
    assert_eq!(samples[0].price, Some(100.02));
    assert_eq!(samples[1].price, Some(100.05));
    assert_eq!(samples[1].features.event_time_us, 11 * S);
    assert_eq!(stats.samples, 2);
}

#[test]
fn book_features_stay_cold_and_rows_unsynced_until_a_snapshot_is_bridged() {
    let mut s = sampler();
    s.push(bbo(S, 9_999, 10_000));
    s.push(diff(S + 10, 101, 105)); // buffered: no snapshot yet
    s.push(snapshot(102)); // bridged by the buffered diff
    s.push(diff(3 * S, 106, 106));
    s.push(trade(5 * S, 10_000));
    let (samples, stats) = s.finish();
    let synced: Vec<bool> = samples.iter().map(|x| x.synced).collect();
    assert_eq!(synced, [false, true, true, true], "{samples:?}");
    assert!(!samples[0].features.warm[idx::BOOK_IMBALANCE]);
    assert!(samples[1].features.warm[idx::BOOK_IMBALANCE + 2]);
    assert_eq!(stats.reanchors, 1);
}

#[test]
fn a_gap_in_the_depth_stream_makes_later_samples_unsynced_and_book_features_cold() {
    let mut s = sampler();
    s.push(snapshot(100));
    s.push(diff(S, 101, 101));
    s.push(diff(2 * S, 105, 106)); // 102..104 missing
    s.push(trade(4 * S, 10_000));
    let (samples, stats) = s.finish();
    assert_eq!(stats.book_lost, 1);
    let last = samples.last().unwrap();
    assert!(!last.synced);
    assert!(!last.features.warm[idx::BOOK_IMBALANCE]);
}

#[test]
fn a_spot_book_ticker_without_time_takes_the_latest_exchange_time() {
    let mut s = sampler();
    s.push(trade(5 * S + 500, 10_000));
    s.push(bbo(0, 10_000, 10_002));
    s.push(trade(7 * S, 10_000));
    let (samples, _) = s.finish();
    assert_eq!(samples.first().map(|x| x.time_us), Some(6 * S));
    assert_eq!(samples[0].price, Some(100.01));
}

#[test]
fn trades_only_sources_price_rows_at_the_last_trade_and_count_as_synced() {
    let mut s = Sampler::new(S, false, PriceReference::LastTrade, InstrumentScale::BTCUSDT_SPOT);
    s.push(trade(S / 2, 968_200));
    s.push(trade(2 * S + 1, 968_150));
    let (samples, _) = s.finish();
    assert_eq!(samples.len(), 2);
    assert!(samples.iter().all(|x| x.synced));
    assert_eq!(samples[1].price, Some(9682.0));
    assert!(!samples[1].features.warm[idx::MID_PRICE]);
}
