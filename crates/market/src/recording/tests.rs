use super::*;

const SCALE: InstrumentScale = InstrumentScale::BTCUSDT_SPOT;

fn parse(line: &str) -> RecordedEvent {
    match parse_line(line, 1, &SCALE) {
        Ok(Some(l)) => l.event,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn depth_envelope_parses_to_exact_levels_and_microseconds() {
    let line = r#"17 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":5,"u":9,"b":[["61737.63000000","0.00000000"]],"a":[["61837.64000000","1.54698000"]]}}"#;
    let RecordedEvent::Depth(d) = parse(line) else {
        panic!("not depth")
    };
    assert_eq!(
        (d.first_update_id, d.last_update_id, d.event_time_us),
        (5, 9, 1_723_161_255_208_000)
    );
    assert_eq!(d.bids, vec![Level::new(6_173_763, 0)]);
    assert_eq!(d.asks, vec![Level::new(6_183_764, 154_698_000)]);
}

#[test]
fn trade_and_book_ticker_envelopes_parse() {
    let trade = r#"1 {"stream":"btcusdt@trade","data":{"e":"trade","E":1000,"s":"BTCUSDT","t":42,"p":"61837.63000000","q":"0.02000000","T":999,"m":true,"M":true}}"#;
    let expected = Trade {
        event_time_us: 1_000_000,
        trade_id: 42,
        price: 6_183_763,
        qty: 2_000_000,
        is_buyer_maker: true,
    };
    assert_eq!(parse(trade), RecordedEvent::Trade(expected));
    let ticker = r#"2 {"stream":"btcusdt@bookTicker","data":{"u":7,"s":"BTCUSDT","b":"1.00000000","B":"2.00000000","a":"1.01000000","A":"0.50000000"}}"#;
    let RecordedEvent::BookTicker(b) = parse(ticker) else {
        panic!("not ticker")
    };
    assert_eq!(
        (b.event_time_us, b.update_id, b.bid, b.ask),
        (0, 7, Level::new(100, 200_000_000), Level::new(101, 50_000_000))
    );
}

#[test]
fn rest_snapshot_line_parses() {
    let line = r#"3 {"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"]],"asks":[]}"#;
    let RecordedEvent::Snapshot(s) = parse(line) else {
        panic!("not snapshot")
    };
    assert_eq!(s.last_update_id, 50_093_239_218);
    assert_eq!(s.bids, vec![Level::new(6_183_763, 378_826_000)]);
}

#[test]
fn bad_lines_are_errors_and_unknown_streams_are_skipped() {
    assert!(matches!(
        parse_line("nonsense", 4, &SCALE),
        Err(RecordingError::Format { line: 4 })
    ));
    assert!(matches!(
        parse_line("1 {\"lastUpdateId\":", 5, &SCALE),
        Err(RecordingError::Json { line: 5, .. })
    ));
    let sub_tick = r#"1 {"stream":"x@trade","data":{"E":1,"t":1,"p":"1.001","q":"1","m":false}}"#;
    assert!(matches!(
        parse_line(sub_tick, 6, &SCALE),
        Err(RecordingError::Decimal { line: 6, .. })
    ));
    let other = r#"1 {"stream":"btcusdt@aggTrade","data":{}}"#;
    assert!(matches!(parse_line(other, 7, &SCALE), Ok(None)));
}

#[test]
fn reader_skips_blank_lines_and_counts_line_numbers() {
    let text = "\n1 {\"lastUpdateId\":1,\"bids\":[],\"asks\":[]}\nbad\n";
    let mut r = RecordingReader::new(text.as_bytes(), SCALE);
    assert!(matches!(r.next(), Some(Ok(_))));
    assert!(matches!(r.next(), Some(Err(RecordingError::Format { line: 3 }))));
    assert!(r.next().is_none());
}
