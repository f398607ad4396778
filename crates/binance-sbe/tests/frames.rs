//! Byte-level tests over hand-assembled frames, laid out from Binance's published offsets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use binance_sbe::stream::{self, BoolEnum};
use binance_sbe::{
    Decimal, DecodeError, RestResponse, StreamEvent, decode_rest_response, decode_stream_frame, rest,
};

fn header(block: u16, template: u16, schema: u16, version: u16) -> Vec<u8> {
    [block, template, schema, version]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// TradesStreamEvent with one trade, exactly as the stream sends it (65 bytes).
fn trade_frame() -> Vec<u8> {
    let mut f = header(18, 10000, 1, 0);
    f.extend(1_723_161_255_343_000i64.to_le_bytes()); // eventTime @0
    f.extend(1_723_161_255_342_000i64.to_le_bytes()); // transactTime @8
    f.push((-8i8) as u8); // priceExponent @16
    f.push((-8i8) as u8); // qtyExponent @17
    f.extend(25u16.to_le_bytes()); // group blockLength
    f.extend(1u32.to_le_bytes()); // numInGroup
    f.extend(3_735_683_259i64.to_le_bytes()); // id
    f.extend(6_183_763_000_000i64.to_le_bytes()); // price 61837.63
    f.extend(2_000_000i64.to_le_bytes()); // qty 0.02
    f.push(1); // isBuyerMaker
    f.push(7);
    f.extend(b"BTCUSDT");
    f
}

/// DepthDiffStreamEvent with one bid and two asks.
fn diff_frame() -> Vec<u8> {
    let mut f = header(26, 10003, 1, 0);
    f.extend(1_723_161_255_208_000i64.to_le_bytes());
    f.extend(50_093_239_189i64.to_le_bytes());
    f.extend(50_093_239_202i64.to_le_bytes());
    f.push((-2i8) as u8);
    f.push((-5i8) as u8);
    f.extend(16u16.to_le_bytes());
    f.extend(1u16.to_le_bytes());
    f.extend(6_173_763i64.to_le_bytes());
    f.extend(0i64.to_le_bytes());
    f.extend(16u16.to_le_bytes());
    f.extend(2u16.to_le_bytes());
    for (p, q) in [(6_183_764i64, 154_698i64), (6_183_985, 0)] {
        f.extend(p.to_le_bytes());
        f.extend(q.to_le_bytes());
    }
    f.push(7);
    f.extend(b"BTCUSDT");
    f
}

#[test]
fn a_hand_built_trade_frame_decodes_to_its_fields() {
    let frame = trade_frame();
    assert_eq!(frame.len(), 65);
    let StreamEvent::Trades(t) = decode_stream_frame(&frame).unwrap() else {
        panic!("not a trade")
    };
    assert_eq!(t.event_time(), 1_723_161_255_343_000);
    assert_eq!(t.transact_time(), 1_723_161_255_342_000);
    assert_eq!(t.symbol(), "BTCUSDT");
    assert_eq!(t.encoded_len(), 65);
    let trades: Vec<_> = t.trade_list().collect();
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0].id, 3_735_683_259);
    assert_eq!(trades[0].price.to_string(), "61837.63000000");
    assert_eq!(trades[0].qty.to_string(), "0.02000000");
    assert!(trades[0].is_buyer_maker);
    let entry = t.trades().next().unwrap();
    assert_eq!(
        entry.is_best_match(),
        BoolEnum::True,
        "constant field, not on the wire"
    );
}

#[test]
fn the_encoder_writes_the_same_bytes_as_the_published_layout() {
    let mut out = Vec::new();
    let mut enc = stream::TradesStreamEventEncoder::new(&mut out);
    enc.event_time(1_723_161_255_343_000)
        .transact_time(1_723_161_255_342_000)
        .price_exponent(-8)
        .qty_exponent(-8);
    enc.trades()
        .unwrap()
        .entry()
        .unwrap()
        .id(3_735_683_259)
        .price(6_183_763_000_000)
        .qty(2_000_000)
        .is_buyer_maker(BoolEnum::True);
    enc.symbol("BTCUSDT").unwrap();
    assert_eq!(enc.finish(), 65);
    assert_eq!(out, trade_frame());
}

