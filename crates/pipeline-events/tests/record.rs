//! Record building and reading: round trips, size limits, versioning and malformed input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pipeline_events::schema::{self, BoolEnum};
use pipeline_events::{
    BuildError, DecodeError, Event, EventMeta, EventView, Fill, GapReason, MAX_RECORD_BYTES, OwnedEvent,
    PriceLevel, RecordBuilder, RecordReader, StreamGapEvent, StreamKind, TradeEvent,
};
use proptest::prelude::*;

const META: EventMeta = EventMeta {
    ingest_time_ns: 1_723_161_254_087_896_568,
    connection_epoch: 3,
};

fn trade(fills: &[Fill]) -> Event<'_> {
    Event::Trade(TradeEvent {
        meta: META,
        symbol: "BTCUSDT",
        event_time_us: 1_723_161_255_343_000,
        trade_time_us: 1_723_161_255_342_000,
        price_exponent: -8,
        qty_exponent: -8,
        fills,
    })
}

const FILL: Fill = Fill {
    trade_id: 3_735_683_259,
    price: 6_183_763_000_000,
    qty: 2_000_000,
    is_buyer_maker: true,
};

fn gap() -> Event<'static> {
    Event::StreamGap(StreamGapEvent {
        meta: META,
        symbol: "BTCUSDT",
        stream: StreamKind::Depth,
        reason: GapReason::SequenceGap,
        last_good_update_id: Some(50_093_239_202),
        received_update_id: Some(50_093_239_210),
        event_time_us: None,
    })
}

fn events(bytes: &[u8]) -> Vec<Result<OwnedEvent, DecodeError>> {
    RecordReader::new(bytes)
        .unwrap()
        .events()
        .map(|e| e.map(|v| v.to_owned_event()))
        .collect()
}

#[test]
fn a_record_carries_its_envelope_and_events_in_order() {
    let mut b = RecordBuilder::new(7, 42, 99, MAX_RECORD_BYTES);
    assert!(b.is_empty());
    b.push(&trade(&[FILL])).unwrap();
    b.push(&gap()).unwrap();
    assert_eq!(b.event_count(), 2);
    let r = RecordReader::new(b.as_bytes()).unwrap();
    assert_eq!(
        (
            r.producer_id(),
            r.batch_sequence(),
            r.created_time_ns(),
            r.event_count()
        ),
        (7, 42, 99, 2)
    );
    assert_eq!(r.schema_version(), schema::SCHEMA_VERSION);
    let got: Vec<_> = r.events().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        got.iter().map(EventView::kind).collect::<Vec<_>>(),
        ["trade", "stream_gap"]
    );
    assert_eq!(got[0].meta(), META);
    let EventView::Trade(t) = got[0] else { panic!() };
    assert_eq!(
        (t.fills().next().unwrap().price(), t.price_exponent()),
        (6_183_763_000_000, -8)
    );
    assert_eq!(got[1].to_owned_event().as_event(), gap());
}

#[test]
fn an_empty_record_is_valid_and_has_no_events() {
    let b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    assert!(events(b.as_bytes()).is_empty());
    assert_eq!(
        MAX_RECORD_BYTES, 1_048_320,
        "1 MiB minus room for a 256-byte partition key"
    );
}

#[test]
fn the_builder_refuses_an_event_past_the_limit_and_keeps_the_record_intact() {
    let mut b = RecordBuilder::new(1, 1, 0, 200);
    b.push(&trade(&[FILL])).unwrap();
    let before = b.as_bytes().to_vec();
    let err = b.push(&trade(&[FILL, FILL, FILL])).unwrap_err();
    assert!(matches!(err, BuildError::RecordFull { limit: 200, .. }), "{err}");
    assert_eq!(err.kind(), "record_full");
    assert_eq!(b.as_bytes(), before.as_slice());
    assert_eq!(events(b.as_bytes()).len(), 1);
    assert!(b.len() + b.remaining() == 200);

    let mut empty = RecordBuilder::new(1, 2, 0, 60);
    assert_eq!(empty.push(&trade(&[FILL])).unwrap_err().kind(), "event_too_large");
    assert!(empty.is_empty());
}

