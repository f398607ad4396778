//! A gap injected into the real recording: the aggregator goes to `buffering` at a new epoch,
//! re-anchors from a newer in-band snapshot, records the duration, and a concurrent reader never
//! sees torn state (one MULTI/EXEC read of features + book + anchor).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fred::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use svc_kit::testing::servers::{Kinesalite, RedisServer};

#[derive(Default, Debug)]
struct Seen {
    reads: u64,
    states: Vec<(u64, String)>,
    violations: Vec<String>,
}

fn check(
    f: &HashMap<String, String>,
    b: &HashMap<String, String>,
    a: &HashMap<String, String>,
    last_epoch: &mut u64,
    seen: &mut Seen,
) {
    if f.is_empty() {
        return;
    }
    let epoch: u64 = f["epoch"].parse().unwrap();
    if epoch < *last_epoch {
        seen.violations
            .push(format!("epoch went back {last_epoch} -> {epoch}"));
    }
    *last_epoch = epoch;
    for (name, h) in [("book", b), ("anchor", a)] {
        if h.get("epoch") != f.get("epoch") || h.get("state") != f.get("state") {
            seen.violations
                .push(format!("{name} {h:?} disagrees with features epoch/state"));
        }
    }
    let synced = f["state"] == "synced";
    if (f["usable"] == "1") != synced {
        seen.violations
            .push(format!("usable {} with state {}", f["usable"], f["state"]));
    }
    if synced {
        let bid: f64 = b["best_bid"].parse().unwrap();
        let ask: f64 = b["best_ask"].parse().unwrap();
        if bid >= ask {
            seen.violations.push(format!("crossed book {bid} >= {ask}"));
        }
    } else if !b["bids"].is_empty() || !b["asks"].is_empty() {
        seen.violations
            .push("book levels published while not synced".into());
    }
    if seen.states.last() != Some(&(epoch, f["state"].clone())) {
        seen.states.push((epoch, f["state"].clone()));
    }
}

async fn read_all(c: &fred::clients::Client) -> Option<[HashMap<String, String>; 3]> {
    let trx = c.multi();
    let keys = ["{BTCUSDT}:features", "{BTCUSDT}:book", "{BTCUSDT}:anchor"];
    for k in keys {
        let _: () = trx.hgetall(k).await.ok()?;
    }
    let res: Vec<HashMap<String, Value>> = trx.exec(true).await.ok()?;
    let conv = |h: &HashMap<String, Value>| -> HashMap<String, String> {
        h.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_string()?)))
            .collect()
    };
    Some([conv(&res[0]), conv(&res[1]), conv(&res[2])])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_gap_re_anchors_at_a_new_epoch_and_readers_never_see_torn_state() {
    let Some(files) = spot_files() else { return };
    let mut events = recording_events(&files);
    events.truncate(40_000);
    let cut = 20_000;
    // After the cut: a gap marker, diffs that get buffered, then a snapshot of the book 300 events later.
    let snapshot = book_snapshot_at(&events, cut + 300);
    let first: Vec<_> = events[..cut]
        .iter()
        .cloned()
        .chain([gap_event()])
        .chain(events[cut..cut + 300].iter().cloned())
        .collect();
    let second: Vec<_> = [snapshot]
        .into_iter()
        .chain(events[cut + 300..].iter().cloned())
        .collect();

    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, "market-events").await;
    let first_records = build_records(&first, 200, 1, 1);
    let next_batch = 1 + first_records.len() as u64;
    put_records(&kc, "market-events", first_records).await;

    let agg = start_aggregator(
        &k.endpoint(),
        &r.url(),
        "market-events",
        &[("AGGREGATOR__REANCHOR__SNAPSHOT_WAIT_MS", "60000")],
    );
    let rc = redis(&r.url()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let rc = redis(&r.url()).await;
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut last_epoch = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Some([f, b, a]) = read_all(&rc).await {
                    seen.reads += 1;
                    check(&f, &b, &a, &mut last_epoch, &mut seen);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            seen
        })
    };
    wait_for(Duration::from_secs(90), "buffering at epoch 2", || async {
        let a = hash(&rc, "{BTCUSDT}:anchor").await;
        a.get("epoch").map(String::as_str) == Some("2")
            && a.get("state").map(String::as_str) == Some("buffering")
    })
    .await;
    put_records(&kc, "market-events", build_records(&second, 200, 1, next_batch)).await;
    wait_for(Duration::from_secs(90), "synced at epoch 2", || async {
        let a = hash(&rc, "{BTCUSDT}:anchor").await;
        a.get("epoch").map(String::as_str) == Some("2")
            && a.get("state").map(String::as_str) == Some("synced")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let seen = reader.await.unwrap();
    assert!(
        seen.violations.is_empty(),
        "{:?}",
        &seen.violations[..seen.violations.len().min(5)]
    );
    assert!(seen.reads > 50, "reader kept reading ({} reads)", seen.reads);
    let states: Vec<_> = seen.states.iter().map(|(e, s)| format!("{e}:{s}")).collect();
    assert!(
        states.ends_with(&["2:buffering".into(), "2:synced".into()]),
        "{states:?}"
    );

    let (_, m) = get(&agg, "/metrics").unwrap();
    assert_eq!(
        metric(&m, "aggregator_reanchor_operations_total{status=\"success\"}"),
        2.0
    );
    assert_eq!(
        metric(&m, "aggregator_reanchor_duration_seconds_count"),
        2.0,
        "initial sync + the gap"
    );
    assert!(metric(&m, "aggregator_reanchor_duration_seconds_sum") > 0.0);
    assert_eq!(metric(&m, "aggregator_anchor_epoch"), 2.0);
    let f = hash(&rc, "{BTCUSDT}:features").await;
    assert_eq!((f["epoch"].as_str(), f["usable"].as_str()), ("2", "1"));
}
