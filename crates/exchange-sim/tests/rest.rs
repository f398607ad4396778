//! REST: depth in SBE and JSON (same book), Binance error codes, request weight with
//! `X-MBX-USED-WEIGHT-1M`, 429 then 418 bans, exchangeInfo, ping, time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use binance_sbe::{RestResponse, decode_rest_response};
use common::*;
use exchange_sim::Simulator;
use hyper::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_in_json_and_sbe_describe_the_same_uncrossed_book() {
    let mut cfg = synthetic_config(21);
    cfg.wait_for_subscriber = false;
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    // Pause the market (lossless; during a network stall the book moves on) so both requests see
    // the same book.
    let sbe_first = rest_snapshot_sbe(addr, 50).await;
    fault(addr, r#"{"type":"pause","duration_ms":2000}"#).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sbe = rest_snapshot_sbe(addr, 50).await;
    assert!(sbe.last_update_id >= sbe_first.last_update_id);
    let (status, headers, body) = get(addr, "/api/v3/depth?symbol=BTCUSDT&limit=50", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["lastUpdateId"].as_u64(), Some(sbe.last_update_id));
    let bids = json["bids"].as_array().unwrap();
    assert_eq!(bids.len(), 50);
    assert_eq!(sbe.bids.len(), 50);
    let first_bid = SCALE.parse_price(bids[0][0].as_str().unwrap()).unwrap();
    assert_eq!(first_bid, sbe.bids[0].price);
    assert!(sbe.bids[0].price < sbe.asks[0].price);
    assert!(
        sbe.bids.windows(2).all(|w| w[0].price > w[1].price),
        "bids best first"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_binance_error_codes() {
    let sim = Simulator::start(synthetic_config(22)).await.unwrap();
    let addr = sim.local_addr();
    let cases = [
        ("/api/v3/depth", -1102),
        ("/api/v3/depth?symbol=ETHUSDT", -1121),
        ("/api/v3/depth?symbol=BTCUSDT&limit=abc", -1100),
    ];
    for (path, code) in cases {
        let (status, _, body) = get(addr, path, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(err["code"], code, "{path}");
    }
    // SBE only, without a usable X-MBX-SBE: an SBE-encoded error.
    let (status, headers, body) = get(addr, "/api/v3/ping", &[("accept", "application/sbe")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["content-type"], "application/sbe");
    let Ok(RestResponse::Error(e)) = decode_rest_response(&body) else {
        panic!("not an SBE error")
    };
    assert_eq!(e.code(), -1152);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_weight_is_reported_then_limited_with_429_and_banned_with_418() {
    let mut cfg = synthetic_config(23);
    cfg.rest_weight_limit = 12;
    cfg.ban_after_violations = 2;
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    let mut seen = Vec::new();
    for _ in 0..6 {
        // limit=100 weighs 5.
        let (status, headers, _) = get(addr, "/api/v3/depth?symbol=BTCUSDT&limit=100", &[]).await;
        let used = headers["x-mbx-used-weight-1m"]
            .to_str()
            .unwrap()
            .parse::<u32>()
            .unwrap();
        seen.push((status.as_u16(), used, headers.contains_key("retry-after")));
    }
    assert_eq!(
        seen,
        [
            (200, 5, false),
            (200, 10, false),
            (429, 15, true),
            (429, 20, true),
            (418, 25, true),
            (418, 30, true)
        ]
    );
    let s = stats(addr).await;
    assert_eq!((s.rest.rate_limited_429, s.rest.banned_418), (2, 2));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_info_ping_and_time_answer_in_json_and_sbe() {
    let sim = Simulator::start(synthetic_config(24)).await.unwrap();
    let addr = sim.local_addr();
    let (status, headers, body) = get(addr, "/api/v3/exchangeInfo", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-mbx-used-weight-1m"], "20");
    let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["symbols"][0]["symbol"], "BTCUSDT");
    assert_eq!(info["symbols"][0]["filters"][0]["tickSize"], "0.01000000");
    assert_eq!(info["rateLimits"][0]["rateLimitType"], "REQUEST_WEIGHT");
    let (_, _, body) = get(addr, "/api/v3/ping", &[]).await;
    assert_eq!(&body[..], b"{}");
    let sbe = [("accept", "application/sbe"), ("x-mbx-sbe", "3:5")];
    let (status, _, body) = get(addr, "/api/v3/ping", &sbe).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], &[0, 0, 101, 0, 3, 0, 5, 0], "PingResponse header only");
    let (_, _, body) = get(addr, "/api/v3/time", &sbe).await;
    assert_eq!((body.len(), body[2]), (16, 102));
    sim.shutdown().await;
}
