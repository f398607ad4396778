//! Two inference processes against one real Redis, as during an ECS rolling deploy (issue 14 item
//! 3): `{S}:predictions` holds exactly one entry per slot, and the slots the later writer lost are
//! counted, not published twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use svc_kit::testing::servers::RedisServer;

const INTERVAL_US: i64 = 200_000;

/// `tick_us` of every stream entry, oldest first.
fn stream_slots(port: u16) -> Vec<i64> {
    stream_field(port, "{BTCUSDT}:predictions", "tick_us")
        .iter()
        .map(|v| String::from_utf8_lossy(v).parse().unwrap())
        .collect()
}

#[test]
fn two_inference_processes_publish_exactly_one_prediction_per_slot() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let env = [
        ("INFERENCE__TICK__INTERVAL_MS", "200"),
        ("INFERENCE__TICK__REDIS_TIMEOUT_MS", "100"),
    ];
    let a = start_service(&redis.url(), Some("ml.onnx"), Some("baseline.onnx"), &env);
    let b = start_service(&redis.url(), Some("ml.onnx"), Some("baseline.onnx"), &env);
    // Both tick side by side for 6 s (30 slots).
    wait_for(Duration::from_secs(10), "both processes predicting", || {
        (a.latest()["served_by"] == "ml" && b.latest()["served_by"] == "ml").then_some(())
    });
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let slots = stream_slots(redis.port);
    let mut per_slot: BTreeMap<i64, u32> = BTreeMap::new();
    for s in &slots {
        *per_slot.entry(*s).or_default() += 1;
    }
    let doubled: Vec<_> = per_slot.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "{} of {} slots published more than once, e.g. {:?}",
        doubled.len(),
        per_slot.len(),
        &doubled[..doubled.len().min(5)]
    );
    assert!(slots.windows(2).all(|w| w[0] < w[1]), "stream in slot order");
    assert!(slots.len() >= 25, "{} entries", slots.len());
    // The later writer of each slot counted its lost write.
    let dup = |s: &Service| s.metric("inference_duplicate_slot_writes_total");
    let (da, db) = (dup(&a), dup(&b));
    assert!(da + db >= 20.0, "duplicates counted: a {da}, b {db}");
    // Every tick of either process was either the one write of its slot or a counted duplicate.
    let preds = |s: &Service| s.metric("inference_predictions_total");
    let (pa, pb) = (preds(&a), preds(&b));
    assert!(
        pa + pb >= slots.len() as f64 + da + db - 4.0,
        "ticks a {pa} + b {pb} vs {} written + {} duplicates",
        slots.len(),
        da + db
    );
    // The latest key holds the newest slot's prediction.
    let Resp::Bulk(Some(latest)) = redis_cmd(redis.port, &[b"GET", b"{BTCUSDT}:predictions:latest"]).unwrap()
    else {
        panic!("latest")
    };
    let latest: serde_json::Value = serde_json::from_slice(&latest).unwrap();
    assert!(latest["tick_time_us"].as_i64().unwrap() >= *slots.last().unwrap());
    assert!(slots.iter().all(|s| s % INTERVAL_US == 0));
}
