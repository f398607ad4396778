//! Steady replay of the real recording: the simulator serves it at max speed, the ingestor
//! publishes to kinesalite, and every event is accounted for by count and source sequence ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use exchange_sim::SourceConfig;
use metrics_schema::labels::{HttpStatus, RestEndpoint};
use metrics_schema::services::ingestor::RestCallLabels;
use pipeline_events::{OwnedEvent, ReconnectReason};
use std::time::Duration;

const STREAMS: [&str; 3] = ["trade", "bestBidAsk", "depth"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recorded_event_reaches_kinesis_once_and_in_order_after_a_startup_marker_and_snapshot() {
    let Some(files) = spot_files() else { return };
    let mut rig = Rig::start(sim_config(SourceConfig::Replay { files }), |_| {}).await;
    assert!(
        rig.sim.wait_source_finished(Duration::from_secs(240)).await,
        "replay did not finish"
    );
    let sim = &rig.sim;
    wait_until(Duration::from_secs(60), "every published frame sent", || {
        let s = sim.stats();
        STREAMS.iter().all(|k| s.sent[*k] == s.published[*k])
    })
    .await;
    let sent = rig.sim.stats().sent;
    let total: u64 = STREAMS.iter().map(|k| sent[*k]).sum();
    let m = rig.m().clone();
    wait_until(Duration::from_secs(60), "every sent frame ingested", || {
        messages(&m) == total
    })
    .await;
    let ok = RestCallLabels {
        endpoint: RestEndpoint::Depth,
        status: HttpStatus::Ok,
    };
    wait_until(Duration::from_secs(30), "a snapshot fetched", || {
        m.rest_api_calls.get_or_create(&ok).get() >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let recs = rig.stop_and_read().await;

    // Envelopes: one producer, batch sequences 1, 2, 3, ...
    assert!(recs.iter().all(|r| r.producer_id == recs[0].producer_id));
    let seqs: Vec<u64> = recs.iter().map(|r| r.batch_sequence).collect();
    assert_eq!(seqs, (1..=recs.len() as u64).collect::<Vec<_>>());
    assert!(
        recs.len() < total as usize / 10,
        "events are aggregated ({} records)",
        recs.len()
    );

    let evs = events(&recs);
    match &evs[0] {
        OwnedEvent::Reconnected { event, .. } => assert_eq!(event.reason, ReconnectReason::Startup),
        other => panic!("first event {other:?}"),
    }
    let n = |f: fn(&OwnedEvent) -> bool| count(&evs, f) as u64;
    assert_eq!(n(|e| matches!(e, OwnedEvent::Trade { .. })), sent["trade"]);
    assert_eq!(
        n(|e| matches!(e, OwnedEvent::BestBidAsk { .. })),
        sent["bestBidAsk"]
    );
    assert_eq!(n(|e| matches!(e, OwnedEvent::DepthDiff { .. })), sent["depth"]);
    assert_eq!(n(|e| matches!(e, OwnedEvent::Reconnected { .. })), 1);
    assert_eq!(
        n(|e| matches!(e, OwnedEvent::StreamGap { .. })),
        0,
        "the recording has no breaks"
    );
    assert_eq!(m.sbe_sequence_gaps.get(), 0);

    // Source sequence ids arrive in order: diffs chain exactly, trade ids are contiguous,
    // bestBidAsk ids rise; one epoch throughout.
    let (mut prev_u, mut prev_trade, mut prev_bba) = (None::<i64>, None::<i64>, None::<i64>);
    let epoch = evs[0].clone();
    let epoch = match epoch {
        OwnedEvent::Reconnected { event, .. } => event.meta.connection_epoch,
        _ => unreachable!(),
    };
    let mut ranges = Vec::new();
    let mut snapshot_id = None;
    for e in &evs {
        match e {
            OwnedEvent::DepthDiff {
                meta,
                first_update_id,
                last_update_id,
                ..
            } => {
                assert_eq!(meta.connection_epoch, epoch);
                if let Some(p) = prev_u {
                    assert_eq!(*first_update_id, p + 1, "diff chain broken after {p}");
                }
                ranges.push((*first_update_id, *last_update_id));
                prev_u = Some(*last_update_id);
            }
            OwnedEvent::Trade { fills, .. } => {
                for f in fills {
                    if let Some(p) = prev_trade {
                        assert_eq!(f.trade_id, p + 1);
                    }
                    prev_trade = Some(f.trade_id);
                }
            }
            OwnedEvent::BestBidAsk { event, .. } => {
                if let Some(p) = prev_bba {
                    assert!(event.book_update_id > p);
                }
                prev_bba = Some(event.book_update_id);
            }
            OwnedEvent::DepthSnapshot {
                last_update_id, meta, ..
            } => {
                assert_eq!(meta.connection_epoch, epoch);
                snapshot_id.get_or_insert(*last_update_id);
            }
            _ => {}
        }
    }
    assert!(snapshot_id.is_some(), "a DepthSnapshot was published");
    // The aggregator can anchor on it: some diff straddles lastUpdateId + 1 (it may precede the
    // snapshot in the stream, as Binance's procedure buffers diffs before fetching).
    let s = snapshot_id.unwrap();
    assert!(
        ranges.iter().any(|&(first, last)| first <= s + 1 && s < last),
        "no diff bridges snapshot {s}"
    );
}
