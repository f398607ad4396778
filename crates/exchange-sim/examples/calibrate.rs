//! Prints the calibration table of `docs/simulator.md`: statistics of the real Binance spot
//! recording next to the synthetic market's (same code computes both sides).
//!
//! `cargo run --release -p exchange-sim --example calibrate [-- <synthetic seconds> <seed>]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use exchange_sim::calibration::{MarketStats, Summary};
use exchange_sim::{SimEvent, SyntheticMarket, SyntheticParams};
use market::InstrumentScale;
use market::recording::{RecordedEvent, open_gz};

fn real() -> Option<Summary> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot");
    let mut stats = MarketStats::default();
    for f in ["btcusdt_20240808.gz", "btcusdt_20240809.gz"] {
        let path = dir.join(f);
        if !path.is_file() {
            eprintln!("SKIP real side: {} not found", path.display());
            return None;
        }
        for line in open_gz(&path, InstrumentScale::BTCUSDT_SPOT).unwrap() {
            let line = line.unwrap();
            // One clock for every stream: the collector's receive time (spot bookTicker has no E).
            let t = line.local_ns / 1000;
            match line.event {
                RecordedEvent::Trade(tr) => stats.on_trades(t, &[tr.qty]),
                RecordedEvent::BookTicker(b) => {
                    stats.on_bbo(t, b.bid.price, b.bid.qty, b.ask.price, b.ask.qty)
                }
                RecordedEvent::Depth(d) => stats.on_diff(t, d.bids.len() + d.asks.len()),
                RecordedEvent::Snapshot(_) => {}
            }
        }
    }
    Some(stats.summary())
}

fn synthetic(seconds: u64, seed: u64) -> Summary {
    let mut params = SyntheticParams::default();
    params
        .apply(&std::env::var("SIM_PARAMS").unwrap_or_default())
        .unwrap();
    let mut m = SyntheticMarket::new(seed, 0, params);
    let end = seconds * 1_000_000;
    let mut stats = MarketStats::default();
    let mut sizes = Vec::new();
    while m.now_us() < end {
        match m.next_event() {
            SimEvent::Trades {
                transact_time_us,
                fills,
            } => {
                sizes.clear();
                sizes.extend(fills.iter().map(|f| f.qty));
                stats.on_trades(transact_time_us, &sizes);
            }
            SimEvent::BestBidAsk(b) => {
                stats.on_bbo(b.event_time_us, b.bid.price, b.bid.qty, b.ask.price, b.ask.qty);
            }
            SimEvent::DepthDiff(d) => stats.on_diff(d.event_time_us, d.bids.len() + d.asks.len()),
        }
    }
    stats.summary()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(3600);
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let syn = synthetic(seconds, seed);
    match real() {
        Some(real) => println!("{}", Summary::table(&real, &syn)),
        None => println!("{syn}"),
    }
}
