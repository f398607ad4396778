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
const LEASE: &str = "{BTCUSDT}:lease:shardId-000000000000";

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

/// `Ok` once the checkpoint is at `last`; otherwise what it holds (seq, fence) and who holds the lease.
async fn at_end(c: &fred::clients::Client, last: &str) -> Result<(), String> {
    let ck = hash(c, CKPT).await;
    if ck.get("seq").map(String::as_str) == Some(last) {
        return Ok(());
    }
    let lease: Option<String> = c.get(LEASE).await.unwrap_or(None);
    Err(format!(
        "checkpoint seq {:?} (want {last}), fence {:?}, lease {lease:?}",
        ck.get("seq"),
        ck.get("fence")
    ))
}

/// `Ok` once a checkpoint was written; otherwise the checkpoint hash as it is.
async fn first_checkpoint(c: &fred::clients::Client) -> Result<(), String> {
    let ck = hash(c, CKPT).await;
    if ck.contains_key("seq") {
        Ok(())
    } else {
        Err(format!("checkpoint hash {ck:?}"))
    }
}

/// `Ok` when `path` answers `want(status, body)`; otherwise the answer (or the error).
fn answers(
    p: &svc_kit::testing::ServiceProcess,
    path: &str,
    want: impl Fn(u16, &str) -> bool,
) -> Result<(), String> {
    match get(p, path) {
        Ok((s, b)) if want(s, &b) => Ok(()),
        Ok((s, b)) => Err(format!("{path} answered {s}: {b}")),
        Err(e) => Err(format!("{path} failed: {e}")),
    }
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
    wait_seen(Duration::from_secs(180), "uninterrupted run to finish", || {
        at_end(&c1, &last)
    })
    .await;
    let expected = final_state(&c1).await;
    drop(a);

    let r2 = RedisServer::start().unwrap();
    let c2 = redis(&r2.url()).await;
    let mut b = start_aggregator(&k.endpoint(), &r2.url(), "market-events", &slow);
    wait_seen(Duration::from_secs(60), "a first checkpoint", || async {
        first_checkpoint(&c2).await
    })
    .await;
    // Mid-stream: kill once a later checkpoint than the first has been written (polled, no sleep).
    let first = hash(&c2, CKPT).await["seq"].clone();
    wait_seen(Duration::from_secs(60), "a second checkpoint", || async {
        match hash(&c2, CKPT).await.get("seq") {
            Some(s) if *s != first => Ok(()),
            seq => Err(format!("checkpoint seq {seq:?}, the first was {first}")),
        }
    })
    .await;
    b.child.kill().unwrap(); // SIGKILL: no drain, no final flush, lease left to expire
    b.child.wait().unwrap();
    let at_kill = hash(&c2, CKPT).await["seq"].clone();
    assert_ne!(at_kill, last, "killed mid-stream");

    let _b2 = start_aggregator(&k.endpoint(), &r2.url(), "market-events", &slow);
    wait_seen(Duration::from_secs(180), "restarted run to finish", || {
        at_end(&c2, &last)
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
    wait_seen(Duration::from_secs(60), "a first flush", || async {
        first_checkpoint(&c).await
    })
    .await;

    r.stop();
    wait_seen(
        Duration::from_secs(30),
        "health to report Redis disconnected",
        || async { answers(&agg, "/health", |_, h| h.contains("\"disconnected\"")) },
    )
    .await;
    wait_seen(
        Duration::from_secs(30),
        "not ready without Redis (503)",
        || async { answers(&agg, "/ready", |s, _| s == 503) },
    )
    .await;

    let _r2 = RedisServer::start_on(port).unwrap(); // empty: the restart lost every key
    let c = redis(&url).await;
    wait_seen(
        Duration::from_secs(180),
        "state rebuilt to the end of the stream",
        || at_end(&c, &last),
    )
    .await;
    let book = hash(&c, "{BTCUSDT}:book").await;
    assert_eq!(book["state"], "synced");
    wait_seen(Duration::from_secs(10), "ready again", || async {
        answers(&agg, "/ready", |s, _| s == 200)
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
