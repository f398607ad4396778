//! Every fault, injected through `POST /admin/fault` at a chosen moment (or armed at start), and its
//! observable effect on a client plus the matching `/admin/stats` accounting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use binance_sbe::{DecodeError, decode_stream_frame};
use common::*;
use exchange_sim::{Fault, Simulator};
use hyper::StatusCode;
use tokio_tungstenite::tungstenite::Message;

async fn next_binary(ws: &mut Ws) -> bytes::Bytes {
    loop {
        match next_msg(ws, Duration::from_secs(5)).await {
            Some(Message::Binary(f)) => return f,
            Some(_) => continue,
            None => panic!("stream ended"),
        }
    }
}

/// Reads `n` depth diffs and returns how many `U != prev u + 1` breaks they contain (`prev`: the
/// last `u` seen so far, carried across calls).
async fn count_gaps(ws: &mut Ws, n: usize, prev: &mut Option<u64>) -> usize {
    let mut gaps = 0;
    for _ in 0..n {
        let d = diff_of(&next_binary(ws).await).expect("a depth diff");
        if prev.is_some_and(|u| d.first_update_id != u + 1) {
            gaps += 1;
        }
        *prev = Some(d.last_update_id);
    }
    gaps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_depth_diffs_makes_exactly_one_sequence_gap() {
    let sim = Simulator::start(synthetic_config(11)).await.unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(addr, "/ws/btcusdt@depth", None).await.unwrap();
    let mut prev = None;
    assert_eq!(
        count_gaps(&mut ws, 5, &mut prev).await,
        0,
        "contiguous before the fault"
    );
    fault(addr, r#"{"type":"drop_depth_diffs","count":3}"#).await;
    let gaps = count_gaps(&mut ws, 10, &mut prev).await;
    let s = stats(addr).await;
    assert_eq!(gaps, 1, "{s:?}");
    assert_eq!(s.faults_applied.dropped_depth_diffs, 3);
    assert_eq!(s.faults_requested["drop_depth_diffs"], 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_all_drops_every_client_without_a_close_frame() {
    let sim = Simulator::start(synthetic_config(12)).await.unwrap();
    let addr = sim.local_addr();
    let mut a = ws(addr, "/ws/btcusdt@depth", None).await.unwrap();
    let mut b = ws(addr, "/ws", None).await.unwrap();
    next_binary(&mut a).await;
    fault(addr, r#"{"type":"disconnect_all"}"#).await;
    assert_eq!(
        read_until_closed(&mut a, Duration::from_secs(5)).await,
        Some(false)
    );
    assert_eq!(
        read_until_closed(&mut b, Duration::from_secs(5)).await,
        Some(false)
    );
    let s = wait_stats(addr, Duration::from_secs(5), |s| s.clients == 0).await;
    assert_eq!(s.disconnects.forced, 2);
    assert!(ws(addr, "/ws", None).await.is_ok(), "clients can reconnect");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_silences_data_and_pings_without_closing_then_resumes() {
    let mut cfg = synthetic_config(13);
    cfg.ping_interval = Duration::from_millis(50);
    cfg.client_message_limit = 0;
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(addr, "/ws/btcusdt@depth", None).await.unwrap();
    next_binary(&mut ws).await;
    let pings_before = stats(addr).await.pings_sent;
    fault(addr, r#"{"type":"stall","duration_ms":600}"#).await;
    let stalled_at = Instant::now();
    // Frames already queued before the fault may still arrive; then silence.
    let mut last_frame = stalled_at;
    loop {
        match next_msg(&mut ws, Duration::from_millis(250)).await {
            Some(Message::Binary(_)) => last_frame = Instant::now(),
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    assert!(last_frame.duration_since(stalled_at) < Duration::from_millis(100));
    next_binary(&mut ws).await;
    let silence = stalled_at.elapsed();
    assert!(silence >= Duration::from_millis(550), "resumed after {silence:?}");
    let s = stats(addr).await;
    assert_eq!(s.faults_applied.stalls, 1);
    assert!(
        s.pings_sent - pings_before <= 4,
        "no pings during the stall: {s:?}"
    );
    assert_eq!(s.clients, 1, "the connection stayed open");
    sim.shutdown().await;
}

fn wall_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// The next depth diff and how far its event time lags the wall clock at receipt (µs).
async fn diff_and_lag(ws: &mut Ws) -> (market::DepthDiff, i64) {
    let d = diff_of(&next_binary(ws).await).expect("a depth diff");
    let lag = wall_us() - d.event_time_us as i64;
    (d, lag)
}

/// Reads diffs until none arrived for 250 ms (the fault took effect); the last `u` seen.
async fn drain_until_silent(ws: &mut Ws, mut last_u: u64) -> u64 {
    loop {
        match next_msg(ws, Duration::from_millis(250)).await {
            Some(Message::Binary(f)) => last_u = diff_of(&f).map_or(last_u, |d| d.last_update_id),
            Some(other) => panic!("unexpected {other:?}"),
            None => return last_u,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_stall_loses_the_market_it_missed_and_resumes_at_current_time() {
    let sim = Simulator::start(synthetic_config(16)).await.unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(addr, "/ws/btcusdt@depth", None).await.unwrap();
    let (d, lag_before) = diff_and_lag(&mut ws).await;
    fault(addr, r#"{"type":"stall","duration_ms":800}"#).await;
    let last_u = drain_until_silent(&mut ws, d.last_update_id).await;
    let (after, lag_after) = diff_and_lag(&mut ws).await;
    // The market went on: event times are current again and the diffs of the stall are gone.
    assert!(
        (lag_after - lag_before).abs() < 300_000,
        "event time lags the wall clock by {} ms more after the stall",
        (lag_after - lag_before) / 1000
    );
    assert!(
        after.first_update_id > last_u + 1,
        "a sequence gap: {last_u} -> {}",
        after.first_update_id
    );
    let s = stats(addr).await;
    assert!(s.faults_applied.stall_lost_frames > 0, "{s:?}");
    assert_eq!(s.faults_applied.pauses, 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_loses_nothing_and_resumes_at_current_time() {
    let mut cfg = synthetic_config(17);
    cfg.ping_interval = Duration::from_millis(50);
    cfg.client_message_limit = 0;
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(addr, "/ws/btcusdt@depth", None).await.unwrap();
    let (d, lag_before) = diff_and_lag(&mut ws).await;
    let pings_before = stats(addr).await.pings_sent;
    fault(addr, r#"{"type":"pause","duration_ms":800}"#).await;
    let paused_at = Instant::now();
    let last_u = drain_until_silent(&mut ws, d.last_update_id).await;
    let (after, lag_after) = diff_and_lag(&mut ws).await;
    let silence = paused_at.elapsed();
    assert!(silence >= Duration::from_millis(750), "resumed after {silence:?}");
    assert_eq!(after.first_update_id, last_u + 1, "no diff lost across the pause");
    assert!(
        (lag_after - lag_before).abs() < 300_000,
        "event time lags the wall clock by {} ms more after the pause",
        (lag_after - lag_before) / 1000
    );
    let s = stats(addr).await;
    assert_eq!(
        (s.faults_applied.pauses, s.faults_applied.stall_lost_frames),
        (1, 0),
        "{s:?}"
    );
    assert!(
        s.pings_sent - pings_before <= 4,
        "no pings during the pause: {s:?}"
    );
    assert_eq!(s.clients, 1, "the connection stayed open");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_and_truncated_frames_fail_to_decode_once_each() {
    let sim = Simulator::start(synthetic_config(14)).await.unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(addr, "/ws/btcusdt@depth", None).await.unwrap();
    next_binary(&mut ws).await;
    fault(addr, r#"{"type":"corrupt_frame"}"#).await;
    fault(addr, r#"{"type":"truncated_frame","stream":"depth"}"#).await;
    let mut errors = Vec::new();
    for _ in 0..8 {
        if let Err(e) = decode_stream_frame(&next_binary(&mut ws).await) {
            errors.push(e);
        }
    }
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().all(|e| matches!(
            e,
            DecodeError::Truncated { .. } | DecodeError::BlockTooShort { .. }
        )),
        "{errors:?}"
    );
    let s = stats(addr).await;
    assert_eq!(
        (
            s.faults_applied.corrupted_frames,
            s.faults_applied.truncated_frames
        ),
        (1, 1)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_template_frame_reaches_every_client() {
    let sim = Simulator::start(synthetic_config(15)).await.unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(addr, "/ws", None).await.unwrap();
    fault(addr, r#"{"type":"unknown_template","template_id":12345}"#).await;
    let f = next_binary(&mut ws).await;
    assert!(matches!(
        decode_stream_frame(&f),
        Err(DecodeError::UnknownTemplate { template_id: 12345 })
    ));
    assert_eq!(stats(addr).await.faults_applied.unknown_template_frames, 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_event_is_a_json_text_frame_followed_by_disconnect() {
    let sim = Simulator::start(synthetic_config(16)).await.unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(addr, "/ws/btcusdt@depth", None).await.unwrap();
    fault(addr, r#"{"type":"server_shutdown","disconnect_after_ms":200}"#).await;
    let text = loop {
        match next_msg(&mut ws, Duration::from_secs(5)).await {
            Some(Message::Text(t)) => break t,
            Some(_) => continue,
            None => panic!("no serverShutdown event"),
        }
    };
    let ev: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
    assert_eq!(ev["e"], "serverShutdown");
    assert!(ev["E"].as_u64().unwrap() > 1_000_000_000_000_000, "µs timestamp");
    assert_eq!(
        read_until_closed(&mut ws, Duration::from_secs(5)).await,
        Some(false)
    );
    assert_eq!(stats(addr).await.faults_applied.server_shutdown_events, 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_faults_answer_429_418_and_5xx_then_recover() {
    let mut cfg = synthetic_config(17);
    cfg.wait_for_subscriber = false;
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    let depth = "/api/v3/depth?symbol=BTCUSDT&limit=10";
    fault(addr, r#"{"type":"rest","status":429,"retry_after_secs":7}"#).await;
    fault(addr, r#"{"type":"rest","status":418,"retry_after_secs":120}"#).await;
    fault(addr, r#"{"type":"rest","status":503,"count":2}"#).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (status, headers, body) = get(addr, depth, &[]).await;
        let retry = headers.get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        seen.push((status.as_u16(), retry));
        if status != StatusCode::OK {
            let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(err["code"].as_i64().unwrap() < 0, "{err}");
        }
    }
    assert_eq!(
        seen,
        [
            (429, Some("7".into())),
            (418, Some("120".into())),
            (503, None),
            (503, None),
            (200, None)
        ]
    );
    assert_eq!(stats(addr).await.faults_applied.rest_faults_served, 4);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_rest_fault_delays_the_next_response() {
    let sim = Simulator::start(synthetic_config(18)).await.unwrap();
    let addr = sim.local_addr();
    fault(addr, r#"{"type":"rest_slow","delay_ms":400}"#).await;
    let started = Instant::now();
    let (status, _, _) = get(addr, "/api/v3/ping", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let started = Instant::now();
    get(addr, "/api/v3/ping", &[]).await;
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "only the next response is slow"
    );
    assert_eq!(stats(addr).await.faults_applied.rest_delayed, 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_armed_at_start_apply_to_the_first_requests() {
    let mut cfg = synthetic_config(19);
    cfg.faults = vec![Fault::Rest {
        status: 500,
        count: 1,
        retry_after_secs: None,
    }];
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    assert_eq!(
        get(addr, "/api/v3/ping", &[]).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(get(addr, "/api/v3/ping", &[]).await.0, StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_fault_json_is_rejected_and_clear_disarms() {
    let sim = Simulator::start(synthetic_config(20)).await.unwrap();
    let addr = sim.local_addr();
    let (status, _, _) = http(addr, "POST", "/admin/fault", &[], r#"{"type":"meteor"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    fault(addr, r#"{"type":"rest","status":503,"count":5}"#).await;
    let (status, _, _) = http(addr, "DELETE", "/admin/fault", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(addr, "/api/v3/ping", &[]).await.0, StatusCode::OK);
    sim.shutdown().await;
}
