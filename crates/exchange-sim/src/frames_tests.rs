use super::*;
use binance_sbe::{Decimal, RestResponse, StreamEvent, decode_rest_response, decode_stream_frame};

const SCALE: InstrumentScale = InstrumentScale::BTCUSDT_SPOT;

fn top() -> TopOfBook {
    TopOfBook {
        bids: vec![Level::new(6_160_201, 150_000_000), Level::new(6_160_200, 1)],
        asks: vec![Level::new(6_160_202, 2_500_000)],
    }
}

#[test]
fn trade_frame_decodes_to_the_same_exact_values() {
    let fill = Trade {
        event_time_us: 7,
        trade_id: 42,
        price: 6_160_201,
        qty: 100_000,
        is_buyer_maker: true,
    };
    let mut out = Vec::new();
    trades(
        &mut out,
        &SCALE,
        6,
        &[fill, Trade { trade_id: 43, ..fill }],
        "BTCUSDT",
    )
    .unwrap();
    let Ok(StreamEvent::Trades(d)) = decode_stream_frame(&out) else {
        panic!("not a trade frame")
    };
    assert_eq!((d.event_time(), d.transact_time(), d.symbol()), (7, 6, "BTCUSDT"));
    let list: Vec<_> = d.trade_list().collect();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].price, Decimal::new(6_160_201, -2));
    assert_eq!(list[0].qty, Decimal::new(100_000, -8));
    assert!(list[0].is_buyer_maker);
    assert_eq!(list[1].id, 43);
}

#[test]
fn depth_frames_and_rest_bodies_round_trip() {
    let diff = DepthDiff {
        first_update_id: 10,
        last_update_id: 12,
        event_time_us: 99,
        bids: vec![Level::new(6_160_201, 0)],
        asks: vec![Level::new(6_160_202, 5)],
    };
    let mut out = Vec::new();
    depth_diff(&mut out, &SCALE, &diff, "BTCUSDT").unwrap();
    let Ok(StreamEvent::DepthDiff(d)) = decode_stream_frame(&out) else {
        panic!("not a diff")
    };
    assert_eq!((d.first_book_update_id(), d.last_book_update_id()), (10, 12));
    assert_eq!(d.bid_levels().next().map(|l| l.qty.mantissa), Some(0));

    out.clear();
    depth20(&mut out, &SCALE, 5, 12, &top(), "BTCUSDT").unwrap();
    let Ok(StreamEvent::DepthSnapshot(s)) = decode_stream_frame(&out) else {
        panic!("not depth20")
    };
    assert_eq!((s.book_update_id(), s.bids_count(), s.asks_count()), (12, 2, 1));

    out.clear();
    rest_depth(&mut out, &SCALE, 12, &top(), 2).unwrap();
    assert_eq!(u16::from_le_bytes([out[6], out[7]]), 2, "version as requested");
    let Ok(RestResponse::Depth(r)) = decode_rest_response(&out) else {
        panic!("not a depth response")
    };
    assert_eq!(r.last_update_id(), 12);
    assert_eq!(
        r.ask_levels().next().map(|l| (l.price, l.qty)),
        Some((Decimal::new(6_160_202, -2), Decimal::new(2_500_000, -8)))
    );
}

#[test]
fn rest_error_carries_code_message_and_retry_after() {
    let mut out = Vec::new();
    rest_error(&mut out, -1003, "Too much request weight used", 1, Some(2), 5).unwrap();
    let Ok(RestResponse::Error(e)) = decode_rest_response(&out) else {
        panic!("not an error")
    };
    assert_eq!(
        (e.code(), e.msg(), e.retry_after()),
        (-1003, "Too much request weight used", Some(2))
    );
}

#[test]
fn json_depth_uses_binance_eight_decimal_strings() {
    let json = rest_depth_json(&SCALE, 12, &top());
    assert_eq!(
        json,
        r#"{"asks":[["61602.02000000","0.02500000"]],"bids":[["61602.01000000","1.50000000"],["61602.00000000","0.00000001"]],"lastUpdateId":12}"#
    );
    assert_eq!(decimal_text(-125, 2), "-1.25000000");
}

#[test]
fn broken_frames_fail_decoding_with_distinct_errors() {
    let mut out = Vec::new();
    best_bid_ask(
        &mut out,
        &SCALE,
        &BestBidAsk {
            event_time_us: 1,
            update_id: 2,
            bid: Level::new(1, 1),
            ask: Level::new(2, 1),
        },
        "BTCUSDT",
    )
    .unwrap();
    assert!(decode_stream_frame(&out).is_ok());
    assert!(decode_stream_frame(&corrupt(&out)).is_err());
    assert!(decode_stream_frame(&truncated(&out)).is_err());
    let unknown = unknown_template(12_345);
    assert!(matches!(
        decode_stream_frame(&unknown),
        Err(binance_sbe::DecodeError::UnknownTemplate { template_id: 12_345 })
    ));
}
