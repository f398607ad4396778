//! JSON → SBE conversion: exact decimals, envelopes, and typed errors that leave the buffer intact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use binance_sbe::{
    ConvertError, Decimal, JsonContext, JsonKind, StreamEvent, TimeUnit, decode_stream_frame, json_to_sbe,
};

const TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;

#[test]
fn a_combined_stream_trade_converts_to_a_65_byte_frame() {
    let mut out = Vec::new();
    assert_eq!(
        json_to_sbe(TRADE, &JsonContext::default(), &mut out).unwrap(),
        JsonKind::Trade
    );
    assert_eq!(out.len(), 65);
    let StreamEvent::Trades(t) = decode_stream_frame(&out).unwrap() else {
        panic!()
    };
    assert_eq!(t.event_time(), 1_723_161_255_343_000);
    let trade = t.trade_list().next().unwrap();
    assert_eq!(trade.price, Decimal::new(6_183_763_000_000, -8));
}

#[test]
fn microsecond_json_timestamps_are_taken_as_is() {
    let json = r#"{"e":"trade","E":1723161255343123,"s":"BTCUSDT","t":1,"p":"1.0","q":"2","T":1723161255342999,"m":false}"#;
    let mut out = Vec::new();
    let ctx = JsonContext {
        time_unit: TimeUnit::Micros,
        ..Default::default()
    };
    json_to_sbe(json, &ctx, &mut out).unwrap();
    let StreamEvent::Trades(t) = decode_stream_frame(&out).unwrap() else {
        panic!()
    };
    assert_eq!(
        (t.event_time(), t.transact_time()),
        (1_723_161_255_343_123, 1_723_161_255_342_999)
    );
    let trade = t.trade_list().next().unwrap();
    assert_eq!(
        (
            trade.price.to_string(),
            trade.qty.to_string(),
            trade.is_buyer_maker
        ),
        ("1.0".into(), "2".into(), false)
    );
}

#[test]
fn levels_with_mixed_precision_share_the_finest_exponent_exactly() {
    let json = r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":7,"b":[["100.5","1"],["100.25","0.001"]],"a":[]}"#;
    let mut out = Vec::new();
    json_to_sbe(json, &JsonContext::default(), &mut out).unwrap();
    let StreamEvent::DepthDiff(d) = decode_stream_frame(&out).unwrap() else {
        panic!()
    };
    assert_eq!((d.price_exponent(), d.qty_exponent()), (-2, -3));
    let bids: Vec<_> = d.bid_levels().collect();
    assert!(bids[0].price.same_value(Decimal::new(1005, -1)));
    assert_eq!(bids[1].qty, Decimal::new(1, -3));
    assert_eq!(d.ask_levels().len(), 0);
}

#[test]
fn a_book_ticker_without_event_time_needs_a_fallback() {
    let json = r#"{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}"#;
    let mut out = vec![0xEE];
    let err = json_to_sbe(json, &JsonContext::default(), &mut out).unwrap_err();
    assert!(matches!(err, ConvertError::MissingField("E")), "{err}");
    assert_eq!(out, [0xEE], "buffer untouched on error");
    let ctx = JsonContext {
        fallback_event_time_us: Some(42),
        ..Default::default()
    };
    assert_eq!(json_to_sbe(json, &ctx, &mut out).unwrap(), JsonKind::BestBidAsk);
    let StreamEvent::BestBidAsk(b) = decode_stream_frame(&out[1..]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (b.event_time(), b.ask_qty_decimal().to_string()),
        (42, "1.54698000".to_owned())
    );
}

#[test]
fn bad_input_gives_typed_errors_with_metric_kinds() {
    let cases = [
        ("{not json", "json"),
        (r#"{"e":"kline","E":1}"#, "unknown_event"),
        (
            r#"{"e":"trade","E":1,"s":"X","t":1,"q":"1","T":1,"m":true}"#,
            "missing_field",
        ),
        (
            r#"{"e":"trade","E":1,"s":"X","t":1,"p":"1e5","q":"1","T":1,"m":true}"#,
            "decimal_syntax",
        ),
        (
            r#"{"e":"trade","E":1,"s":"X","t":1,"p":"99999999999999999999","q":"1","T":1,"m":true}"#,
            "decimal_overflow",
        ),
        (
            r#"{"e":"trade","E":9223372036854775807,"s":"X","t":1,"p":"1","q":"1","T":1,"m":true}"#,
            "time_range",
        ),
    ];
    for (json, kind) in cases {
        let mut out = Vec::new();
        let err = json_to_sbe(json, &JsonContext::default(), &mut out).unwrap_err();
        assert_eq!(err.kind(), kind, "{json}: {err}");
        assert!(out.is_empty());
    }
}

#[test]
fn a_symbol_longer_than_255_bytes_cannot_be_encoded() {
    let json = format!(
        r#"{{"e":"trade","E":1,"s":"{}","t":1,"p":"1","q":"1","T":1,"m":true}}"#,
        "X".repeat(256)
    );
    let mut out = Vec::new();
    let err = json_to_sbe(&json, &JsonContext::default(), &mut out).unwrap_err();
    assert_eq!(err.kind(), "var_data_too_long");
    assert!(out.is_empty());
}
