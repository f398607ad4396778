//! Stream faults injected by the simulator: gaps, disconnects, stalls, corrupt frames.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use exchange_sim::{Fault, Speed, StreamKind as SimStream};
use metrics_schema::labels::{ErrorType, HttpStatus, RestEndpoint, Stage};
use metrics_schema::services::ingestor::{ErrorLabels, RestCallLabels};
use pipeline_events::{GapReason, OwnedEvent, ReconnectReason, StreamKind};
use std::time::Duration;

const OK: RestCallLabels = RestCallLabels {
    endpoint: RestEndpoint::Depth,
    status: HttpStatus::Ok,
};

async fn rig() -> Rig {
    let mut sim = sim_config(synthetic());
    sim.speed = Speed::Factor(20.0);
    let rig = Rig::start(sim, |_| {}).await;
    let m = rig.m().clone();
    wait_until(Duration::from_secs(30), "streaming and anchored", || {
        messages(&m) > 50 && m.rest_api_calls.get_or_create(&OK).get() >= 1
    })
    .await;
    rig
}

fn position(evs: &[OwnedEvent], from: usize, f: impl Fn(&OwnedEvent) -> bool) -> Option<usize> {
    evs.iter().skip(from).position(f).map(|i| i + from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_depth_diff_is_counted_and_published_as_a_stream_gap_then_a_depth_snapshot() {
    let mut rig = rig().await;
    let m = rig.m().clone();
    rig.sim.inject(&Fault::DropDepthDiffs { count: 2 });
    wait_until(Duration::from_secs(20), "gap detected and re-snapshotted", || {
        m.sbe_sequence_gaps.get() >= 1 && m.rest_api_calls.get_or_create(&OK).get() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let evs = events(&rig.stop_and_read().await);
    let gap = position(&evs, 0, |e| {
        matches!(e, OwnedEvent::StreamGap { event, .. }
            if event.stream == StreamKind::Depth && event.reason == GapReason::SequenceGap)
    })
    .expect("a depth StreamGap");
    let OwnedEvent::StreamGap { event, .. } = &evs[gap] else {
        unreachable!()
    };
    let (good, got) = (
        event.last_good_update_id.unwrap(),
        event.received_update_id.unwrap(),
    );
    assert!(got > good + 1, "the gap names the missing range {good}..{got}");
    assert!(
        matches!(&evs[gap + 1], OwnedEvent::DepthDiff { first_update_id, .. } if *first_update_id == got),
        "the marker precedes the first diff after the gap"
    );
    assert!(
        position(&evs, gap, |e| matches!(e, OwnedEvent::DepthSnapshot { .. })).is_some(),
        "a DepthSnapshot follows the gap"
    );
    assert_eq!(m.sbe_reconnections.get(), 0, "a gap is not a reconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_is_followed_by_a_reconnect_with_a_reconnected_marker_and_a_new_snapshot() {
    let mut rig = rig().await;
    let m = rig.m().clone();
    rig.sim.inject(&Fault::DisconnectAll);
    wait_until(Duration::from_secs(20), "reconnected and re-snapshotted", || {
        m.sbe_reconnections.get() >= 1 && m.rest_api_calls.get_or_create(&OK).get() >= 2
    })
    .await;
    wait_until(Duration::from_secs(5), "ready again", || rig.health().is_ready()).await;
    let evs = events(&rig.stop_and_read().await);
    let lost = position(
        &evs,
        0,
        |e| matches!(e, OwnedEvent::StreamGap { event, .. } if event.reason == GapReason::Disconnected),
    )
    .expect("a Disconnected StreamGap");
    let back = position(&evs, lost, |e| matches!(e, OwnedEvent::Reconnected { .. })).unwrap();
    let OwnedEvent::Reconnected { event, .. } = &evs[back] else {
        unreachable!()
    };
    assert_eq!(event.reason, ReconnectReason::ConnectionError);
    let prev = event.previous_epoch.unwrap();
    assert!(event.meta.connection_epoch > prev, "epochs rise");
    assert!(event.downtime_ns.unwrap() > 0);
    assert!(
        position(
            &evs,
            back,
            |e| matches!(e, OwnedEvent::DepthSnapshot { meta, .. } if meta.connection_epoch == event.meta.connection_epoch)
        )
        .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_longer_than_the_idle_timeout_reconnects() {
    let mut rig = rig().await;
    let m = rig.m().clone();
    rig.sim.inject(&Fault::Stall { duration_ms: 2500 });
    let idle = ErrorLabels {
        error_type: ErrorType::Timeout,
        stage: Stage::Websocket,
    };
    wait_until(Duration::from_secs(20), "idle timeout and reconnect", || {
        m.errors.get_or_create(&idle).get() >= 1 && m.sbe_reconnections.get() >= 1
    })
    .await;
    wait_until(Duration::from_secs(20), "data again", || rig.health().is_ready()).await;
    let evs = events(&rig.stop_and_read().await);
    assert!(evs.iter().any(
        |e| matches!(e, OwnedEvent::Reconnected { event, .. } if event.reason == ReconnectReason::PingTimeout)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shutdown_event_reconnects_at_once() {
    let mut rig = rig().await;
    let m = rig.m().clone();
    rig.sim.inject(&Fault::ServerShutdown {
        disconnect_after_ms: None,
    });
    wait_until(Duration::from_secs(20), "reconnect", || {
        m.sbe_reconnections.get() >= 1
    })
    .await;
    let evs = events(&rig.stop_and_read().await);
    assert!(evs.iter().any(|e| matches!(e, OwnedEvent::Reconnected { event, .. } if event.reason == ReconnectReason::ServerShutdown)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_frames_and_unknown_templates_are_counted_and_skipped_on_the_same_connection() {
    let mut rig = rig().await;
    let m = rig.m().clone();
    let connections = rig.sim.stats().connections_total;
    rig.sim.inject(&Fault::CorruptFrame {
        stream: SimStream::Trade,
        count: 2,
    });
    rig.sim.inject(&Fault::TruncatedFrame {
        stream: SimStream::BestBidAsk,
        count: 1,
    });
    rig.sim.inject(&Fault::UnknownTemplate { template_id: 9999 });
    let err = |error_type| {
        m.errors
            .get_or_create(&ErrorLabels {
                error_type,
                stage: Stage::Decode,
            })
            .get()
    };
    wait_until(Duration::from_secs(20), "bad frames counted", || {
        err(ErrorType::UnknownTemplate) == 1
            && (err(ErrorType::UnknownSchema) + err(ErrorType::Malformed) + err(ErrorType::Truncated)) >= 3
    })
    .await;
    let before = messages(&m);
    wait_until(Duration::from_secs(10), "still streaming", || {
        messages(&m) > before + 20
    })
    .await;
    assert_eq!(m.sbe_reconnections.get(), 0);
    assert_eq!(
        rig.sim.stats().connections_total,
        connections,
        "the connection was kept"
    );
    let evs = events(&rig.stop_and_read().await);
    assert_eq!(count(&evs, |e| matches!(e, OwnedEvent::Reconnected { .. })), 1);
}
