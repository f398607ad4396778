//! End-to-end aggregator bench against kinesalite + Redis with the real binary:
//! * `aggregator_events_per_sec` — a backlog of recorded (or synthetic) events drained from Kinesis
//!   into Redis, from the process serving to the last checkpoint;
//! * `aggregator_state_events_per_sec` — the pure state path (decode + book + features) in-process;
//! * `freshness_ms_p50` / `freshness_ms_p99` — exchange event time (= send time here) until the
//!   features hash shows an `event_time_us` at or past it, per event, at 200 events/s.
//!
//! Writes `$CARGO_TARGET_DIR/bench/parts/aggregator.json` (default `<workspace>/target`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use fred::prelude::*;
use kinesis_io::producer::{Outgoing, Producer, ProducerConfig};
use pipeline_events::{BestBidAskEvent, EventMeta, OwnedEvent, RecordReader};
use std::sync::Arc;
use std::time::{Duration, Instant};
use svc_kit::testing::servers::{Kinesalite, RedisServer};

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

fn bbo(t: i64, i: i64) -> OwnedEvent {
    OwnedEvent::BestBidAsk {
        symbol: "BTCUSDT".into(),
        event: BestBidAskEvent {
            meta: EventMeta {
                ingest_time_ns: t * 1000,
                connection_epoch: 1,
            },
            symbol: "",
            event_time_us: t,
            book_update_id: i,
            price_exponent: PE,
            qty_exponent: QE,
            bid_price: 6_000_000 + (i % 7),
            bid_qty: 100_000_000,
            ask_price: 6_000_010 + (i % 7),
            ask_qty: 50_000_000,
        },
    }
}

fn events() -> Vec<OwnedEvent> {
    match spot_files() {
        Some(f) => recording_events(&f),
        None => (0..100_000)
            .map(|i| bbo(1_700_000_000_000_000 + i * 1000, i))
            .collect(),
    }
}

fn state_events_per_sec(events: &[OwnedEvent]) -> f64 {
    use aggregator::state::MarketState;
    let records = build_records(events, 500, 1, 1);
    let start = Instant::now();
    let mut n = 0u64;
    for _ in 0..3 {
        let mut st = MarketState::new(
            market::InstrumentScale::BTCUSDT_SPOT,
            market::SyncConfig::default(),
            10,
            Instant::now(),
        );
        for r in &records {
            let reader = RecordReader::new(r).unwrap();
            for ev in reader.events() {
                st.apply(&ev.unwrap(), true, Instant::now());
                n += 1;
            }
            st.drain_notes().for_each(drop);
        }
        std::hint::black_box(st.publish());
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let events = events();
    let state_eps = state_events_per_sec(&events);
    println!("aggregator_state_events_per_sec {state_eps:.0}");

    // Backlog throughput.
    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, "backlog").await;
    put_records(&kc, "backlog", build_records(&events, 500, 1, 1)).await;
    let last = last_sequence(&kc, "backlog").await;
    let rc = redis(&r.url()).await;
    let ckpt = "{BTCUSDT}:ckpt:shardId-000000000000";
    // From the moment the process serves (lease, ListShards, first iterator included).
    let agg = start_aggregator(&k.endpoint(), &r.url(), "backlog", &[]);
    let t0 = Instant::now();
    wait_for(Duration::from_secs(300), "backlog drained", || async {
        hash(&rc, ckpt).await.get("seq") == Some(&last)
    })
    .await;
    let eps = events.len() as f64 / t0.elapsed().as_secs_f64();
    println!("aggregator_events_per_sec {eps:.0} ({} events)", events.len());
    drop(agg);

    // Freshness at a live rate.
    let r2 = RedisServer::start().unwrap();
    create_stream(&kc, "live").await;
    let agg = start_aggregator(&k.endpoint(), &r2.url(), "live", &[]);
    let rc = redis(&r2.url()).await;
    let mut reg = prometheus_client::registry::Registry::default();
    let m = metrics_schema::IngestorMetrics::register(&mut reg);
    let cfg = ProducerConfig {
        stream_name: "live".into(),
        linger: Duration::from_millis(5),
        ..ProducerConfig::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let stop = tokio_util::sync::CancellationToken::new();
    let producer = tokio::spawn(
        Producer::new(
            kc.clone(),
            cfg,
            EncodedEvents {
                producer: 2,
                next_batch: 1,
            },
            m,
        )
        .run(rx, stop.clone(), Duration::from_secs(5)),
    );
    let sent = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let sender = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let key: Arc<str> = Arc::from("BTCUSDT");
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            for i in 0..4_000i64 {
                tick.tick().await;
                let t = now_us();
                let rec = encode_event(&bbo(t, i));
                sent.lock().unwrap().push(t);
                if tx
                    .send(Outgoing {
                        partition_key: key.clone(),
                        data: rec,
                    })
                    .await
                    .is_err()
                {
                    break;
                }
            }
        })
    };
    let mut fresh = Vec::new();
    let mut next = 0usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let seen: Option<String> = rc
            .hget("{BTCUSDT}:features", "event_time_us")
            .await
            .ok()
            .flatten();
        let now = now_us();
        if let Some(t) = seen.and_then(|s| s.parse::<i64>().ok()) {
            let s = sent.lock().unwrap();
            while next < s.len() && s[next] <= t {
                fresh.push((now - s[next]) as f64 / 1000.0);
                next += 1;
            }
            if next >= 4_000 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    sender.await.unwrap();
    stop.cancel();
    let _ = producer.await;
    drop(agg);
    // The first second includes the lease and the first iterator: skip it.
    let mut f: Vec<f64> = fresh.into_iter().skip(200).collect();
    f.sort_by(f64::total_cmp);
    assert!(!f.is_empty(), "no freshness samples");
    let (p50, p99) = (percentile(&f, 0.5), percentile(&f, 0.99));
    println!(
        "freshness_ms_p50 {p50:.1} freshness_ms_p99 {p99:.1} ({} samples)",
        f.len()
    );

    let dir = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("bench/parts");
    std::fs::create_dir_all(&dir).unwrap();
    let json = format!(
        "{{\"aggregator_events_per_sec\": {eps:.0}, \"aggregator_state_events_per_sec\": {state_eps:.0}, \"freshness_ms_p50\": {p50:.1}, \"freshness_ms_p99\": {p99:.1}}}\n"
    );
    std::fs::write(dir.join("aggregator.json"), &json).unwrap();
    print!("{json}");
}
