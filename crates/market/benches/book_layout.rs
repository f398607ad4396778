//! Book layout comparison: sorted `Vec` (best last) vs `BTreeMap`, behind the same `OrderBook` API.
//!
//! * `synthetic`: 1000 levels per side, updates at a geometric distance from the touch (as on Binance),
//!   30 % deletes, top-10 extraction after every 10 updates. Always runs.
//! * `recorded`: the real spot recording's snapshot + every diff, top-10 after each diff. Runs when
//!   `../shared/data/market` is present (skipped with a printed reason otherwise).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use market::recording::{RecordedEvent, open_gz};
use market::{
    BTreeLadder, DepthDiff, DepthSnapshot, InstrumentScale, Ladder, Level, OrderBook, Side, TopOfBook,
    VecLadder,
};

const MID: i64 = 6_000_000;

/// Small deterministic generator (xorshift) so both layouts see identical input.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn synthetic() -> (DepthSnapshot, Vec<(Side, i64, i64)>) {
    let bids = (1..=1000).map(|i| Level::new(MID - i, 1_000 + i)).collect();
    let asks = (0..1000).map(|i| Level::new(MID + i, 1_000 + i)).collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let updates = (0..20_000)
        .map(|_| {
            let r = rng.next();
            let side = if r & 1 == 0 { Side::Bid } else { Side::Ask };
            // Geometric distance: each extra tick away is half as likely (capped at 1200).
            let dist = i64::from(((r >> 8) | (1 << 40)).trailing_zeros().min(11)) * 100 / 11
                + i64::try_from((r >> 20) % 8).unwrap();
            let qty = if (r >> 40) % 10 < 3 {
                0
            } else {
                i64::try_from((r >> 44) % 5_000).unwrap() + 1
            };
            let price = if side == Side::Bid {
                MID - 1 - dist
            } else {
                MID + dist
            };
            (side, price, qty)
        })
        .collect();
    let snapshot = DepthSnapshot {
        last_update_id: 1,
        bids,
        asks,
    };
    (snapshot, updates)
}

fn run_synthetic<L: Ladder>(
    snapshot: &DepthSnapshot,
    updates: &[(Side, i64, i64)],
    top: &mut TopOfBook,
) -> usize {
    let mut book: OrderBook<L> = OrderBook::from_snapshot(snapshot);
    let mut acc = 0;
    for chunk in updates.chunks(10) {
        for &(side, price, qty) in chunk {
            book.set_level(side, price, qty);
        }
        book.top_n(10, top);
        acc += top.bids.len();
    }
    acc
}

fn recorded() -> Option<(DepthSnapshot, Vec<DepthDiff>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot/btcusdt_20240808.gz");
    if !path.exists() {
        eprintln!("SKIP recorded layout bench: {} not found", path.display());
        return None;
    }
    let mut snapshot = None;
    let mut diffs = Vec::new();
    for line in open_gz(&path, InstrumentScale::BTCUSDT_SPOT).ok()? {
        match line.ok()?.event {
            RecordedEvent::Snapshot(s) => snapshot = Some(s),
            RecordedEvent::Depth(d) => diffs.push(d),
            _ => {}
        }
    }
    let snapshot = snapshot?;
    diffs.retain(|d| d.last_update_id > snapshot.last_update_id);
    Some((snapshot, diffs))
}

fn run_recorded<L: Ladder>(snapshot: &DepthSnapshot, diffs: &[DepthDiff], top: &mut TopOfBook) -> usize {
    let mut book: OrderBook<L> = OrderBook::from_snapshot(snapshot);
    let mut acc = 0;
    for d in diffs {
        book.apply_diff(d);
        book.top_n(10, top);
        acc += top.asks.len();
    }
    acc
}

fn layouts(c: &mut Criterion) {
    let mut top = TopOfBook::with_capacity(10);
    let (snapshot, updates) = synthetic();
    let mut g = c.benchmark_group("book_layout/synthetic_20k_updates");
    g.throughput(Throughput::Elements(updates.len() as u64));
    g.bench_function("vec", |b| {
        b.iter(|| run_synthetic::<VecLadder>(&snapshot, &updates, &mut top))
    });
    g.bench_function("btreemap", |b| {
        b.iter(|| run_synthetic::<BTreeLadder>(&snapshot, &updates, &mut top))
    });
    g.finish();

    if let Some((snapshot, diffs)) = recorded() {
        let levels: usize = diffs.iter().map(|d| d.bids.len() + d.asks.len()).sum();
        let mut g = c.benchmark_group("book_layout/recorded_spot_diffs");
        g.throughput(Throughput::Elements(diffs.len() as u64));
        for name in ["vec", "btreemap"] {
            g.bench_with_input(
                BenchmarkId::new(name, format!("{}diffs_{levels}levels", diffs.len())),
                &name,
                |b, &n| {
                    if n == "vec" {
                        b.iter(|| run_recorded::<VecLadder>(&snapshot, &diffs, &mut top));
                    } else {
                        b.iter(|| run_recorded::<BTreeLadder>(&snapshot, &diffs, &mut top));
                    }
                },
            );
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = layouts
}
criterion_main!(benches);
