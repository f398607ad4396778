//! Offline features from the pipeline's own archive equal what the aggregator computed online for the
//! same records. A recorded run: the real spot recording (../shared/data/market) as pipeline records, with
//! an at-least-once duplicate, a poison record, a foreign-schema record and a book gap re-anchored by a
//! snapshot → kinesalite → the aggregator binary (→ Redis) and the archive-writer binary (→ gzip files) at
//! the same time. At six checkpoints the aggregator's `{BTCUSDT}:features` (values, warm mask, event time)
//! must equal, bit for bit, the dataset sampler's features after the same archived records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use dataset::archive::feed::ArchiveFeed;
use dataset::archive::reader::records as read_archive;
use dataset::{PriceReference, Sampler};
use fred::prelude::*;
use market::recording::{RecordedEvent, open_gz};
use market::{BookSync, InstrumentScale, SyncConfig, TopOfBook};
use pipeline_events::{
    BestBidAskEvent, EventMeta, Fill, GapReason, OwnedEvent, PriceLevel, RecordBuilder, StreamGapEvent,
    StreamKind,
};
use svc_kit::testing::ServiceProcess;
use svc_kit::testing::servers::{Kinesalite, RedisServer};

const PE: i8 = -2;
const QE: i8 = -8;

fn spot_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot");
    let files: Vec<_> = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    for f in &files {
        assert!(f.exists(), "real spot recording {} is missing", f.display());
    }
    files
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

fn snapshot_event(id: u64, bids: &[market::Level], asks: &[market::Level]) -> OwnedEvent {
    OwnedEvent::DepthSnapshot {
        meta: meta(0),
        symbol: "BTCUSDT".into(),
        exchange_time_us: None,
        last_update_id: id as i64,
        price_exponent: PE,
        qty_exponent: QE,
        bids: levels(bids),
        asks: levels(asks),
    }
}