#[test]
fn a_hand_built_depth_diff_decodes_levels_with_their_exponents() {
    let frame = diff_frame();
    assert_eq!(frame.len(), 50 + 16 * 3);
    let StreamEvent::DepthDiff(d) = decode_stream_frame(&frame).unwrap() else {
        panic!("not a diff")
    };
    assert_eq!(
        (d.first_book_update_id(), d.last_book_update_id()),
        (50_093_239_189, 50_093_239_202)
    );
    let bids: Vec<_> = d
        .bid_levels()
        .map(|l| (l.price.to_string(), l.qty.to_string()))
        .collect();
    let asks: Vec<_> = d
        .ask_levels()
        .map(|l| (l.price.to_string(), l.qty.to_string()))
        .collect();
    assert_eq!(bids, [("61737.63".into(), "0.00000".into())]);
    assert_eq!(
        asks,
        [
            ("61837.64".to_owned(), "1.54698".to_owned()),
            ("61839.85".into(), "0.00000".into())
        ]
    );
}

#[test]
fn every_truncation_of_a_valid_frame_is_a_truncated_error() {
    for frame in [trade_frame(), diff_frame()] {
        for len in 0..frame.len() {
            let err = decode_stream_frame(&frame[..len]).unwrap_err();
            assert!(matches!(err, DecodeError::Truncated { .. }), "len {len}: {err:?}");
            assert_eq!(err.kind(), "truncated");
        }
    }
}

#[test]
fn a_foreign_schema_id_is_rejected() {
    let mut f = trade_frame();
    f[4] = 3; // REST schema id
    assert_eq!(
        decode_stream_frame(&f).unwrap_err(),
        DecodeError::WrongSchemaId {
            expected: 1,
            actual: 3
        }
    );
}

#[test]
fn an_unknown_template_id_is_rejected_by_number() {
    let mut f = trade_frame();
    f[2..4].copy_from_slice(&10_004u16.to_le_bytes());
    let err = decode_stream_frame(&f).unwrap_err();
    assert_eq!(err, DecodeError::UnknownTemplate { template_id: 10_004 });
    assert_eq!(err.kind(), "unknown_template");
}

#[test]
fn an_oversized_group_count_is_rejected_before_reading_entries() {
    let mut f = trade_frame();
    f[8 + 18 + 2..8 + 18 + 6].copy_from_slice(&70_000u32.to_le_bytes());
    assert_eq!(
        decode_stream_frame(&f).unwrap_err(),
        DecodeError::GroupTooLarge {
            group: "trades",
            count: 70_000,
            max: 65_535
        }
    );
    // A count within the limit but beyond the bytes present is a truncation, not a read past the end.
    f[8 + 18 + 2..8 + 18 + 6].copy_from_slice(&1_000u32.to_le_bytes());
    assert!(matches!(
        decode_stream_frame(&f).unwrap_err(),
        DecodeError::Truncated { .. }
    ));
}

#[test]
fn blocks_shorter_than_the_schema_are_rejected() {
    let mut f = trade_frame();
    f[0..2].copy_from_slice(&17u16.to_le_bytes());
    assert_eq!(
        decode_stream_frame(&f).unwrap_err(),
        DecodeError::BlockTooShort {
            context: "TradesStreamEvent",
            min: 18,
            actual: 17
        }
    );
    let mut f = trade_frame();
    f[26..28].copy_from_slice(&24u16.to_le_bytes());
    assert_eq!(decode_stream_frame(&f).unwrap_err().kind(), "block_too_short");
}

#[test]
fn a_newer_version_with_longer_blocks_is_read_using_the_wire_block_lengths() {
    // Version 1 adds 4 bytes to the root block and 3 bytes to each trade entry.
    let old = trade_frame();
    let mut f = header(22, 10000, 1, 1);
    f.extend(&old[8..26]);
    f.extend([0xAA; 4]);
    f.extend(28u16.to_le_bytes());
    f.extend(1u32.to_le_bytes());
    f.extend(&old[32..57]);
    f.extend([0xBB; 3]);
    f.extend(&old[57..]);
    let StreamEvent::Trades(t) = decode_stream_frame(&f).unwrap() else {
        panic!("not a trade")
    };
    assert_eq!(t.header().version, 1);
    assert_eq!(t.symbol(), "BTCUSDT");
    let trade = t.trade_list().next().unwrap();
    assert_eq!(
        (trade.id, trade.price, trade.is_buyer_maker),
        (3_735_683_259, Decimal::new(6_183_763_000_000, -8), true)
    );
}

