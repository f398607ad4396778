//! WebSocket protocol behaviour: paths, API key, JSON control requests, pings, pong timeout,
//! lifetime, message rate and slow-client disconnects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use binance_sbe::decode_stream_frame;
use common::*;
use exchange_sim::{Simulator, Speed};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_list_and_unsubscribe_control_which_frames_arrive() {
    let sim = Simulator::start(synthetic_config(1)).await.unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(addr, "/ws", None).await.unwrap();
    let reply = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["btcusdt@depth","btcusdt@depth20"],"id":1}"#,
    )
    .await;
    assert_eq!(reply, json!({"result": null, "id": 1}));
    let reply = request(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#).await;
    assert_eq!(
        reply,
        json!({"result": ["btcusdt@depth", "btcusdt@depth20"], "id": 3})
    );
    let mut kinds = std::collections::BTreeSet::new();
    while kinds.len() < 2 {
        let Some(Message::Binary(f)) = next_msg(&mut ws, Duration::from_secs(5)).await else {
            panic!("no frames")
        };
        kinds.insert(decode_stream_frame(&f).unwrap().kind());
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["depth_diff", "depth_snapshot"]
    );
    let reply = request(
        &mut ws,
        r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth","btcusdt@depth20"],"id":4}"#,
    )
    .await;
    assert_eq!(reply, json!({"result": null, "id": 4}));
    let reply = request(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["ethusdt@trade"],"id":5}"#,
    )
    .await;
    assert_eq!(reply["error"]["code"], 2, "{reply}");
    assert_eq!(reply["id"], 5);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn combined_path_streams_only_the_named_streams() {
    let sim = Simulator::start(synthetic_config(2)).await.unwrap();
    let mut ws = ws(
        sim.local_addr(),
        "/stream?streams=btcusdt@trade/btcusdt@bestBidAsk",
        None,
    )
    .await
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let Some(Message::Binary(f)) = next_msg(&mut ws, Duration::from_secs(10)).await else {
            panic!("no frames")
        };
        seen.insert(decode_stream_frame(&f).unwrap().kind());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["best_bid_ask", "trade"]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_needs_an_api_key_when_required_and_known_streams() {
    let mut cfg = synthetic_config(3);
    cfg.api_key_required = true;
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    let err = ws(addr, "/ws/btcusdt@trade", None).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let err = ws(addr, "/ws/btcusdt@kline_1m", Some("k")).await.unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    assert!(ws(addr, "/ws/btcusdt@trade", Some("k")).await.is_ok());
    assert_eq!(stats(addr).await.rejected_upgrades, 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_client_is_dropped_after_the_pong_timeout_while_a_ponging_client_stays() {
    let mut cfg = synthetic_config(4);
    cfg.ping_interval = Duration::from_millis(100);
    cfg.pong_timeout = Duration::from_millis(400);
    cfg.client_message_limit = 0;
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    // Never reads, so tungstenite never answers the pings.
    let _silent = ws(addr, "/ws", None).await.unwrap();
    let mut live = ws(addr, "/ws", None).await.unwrap();
    // Reading makes tungstenite answer every ping.
    assert_eq!(
        read_until_closed(&mut live, Duration::from_millis(1200)).await,
        None
    );
    let s = stats(addr).await;
    assert_eq!(s.disconnects.ping_timeout, 1, "{s:?}");
    assert_eq!(s.clients, 1);
    assert!(s.pings_sent >= 10 && s.pongs_received >= 5, "{s:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_is_closed_with_a_close_frame_at_its_maximum_lifetime() {
    let mut cfg = synthetic_config(5);
    cfg.max_lifetime = Duration::from_millis(300);
    let sim = Simulator::start(cfg).await.unwrap();
    let mut ws = ws(sim.local_addr(), "/ws/btcusdt@depth", None).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        read_until_closed(&mut ws, Duration::from_secs(5)).await,
        Some(true)
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    // The server counts a disconnect after sending the close frame: wait for the client to be gone.
    let s = wait_stats(sim.local_addr(), Duration::from_secs(5), |s| s.clients == 0).await;
    assert_eq!(s.disconnects.lifetime, 1, "{s:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_five_client_messages_a_second_disconnect() {
    let sim = Simulator::start(synthetic_config(6)).await.unwrap();
    let mut ws = ws(sim.local_addr(), "/ws", None).await.unwrap();
    use futures_util::SinkExt;
    for id in 0..8 {
        let msg = format!(r#"{{"method":"LIST_SUBSCRIPTIONS","id":{id}}}"#);
        if ws.send(Message::text(msg)).await.is_err() {
            break;
        }
    }
    assert_eq!(
        read_until_closed(&mut ws, Duration::from_secs(5)).await,
        Some(true)
    );
    let s = wait_stats(sim.local_addr(), Duration::from_secs(5), |s| s.clients == 0).await;
    assert_eq!(s.disconnects.message_rate, 1, "{s:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_when_its_queue_overflows() {
    let mut cfg = synthetic_config(7);
    cfg.speed = Speed::Factor(1e6);
    cfg.client_queue = 16;
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    let _stuck = ws(
        addr,
        "/stream?streams=btcusdt@depth/btcusdt@trade/btcusdt@bestBidAsk",
        None,
    )
    .await
    .unwrap();
    let s = wait_stats(addr, Duration::from_secs(60), |s| s.disconnects.slow_client == 1).await;
    assert_eq!(s.clients, 0);
    sim.shutdown().await;
}