/// The recording as pipeline events, as the ingestor writes them (bookTicker gets the latest exchange
/// time), and the full book after each event index where `snapshot_at` asks for it.
fn recording_events(files: &[PathBuf], snapshot_at: usize) -> (Vec<OwnedEvent>, OwnedEvent) {
    let mut out = Vec::new();
    let mut last_us = 0u64;
    let mut sync = BookSync::new(SyncConfig::default());
    let mut snap = None;
    for f in files {
        for line in open_gz(f, InstrumentScale::BTCUSDT_SPOT).unwrap() {
            let line = line.unwrap();
            let m = meta(line.local_ns);
            if out.len() == snapshot_at {
                let book = sync.book().expect("synced where the test re-anchors");
                let mut top = TopOfBook::default();
                book.top_n(usize::MAX, &mut top);
                snap = Some(snapshot_event(book.last_update_id(), &top.bids, &top.asks));
            }
            let ev = match line.event {
                RecordedEvent::Depth(d) => {
                    last_us = last_us.max(d.event_time_us);
                    let e = OwnedEvent::DepthDiff {
                        meta: m,
                        symbol: "BTCUSDT".into(),
                        event_time_us: d.event_time_us as i64,
                        first_update_id: d.first_update_id as i64,
                        last_update_id: d.last_update_id as i64,
                        price_exponent: PE,
                        qty_exponent: QE,
                        bids: levels(&d.bids),
                        asks: levels(&d.asks),
                    };
                    sync.on_diff(d);
                    e
                }
                RecordedEvent::Trade(t) => {
                    last_us = last_us.max(t.event_time_us);
                    OwnedEvent::Trade {
                        meta: m,
                        symbol: "BTCUSDT".into(),
                        event_time_us: t.event_time_us as i64,
                        trade_time_us: t.event_time_us as i64,
                        price_exponent: PE,
                        qty_exponent: QE,
                        fills: vec![Fill {
                            trade_id: t.trade_id as i64,
                            price: t.price,
                            qty: t.qty,
                            is_buyer_maker: t.is_buyer_maker,
                        }],
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
                RecordedEvent::Snapshot(s) => {
                    sync.on_snapshot(sync.epoch(), &s);
                    snapshot_event(s.last_update_id, &s.bids, &s.asks)
                }
            };
            out.push(ev);
        }
    }
    (out, snap.expect("snapshot point inside the recording"))
}

fn gap_event() -> OwnedEvent {
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

fn build_records(events: &[OwnedEvent], per_record: usize) -> Vec<Vec<u8>> {
    events
        .chunks(per_record)
        .enumerate()
        .map(|(i, chunk)| {
            let mut b = RecordBuilder::new(1, 1 + i as u64, 0, pipeline_events::MAX_RECORD_BYTES);
            for e in chunk {
                b.push(&e.as_event()).unwrap();
            }
            b.into_bytes()
        })
        .collect()
}

fn sibling_binary(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_dataset-builder")).with_file_name(name);
    assert!(
        p.exists(),
        "{} is needed by this test: cargo build -p {name}",
        p.display()
    );
    p
}

async fn wait_for<F, Fut>(limit: Duration, what: &str, mut f: F)
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

/// One online observation: the features hash after the aggregator checkpointed record `upto` (exclusive).
struct Online {
    upto: usize,
    values: Vec<u8>,
    warm: String,
    event_time_us: String,
    state: String,
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "archive-writer exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("archive-writer did not stop on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_built_from_the_archive_equal_the_aggregators_online_features_for_the_same_records() {
    let files = spot_files();
    // A book gap at event 30 000 (first event of record 60) and, 1 200 events (two records) later, a
    // snapshot of the book at that point.
    let (mut events, snap) = recording_events(&files, 31_200);
    events.insert(31_200, snap);
    events.insert(30_000, gap_event());
    let mut records = build_records(&events, 500);
    let n_clean = records.len();
    // An at-least-once copy, a truncated (poison) record and a record of an unknown schema id.
    records.insert(11, records[10].clone());
    records.insert(20, records[19][..40].to_vec());
    let mut foreign = records[30].clone();
    foreign[4..6].copy_from_slice(&999u16.to_le_bytes());
    records.insert(31, foreign);
    assert_eq!(records.len(), n_clean + 3);

    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    kc.create_stream()
        .stream_name("market-events")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    wait_for(Duration::from_secs(20), "the stream to be active", || async {
        kc.describe_stream_summary()
            .stream_name("market-events")
            .send()
            .await
            .ok()
            .and_then(|s| {
                s.stream_description_summary()
                    .map(|d| d.stream_status().as_str() == "ACTIVE")
            })
            .unwrap_or(false)
    })
    .await;

    let archive = std::env::temp_dir().join(format!("archive-online-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&archive);
    let writer = Command::new(env!("CARGO_BIN_EXE_archive-writer"))
        .args([
            "--dir",
            archive.to_str().unwrap(),
            "--endpoint",
            &k.endpoint(),
            "--rotate-secs",
            "1",
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let agg_bin = sibling_binary("aggregator");
    let (endpoint, redis_url) = (k.endpoint(), r.url());
    let env: Vec<(&str, &str)> = vec![
        ("AGGREGATOR__KINESIS__ENDPOINT_URL", &endpoint),
        ("AGGREGATOR__KINESIS__STREAM_NAME", "market-events"),
        ("AGGREGATOR__REDIS__URL", &redis_url),
        ("AGGREGATOR__LEASE__TTL_MS", "2000"),
        ("AGGREGATOR__CONSUMER__SHARD_REFRESH_SECS", "1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let agg =
        tokio::task::block_in_place(|| ServiceProcess::start(agg_bin.to_str().unwrap(), "AGGREGATOR", &env))
            .unwrap();
    let rc = fred::clients::Client::new(
        fred::types::config::Config::from_url(&r.url()).unwrap(),
        None,
        None,
        None,
    );
    rc.init().await.unwrap();

    // Put the records in six chunks; after each, wait for the aggregator's checkpoint and read its features.
    let n = records.len();
    // Record 60 holds the gap; 3 records were inserted before it. One checkpoint falls inside the gap.
    let in_gap = 60 + 3 + 1;
    let mut cuts: Vec<usize> = (1..=6).map(|i| n * i / 6).collect();
    cuts.push(in_gap);
    cuts.sort_unstable();
    cuts.dedup();
    let mut online = Vec::new();
    let mut from = 0;
    for &upto in &cuts {
        let mut last = String::new();
        for rec in &records[from..upto] {
            let out = kc
                .put_record()
                .stream_name("market-events")
                .partition_key("BTCUSDT")
                .data(Blob::new(rec.clone()))
                .send()
                .await
                .unwrap();
            last = out.sequence_number().to_string();
        }
        from = upto;
        let ckpt = "{BTCUSDT}:ckpt:shardId-000000000000";
        wait_for(
            Duration::from_secs(120),
            "the aggregator checkpoint at the chunk's last record",
            || async {
                let seq: Option<String> = rc.hget(ckpt, "seq").await.unwrap_or(None);
                seq.as_deref() == Some(last.as_str())
            },
        )
        .await;
        let key = "{BTCUSDT}:features";
        let values: Vec<u8> = rc.hget(key, "values").await.unwrap();
        let field = |f: &'static str| {
            let rc = rc.clone();
            async move { rc.hget::<String, _, _>(key, f).await.unwrap() }
        };
        online.push(Online {
            upto,
            values,
            warm: field("warm").await,
            event_time_us: field("event_time_us").await,
            state: field("state").await,
        });
    }
    drop(agg);

    // Every good record reaches the archive (the writer refuses the two that are not one record).
    let expected = n - 2;
    wait_for(
        Duration::from_secs(60),
        "the archive to hold every record",
        || async {
            read_archive(&archive)
                .map(|it| it.filter(Result::is_ok).count() == expected)
                .unwrap_or(false)
        },
    )
    .await;
    stop(writer);
    let archived: Vec<Vec<u8>> = read_archive(&archive).unwrap().map(Result::unwrap).collect();
    assert_eq!(archived.len(), expected);

    // Offline: the archived records through the dataset sampler; compare at the same record positions.
    // The stream index of archived record i: the two refused records (20 and 31) are missing.
    let stream_index = |i: usize| i + usize::from(i >= 20) + usize::from(i + 1 >= 31);
    let scale = InstrumentScale::BTCUSDT_SPOT;
    let mut sampler = Sampler::new(250_000, true, PriceReference::Mid, scale);
    let mut feed = ArchiveFeed::new("BTCUSDT", scale);
    let mut checks = online.iter().peekable();
    let mut compared = 0;
    let mut synced_checks = 0;
    for (i, rec) in archived.iter().enumerate() {
        feed.push_record(&mut sampler, rec);
        let after = stream_index(i) + 1;
        while let Some(o) = checks.next_if(|o| o.upto <= after) {
            assert_eq!(o.upto, after, "a checkpoint fell on a refused record");
            let fv = sampler.current();
            let warm = fv
                .warm
                .iter()
                .enumerate()
                .fold(0u64, |m, (j, &w)| if w { m | (1 << j) } else { m });
            let offline: Vec<u8> = fv.values.iter().flat_map(|v| v.to_le_bytes()).collect();
            for (j, name) in features::FEATURE_NAMES.iter().enumerate() {
                let on = f64::from_le_bytes(o.values[j * 8..j * 8 + 8].try_into().unwrap());
                assert_eq!(
                    on.to_bits(),
                    fv.values[j].to_bits(),
                    "checkpoint after record {}: {name} online {on} offline {}",
                    o.upto,
                    fv.values[j]
                );
            }
            assert_eq!(o.values, offline);
            assert_eq!(o.warm, warm.to_string(), "warm mask after record {}", o.upto);
            assert_eq!(o.event_time_us, fv.event_time_us.to_string());
            synced_checks += usize::from(o.state == "synced");
            compared += 1;
        }
    }
    assert_eq!(compared, online.len(), "every checkpoint compared");
    let gap_check = online.iter().find(|o| o.upto == in_gap).unwrap();
    assert_eq!(
        gap_check.state, "buffering",
        "the checkpoint inside the gap sees the book lost"
    );
    assert_eq!(
        synced_checks,
        online.len() - 1,
        "every other checkpoint is synced"
    );
    let st = feed.stats();
    eprintln!("archive feed: {st:?}");
    assert_eq!(st.duplicates, 1);
    assert_eq!(st.bad_records, 0, "the writer kept undecodable records out");
    assert_eq!(st.gaps, 1);

    // The CLI builds a labelled table from the same archive.
    let out = Command::new(env!("CARGO_BIN_EXE_dataset-builder"))
        .args(["--archive", archive.to_str().unwrap(), "--every-ms", "2000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(stderr.contains("1 duplicates skipped"), "{stderr}");
    let rows = String::from_utf8_lossy(&out.stdout).lines().count() - 1;
    assert!(
        rows > 250,
        "{rows} rows from the archive of a 10.8-minute recording"
    );
    let _ = std::fs::remove_dir_all(&archive);
}
