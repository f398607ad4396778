//! Crash and outage recovery with the aggregator binary: kill -9 mid-stream and restart ends in
//! the same state as an uninterrupted run; a Redis restart (data lost) is recovered by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fred::prelude::*;
use std::collections::HashMap;
use std::time::Duration;
use svc_kit::testing::servers::{Kinesalite, RedisServer};

const CKPT: &str = "{BTCUSDT}:ckpt:shardId-000000000000";

/// Everything that must match between runs (wall-clock and per-instance fields left out).
async fn final_state(
    c: &fred::clients::Client,
) -> (HashMap<String, String>, HashMap<String, String>, Vec<u8>) {
    let mut f = hash(c, "{BTCUSDT}:features").await;
    for k in ["compute_time_us", "flush_seq", "values"] {
        f.remove(k);
    }
    let values: Vec<u8> = c.hget("{BTCUSDT}:features", "values").await.unwrap();
    (f, hash(c, "{BTCUSDT}:book").await, values)
}

async fn stream_with_recording(k: &Kinesalite) -> Option<(aws_sdk_kinesis::Client, String)> {
    let files = spot_files()?;
    let mut events = recording_events(&files);
    events.truncate(60_000);
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, "market-events").await;
    put_records(&kc, "market-events", build_records(&events, 100, 1, 1)).await;
    let last = last_sequence(&kc, "market-events").await;
    Some((kc, last))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_and_restart_ends_in_the_same_state_as_an_uninterrupted_run() {
    let k = Kinesalite::start().unwrap();
    let Some((_kc, last)) = stream_with_recording(&k).await else {
        return;
    };
    // Slow reading (20 records of 100 events per call) so the kill lands mid-stream.
    let slow = [("AGGREGATOR__CONSUMER__MAX_RECORDS_PER_CALL", "20")];

    let r1 = RedisServer::start().unwrap();
    let c1 = redis(&r1.url()).await;
    let a = start_aggregator(&k.endpoint(), &r1.url(), "market-events", &slow);
    wait_for(
        Duration::from_secs(180),
        "uninterrupted run to finish",
        || async { hash(&c1, CKPT).await.get("seq") == Some(&last) },
    )
    .await;
    let expected = final_state(&c1).await;
    drop(a);

    let r2 = RedisServer::start().unwrap();
    let c2 = redis(&r2.url()).await;
    let mut b = start_aggregator(&k.endpoint(), &r2.url(), "market-events", &slow);
    wait_for(Duration::from_secs(60), "a first checkpoint", || async {
        hash(&c2, CKPT).await.contains_key("seq")
    })
    .await;
    // Mid-stream: kill once a later checkpoint than the first has been written (polled, no sleep).
    let first = hash(&c2, CKPT).await["seq"].clone();
    wait_for(Duration::from_secs(60), "a second checkpoint", || async {
        hash(&c2, CKPT).await.get("seq").is_some_and(|s| *s != first)
    })
    .await;
    b.child.kill().unwrap(); // SIGKILL: no drain, no final flush, lease left to expire
    b.child.wait().unwrap();
    let at_kill = hash(&c2, CKPT).await["seq"].clone();
    assert_ne!(at_kill, last, "killed mid-stream");

    let _b2 = start_aggregator(&k.endpoint(), &r2.url(), "market-events", &slow);
    wait_for(Duration::from_secs(180), "restarted run to finish", || async {
        hash(&c2, CKPT).await.get("seq") == Some(&last)
    })
    .await;
    let got = final_state(&c2).await;
    assert_eq!(got.0, expected.0, "features hash");
    assert_eq!(got.1, expected.1, "book hash");
    assert_eq!(got.2, expected.2, "feature values bit for bit");
    let ck = hash(&c2, CKPT).await;
    assert!(
        ck["fence"].parse::<u64>().unwrap() >= 2,
        "the restart took a newer lease: {ck:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_is_recovered_without_intervention() {
    let k = Kinesalite::start().unwrap();
    let Some((_kc, last)) = stream_with_recording(&k).await else {
        return;
    };
    let mut r = RedisServer::start().unwrap();
    let port = r.port;
    let url = r.url();
    let agg = start_aggregator(
        &k.endpoint(),
        &url,
        "market-events",
        &[("AGGREGATOR__CONSUMER__MAX_RECORDS_PER_CALL", "20")],
    );
    let c = redis(&url).await;
    wait_for(Duration::from_secs(60), "a first flush", || async {
        hash(&c, CKPT).await.contains_key("seq")
    })
    .await;

    r.stop();
    wait_for(
        Duration::from_secs(30),
        "health to report Redis disconnected",
        || async { get(&agg, "/health").is_ok_and(|(_, h)| h.contains("\"disconnected\"")) },
    )
    .await;
    wait_for(
        Duration::from_secs(30),
        "not ready without Redis (503)",
        || async { get(&agg, "/ready").is_ok_and(|(s, _)| s == 503) },
    )
    .await;

    let _r2 = RedisServer::start_on(port).unwrap(); // empty: the restart lost every key
    let c = redis(&url).await;
    wait_for(
        Duration::from_secs(180),
        "state rebuilt to the end of the stream",
        || async { hash(&c, CKPT).await.get("seq") == Some(&last) },
    )
    .await;
    let book = hash(&c, "{BTCUSDT}:book").await;
    assert_eq!(book["state"], "synced");
    wait_for(Duration::from_secs(10), "ready again", || async {
        get(&agg, "/ready").map(|(s, _)| s == 200).unwrap_or(false)
    })
    .await;
    let (_, m) = get(&agg, "/metrics").unwrap();
    assert!(
        metric(
            &m,
            "aggregator_redis_operations_total{operation=\"state_transaction\",key_type=\"features\",status=\"error\"}"
        ) >= 1.0
            || metric(
                &m,
                "aggregator_errors_total{error_type=\"connection\",stage=\"redis\"}"
            ) >= 1.0,
        "the outage was counted"
    );
}
