//! Every event of the real Binance spot recording (hftbacktest BTCUSDT 2024-08-08/09) converts to
//! SBE and decodes back to exactly the same values. Skips with a reason when the data is absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use binance_sbe::{
    Decimal, JsonContext, JsonKind, Level, RestResponse, StreamEvent, decode_rest_response,
    decode_stream_frame, json_to_sbe,
};
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/market/hftbacktest/examples/spot")
}

fn dec(v: &Value) -> Decimal {
    Decimal::parse(v.as_str().expect("decimal string")).unwrap()
}

/// Exact equality: same value and the same written precision (so the string round-trips).
fn same(json: &Value, d: Decimal) {
    assert_eq!(json.as_str().unwrap(), d.to_string());
    assert!(dec(json).same_value(d));
}

fn levels(json: &Value, got: impl Iterator<Item = Level>) {
    let got: Vec<Level> = got.collect();
    let want = json.as_array().unwrap();
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(got) {
        same(&w[0], g.price);
        same(&w[1], g.qty);
    }
}

fn ms_to_us(v: &Value) -> i64 {
    v.as_i64().unwrap() * 1000
}

#[derive(Default, Debug, PartialEq)]
struct Counts {
    trade: usize,
    book_ticker: usize,
    depth_diff: usize,
    snapshot: usize,
}

fn check_line(recv_ns: i64, json: &str, counts: &mut Counts, buf: &mut Vec<u8>) {
    buf.clear();
    let ctx = JsonContext {
        fallback_event_time_us: Some(recv_ns / 1000),
        ..Default::default()
    };
    let kind = json_to_sbe(json, &ctx, buf).unwrap_or_else(|e| panic!("{e}: {json}"));
    let v: Value = serde_json::from_str(json).unwrap();
    let d = v.get("data").unwrap_or(&v);
    if kind == JsonKind::RestDepth {
        counts.snapshot += 1;
        let RestResponse::Depth(r) = decode_rest_response(buf).unwrap() else {
            panic!("not depth")
        };
        assert_eq!(r.encoded_len(), buf.len());
        assert_eq!(r.last_update_id(), d["lastUpdateId"].as_i64().unwrap());
        levels(&d["bids"], r.bid_levels());
        levels(&d["asks"], r.ask_levels());
        return;
    }
    let ev = decode_stream_frame(buf).unwrap();
    assert_eq!(ev.symbol(), d["s"].as_str().unwrap());
    match (kind, ev) {
        (JsonKind::Trade, StreamEvent::Trades(t)) => {
            counts.trade += 1;
            assert_eq!(t.event_time(), ms_to_us(&d["E"]));
            assert_eq!(t.transact_time(), ms_to_us(&d["T"]));
            let trades: Vec<_> = t.trade_list().collect();
            assert_eq!(trades.len(), 1);
            assert_eq!(trades[0].id, d["t"].as_i64().unwrap());
            same(&d["p"], trades[0].price);
            same(&d["q"], trades[0].qty);
            assert_eq!(trades[0].is_buyer_maker, d["m"].as_bool().unwrap());
        }
        (JsonKind::BestBidAsk, StreamEvent::BestBidAsk(b)) => {
            counts.book_ticker += 1;
            assert_eq!(
                b.event_time(),
                recv_ns / 1000,
                "spot bookTicker has no E: receive time is used"
            );
            assert_eq!(b.book_update_id(), d["u"].as_i64().unwrap());
            same(&d["b"], b.bid_price_decimal());
            same(&d["B"], b.bid_qty_decimal());
            same(&d["a"], b.ask_price_decimal());
            same(&d["A"], b.ask_qty_decimal());
        }
        (JsonKind::DepthDiff, StreamEvent::DepthDiff(x)) => {
            counts.depth_diff += 1;
            assert_eq!(x.event_time(), ms_to_us(&d["E"]));
            assert_eq!(x.first_book_update_id(), d["U"].as_i64().unwrap());
            assert_eq!(x.last_book_update_id(), d["u"].as_i64().unwrap());
            levels(&d["b"], x.bid_levels());
            levels(&d["a"], x.ask_levels());
        }
        (k, e) => panic!("{k:?} decoded as {}", e.kind()),
    }
}

#[test]
fn every_recorded_spot_event_round_trips_through_sbe_exactly() {
    let files = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"].map(|f| data_dir().join(f));
    if let Some(missing) = files.iter().find(|f| !f.exists()) {
        eprintln!(
            "SKIP: recording {} not found (shared market data absent)",
            missing.display()
        );
        return;
    }
    let mut counts = Counts::default();
    let mut buf = Vec::with_capacity(64 * 1024);
    for file in &files {
        let gz = flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap());
        for line in std::io::BufReader::new(gz).lines() {
            let line = line.unwrap();
            let (ts, json) = line.split_once(' ').unwrap();
            check_line(ts.parse().unwrap(), json, &mut counts, &mut buf);
        }
    }
    // Counts published with the data (shared/data/market/README.md).
    assert_eq!(
        counts,
        Counts {
            trade: 19_904,
            book_ticker: 73_174,
            depth_diff: 6_495,
            snapshot: 1
        }
    );
}
