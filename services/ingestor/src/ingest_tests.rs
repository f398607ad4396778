//! The hot path on hand-built SBE frames: markers, gaps, snapshots requests and bad input.

use super::*;
use binance_sbe::stream::{
    BestBidAskStreamEventEncoder, BoolEnum, DepthDiffStreamEventEncoder, TradesStreamEventEncoder,
};
use metrics_schema::services::ingestor::{DropLabels, ErrorLabels, MessageTypeLabels};
use pipeline_events::{OwnedEvent, RecordBuilder, RecordReader};
use prometheus_client::registry::Registry;

fn ingest() -> (Ingest, metrics_schema::IngestorMetrics) {
    let m = metrics_schema::IngestorMetrics::register(&mut Registry::default());
    (
        Ingest::new(&["BTCUSDT".into()], true, 1 << 20, HotMetrics::new(m.clone())),
        m,
    )
}

fn diff(first: i64, last: i64) -> Vec<u8> {
    let mut f = Vec::new();
    let mut e = DepthDiffStreamEventEncoder::new(&mut f);
    e.event_time(1)
        .first_book_update_id(first)
        .last_book_update_id(last)
        .price_exponent(-2)
        .qty_exponent(-8);
    {
        let _ = e.bids().unwrap();
    }
    {
        let _ = e.asks().unwrap();
    }
    e.symbol("BTCUSDT").unwrap();
    e.finish();
    f
}

fn trade(id: i64, symbol: &str) -> Vec<u8> {
    let mut f = Vec::new();
    let mut e = TradesStreamEventEncoder::new(&mut f);
    e.event_time(1)
        .transact_time(1)
        .price_exponent(-2)
        .qty_exponent(-8);
    {
        let mut g = e.trades().unwrap();
        g.entry()
            .unwrap()
            .id(id)
            .price(1)
            .qty(1)
            .is_buyer_maker(BoolEnum::False);
    }
    e.symbol(symbol).unwrap();
    e.finish();
    f
}

fn bba(id: i64) -> Vec<u8> {
    let mut f = Vec::new();
    let mut e = BestBidAskStreamEventEncoder::new(&mut f);
    e.event_time(1)
        .book_update_id(id)
        .price_exponent(-2)
        .qty_exponent(-8);
    e.symbol("BTCUSDT").unwrap();
    e.finish();
    f
}

/// Drains the queued events through a record, as the aggregator will read them.
fn drain(i: &mut Ingest) -> Vec<OwnedEvent> {
    let mut b = RecordBuilder::new(1, 1, 1, pipeline_events::MAX_RECORD_BYTES);
    for o in i.out.drain(..) {
        assert_eq!(&*o.partition_key, "BTCUSDT");
        b.push_encoded(&o.data).unwrap();
    }
    RecordReader::new(b.as_bytes())
        .unwrap()
        .events()
        .map(|e| e.unwrap().to_owned_event())
        .collect()
}

