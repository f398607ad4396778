//! Test fixtures: the real spot recording as pipeline events, a kinesalite stream written through
//! the kinesis-io producer, the aggregator binary, Redis reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use aws_sdk_kinesis::Client;
use bytes::Bytes;
use fred::prelude::*;
use kinesis_io::producer::{Assembler, Outgoing, Producer, ProducerConfig};
use market::recording::{RecordedEvent, open_gz};
use market::{BookSync, InstrumentScale, SyncConfig};
use pipeline_events::{
    BestBidAskEvent, Event, EventMeta, Fill, GapReason, OwnedEvent, PriceLevel, RecordBuilder,
    StreamGapEvent, StreamKind,
};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use svc_kit::testing::ServiceProcess;

pub const PE: i8 = -2;
pub const QE: i8 = -8;

pub fn spot_files() -> Option<Vec<PathBuf>> {
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

fn levels(ls: &[market::Level]) -> Vec<PriceLevel> {
    ls.iter()
        .map(|l| PriceLevel {
            price: l.price,
            qty: l.qty,
        })
        .collect()
}

fn meta(ns: u64) -> EventMeta {
    EventMeta {
        ingest_time_ns: ns as i64,
        connection_epoch: 1,
    }
}

/// The recording as pipeline events (spot bookTicker gets the latest exchange time).
pub fn recording_events(files: &[PathBuf]) -> Vec<OwnedEvent> {
    let mut out = Vec::new();
    let mut last_us = 0u64;
    for f in files {
        for line in open_gz(f, InstrumentScale::BTCUSDT_SPOT).unwrap() {
            let line = line.unwrap();
            let m = meta(line.local_ns);
            let ev = match line.event {
                RecordedEvent::Depth(d) => {
                    last_us = last_us.max(d.event_time_us);
                    OwnedEvent::DepthDiff {
                        meta: m,
                        symbol: "BTCUSDT".into(),
                        event_time_us: d.event_time_us as i64,
                        first_update_id: d.first_update_id as i64,
                        last_update_id: d.last_update_id as i64,
                        price_exponent: PE,
                        qty_exponent: QE,
                        bids: levels(&d.bids),
                        asks: levels(&d.asks),
                    }
                }
                RecordedEvent::Trade(t) => {
                    last_us = last_us.max(t.event_time_us);
                    let fills = vec![Fill {
                        trade_id: t.trade_id as i64,
                        price: t.price,
                        qty: t.qty,
                        is_buyer_maker: t.is_buyer_maker,
                    }];
                    OwnedEvent::Trade {
                        meta: m,
                        symbol: "BTCUSDT".into(),
                        event_time_us: t.event_time_us as i64,
                        trade_time_us: t.event_time_us as i64,
                        price_exponent: PE,
                        qty_exponent: QE,
                        fills,
                    }
                }
                RecordedEvent::BookTicker(b) => OwnedEvent::BestBidAsk {
                    symbol: "BTCUSDT".into(),
                    event: BestBidAskEvent {
                        meta: m,
                        symbol: "",
                        event_time_us: if b.event_time_us == 0 {
                            last_us
                        } else {
                            b.event_time_us
                        } as i64,
                        book_update_id: b.update_id as i64,
                        price_exponent: PE,
                        qty_exponent: QE,
                        bid_price: b.bid.price,
                        bid_qty: b.bid.qty,
                        ask_price: b.ask.price,
                        ask_qty: b.ask.qty,
                    },
                },
                RecordedEvent::Snapshot(s) => snapshot_event(s.last_update_id, &s.bids, &s.asks, m),
            };
            out.push(ev);
        }
    }
    out
}

pub fn snapshot_event(id: u64, bids: &[market::Level], asks: &[market::Level], m: EventMeta) -> OwnedEvent {
    OwnedEvent::DepthSnapshot {
        meta: m,
        symbol: "BTCUSDT".into(),
        exchange_time_us: None,
        last_update_id: id as i64,
        price_exponent: PE,
        qty_exponent: QE,
        bids: levels(bids),
        asks: levels(asks),
    }
}

pub fn gap_event() -> OwnedEvent {
    OwnedEvent::StreamGap {
        symbol: "BTCUSDT".into(),
        event: StreamGapEvent {
            meta: meta(0),
            symbol: "",
            stream: StreamKind::Depth,
            reason: GapReason::SequenceGap,
            last_good_update_id: None,
            received_update_id: None,
            event_time_us: None,
        },
    }
}

/// The full book after replaying `events[..upto]` (a snapshot for an injected re-anchor).
pub fn book_snapshot_at(events: &[OwnedEvent], upto: usize) -> OwnedEvent {
    let mut sync = BookSync::new(SyncConfig::default());
    let s = InstrumentScale::BTCUSDT_SPOT;
    for e in &events[..upto] {
        let ev = e.as_event();
        match ev {
            Event::DepthDiff(d) => {
                let conv = |l: &[PriceLevel]| l.iter().map(|l| market::Level::new(l.price, l.qty)).collect();
                sync.on_diff(market::DepthDiff {
                    first_update_id: d.first_update_id as u64,
                    last_update_id: d.last_update_id as u64,
                    event_time_us: d.event_time_us as u64,
                    bids: conv(d.bids),
                    asks: conv(d.asks),
                });
            }
            Event::DepthSnapshot(d) => {
                let conv = |l: &[PriceLevel]| l.iter().map(|l| market::Level::new(l.price, l.qty)).collect();
                let snap = market::DepthSnapshot {
                    last_update_id: d.last_update_id as u64,
                    bids: conv(d.bids),
                    asks: conv(d.asks),
                };
                sync.on_snapshot(sync.epoch(), &snap);
            }
            _ => {}
        }
    }
    let _ = s;
    let book = sync.book().expect("synced at the cut");
    let mut top = market::TopOfBook::default();
    book.top_n(usize::MAX, &mut top);
    snapshot_event(book.last_update_id(), &top.bids, &top.asks, meta(0))
}

/// Each queued item is a complete record (built with `RecordBuilder`): one item per record.
pub struct WholeRecords;
impl Assembler for WholeRecords {
    fn assemble(&mut self, _key: &str, q: &mut VecDeque<Bytes>, _max: usize) -> (Bytes, u32) {
        (q.pop_front().unwrap_or_default(), 1)
    }
}

/// Records of `per_record` events, producer id `producer`, batch sequences from `first_batch`.
pub fn build_records(
    events: &[OwnedEvent],
    per_record: usize,
    producer: u64,
    first_batch: u64,
) -> Vec<Bytes> {
    events
        .chunks(per_record)
        .enumerate()
        .map(|(i, chunk)| {
            let mut b = RecordBuilder::new(
                producer,
                first_batch + i as u64,
                0,
                pipeline_events::MAX_RECORD_BYTES,
            );
            for e in chunk {
                b.push(&e.as_event()).unwrap();
            }
            Bytes::from(b.into_bytes())
        })
        .collect()
}

pub async fn create_stream(c: &Client, name: &str) {
    c.create_stream()
        .stream_name(name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    for _ in 0..200 {
        let s = c
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        if s.stream_description_summary()
            .map(|d| d.stream_status().as_str() == "ACTIVE")
            .unwrap_or(false)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("stream not active");
}

/// Put `records` in order through the kinesis-io producer; returns when all were accepted.
pub async fn put_records(c: &Client, stream: &str, records: Vec<Bytes>) {
    let mut reg = prometheus_client::registry::Registry::default();
    let m = metrics_schema::IngestorMetrics::register(&mut reg);
    let cfg = ProducerConfig {
        stream_name: stream.into(),
        linger: Duration::from_millis(1),
        ..ProducerConfig::default()
    };
    let p = Producer::new(c.clone(), cfg, WholeRecords, m);
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(p.run(rx, stop, Duration::from_secs(30)));
    let key: Arc<str> = Arc::from("BTCUSDT");
    for r in records {
        tx.send(Outgoing {
            partition_key: key.clone(),
            data: r,
        })
        .await
        .unwrap();
    }
    drop(tx);
    let stats = tokio::time::timeout(Duration::from_secs(120), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stats.events_unsent, 0);
}

pub fn start_aggregator(kinesis: &str, redis: &str, stream: &str, extra: &[(&str, &str)]) -> ServiceProcess {
    let mut env: Vec<(&str, &str)> = vec![
        ("AGGREGATOR__KINESIS__ENDPOINT_URL", kinesis),
        ("AGGREGATOR__KINESIS__STREAM_NAME", stream),
        ("AGGREGATOR__REDIS__URL", redis),
        ("AGGREGATOR__LEASE__TTL_MS", "2000"),
        ("AGGREGATOR__CONSUMER__SHARD_REFRESH_SECS", "1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    env.extend_from_slice(extra);
    tokio::task::block_in_place(|| {
        ServiceProcess::start(env!("CARGO_BIN_EXE_aggregator"), "AGGREGATOR", &env)
    })
    .unwrap()
}

pub async fn redis(url: &str) -> Client2 {
    let c = Builder::from_config(Config::from_url(url).unwrap())
        .build()
        .unwrap();
    c.init().await.unwrap();
    c
}
pub type Client2 = fred::clients::Client;

pub async fn hash(c: &Client2, key: &str) -> HashMap<String, String> {
    let v: HashMap<String, Value> = c.hgetall(key).await.unwrap_or_default();
    v.into_iter()
        .map(|(k, v)| {
            (
                k,
                v.as_string()
                    .unwrap_or_else(|| format!("<{} bytes>", v.as_bytes().map(|b| b.len()).unwrap_or(0))),
            )
        })
        .collect()
}

/// Wait until `f` holds (polling every 50 ms) or panic after `limit`.
pub async fn wait_for<F, Fut>(limit: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

/// Like [`wait_for`], but `f` answers `Err(what it saw)` while the condition does not hold, and a
/// timeout names the last thing seen, so a failure says how far the behaviour got.
pub async fn wait_seen<F, Fut>(limit: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    let mut last = String::from("nothing polled yet");
    while start.elapsed() < limit {
        match f().await {
            Ok(()) => return,
            Err(seen) => last = seen,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {limit:?} waiting for {what}; last seen: {last}");
}

/// The last record's sequence number in the stream (single shard).
pub async fn last_sequence(c: &Client, stream: &str) -> String {
    let shards = c.list_shards().stream_name(stream).send().await.unwrap();
    let shard = shards.shards()[0].shard_id().to_string();
    last_sequence_of(c, stream, &shard).await.unwrap_or_default()
}

/// The last record's sequence number in one shard (None when it has no records).
pub async fn last_sequence_of(c: &Client, stream: &str, shard: &str) -> Option<String> {
    let mut it = c
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .map(str::to_string);
    let mut last = None;
    while let Some(i) = it {
        let r = c
            .get_records()
            .shard_iterator(i)
            .limit(10_000)
            .send()
            .await
            .unwrap();
        if let Some(rec) = r.records().last() {
            last = Some(rec.sequence_number().to_string());
        }
        if r.records().is_empty() {
            break;
        }
        it = r.next_shard_iterator().map(str::to_string);
    }
    last
}

pub fn metric(body: &str, name_and_labels: &str) -> f64 {
    body.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// `ServiceProcess::get` from inside the async test (it runs its own small runtime).
pub fn get(p: &ServiceProcess, path: &str) -> Result<(u16, String), String> {
    tokio::task::block_in_place(|| p.get(path))
}

/// Queue items are single events encoded with `Event::encode`; a record takes as many as fit
/// (like the ingestor's assembler), with increasing batch sequences.
pub struct EncodedEvents {
    pub producer: u64,
    pub next_batch: u64,
}

impl Assembler for EncodedEvents {
    fn assemble(&mut self, _key: &str, q: &mut VecDeque<Bytes>, max: usize) -> (Bytes, u32) {
        let mut b = RecordBuilder::new(
            self.producer,
            self.next_batch,
            0,
            max.min(pipeline_events::MAX_RECORD_BYTES),
        );
        self.next_batch += 1;
        while let Some(ev) = q.front() {
            if b.push_encoded(ev).is_err() {
                break;
            }
            q.pop_front();
        }
        let n = b.event_count();
        (Bytes::from(b.into_bytes()), n)
    }
}

pub fn encode_event(e: &OwnedEvent) -> Bytes {
    let mut out = Vec::new();
    e.as_event().encode(&mut out).unwrap();
    Bytes::from(out)
}
