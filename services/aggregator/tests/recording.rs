//! The real spot recording (../shared/data/market) as pipeline events → kinesalite → the aggregator
//! binary → Redis: book, features and checkpoint at the end of the stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fred::prelude::*;
use std::time::Duration;
use svc_kit::testing::servers::{Kinesalite, RedisServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_recording_ends_with_the_last_book_ticker_in_redis_and_skips_duplicate_poison_and_foreign_records()
 {
    let Some(files) = spot_files() else { return };
    let events = recording_events(&files);
    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, "market-events").await;
    let mut records = build_records(&events, 500, 1, 1);
    let n_good = records.len();
    // An at-least-once copy of record 10, a poison record and one from an unknown schema id.
    let copy = records[10].clone();
    records.insert(11, copy);
    let truncated = records[19].slice(..40);
    records.insert(20, truncated);
    let mut foreign = records[30].to_vec();
    foreign[4..6].copy_from_slice(&999u16.to_le_bytes()); // SBE header schemaId
    records.insert(31, foreign.into());
    put_records(&kc, "market-events", records).await;
    let last = last_sequence(&kc, "market-events").await;

    let agg = start_aggregator(&k.endpoint(), &r.url(), "market-events", &[]);
    let rc = redis(&r.url()).await;
    let ckpt_key = "{BTCUSDT}:ckpt:shardId-000000000000";
    wait_for(
        Duration::from_secs(120),
        "the checkpoint to reach the last record",
        || async { hash(&rc, ckpt_key).await.get("seq") == Some(&last) },
    )
    .await;

    let book = hash(&rc, "{BTCUSDT}:book").await;
    assert_eq!(book["state"], "synced");
    assert_eq!(book["best_bid"], "61602.01");
    assert_eq!(book["best_ask"], "61602.02");
    assert_eq!(book["epoch"], "1");
    assert_eq!(book["bids"].split(',').count(), 10, "top 10 levels");

    let f = hash(&rc, "{BTCUSDT}:features").await;
    assert_eq!(f["state"], "synced");
    assert_eq!(f["usable"], "1");
    assert_eq!(f["v"], features::FEATURE_VERSION.to_string());
    assert_eq!(f["sig"], features::feature_list_signature());
    assert_eq!(f["epoch"], "1");
    let values: Vec<u8> = rc.hget("{BTCUSDT}:features", "values").await.unwrap();
    assert_eq!(values.len(), 28 * 8);
    let mid = f64::from_le_bytes(values[..8].try_into().unwrap());
    assert!((mid - 61602.015).abs() < 1e-6, "mid {mid}");
    assert_eq!(f["mid"], "61602.015");
    let completeness: f64 = f["completeness"].parse().unwrap();
    assert!(completeness > 0.9, "completeness {completeness}");

    let anchor = hash(&rc, "{BTCUSDT}:anchor").await;
    assert_eq!(
        (anchor["epoch"].as_str(), anchor["state"].as_str()),
        ("1", "synced")
    );

    let (_, metrics) = get(&agg, "/metrics").unwrap();
    assert_eq!(
        metric(
            &metrics,
            "aggregator_reanchor_operations_total{status=\"success\"}"
        ),
        1.0
    );
    assert_eq!(metric(&metrics, "aggregator_book_state"), 0.0);
    let applied = metric(
        &metrics,
        "aggregator_kinesis_records_processed_total{stream=\"market_events\",status=\"applied\"}",
    );
    assert_eq!(applied as usize, n_good);
    for (status, n) in [("duplicate", 1.0), ("poison", 1.0), ("unknown_schema", 1.0)] {
        let name = format!(
            "aggregator_kinesis_records_processed_total{{stream=\"market_events\",status=\"{status}\"}}"
        );
        assert_eq!(metric(&metrics, &name), n, "{status}");
    }
    assert_eq!(
        metric(
            &metrics,
            "aggregator_errors_total{error_type=\"unknown_schema\",stage=\"decode\"}"
        ),
        1.0
    );
    let (status, health) = get(&agg, "/health").unwrap();
    assert_eq!(status, 200, "{health}");
    assert!(
        health.contains("\"consuming\"") && health.contains("\"connected\""),
        "{health}"
    );
    let (ready, _) = get(&agg, "/ready").unwrap();
    assert_eq!(ready, 200);
    assert!(agg.terminate(Duration::from_secs(25)).unwrap().success());
}
