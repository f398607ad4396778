//! SBE decode vs serde_json decode of the same Binance messages, taken from the real recording
//! (`../shared/data/market/hftbacktest/examples/spot/btcusdt_20240808.gz`) and converted to SBE by
//! the crate's exact JSON → SBE encoder. Falls back to embedded copies of recorded lines when the
//! recording is absent.
//!
//! Ids read by the bench report: `sbe_decode_trade_ns`, `json_decode_trade_ns`,
//! `sbe_decode_depth_diff_ns` (plus best-bid/ask, depth JSON and JSON-with-decimal variants).
//! Every SBE bench reads every field (and the symbol); every JSON bench deserialises every field
//! into borrowed `&str`s (the `_with_decimals` variant also parses price/qty exactly).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use binance_sbe::{Decimal, JsonContext, StreamEvent, decode_stream_frame, json_to_sbe};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use std::hint::black_box;
use std::io::BufRead;
use std::path::Path;

const TRADE: &str = r#"{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}"#;
const BOOK_TICKER: &str = r#"{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}"#;

#[derive(Deserialize)]
#[allow(non_snake_case, dead_code)]
struct TradeJson<'a> {
    e: &'a str,
    E: i64,
    s: &'a str,
    t: i64,
    p: &'a str,
    q: &'a str,
    T: i64,
    m: bool,
    M: bool,
}

#[derive(Deserialize)]
#[allow(non_snake_case, dead_code)]
struct BookTickerJson<'a> {
    u: i64,
    s: &'a str,
    b: &'a str,
    B: &'a str,
    a: &'a str,
    A: &'a str,
}

#[derive(Deserialize)]
#[allow(non_snake_case, dead_code)]
struct DepthJson<'a> {
    e: &'a str,
    E: i64,
    s: &'a str,
    U: i64,
    u: i64,
    #[serde(borrow)]
    b: Vec<[&'a str; 2]>,
    #[serde(borrow)]
    a: Vec<[&'a str; 2]>,
}

/// (trade, bookTicker, 20-level depth diff) JSON payloads, from the recording when present.
fn samples() -> (String, String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot/btcusdt_20240808.gz");
    let synthetic_depth = || {
        let lv = |p: u32| format!(r#"["{}.{:02}000000","0.{:05}000"]"#, 61_837 - p, p, p * 37);
        let side: Vec<String> = (0..10).map(lv).collect();
        format!(
            r#"{{"e":"depthUpdate","E":1723161255408,"s":"BTCUSDT","U":50093239208,"u":50093239224,"b":[{}],"a":[{}]}}"#,
            side.join(","),
            side.join(",")
        )
    };
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("recording absent ({}): using embedded samples", path.display());
        return (TRADE.into(), BOOK_TICKER.into(), synthetic_depth());
    };
    let (mut trade, mut ticker, mut depth) = (None, None, None);
    for line in std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines() {
        let line = line.unwrap();
        let Some((_, json)) = line.split_once(' ') else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let Some(data) = v.get("data") else { continue };
        let text = data.to_string();
        match v["stream"].as_str().unwrap_or("") {
            "btcusdt@trade" if trade.is_none() => trade = Some(text),
            "btcusdt@bookTicker" if ticker.is_none() => ticker = Some(text),
            "btcusdt@depth@100ms" if depth.is_none() => {
                let levels = data["b"].as_array().unwrap().len() + data["a"].as_array().unwrap().len();
                if levels == 20 {
                    depth = Some(text);
                }
            }
            _ => {}
        }
        if trade.is_some() && ticker.is_some() && depth.is_some() {
            break;
        }
    }
    (
        trade.unwrap(),
        ticker.unwrap(),
        depth.unwrap_or_else(synthetic_depth),
    )
}

fn sbe(json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let ctx = JsonContext {
        fallback_event_time_us: Some(1_723_161_254_087_891),
        ..Default::default()
    };
    json_to_sbe(json, &ctx, &mut out).unwrap();
    out
}

fn read_all(frame: &[u8]) -> i64 {
    match decode_stream_frame(frame) {
        Ok(StreamEvent::Trades(t)) => {
            let mut acc = t.event_time() ^ t.transact_time() ^ t.symbol().len() as i64;
            for x in t.trade_list() {
                acc ^= x.id ^ x.price.mantissa ^ x.qty.mantissa ^ i64::from(x.is_buyer_maker);
            }
            acc
        }
        Ok(StreamEvent::BestBidAsk(b)) => {
            b.event_time()
                ^ b.book_update_id()
                ^ b.bid_price_decimal().mantissa
                ^ b.bid_qty_decimal().mantissa
                ^ b.ask_price_decimal().mantissa
                ^ b.ask_qty_decimal().mantissa
                ^ b.symbol().len() as i64
        }
        Ok(StreamEvent::DepthDiff(d)) => {
            let mut acc =
                d.event_time() ^ d.first_book_update_id() ^ d.last_book_update_id() ^ d.symbol().len() as i64;
            for l in d.bid_levels().chain(d.ask_levels()) {
                acc ^= l.price.mantissa ^ l.qty.mantissa;
            }
            acc
        }
        Ok(StreamEvent::DepthSnapshot(_)) => 0,
        Err(e) => panic!("{e}"),
    }
}

fn benches(c: &mut Criterion) {
    let (trade, ticker, depth) = samples();
    let (trade_sbe, ticker_sbe, depth_sbe) = (sbe(&trade), sbe(&ticker), sbe(&depth));
    eprintln!(
        "sizes: trade {} B json / {} B sbe; bookTicker {} / {}; depth diff {} / {}",
        trade.len(),
        trade_sbe.len(),
        ticker.len(),
        ticker_sbe.len(),
        depth.len(),
        depth_sbe.len()
    );

    c.bench_function("sbe_decode_trade_ns", |b| {
        b.iter(|| read_all(black_box(&trade_sbe)))
    });
    c.bench_function("json_decode_trade_ns", |b| {
        b.iter(|| {
            serde_json::from_str::<TradeJson<'_>>(black_box(&trade))
                .unwrap()
                .t
        })
    });
    c.bench_function("json_decode_trade_with_decimals_ns", |b| {
        b.iter(|| {
            let t = serde_json::from_str::<TradeJson<'_>>(black_box(&trade)).unwrap();
            Decimal::parse(t.p).unwrap().mantissa ^ Decimal::parse(t.q).unwrap().mantissa
        })
    });
    c.bench_function("sbe_decode_best_bid_ask_ns", |b| {
        b.iter(|| read_all(black_box(&ticker_sbe)))
    });
    c.bench_function("json_decode_best_bid_ask_ns", |b| {
        b.iter(|| {
            serde_json::from_str::<BookTickerJson<'_>>(black_box(&ticker))
                .unwrap()
                .u
        })
    });
    c.bench_function("sbe_decode_depth_diff_ns", |b| {
        b.iter(|| read_all(black_box(&depth_sbe)))
    });
    c.bench_function("json_decode_depth_diff_ns", |b| {
        b.iter(|| {
            serde_json::from_str::<DepthJson<'_>>(black_box(&depth))
                .unwrap()
                .u
        })
    });
}

criterion_group!(decode, benches);
criterion_main!(decode);
