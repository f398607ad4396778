//! Property: encoding any values and decoding them gives the same values back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use binance_sbe::stream::{self, BoolEnum};
use binance_sbe::{RestResponse, StreamEvent, decode_rest_response, decode_stream_frame, rest};
use proptest::prelude::*;

type Levels = Vec<(i64, i64)>;

fn levels() -> impl Strategy<Value = Levels> {
    prop::collection::vec((any::<i64>(), any::<i64>()), 0..40)
}

fn symbol() -> impl Strategy<Value = String> {
    "[A-Z0-9]{0,20}|\\PC{0,8}"
}

proptest! {
    #[test]
    fn trades_round_trip(
        times in (any::<i64>(), any::<i64>()), exps in (any::<i8>(), any::<i8>()),
        trades in prop::collection::vec((any::<i64>(), any::<i64>(), any::<i64>(), any::<bool>()), 0..20),
        sym in symbol(), prefix in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let mut out = prefix.clone();
        let mut enc = stream::TradesStreamEventEncoder::new(&mut out);
        enc.event_time(times.0).transact_time(times.1).price_exponent(exps.0).qty_exponent(exps.1);
        {
            let mut g = enc.trades().unwrap();
            for &(id, p, q, m) in &trades {
                g.entry().unwrap().id(id).price(p).qty(q).is_buyer_maker(if m { BoolEnum::True } else { BoolEnum::False });
            }
        }
        enc.symbol(&sym).unwrap();
        let len = enc.finish();
        prop_assert_eq!(len, out.len() - prefix.len());
        let StreamEvent::Trades(t) = decode_stream_frame(&out[prefix.len()..]).unwrap() else { panic!() };
        prop_assert_eq!((t.event_time(), t.transact_time()), times);
        prop_assert_eq!((t.price_exponent(), t.qty_exponent()), exps);
        let got: Vec<_> = t.trade_list().map(|x| (x.id, x.price.mantissa, x.qty.mantissa, x.is_buyer_maker)).collect();
        prop_assert_eq!(got, trades);
        prop_assert_eq!(t.symbol(), sym.as_str());
        prop_assert_eq!(t.encoded_len(), len);
    }

    #[test]
    fn best_bid_ask_round_trips(v in any::<[i64; 6]>(), exps in (any::<i8>(), any::<i8>()), sym in symbol()) {
        let mut out = Vec::new();
        let mut enc = stream::BestBidAskStreamEventEncoder::new(&mut out);
        enc.event_time(v[0]).book_update_id(v[1]).price_exponent(exps.0).qty_exponent(exps.1)
            .bid_price(v[2]).bid_qty(v[3]).ask_price(v[4]).ask_qty(v[5]);
        enc.symbol(&sym).unwrap();
        let _ = enc.finish();
        let StreamEvent::BestBidAsk(b) = decode_stream_frame(&out).unwrap() else { panic!() };
        prop_assert_eq!([b.event_time(), b.book_update_id(), b.bid_price(), b.bid_qty(), b.ask_price(), b.ask_qty()], v);
        prop_assert_eq!((b.price_exponent(), b.qty_exponent()), exps);
        prop_assert_eq!(b.symbol(), sym.as_str());
    }

    #[test]
    fn depth_diff_and_snapshot_round_trip(ids in any::<[i64; 3]>(), bids in levels(), asks in levels(), sym in symbol()) {
        let mut out = Vec::new();
        let mut enc = stream::DepthDiffStreamEventEncoder::new(&mut out);
        enc.event_time(ids[0]).first_book_update_id(ids[1]).last_book_update_id(ids[2]).price_exponent(-2).qty_exponent(-8);
        { let mut g = enc.bids().unwrap(); for &(p, q) in &bids { g.entry().unwrap().price(p).qty(q); } }
        { let mut g = enc.asks().unwrap(); for &(p, q) in &asks { g.entry().unwrap().price(p).qty(q); } }
        enc.symbol(&sym).unwrap();
        let _ = enc.finish();
        let StreamEvent::DepthDiff(d) = decode_stream_frame(&out).unwrap() else { panic!() };
        prop_assert_eq!([d.event_time(), d.first_book_update_id(), d.last_book_update_id()], ids);
        prop_assert_eq!(d.bids().map(|e| (e.price(), e.qty())).collect::<Levels>(), bids.clone());
        prop_assert_eq!(d.asks().map(|e| (e.price(), e.qty())).collect::<Levels>(), asks.clone());

        let mut out = Vec::new();
        let mut enc = stream::DepthSnapshotStreamEventEncoder::new(&mut out);
        enc.event_time(ids[0]).book_update_id(ids[1]);
        { let mut g = enc.bids().unwrap(); for &(p, q) in &bids { g.entry().unwrap().price(p).qty(q); } }
        // asks deliberately not started: finish() writes an empty group and the symbol follows.
        let _ = enc.finish();
        let StreamEvent::DepthSnapshot(s) = decode_stream_frame(&out).unwrap() else { panic!() };
        prop_assert_eq!(s.bids().map(|e| (e.price(), e.qty())).collect::<Levels>(), bids);
        prop_assert_eq!((s.asks_count(), s.symbol()), (0, ""));
    }

    #[test]
    fn rest_depth_round_trips(id in any::<i64>(), bids in levels(), asks in levels()) {
        let mut out = Vec::new();
        let mut enc = rest::DepthResponseEncoder::new(&mut out);
        enc.last_update_id(id).price_exponent(-8).qty_exponent(-8);
        { let mut g = enc.bids().unwrap(); for &(p, q) in &bids { g.entry().unwrap().price(p).qty(q); } }
        { let mut g = enc.asks().unwrap(); for &(p, q) in &asks { g.entry().unwrap().price(p).qty(q); } }
        let _ = enc.finish();
        let RestResponse::Depth(d) = decode_rest_response(&out).unwrap() else { panic!() };
        prop_assert_eq!(d.last_update_id(), id);
        prop_assert_eq!(d.bids().map(|e| (e.price(), e.qty())).collect::<Levels>(), bids);
        prop_assert_eq!(d.asks().map(|e| (e.price(), e.qty())).collect::<Levels>(), asks);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_stream_frame(&bytes);
        let _ = decode_rest_response(&bytes);
    }
}

#[test]
fn writing_a_group_after_a_later_section_is_refused() {
    let mut out = Vec::new();
    let mut enc = stream::DepthDiffStreamEventEncoder::new(&mut out);
    enc.asks().unwrap();
    assert_eq!(enc.bids().err().map(|e| e.kind()), Some("section_out_of_order"));
}

#[test]
fn a_group_refuses_entries_past_its_limit() {
    let mut out = Vec::new();
    let mut enc = stream::DepthDiffStreamEventEncoder::new(&mut out);
    let mut g = enc.bids().unwrap();
    for _ in 0..stream::depth_diff_stream_event::BIDS_MAX_COUNT {
        g.entry().unwrap();
    }
    assert_eq!(g.entry().err().map(|e| e.kind()), Some("group_too_large"));
    assert_eq!(g.count(), 65_535);
}
