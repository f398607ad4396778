//! Rolling deploy: two aggregators on one stream and one Redis. Only the lease holder consumes;
//! after it stops (SIGTERM releases the lease) the other takes over from the checkpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::time::Duration;
use svc_kit::testing::servers::{Kinesalite, RedisServer};

const CKPT: &str = "{BTCUSDT}:ckpt:shardId-000000000000";
const APPLIED: &str =
    "aggregator_kinesis_records_processed_total{stream=\"market_events\",status=\"applied\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_consumes_and_the_next_instance_takes_over_from_its_checkpoint() {
    let Some(files) = spot_files() else { return };
    let mut events = recording_events(&files);
    events.truncate(30_000);
    let (first, second) = events.split_at(20_000);
    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, "market-events").await;
    let first_records = build_records(first, 200, 1, 1);
    let next_batch = 1 + first_records.len() as u64;
    put_records(&kc, "market-events", first_records).await;
    let mid = last_sequence(&kc, "market-events").await;
    let rc = redis(&r.url()).await;

    let old = start_aggregator(&k.endpoint(), &r.url(), "market-events", &[]);
    wait_for(
        Duration::from_secs(60),
        "the old instance to finish the first part",
        || async { hash(&rc, CKPT).await.get("seq") == Some(&mid) },
    )
    .await;
    let new = start_aggregator(&k.endpoint(), &r.url(), "market-events", &[]);
    put_records(&kc, "market-events", build_records(second, 200, 1, next_batch)).await;
    let last = last_sequence(&kc, "market-events").await;
    wait_for(
        Duration::from_secs(60),
        "the old instance to apply the second part",
        || async { hash(&rc, CKPT).await.get("seq") == Some(&last) },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, m) = get(&new, "/metrics").unwrap();
    assert_eq!(metric(&m, APPLIED), 0.0, "the standby instance consumed nothing");
    let fence_old: u64 = hash(&rc, CKPT).await["fence"].parse().unwrap();

    assert!(
        tokio::task::block_in_place(|| old.terminate(Duration::from_secs(25)))
            .unwrap()
            .success()
    );
    // The new owner replays up to the checkpoint without writing, then writes under its own fence.
    wait_for(
        Duration::from_secs(60),
        "the new owner to write its checkpoint",
        || async {
            let ck = hash(&rc, CKPT).await;
            ck.get("fence").and_then(|f| f.parse::<u64>().ok()) > Some(fence_old)
                && ck.get("seq") == Some(&last)
        },
    )
    .await;
    let book = hash(&rc, "{BTCUSDT}:book").await;
    assert_eq!((book["state"].as_str(), book["epoch"].as_str()), ("synced", "1"));
    let (_, m) = get(&new, "/metrics").unwrap();
    assert_eq!(
        metric(&m, APPLIED),
        0.0,
        "replayed records are not counted as new"
    );
}
