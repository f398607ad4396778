//! Test helpers: an HTTP/1 client over a raw TCP stream, a WebSocket client, SBE → `market`
//! conversion and the shared recordings.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use binance_sbe::{StreamEvent, decode_stream_frame};
use bytes::Bytes;
use exchange_sim::StatsSnapshot;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use market::{DepthDiff, DepthSnapshot, InstrumentScale, Level};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub const SCALE: InstrumentScale = InstrumentScale::BTCUSDT_SPOT;

/// The spot recording pair, or `None` (with a printed reason) when `../shared` is absent.
pub fn spot_files() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot");
    let files: Vec<_> = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    if files.iter().all(|f| f.is_file()) {
        Some(files)
    } else {
        eprintln!("SKIP: recorded spot data not found under {}", dir.display());
        None
    }
}

/// One HTTP/1.1 request; returns status, headers and body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, bytes)
}

pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Bytes) {
    http(addr, "GET", path, headers, "").await
}

/// Posts a fault; panics unless accepted.
pub async fn fault(addr: SocketAddr, json: &str) {
    let (status, _, body) = http(addr, "POST", "/admin/fault", &[], json).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

pub async fn stats(addr: SocketAddr) -> StatsSnapshot {
    let (status, _, body) = get(addr, "/admin/stats", &[]).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

/// Opens a WebSocket at `path` (with an API key header when given).
pub async fn ws(
    addr: SocketAddr,
    path: &str,
    api_key: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    if let Some(k) = api_key {
        req.headers_mut().insert("X-MBX-APIKEY", k.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.map(|(ws, _)| ws)
}

/// Next binary or text message within `timeout` (pings are skipped; tungstenite answers them).
pub async fn next_msg(ws: &mut Ws, timeout: Duration) -> Option<Message> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()??;
        match msg {
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            Ok(m) => return Some(m),
            Err(_) => return None,
        }
    }
}

/// Levels of an SBE depth message in exact ticks / lots.
pub fn levels(it: impl Iterator<Item = binance_sbe::Level>) -> Vec<Level> {
    it.map(|l| {
        Level::new(
            SCALE
                .price_from_mantissa(l.price.mantissa, l.price.exponent)
                .unwrap(),
            SCALE.qty_from_mantissa(l.qty.mantissa, l.qty.exponent).unwrap(),
        )
    })
    .collect()
}

/// A depth diff frame as a `market` diff.
pub fn diff_of(frame: &[u8]) -> Option<DepthDiff> {
    match decode_stream_frame(frame) {
        Ok(StreamEvent::DepthDiff(d)) => Some(DepthDiff {
            first_update_id: u64::try_from(d.first_book_update_id()).unwrap(),
            last_update_id: u64::try_from(d.last_book_update_id()).unwrap(),
            event_time_us: u64::try_from(d.event_time()).unwrap(),
            bids: levels(d.bid_levels()),
            asks: levels(d.ask_levels()),
        }),
        _ => None,
    }
}

/// `GET /api/v3/depth` in SBE, decoded.
pub async fn rest_snapshot_sbe(addr: SocketAddr, limit: usize) -> DepthSnapshot {
    let path = format!("/api/v3/depth?symbol=BTCUSDT&limit={limit}");
    let (status, headers, body) = get(
        addr,
        &path,
        &[("accept", "application/sbe"), ("x-mbx-sbe", "3:2")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{headers:?}");
    assert_eq!(headers["content-type"], "application/sbe");
    assert!(headers.contains_key("x-mbx-used-weight-1m"));
    match binance_sbe::decode_rest_response(&body).unwrap() {
        binance_sbe::RestResponse::Depth(d) => DepthSnapshot {
            last_update_id: u64::try_from(d.last_update_id()).unwrap(),
            bids: levels(d.bid_levels()),
            asks: levels(d.ask_levels()),
        },
        other => panic!("unexpected {other:?}"),
    }
}

/// Polls stats until `pred` holds (or panics after `timeout`).
pub async fn wait_stats(
    addr: SocketAddr,
    timeout: Duration,
    pred: impl Fn(&StatsSnapshot) -> bool,
) -> StatsSnapshot {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let s = stats(addr).await;
        if pred(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A synthetic simulator config (seeded, fixed start time), real-time pacing unless changed.
pub fn synthetic_config(seed: u64) -> exchange_sim::SimConfig {
    let mut cfg = exchange_sim::SimConfig::for_tests(exchange_sim::SourceConfig::Synthetic {
        seed,
        start_time_us: Some(1_700_000_000_000_000),
        params: exchange_sim::SyntheticParams::default(),
    });
    cfg.speed = exchange_sim::Speed::Factor(1.0);
    cfg
}

/// Sends a JSON control request and returns the next text reply.
pub async fn request(ws: &mut Ws, json: &str) -> serde_json::Value {
    use futures_util::SinkExt;
    ws.send(Message::text(json.to_owned())).await.unwrap();
    loop {
        match next_msg(ws, Duration::from_secs(5)).await {
            Some(Message::Text(t)) => return serde_json::from_str(t.as_str()).unwrap(),
            Some(_) => continue,
            None => panic!("no reply to {json}"),
        }
    }
}

/// Reads until the connection ends; returns whether a close frame was received.
pub async fn read_until_closed(ws: &mut Ws, timeout: Duration) -> Option<bool> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(None | Some(Err(_))) => return Some(false),
            Ok(Some(Ok(Message::Close(_)))) => return Some(true),
            Ok(Some(Ok(_))) => {}
        }
    }
}