#[test]
fn pre_encoded_events_build_the_same_record_as_push_and_respect_the_limit() {
    let mut direct = RecordBuilder::new(7, 42, 99, MAX_RECORD_BYTES);
    let mut pre = RecordBuilder::new(7, 42, 99, MAX_RECORD_BYTES);
    for ev in [trade(&[FILL]), gap()] {
        direct.push(&ev).unwrap();
        let mut bytes = Vec::new();
        ev.encode(&mut bytes).unwrap();
        pre.push_encoded(&bytes).unwrap();
    }
    assert_eq!(pre.as_bytes(), direct.as_bytes());
    assert_eq!(pre.event_count(), 2);

    let mut one = Vec::new();
    gap().encode(&mut one).unwrap();
    let room = RecordBuilder::new(1, 1, 1, MAX_RECORD_BYTES).len() + 4 + one.len();
    let mut small = RecordBuilder::new(1, 1, 1, room);
    small.push_encoded(&one).unwrap();
    let before = small.as_bytes().to_vec();
    assert!(matches!(
        small.push_encoded(&one),
        Err(BuildError::RecordFull { .. })
    ));
    assert_eq!(
        small.as_bytes(),
        &before[..],
        "a refused event leaves the record unchanged"
    );
    let mut tiny = RecordBuilder::new(1, 1, 1, room - 1);
    assert!(matches!(
        tiny.push_encoded(&one),
        Err(BuildError::EventTooLarge { .. })
    ));
    assert_eq!(events(small.as_bytes()).len(), 1);
}

#[test]
fn reset_reuses_the_builder_for_the_next_batch() {
    let mut b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    b.push(&gap()).unwrap();
    b.reset(1, 2, 5);
    let r = RecordReader::new(b.as_bytes()).unwrap();
    assert_eq!((r.batch_sequence(), r.event_count()), (2, 0));
}

#[test]
fn a_binance_frame_or_unknown_schema_is_rejected_with_wrong_schema_id() {
    let mut b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    b.push(&gap()).unwrap();
    let mut bytes = b.into_bytes();
    bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
    let err = RecordReader::new(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::WrongSchemaId {
            expected: 100,
            actual: 1
        }
    );
    assert_eq!(err.kind(), "wrong_schema_id");
    bytes[4..6].copy_from_slice(&100u16.to_le_bytes());
    bytes[6..8].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(
        RecordReader::new(&bytes).unwrap_err(),
        DecodeError::UnsupportedVersion { min: 1, actual: 0 }
    );
}

/// Rewrites a record as a hypothetical version 2 producer would: 8 more bytes at the end of the
/// envelope block and of the event block, same field order.
fn as_version_2(event: &[u8]) -> Vec<u8> {
    let h = |bl: u16, t: u16| {
        [bl, t, 100, 2]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    let ev_block = u16::from_le_bytes([event[0], event[1]]);
    let mut ev = h(ev_block + 8, u16::from_le_bytes([event[2], event[3]]));
    ev.extend(&event[8..8 + ev_block as usize]);
    ev.extend([0xAB; 8]);
    ev.extend(&event[8 + ev_block as usize..]);
    let mut rec = h(28 + 8, 1);
    rec.extend(5u64.to_le_bytes());
    rec.extend(6u64.to_le_bytes());
    rec.extend(1u32.to_le_bytes());
    rec.extend(7i64.to_le_bytes());
    rec.extend([0xCD; 8]);
    rec.extend(((ev.len() + 4) as u32).to_le_bytes());
    rec.extend((ev.len() as u32).to_le_bytes());
    rec.extend(ev);
    rec
}

#[test]
fn a_newer_version_with_longer_blocks_is_read_by_skipping_unknown_trailing_bytes() {
    let mut event = Vec::new();
    gap().encode(&mut event).unwrap();
    let rec = as_version_2(&event);
    let r = RecordReader::new(&rec).unwrap();
    assert_eq!(
        (
            r.schema_version(),
            r.producer_id(),
            r.batch_sequence(),
            r.created_time_ns()
        ),
        (2, 5, 6, 7)
    );
    let got: Vec<_> = events(&rec).into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].as_event(), gap());
}

