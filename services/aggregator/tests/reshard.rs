//! Resharding under a running aggregator (real kinesalite + Redis): split the stream after a
//! re-anchor (epoch 2), then merge the children. The aggregator must finish the parent, continue
//! on the child that receives the records, keep the anchor epoch monotonic (no reset to epoch 1,
//! no `EPOCH_REGRESSION` loop), keep the book in sync across both reshards, and apply every record
//! exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_kinesis::Client;
use common::*;
use pipeline_events::{Event, OwnedEvent};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use svc_kit::testing::servers::{Kinesalite, RedisServer};

const STREAM: &str = "market-events";
const PARENT: &str = "shardId-000000000000";
/// Half of the 128-bit hash key space: the split puts each half in its own child.
const MIDDLE: &str = "170141183460469231731687303715884105728";

async fn wait_active(kc: &Client) {
    wait_for(Duration::from_secs(20), "stream ACTIVE", || async {
        kc.describe_stream_summary()
            .stream_name(STREAM)
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
}

/// Open shards (no ending sequence number), in hash key order.
async fn open_shards(kc: &Client) -> Vec<String> {
    let l = kc.list_shards().stream_name(STREAM).send().await.unwrap();
    let mut open: Vec<(u128, String)> = l
        .shards()
        .iter()
        .filter(|s| {
            s.sequence_number_range()
                .is_none_or(|r| r.ending_sequence_number().is_none())
        })
        .map(|s| {
            let start = s
                .hash_key_range()
                .map(|h| h.starting_hash_key().parse().unwrap())
                .unwrap_or(0);
            (start, s.shard_id().to_string())
        })
        .collect();
    open.sort();
    open.into_iter().map(|(_, id)| id).collect()
}

async fn all_shards(kc: &Client) -> Vec<String> {
    let l = kc.list_shards().stream_name(STREAM).send().await.unwrap();
    l.shards().iter().map(|s| s.shard_id().to_string()).collect()
}

/// Last record sequence of `shard` (None when it has no records).
async fn last_seq_of(kc: &Client, shard: &str) -> Option<String> {
    last_sequence_of(kc, STREAM, shard).await
}

fn last_update_id(events: &[OwnedEvent]) -> u64 {
    events
        .iter()
        .rev()
        .find_map(|e| match e.as_event() {
            Event::DepthDiff(d) => Some(d.last_update_id as u64),
            _ => None,
        })
        .unwrap()
}

/// Samples `{S}:anchor` epoch every few ms and records any decrease.
struct EpochWatch {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(u64, Vec<String>)>,
}

impl EpochWatch {
    async fn start(url: &str) -> Self {
        let c = redis(url).await;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let task = tokio::spawn(async move {
            let (mut last, mut reads, mut bad) = (0u64, 0u64, Vec::new());
            while !s.load(Ordering::Relaxed) {
                if let Some(e) = hash(&c, "{BTCUSDT}:anchor")
                    .await
                    .get("epoch")
                    .and_then(|e| e.parse::<u64>().ok())
                {
                    reads += 1;
                    if e < last {
                        bad.push(format!("anchor epoch went back {last} -> {e}"));
                    }
                    last = e;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (reads, bad)
        });
        EpochWatch { stop, task }
    }
    async fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// Waits until the anchor is synced at `epoch` with the book at `luid`; on timeout the panic shows
/// what Redis and the aggregator's metrics said.
async fn wait_book(rc: &Client2, agg: &svc_kit::testing::ServiceProcess, what: &str, epoch: &str, luid: u64) {
    let luid = luid.to_string();
    let start = Instant::now();
    loop {
        let a = hash(rc, "{BTCUSDT}:anchor").await;
        let ok = |h: &HashMap<String, String>, k: &str, v: &str| h.get(k).map(String::as_str) == Some(v);
        if ok(&a, "epoch", epoch) && ok(&a, "state", "synced") && ok(&a, "last_update_id", &luid) {
            eprintln!(
                "{what}: synced at epoch {epoch}, book at {luid} after {:?}",
                start.elapsed()
            );
            return;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let (_, m) = get(agg, "/metrics").unwrap_or_default();
            let rejected = metric(
                &m,
                "aggregator_errors_total{error_type=\"rejected\",stage=\"redis\"}",
            );
            let applied = metric(
                &m,
                "aggregator_kinesis_records_processed_total{stream=\"market_events\",status=\"applied\"}",
            );
            let (_, h) = get(agg, "/health").unwrap_or_default();
            panic!(
                "{what}: not synced at epoch {epoch} with the book at {luid} after 60 s.\n  anchor {a:?}\n  \
                 metric epoch {}, refused flushes (rejected/redis) {rejected}, applied records {applied}\n  health {h}",
                metric(&m, "aggregator_anchor_epoch")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_after_a_reanchor_then_merge_keeps_the_epoch_the_book_and_exactly_once() {
    let Some(files) = spot_files() else { return };
    let mut events = recording_events(&files);
    events.truncate(50_000);
    // Part A: 10 000 events, a gap, 300 buffered diffs, a snapshot → synced at epoch 2.
    let cut = 10_000;
    let snapshot = book_snapshot_at(&events, cut + 300);
    let part_a: Vec<_> = events[..cut]
        .iter()
        .cloned()
        .chain([gap_event()])
        .chain(events[cut..cut + 300].iter().cloned())
        .chain([snapshot])
        .chain(events[cut + 300..20_000].iter().cloned())
        .collect();
    let part_b = &events[20_000..30_000];
    let part_c = &events[30_000..40_000];
    // Part D, after a restart: a snapshot (the one the restarted aggregator asks for) and more.
    let part_d: Vec<_> = [book_snapshot_at(&events, 40_000)]
        .into_iter()
        .chain(events[40_000..].iter().cloned())
        .collect();

    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, STREAM).await;
    let rec_a = build_records(&part_a, 200, 1, 1);
    let rec_b = build_records(part_b, 200, 1, 1 + rec_a.len() as u64);
    let rec_c = build_records(part_c, 200, 1, 1 + (rec_a.len() + rec_b.len()) as u64);
    let total = rec_a.len() + rec_b.len() + rec_c.len();
    let rec_d = build_records(&part_d, 200, 2, 1);
    let n_d = rec_d.len();
    put_records(&kc, STREAM, rec_a).await;

    let agg = start_aggregator(&k.endpoint(), &r.url(), STREAM, &[]);
    let rc = redis(&r.url()).await;
    let watch = EpochWatch::start(&r.url()).await;
    wait_book(
        &rc,
        &agg,
        "before the split",
        "2",
        last_update_id(&events[..20_000]),
    )
    .await;

    kc.split_shard()
        .stream_name(STREAM)
        .shard_to_split(PARENT)
        .new_starting_hash_key(MIDDLE)
        .send()
        .await
        .unwrap();
    wait_active(&kc).await;
    let children = open_shards(&kc).await;
    assert_eq!(children.len(), 2, "{children:?}");
    put_records(&kc, STREAM, rec_b).await;
    wait_book(
        &rc,
        &agg,
        "after the split",
        "2",
        last_update_id(&events[..30_000]),
    )
    .await;

    kc.merge_shards()
        .stream_name(STREAM)
        .shard_to_merge(&children[0])
        .adjacent_shard_to_merge(&children[1])
        .send()
        .await
        .unwrap();
    wait_active(&kc).await;
    let merged = open_shards(&kc).await;
    assert_eq!(merged.len(), 1, "{merged:?}");
    put_records(&kc, STREAM, rec_c).await;
    wait_book(
        &rc,
        &agg,
        "after the merge",
        "2",
        last_update_id(&events[..40_000]),
    )
    .await;

    // Every shard's checkpoint is at its last record (closed parents finished, nothing left over).
    for shard in all_shards(&kc).await {
        let Some(last) = last_seq_of(&kc, &shard).await else {
            continue;
        };
        let key = format!("{{BTCUSDT}}:ckpt:{shard}");
        wait_for(Duration::from_secs(20), &format!("{key} at {last}"), || async {
            hash(&rc, &key).await.get("seq") == Some(&last)
        })
        .await;
    }
    let (_, m) = get(&agg, "/metrics").unwrap();
    let n = |m: &str, l: &str| {
        metric(
            m,
            &format!("aggregator_kinesis_records_processed_total{{stream=\"market_events\",status=\"{l}\"}}"),
        )
    };
    assert_eq!(n(&m, "applied"), total as f64, "every record applied once");
    assert_eq!(n(&m, "duplicate"), 0.0, "no duplicate");
    let repairs = |m: &str| metric(m, "aggregator_state_repairs_total{kind=\"epoch_regression\"}");
    assert_eq!(repairs(&m), 0.0, "no refused flush");
    assert_eq!(
        metric(&m, "aggregator_reanchor_operations_total{status=\"success\"}"),
        2.0,
        "initial sync + the injected gap; the reshards needed no re-anchor"
    );

    // A restart after the reshards: the closed parents are not re-read (ended=1), the merged shard
    // replays from its checkpoint; its book anchor lay in a parent, so the book re-anchors at a
    // NEWER epoch from the next snapshot (never back to 1 or 2, no refusal loop).
    agg.terminate(Duration::from_secs(10)).unwrap();
    let agg = start_aggregator(&k.endpoint(), &r.url(), STREAM, &[]);
    wait_for(
        Duration::from_secs(30),
        "restarted aggregator reading",
        || async { get(&agg, "/ready").map(|(s, _)| s == 200).unwrap_or(false) },
    )
    .await;
    put_records(&kc, STREAM, rec_d).await;
    wait_book(&rc, &agg, "after a restart", "3", last_update_id(&events)).await;
    let (reads, violations) = watch.finish().await;
    assert!(violations.is_empty(), "{violations:?}");
    assert!(reads > 100, "the epoch watcher kept reading ({reads})");
    let (_, m) = get(&agg, "/metrics").unwrap();
    assert_eq!(
        n(&m, "applied"),
        n_d as f64,
        "the restart applied exactly the new records"
    );
    assert_eq!(repairs(&m), 0.0, "no refused flush after the restart");
}
