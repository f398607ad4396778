//! A snapshot deeper than the order book's per-side cap (market::DEFAULT_MAX_LEVELS_PER_SIDE):
//! the worst levels are not kept and the aggregator counts them in
//! `aggregator_book_levels_dropped_total`, so memory stays bounded and the loss is visible.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use market::{DEFAULT_MAX_LEVELS_PER_SIDE, Level};
use pipeline_events::EventMeta;
use std::time::Duration;
use svc_kit::testing::servers::{Kinesalite, RedisServer};

const DROPPED: &str = "aggregator_book_levels_dropped_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_beyond_the_depth_cap_are_dropped_and_counted() {
    let extra = 37;
    let n = DEFAULT_MAX_LEVELS_PER_SIDE + extra;
    let top = 6_000_000i64;
    let bids: Vec<Level> = (0..n as i64)
        .map(|i| Level {
            price: top - i,
            qty: 100_000,
        })
        .collect();
    let asks = vec![Level {
        price: top + 1,
        qty: 100_000,
    }];
    let meta = EventMeta {
        ingest_time_ns: 1_700_000_000_000_000_000,
        connection_epoch: 1,
    };
    let snap = snapshot_event(1000, &bids, &asks, meta);

    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, "market-events").await;
    // A gap marker first: the anchor point of a fresh start is the first record, and the book only
    // takes a snapshot after it (as in production, where the ingestor's stream opens with one).
    put_records(&kc, "market-events", build_records(&[gap_event(), snap], 1, 1, 1)).await;
    let agg = start_aggregator(&k.endpoint(), &r.url(), "market-events", &[]);
    let mut last = String::new();
    wait_for(
        Duration::from_secs(30),
        "the dropped levels to be counted",
        || {
            let body = get(&agg, "/metrics").map(|(_, b)| b).unwrap_or_default();
            last = body
                .lines()
                .filter(|l| l.starts_with(DROPPED))
                .collect::<Vec<_>>()
                .join(" | ");
            let done = metric(&body, DROPPED) >= extra as f64;
            async move { done }
        },
    )
    .await;
    let (_, body) = get(&agg, "/metrics").unwrap();
    assert_eq!(
        metric(&body, DROPPED),
        extra as f64,
        "exactly the levels beyond the cap: {last}"
    );
}
