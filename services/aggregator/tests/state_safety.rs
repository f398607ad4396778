//! Aggregator state safety (issue 14 item 4) with the binary, real kinesalite and Redis:
//! a SIGTERM while a restarted aggregator is still replaying writes nothing (no half-rebuilt
//! state), and garbled Redis values (anchor epoch, checkpoint fence, lease fence counter,
//! checkpoint sequence) are repaired deterministically and counted instead of wedging the flush in
//! a silent retry loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fred::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use svc_kit::testing::servers::{Kinesalite, RedisServer};

const CKPT: &str = "{BTCUSDT}:ckpt:shardId-000000000000";
const LEASE: &str = "{BTCUSDT}:lease:shardId-000000000000";
const LEASE_FENCE: &str = "{BTCUSDT}:lease_fence:shardId-000000000000";

async fn stream_with_recording(k: &Kinesalite, n: usize) -> Option<(aws_sdk_kinesis::Client, String)> {
    let files = spot_files()?;
    let mut events = recording_events(&files);
    events.truncate(n);
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, "market-events").await;
    put_records(&kc, "market-events", build_records(&events, 100, 1, 1)).await;
    let last = last_sequence(&kc, "market-events").await;
    Some((kc, last))
}

async fn state(c: &Client2) -> [HashMap<String, String>; 4] {
    [
        hash(c, "{BTCUSDT}:features").await,
        hash(c, "{BTCUSDT}:book").await,
        hash(c, "{BTCUSDT}:anchor").await,
        hash(c, CKPT).await,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_during_the_replay_after_a_restart_writes_no_half_rebuilt_state() {
    let k = Kinesalite::start().unwrap();
    let Some((_kc, last)) = stream_with_recording(&k, 60_000).await else {
        return;
    };
    let r = RedisServer::start().unwrap();
    let c = redis(&r.url()).await;
    let a = start_aggregator(
        &k.endpoint(),
        &r.url(),
        "market-events",
        &[("AGGREGATOR__LEASE__OWNER", "a")],
    );
    wait_for(Duration::from_secs(120), "first run drained", || async {
        hash(&c, CKPT).await.get("seq") == Some(&last)
    })
    .await;
    a.terminate(Duration::from_secs(10)).unwrap();
    let before = state(&c).await;
    assert_eq!(before[2]["state"], "synced");

    // Restart with a slow replay (5 records of 100 events per GetRecords, ≥ 200 ms apart: ~24 s).
    let b = start_aggregator(
        &k.endpoint(),
        &r.url(),
        "market-events",
        &[
            ("AGGREGATOR__LEASE__OWNER", "b"),
            ("AGGREGATOR__CONSUMER__MAX_RECORDS_PER_CALL", "5"),
        ],
    );
    wait_for(Duration::from_secs(30), "the restart took the lease", || async {
        let v: Option<String> = c.get(LEASE).await.unwrap_or(None);
        v.is_some_and(|t| t.starts_with("b:"))
    })
    .await;
    // Replaying: poll until it has read a few batches (records in, nothing flushed yet).
    let t0 = Instant::now();
    loop {
        let (_, m) = get(&b, "/metrics").unwrap();
        if metric(&m, "aggregator_feature_computation_duration_seconds_count") > 0.0 {
            panic!("the restarted aggregator flushed during its replay");
        }
        if metric(&m, "aggregator_kinesis_lag_seconds") >= 0.0 || t0.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await; // a few batches into the ~24 s replay
    assert_eq!(
        state(&c).await[3]["seq"],
        last,
        "still replaying: nothing written yet"
    );
    let st = b.terminate(Duration::from_secs(10)).unwrap();
    eprintln!("SIGTERM during the replay: exit {st:?}");
    let after = state(&c).await;
    for (i, name) in ["features", "book", "anchor", "ckpt"].iter().enumerate() {
        assert_eq!(
            after[i], before[i],
            "{name} changed by a shutdown during the replay (half-rebuilt state flushed)"
        );
    }
}

/// Garbles `field` of `key` (or a string key when `field` is empty) while no aggregator runs,
/// restarts one, and waits until it writes a consistent state again at the end of the stream.
async fn garbled_value_is_repaired(key: &str, field: &str, value: &str, kind: &str) {
    let k = Kinesalite::start().unwrap();
    let Some((_kc, last)) = stream_with_recording(&k, 20_000).await else {
        return;
    };
    let r = RedisServer::start().unwrap();
    let c = redis(&r.url()).await;
    let a = start_aggregator(&k.endpoint(), &r.url(), "market-events", &[]);
    wait_for(Duration::from_secs(120), "first run drained", || async {
        hash(&c, CKPT).await.get("seq") == Some(&last)
    })
    .await;
    a.terminate(Duration::from_secs(10)).unwrap();
    let epoch0: u64 = hash(&c, "{BTCUSDT}:anchor").await["epoch"].parse().unwrap();
    if field.is_empty() {
        let _: () = c.set(key, value, None, None, false).await.unwrap();
    } else {
        let _: () = c.hset(key, (field, value)).await.unwrap();
    }

    // A numeric epoch above ours must be overtaken (never written back lower).
    let floor = value.parse::<u64>().map(|v| v + 1).unwrap_or(epoch0).max(epoch0);
    let b = start_aggregator(&k.endpoint(), &r.url(), "market-events", &[]);
    let t0 = Instant::now();
    let limit = Duration::from_secs(60);
    loop {
        let [f, _, a, ck] = state(&c).await;
        let fence_ok = ck.get("fence").is_some_and(|f| f.parse::<u64>().is_ok());
        let (_, m) = get(&b, "/metrics").unwrap_or_default();
        let repairs = metric(&m, &format!("aggregator_state_repairs_total{{kind=\"{kind}\"}}"));
        let epoch_ok = a
            .get("epoch")
            .and_then(|e| e.parse::<u64>().ok())
            .is_some_and(|e| e >= floor);
        let lease_fence: Option<String> = c.get(LEASE_FENCE).await.unwrap_or(None);
        // The restart took a newer lease than the first run's (fence 1), garbled counter or not.
        let fence_ok = fence_ok && lease_fence.is_some_and(|f| f.parse::<u64>().is_ok_and(|v| v >= 2));
        let seq_ok = ck.get("seq") == Some(&last);
        let flushed_after = f.get("flush_seq").is_some_and(|s| s != "0") && f.get("epoch") == a.get("epoch");
        if epoch_ok && fence_ok && seq_ok && flushed_after && repairs >= 1.0 {
            eprintln!(
                "{key} {field}={value:?}: repaired after {:?} (epoch {epoch0} -> {}, fence {}, repairs {repairs})",
                t0.elapsed(),
                a["epoch"],
                ck["fence"]
            );
            break;
        }
        if t0.elapsed() > limit {
            let (_, h) = get(&b, "/health").unwrap_or_default();
            let errs: Vec<&str> = m
                .lines()
                .filter(|l| l.starts_with("aggregator_errors_total"))
                .collect();
            panic!(
                "{key} {field}={value:?} not repaired within {limit:?}:\n  anchor {a:?}\n  ckpt {ck:?}\n  \
                 repairs{{kind={kind}}} {repairs}\n  errors {errs:?}\n  health {h}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_anchor_epoch_is_repaired_and_counted() {
    garbled_value_is_repaired("{BTCUSDT}:features", "epoch", "x7!", "corrupt_anchor_epoch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_anchor_epoch_opens_a_newer_epoch_instead_of_a_refusal_loop() {
    garbled_value_is_repaired("{BTCUSDT}:features", "epoch", "900", "epoch_regression").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_checkpoint_fence_is_repaired_and_counted() {
    garbled_value_is_repaired(CKPT, "fence", "fence?", "corrupt_fence").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_lease_fence_counter_is_repaired_and_counted() {
    garbled_value_is_repaired(LEASE_FENCE, "", "not-a-number", "corrupt_fence").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_checkpoint_sequence_is_repaired_and_counted() {
    garbled_value_is_repaired(CKPT, "seq", "12ab", "corrupt_checkpoint").await;
}

/// A state key of the wrong type cannot be repaired without deleting data the aggregator does not
/// own the meaning of: it reports unhealthy (ECS replaces the task, the alert names the key) with a
/// clear error and a counted metric instead of retrying silently.
async fn wrong_type_reports_unhealthy(key: &str) {
    let k = Kinesalite::start().unwrap();
    let Some(_) = stream_with_recording(&k, 5_000).await else {
        return;
    };
    let r = RedisServer::start().unwrap();
    let c = redis(&r.url()).await;
    let _: () = c.set(key, "not a hash", None, None, false).await.unwrap();
    let a = start_aggregator(&k.endpoint(), &r.url(), "market-events", &[]);
    let t0 = Instant::now();
    loop {
        let (code, h) = get(&a, "/health").unwrap_or_default();
        if code == 503 && h.contains("WRONGTYPE") {
            eprintln!("{key}: unhealthy after {:?}: {h}", t0.elapsed());
            break;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            panic!("{key}: not reported unhealthy within 30 s: /health {code} {h}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, m) = get(&a, "/metrics").unwrap();
    let n = metric(
        &m,
        "aggregator_errors_total{error_type=\"rejected\",stage=\"redis\"}",
    );
    assert!(n >= 1.0, "counted: {n}");
}

/// Read at claim time (the stored epoch): the shard is never claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_features_key_of_the_wrong_type_reports_unhealthy_with_a_clear_error() {
    wrong_type_reports_unhealthy("{BTCUSDT}:features").await;
}

/// Only written by the flush: claimed and consumed, every flush fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_book_key_of_the_wrong_type_reports_unhealthy_with_a_clear_error() {
    wrong_type_reports_unhealthy("{BTCUSDT}:book").await;
}
