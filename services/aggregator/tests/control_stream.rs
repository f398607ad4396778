//! The snapshot-request stream `{SYMBOL}:control` exists as soon as an aggregator holds a shard, so
//! the ingestor's blocking `XREAD` on it is a keyspace hit. On a missing key every blocking read
//! counted two keyspace misses (measured: 10 reads → 20 misses), which held Redis's hit rate near
//! 0.90 on an idle pipeline and would page `RedisHitRateLow` (< 0.95 for 10 m) in production.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fred::prelude::*;
use std::time::Duration;
use svc_kit::testing::servers::{Kinesalite, RedisServer};

const CONTROL: &str = "{BTCUSDT}:control";

async fn keyspace_misses(c: &Client2) -> u64 {
    let info: String = c.info(Some(fred::types::InfoKind::Stats)).await.unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("keyspace_misses:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("keyspace_misses in INFO stats")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_stream_exists_once_a_shard_is_held_so_idle_control_reads_are_not_misses() {
    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, "market-events").await;
    let rc = redis(&r.url()).await;
    let _agg = start_aggregator(&k.endpoint(), &r.url(), "market-events", &[]);
    wait_for(
        Duration::from_secs(30),
        "the aggregator to create {BTCUSDT}:control",
        || async { rc.exists::<i64, _>(CONTROL).await.unwrap_or(0) == 1 },
    )
    .await;
    let xlen: i64 = rc.xlen(CONTROL).await.unwrap();
    assert_eq!(
        xlen, 0,
        "the stream is created empty: the ingestor must not see a request"
    );

    // What the ingestor's control reader does while nothing is requested.
    let before = keyspace_misses(&rc).await;
    for _ in 0..5 {
        let _: Value = rc
            .custom(
                fred::types::CustomCommand::new_static("XREAD", None, true),
                vec!["BLOCK", "100", "STREAMS", CONTROL, "$"],
            )
            .await
            .unwrap();
    }
    let after = keyspace_misses(&rc).await;
    assert_eq!(
        after - before,
        0,
        "idle control reads counted {} keyspace misses",
        after - before
    );
}
