//! Re-anchor requests through a real Redis: an entry on `{BTCUSDT}:control`, written exactly as the
//! aggregator writes it (`XADD {S}:control MAXLEN ~ 1000 * type snapshot_request epoch <n> reason
//! <r>`, `services/aggregator/src/store.rs`), makes the ingestor fetch a REST snapshot and publish a
//! DepthSnapshot event to Kinesis; malformed entries are counted and skipped, and the reader keeps
//! serving requests after them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use exchange_sim::Speed;
use fred::prelude::*;
use fred::types::InfoKind;
use metrics_schema::IngestorMetrics;
use metrics_schema::labels::{ErrorType, Stage};
use metrics_schema::services::ingestor::ErrorLabels;
use pipeline_events::OwnedEvent;
use std::time::Duration;
use svc_kit::testing::servers::RedisServer;

const KEY: &str = "{BTCUSDT}:control";

fn malformed(m: &IngestorMetrics) -> u64 {
    m.errors
        .get_or_create(&ErrorLabels {
            error_type: ErrorType::Malformed,
            stage: Stage::Redis,
        })
        .get()
}

/// `XADD {BTCUSDT}:control MAXLEN ~ 1000 * <fields>`.
async fn xadd(c: &Client, fields: &[(&str, &str)]) {
    let fields: Vec<(&str, Value)> = fields.iter().map(|&(k, v)| (k, v.into())).collect();
    let _id: String = c
        .xadd(KEY, false, ("MAXLEN", "~", 1000i64), "*", fields)
        .await
        .unwrap();
}

/// The DepthSnapshot events in Kinesis so far (last update ids, in order).
async fn snapshots(rig: &Rig) -> Vec<i64> {
    events(&read_all(&rig.client, STREAM).await)
        .iter()
        .filter_map(|e| match e {
            OwnedEvent::DepthSnapshot { last_update_id, .. } => Some(*last_update_id),
            _ => None,
        })
        .collect()
}

/// Polls Kinesis until exactly `n` snapshots are there (fails on more, or after 20 s).
async fn wait_snapshots(rig: &Rig, n: usize) -> Vec<i64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = snapshots(rig).await;
        assert!(s.len() <= n, "more snapshots than requested: {s:?}");
        if s.len() == n {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} snapshots after 20 s",
            s.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_entry_triggers_a_snapshot_and_malformed_entries_are_counted_and_skipped() {
    let redis = RedisServer::start().expect("redis-server (make bootstrap)");
    let url = redis.url();
    let mut sim = sim_config(synthetic());
    sim.speed = Speed::Factor(2.0);
    let redis_url = url.clone();
    let mut rig = Rig::start(sim, move |c| c.control.redis_url = Some(redis_url)).await;
    let m = rig.m().clone();
    let health = rig.health().clone();
    wait_until(
        Duration::from_secs(30),
        "streaming, anchored, control connected",
        || {
            messages(&m) > 20
                && rest_ok(&m) >= 1
                && health.get("control").is_some_and(|c| c.status == "connected")
        },
    )
    .await;
    // The startup snapshot is in Kinesis; nothing else asks for one (no periodic snapshots, no
    // gaps in the synthetic stream). The reader reads entries added after its first XREAD.
    let startup = wait_snapshots(&rig, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let redis_client = Builder::from_config(Config::from_url(&url).unwrap())
        .build()
        .unwrap();
    redis_client.init().await.unwrap();

    // An idle control stream is not an error: blocking reads that time out (nil replies) must
    // not make the reader reconnect (it once did, every ~1.4 s, missing requests meanwhile).
    let connections = || async {
        let info: String = redis_client.info(Some(InfoKind::Stats)).await.unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap()
    };
    let before = connections().await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        connections().await,
        before,
        "the control reader reconnected while the stream was idle"
    );

    // A re-anchor request as the aggregator writes it.
    let calls = rest_ok(&m);
    xadd(
        &redis_client,
        &[
            ("type", "snapshot_request"),
            ("epoch", "1"),
            ("reason", "timeout"),
        ],
    )
    .await;
    let after_request = wait_snapshots(&rig, 2).await;
    assert_eq!(rest_ok(&m), calls + 1, "one REST depth call for the request");
    assert!(
        after_request[1] > startup[0],
        "a fresh snapshot: {after_request:?}"
    );

    // Malformed entries: an unknown type, no type at all, and a value that is not UTF-8
    // (which once stalled the reader on a parse error). Counted, no snapshot.
    assert_eq!(malformed(&m), 0);
    xadd(&redis_client, &[("type", "snapshot_please"), ("epoch", "2")]).await;
    xadd(&redis_client, &[("epoch", "3"), ("reason", "timeout")]).await;
    let binary: Vec<(&str, Value)> = vec![("type", Value::Bytes(vec![0xff, 0xfe, 0x00].into()))];
    let _id: String = redis_client
        .xadd(KEY, false, ("MAXLEN", "~", 1000i64), "*", binary)
        .await
        .unwrap();
    wait_until(Duration::from_secs(10), "malformed entries counted", || {
        malformed(&m) == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        snapshots(&rig).await.len(),
        2,
        "malformed entries ask for nothing"
    );
    assert_eq!(rest_ok(&m), calls + 1);

    // The reader is still alive: the next request is served.
    xadd(
        &redis_client,
        &[
            ("type", "snapshot_request"),
            ("epoch", "4"),
            ("reason", "timeout"),
        ],
    )
    .await;
    wait_snapshots(&rig, 3).await;
    assert_eq!(rest_ok(&m), calls + 2);
    assert_eq!(
        health.get("control").map(|c| c.status),
        Some("connected"),
        "the control reader stayed connected"
    );
    assert_eq!(malformed(&m), 3);

    let _ = redis_client.quit().await;
    let evs = events(&rig.stop_and_read().await);
    assert_eq!(
        count(&evs, |e| matches!(e, OwnedEvent::DepthSnapshot { .. })),
        3,
        "startup + two requests"
    );
    drop(redis);
}