#[test]
fn a_connect_announces_a_new_epoch_and_the_first_diff_requests_a_snapshot() {
    let (mut i, _) = ingest();
    i.connected(ReconnectReason::Startup, None, 1_700_000_000_000_000_000);
    let first = i.epoch();
    assert!(first >= 1_700_000_000_000, "epoch at least the wall clock in ms");
    assert!(matches!(drain(&mut i)[..], [OwnedEvent::Reconnected { .. }]));
    assert!(
        i.snapshots.is_empty(),
        "no snapshot before a diff is buffered downstream"
    );
    i.frame(&diff(100, 105), 1);
    assert_eq!(
        i.snapshots.drain(..).collect::<Vec<_>>(),
        vec![SnapshotRequest {
            symbol: Arc::from("BTCUSDT"),
            reason: SnapshotReason::Reconnect,
            min_update_id: Some(99)
        }]
    );
    i.frame(&diff(106, 110), 2);
    assert!(i.snapshots.is_empty());
    assert_eq!(drain(&mut i).len(), 2);
    i.connected(ReconnectReason::PingTimeout, Some(5), 1_700_000_000_000_000_000);
    assert_eq!(i.epoch(), first + 1, "epochs always rise");
    match &drain(&mut i)[..] {
        [OwnedEvent::Reconnected { event, .. }] => {
            assert_eq!(event.previous_epoch, Some(first));
            assert_eq!(event.reason, ReconnectReason::PingTimeout);
            assert_eq!(event.meta.connection_epoch, first + 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_depth_gap_is_counted_marked_in_band_before_the_diff_and_triggers_a_snapshot() {
    let (mut i, m) = ingest();
    i.connected(ReconnectReason::Startup, None, 0);
    i.frame(&diff(100, 105), 1);
    i.snapshots.clear();
    drain(&mut i);
    i.frame(&diff(110, 112), 2);
    let evs = drain(&mut i);
    match &evs[..] {
        [
            OwnedEvent::StreamGap { event, .. },
            OwnedEvent::DepthDiff {
                first_update_id: 110, ..
            },
        ] => {
            assert_eq!(
                (event.stream, event.reason),
                (StreamKind::Depth, GapReason::SequenceGap)
            );
            assert_eq!(
                (event.last_good_update_id, event.received_update_id),
                (Some(105), Some(110))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(i.snapshots.len(), 1);
    assert_eq!(i.snapshots[0].reason, SnapshotReason::Gap);
    assert_eq!(m.sbe_sequence_gaps.get(), 1);
}

#[test]
fn trade_and_best_bid_ask_breaks_are_marked_without_a_snapshot() {
    let (mut i, m) = ingest();
    i.connected(ReconnectReason::Startup, None, 0);
    drain(&mut i);
    for f in [
        trade(1, "BTCUSDT"),
        trade(2, "BTCUSDT"),
        trade(4, "BTCUSDT"),
        bba(10),
        bba(9),
    ] {
        i.frame(&f, 1);
    }
    let gaps: Vec<StreamKind> = drain(&mut i)
        .into_iter()
        .filter_map(|e| match e {
            OwnedEvent::StreamGap { event, .. } => Some(event.stream),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, vec![StreamKind::Trade, StreamKind::BestBidAsk]);
    assert!(i.snapshots.is_empty());
    assert_eq!(m.sbe_sequence_gaps.get(), 2);
}

#[test]
fn corrupt_frames_and_unknown_templates_are_counted_and_skipped() {
    let (mut i, m) = ingest();
    let mut unknown = diff(1, 2);
    unknown[2..4].copy_from_slice(&9999u16.to_le_bytes());
    let mut corrupt = diff(1, 2);
    corrupt[4..6].copy_from_slice(&7u16.to_le_bytes());
    assert_eq!(i.frame(&unknown, 1), FrameOutcome::Invalid);
    assert_eq!(i.frame(&corrupt, 1), FrameOutcome::Invalid);
    assert_eq!(i.frame(&diff(1, 2)[..10], 1), FrameOutcome::Invalid);
    assert!(i.out.is_empty());
    let err = |error_type| {
        m.errors
            .get_or_create(&ErrorLabels {
                error_type,
                stage: Stage::Decode,
            })
            .get()
    };
    assert_eq!(err(ErrorType::UnknownTemplate), 1);
    assert_eq!(err(ErrorType::UnknownSchema), 1);
    assert_eq!(err(ErrorType::Truncated), 1);
    assert_eq!(
        m.sbe_messages
            .get_or_create(&MessageTypeLabels {
                message_type: MessageType::Unknown
            })
            .get(),
        3
    );
}

#[test]
fn frames_of_unconfigured_symbols_are_dropped_and_counted_as_intentional() {
    let (mut i, m) = ingest();
    assert_eq!(i.frame(&trade(1, "ETHUSDT"), 1), FrameOutcome::Skipped);
    assert!(i.out.is_empty());
    let dropped = m
        .events_dropped
        .get_or_create(&DropLabels {
            reason: DropReason::Unsubscribed,
            intentional: Intentional::Yes,
        })
        .get();
    assert_eq!(dropped, 1);
}

#[test]
fn a_local_drop_marks_every_stream_and_restarts_the_chains_with_a_snapshot() {
    let (mut i, _) = ingest();
    i.connected(ReconnectReason::Startup, None, 0);
    i.frame(&diff(100, 105), 1);
    i.snapshots.clear();
    drain(&mut i);
    i.gap_all(GapReason::Dropped, 5);
    i.frame(&diff(200, 210), 6);
    let evs = drain(&mut i);
    assert!(
        matches!(&evs[0], OwnedEvent::StreamGap { event, .. } if event.reason == GapReason::Dropped && event.stream == StreamKind::All)
    );
    assert_eq!(evs.len(), 2, "no second gap: the chain restarted at the drop");
    assert_eq!(i.snapshots[0].reason, SnapshotReason::Dropped);
}

/// Hostile ids must not panic or wrap: `U = i64::MIN` used to compute `U - 1` for the snapshot
/// request before the sequence check rejected the diff (an overflow panic in debug, a wrapped
/// `min_update_id` in release); `U = 0` asked for a snapshot reaching id -1.
#[test]
fn extreme_first_update_ids_neither_panic_nor_wrap() {
    let (mut i, m) = ingest();
    i.connected(ReconnectReason::Startup, None, 1_700_000_000_000_000_000);
    drain(&mut i);
    assert_eq!(i.frame(&diff(i64::MIN, 5), 1), FrameOutcome::Invalid);
    assert!(
        i.snapshots.is_empty(),
        "a malformed diff does not use up the due snapshot"
    );
    let malformed = m
        .errors
        .get_or_create(&ErrorLabels {
            error_type: ErrorType::Malformed,
            stage: Stage::Sequence,
        })
        .get();
    assert_eq!(malformed, 1);
    assert_eq!(i.frame(&diff(0, 3), 2), FrameOutcome::Forwarded);
    assert_eq!(
        i.snapshots.drain(..).map(|r| r.min_update_id).collect::<Vec<_>>(),
        vec![Some(0)]
    );
}