#[test]
fn an_unknown_event_template_is_reported_and_the_next_event_still_read() {
    let mut b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    b.push(&gap()).unwrap();
    b.push(&trade(&[FILL])).unwrap();
    let mut bytes = b.into_bytes();
    let first_event = 8 + 28 + 4 + 4;
    bytes[first_event + 2..first_event + 4].copy_from_slice(&99u16.to_le_bytes());
    let got = events(&bytes);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], Err(DecodeError::UnknownTemplate { template_id: 99 }));
    assert!(matches!(got[1], Ok(OwnedEvent::Trade { .. })));
}

#[test]
fn an_oversized_group_inside_an_event_is_rejected_before_iteration() {
    let mut b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    b.push(&trade(&[FILL])).unwrap();
    let mut bytes = b.into_bytes();
    let count_at = 8 + 28 + 4 + 4 + 8 + 34 + 2;
    assert_eq!(
        u32::from_le_bytes(bytes[count_at..count_at + 4].try_into().unwrap()),
        1
    );
    bytes[count_at..count_at + 4].copy_from_slice(&1_000_000u32.to_le_bytes());
    let got = events(&bytes);
    assert_eq!(
        got,
        [Err(DecodeError::GroupTooLarge {
            group: "fills",
            count: 1_000_000,
            max: 65_535
        })]
    );
}

#[test]
fn a_wrong_event_count_is_reported_after_the_events() {
    let mut b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    b.push(&gap()).unwrap();
    let mut bytes = b.into_bytes();
    bytes[8 + 16..8 + 20].copy_from_slice(&2u32.to_le_bytes());
    let got = events(&bytes);
    assert_eq!(
        got[1],
        Err(DecodeError::CountMismatch {
            context: "record events",
            declared: 2,
            found: 1
        })
    );
}

#[test]
fn every_truncation_of_a_record_is_an_error_not_a_panic() {
    let mut b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    b.push(&trade(&[FILL, FILL])).unwrap();
    b.push(&gap()).unwrap();
    let bytes = b.into_bytes();
    for len in 0..bytes.len() {
        assert!(
            matches!(
                RecordReader::new(&bytes[..len]),
                Err(DecodeError::Truncated { .. })
            ),
            "len {len}"
        );
    }
}

#[test]
fn an_invalid_enum_inside_an_event_is_a_typed_error() {
    let mut b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    b.push(&trade(&[FILL])).unwrap();
    let mut bytes = b.into_bytes();
    let flag_at = bytes.len() - 8 - 1; // last fill byte, before the u8 length + "BTCUSDT"
    assert_eq!(bytes[flag_at], BoolEnum::True.raw());
    bytes[flag_at] = 9;
    assert_eq!(
        events(&bytes),
        [Err(DecodeError::InvalidEnum {
            field: "isBuyerMaker",
            value: 9
        })]
    );
}

fn meta() -> impl Strategy<Value = EventMeta> {
    (any::<i64>(), any::<u64>()).prop_map(|(ingest_time_ns, connection_epoch)| EventMeta {
        ingest_time_ns,
        connection_epoch,
    })
}

fn levels() -> impl Strategy<Value = Vec<PriceLevel>> {
    prop::collection::vec(
        (any::<i64>(), any::<i64>()).prop_map(|(price, qty)| PriceLevel { price, qty }),
        0..30,
    )
}