#[test]
fn invalid_enum_values_and_non_utf8_symbols_are_typed_errors() {
    let mut f = trade_frame();
    f[8 + 18 + 6 + 24] = 2;
    assert_eq!(
        decode_stream_frame(&f).unwrap_err(),
        DecodeError::InvalidEnum {
            field: "isBuyerMaker",
            value: 2
        }
    );
    let mut f = trade_frame();
    let last = f.len() - 1;
    f[last] = 0xFF;
    assert_eq!(
        decode_stream_frame(&f).unwrap_err(),
        DecodeError::InvalidUtf8 { field: "symbol" }
    );
}

#[test]
fn a_specific_decoder_refuses_another_template() {
    let err = stream::BestBidAskStreamEventDecoder::wrap(&trade_frame()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::WrongTemplate {
            expected: 10001,
            actual: 10000
        }
    );
}

fn rest_depth_frame(version: u16) -> Vec<u8> {
    let mut f = header(10, 200, 3, version);
    f.extend(50_093_239_218i64.to_le_bytes());
    f.push((-8i8) as u8);
    f.push((-8i8) as u8);
    f.extend(16u16.to_le_bytes());
    f.extend(1u32.to_le_bytes()); // 6-byte group header on REST
    f.extend(6_183_763_000_000i64.to_le_bytes());
    f.extend(378_826_000i64.to_le_bytes());
    f.extend(16u16.to_le_bytes());
    f.extend(0u32.to_le_bytes());
    f
}

#[test]
fn a_rest_depth_response_uses_six_byte_group_headers() {
    let f = rest_depth_frame(5);
    let RestResponse::Depth(d) = decode_rest_response(&f).unwrap() else {
        panic!("not depth")
    };
    assert_eq!(d.last_update_id(), 50_093_239_218);
    let bids: Vec<_> = d.bid_levels().collect();
    assert_eq!(bids.len(), 1);
    assert_eq!(bids[0].qty.to_string(), "3.78826000");
    assert_eq!(d.ask_levels().count(), 0);
    assert_eq!(d.encoded_len(), f.len());
}

#[test]
fn rest_versions_older_than_3_2_are_rejected_and_later_ones_accepted() {
    assert!(decode_rest_response(&rest_depth_frame(2)).is_ok());
    assert!(decode_rest_response(&rest_depth_frame(6)).is_ok());
    assert_eq!(
        decode_rest_response(&rest_depth_frame(1)).unwrap_err(),
        DecodeError::UnsupportedVersion { min: 2, actual: 1 }
    );
}

#[test]
fn a_rest_error_response_exposes_code_message_and_optional_times() {
    let mut f = header(18, 100, 3, 5);
    f.extend((-1003i16).to_le_bytes());
    f.extend(1_723_161_255_000_000i64.to_le_bytes());
    f.extend(i64::MIN.to_le_bytes()); // retryAfter: null
    let msg = b"Too many requests.";
    f.extend((msg.len() as u16).to_le_bytes());
    f.extend(msg);
    f.extend(0u32.to_le_bytes());
    let RestResponse::Error(e) = decode_rest_response(&f).unwrap() else {
        panic!("not an error")
    };
    assert_eq!(e.code(), -1003);
    assert_eq!(e.server_time(), Some(1_723_161_255_000_000));
    assert_eq!(e.retry_after(), None);
    assert_eq!(e.msg(), "Too many requests.");
    assert!(e.data().is_empty());

    let mut out = Vec::new();
    let mut enc = rest::ErrorResponseEncoder::new(&mut out);
    enc.code(-1003).server_time(Some(1_723_161_255_000_000));
    enc.msg("Too many requests.").unwrap();
    let _ = enc.finish();
    assert_eq!(
        out, f,
        "retryAfter defaults to null and the empty data section is written by finish"
    );
}

#[test]
fn error_kinds_are_short_static_labels() {
    let kinds = [
        DecodeError::Truncated { need: 1, have: 0 }.kind(),
        DecodeError::WrongSchemaId {
            expected: 1,
            actual: 2,
        }
        .kind(),
        DecodeError::UnsupportedVersion { min: 1, actual: 0 }.kind(),
        DecodeError::UnknownTemplate { template_id: 1 }.kind(),
        DecodeError::GroupTooLarge {
            group: "g",
            count: 2,
            max: 1,
        }
        .kind(),
    ];
    let unique: std::collections::HashSet<_> = kinds.iter().collect();
    assert_eq!(unique.len(), kinds.len());
    assert!(
        kinds
            .iter()
            .all(|k| k.len() < 32 && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    );
}