fn owned_event() -> impl Strategy<Value = OwnedEvent> {
    let sym = "[A-Z]{0,12}";
    prop_oneof![
        (
            meta(),
            sym,
            any::<[i64; 2]>(),
            any::<[i8; 2]>(),
            prop::collection::vec(any::<(i64, i64, i64, bool)>(), 0..10)
        )
            .prop_map(|(meta, symbol, t, e, f)| OwnedEvent::Trade {
                meta,
                symbol,
                event_time_us: t[0],
                trade_time_us: t[1],
                price_exponent: e[0],
                qty_exponent: e[1],
                fills: f
                    .into_iter()
                    .map(|(trade_id, price, qty, is_buyer_maker)| Fill {
                        trade_id,
                        price,
                        qty,
                        is_buyer_maker
                    })
                    .collect(),
            }),
        (meta(), sym, any::<[i64; 6]>(), any::<[i8; 2]>()).prop_map(|(meta, symbol, v, e)| {
            OwnedEvent::BestBidAsk {
                symbol,
                event: pipeline_events::BestBidAskEvent {
                    meta,
                    symbol: "",
                    event_time_us: v[0],
                    book_update_id: v[1],
                    price_exponent: e[0],
                    qty_exponent: e[1],
                    bid_price: v[2],
                    bid_qty: v[3],
                    ask_price: v[4],
                    ask_qty: v[5],
                },
            }
        }),
        (
            meta(),
            sym,
            any::<[i64; 3]>(),
            any::<[i8; 2]>(),
            levels(),
            levels()
        )
            .prop_map(|(meta, symbol, v, e, bids, asks)| {
                OwnedEvent::DepthDiff {
                    meta,
                    symbol,
                    event_time_us: v[0],
                    first_update_id: v[1],
                    last_update_id: v[2],
                    price_exponent: e[0],
                    qty_exponent: e[1],
                    bids,
                    asks,
                }
            }),
        (
            meta(),
            sym,
            prop::option::of(0i64..),
            any::<i64>(),
            levels(),
            levels()
        )
            .prop_map(|(meta, symbol, exchange_time_us, last_update_id, bids, asks)| {
                OwnedEvent::DepthSnapshot {
                    meta,
                    symbol,
                    exchange_time_us,
                    last_update_id,
                    price_exponent: -2,
                    qty_exponent: -8,
                    bids,
                    asks,
                }
            }),
        (meta(), sym, prop::option::of(0i64..), prop::option::of(0i64..)).prop_map(|(meta, symbol, a, b)| {
            OwnedEvent::StreamGap {
                symbol,
                event: StreamGapEvent {
                    meta,
                    symbol: "",
                    stream: StreamKind::Trade,
                    reason: GapReason::Disconnected,
                    last_good_update_id: a,
                    received_update_id: b,
                    event_time_us: a,
                },
            }
        }),
        (
            meta(),
            sym,
            prop::option::of(any::<u32>()),
            prop::option::of(0i64..)
        )
            .prop_map(|(meta, symbol, p, d)| {
                OwnedEvent::Reconnected {
                    symbol,
                    event: pipeline_events::ReconnectedEvent {
                        meta,
                        symbol: "",
                        previous_epoch: p.map(u64::from),
                        reason: pipeline_events::ReconnectReason::ServerShutdown,
                        downtime_ns: d,
                    },
                }
            }),
    ]
}

proptest! {
    #[test]
    fn any_batch_of_events_reads_back_identically(batch in prop::collection::vec(owned_event(), 0..12), seq in any::<u64>()) {
        let mut b = RecordBuilder::new(9, seq, 1, MAX_RECORD_BYTES);
        for e in &batch {
            b.push(&e.as_event()).unwrap();
        }
        let got: Vec<_> = events(b.as_bytes()).into_iter().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(got, batch);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_reader(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(r) = RecordReader::new(&bytes) {
            for e in r.events().take(1000) {
                let _ = e;
            }
        }
    }
}

#[test]
fn an_event_that_cannot_be_encoded_leaves_the_record_unchanged() {
    let mut b = RecordBuilder::new(1, 1, 0, MAX_RECORD_BYTES);
    b.push(&gap()).unwrap();
    let before = b.as_bytes().to_vec();
    let long = "X".repeat(300);
    let Event::StreamGap(g) = gap() else { panic!() };
    let err = b
        .push(&Event::StreamGap(StreamGapEvent { symbol: &long, ..g }))
        .unwrap_err();
    assert_eq!(err.kind(), "var_data_too_long");
    assert_eq!(b.as_bytes(), before.as_slice());
    assert_eq!(events(b.as_bytes()).len(), 1);
}
