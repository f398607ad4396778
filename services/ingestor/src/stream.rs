//! The SBE WebSocket client: connect (rate-limited, jittered exponential backoff reset once data
//! flows), read frames into the [`Ingest`] hot path, answer pings (tungstenite queues the pong;
//! each counts against the client-message window), reconnect on idle timeout, `serverShutdown`,
//! errors, and before the 24 h lifetime. Every reconnect is announced in-band.

use crate::forward::Forwarder;
use crate::ingest::{Ingest, SnapshotRequest};
use crate::ratelimit::RollingWindow;
use crate::recorder::RecorderHandle;
use crate::status::StreamStatus;
use futures_util::StreamExt;
use metrics_schema::labels::{ErrorType, InputSource, Stage};
use metrics_schema::services::ingestor::InputSourceLabels;
use pipeline_events::{GapReason, ReconnectReason};
use std::sync::Arc;
use std::time::Duration;
use svc_kit::backoff::Backoff;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, connect_async_tls_with_config};
use tokio_util::sync::CancellationToken;

pub struct StreamParams {
    pub url: String,
    pub api_key: Option<Arc<str>>,
    pub idle_timeout: Duration,
    pub max_age: Duration,
    pub connect_timeout: Duration,
    pub backoff: Backoff,
    pub connects: RollingWindow,
    pub messages: RollingWindow,
    pub tls: Arc<rustls::ClientConfig>,
    /// Largest message / frame accepted (`exchange.max_message_bytes`).
    pub max_message_bytes: usize,
}

/// The WebSocket limits: one cap for a frame and for a message (Binance sends one message per
/// frame), instead of tungstenite's 64 MiB / 16 MiB defaults.
pub fn ws_config(max_message_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_message_bytes))
}

/// The combined-stream URL for `symbols` × `streams`.
pub fn stream_url(base: &str, symbols: &[String], streams: &[String]) -> String {
    let names: Vec<String> = symbols
        .iter()
        .flat_map(|s| {
            streams
                .iter()
                .map(move |k| format!("{}@{k}", s.to_ascii_lowercase()))
        })
        .collect();
    format!(
        "{}/stream?streams={}",
        base.trim_end_matches('/'),
        names.join("/")
    )
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Shutdown,
    Reconnect(ReconnectReason),
}

pub struct StreamClient {
    pub params: StreamParams,
    pub ingest: Ingest,
    pub forward: Forwarder,
    pub snapshots: mpsc::Sender<SnapshotRequest>,
    pub status: StreamStatus,
    pub recorder: Option<RecorderHandle>,
}

impl StreamClient {
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut reason = ReconnectReason::Startup;
        let mut down_since: Option<i64> = None;
        let mut first = true;
        loop {
            if let Err(wait) = self.params.connects.try_acquire(std::time::Instant::now()) {
                tracing::warn!(?wait, "connection attempts at the rate limit; waiting");
                if sleep_or_shutdown(wait, &shutdown).await {
                    return;
                }
                continue;
            }
            let attempt = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = tokio::time::timeout(self.params.connect_timeout, self.connect()) => r,
            };
            let ws = match attempt {
                Ok(Ok(ws)) => ws,
                Ok(Err(e)) => {
                    self.connect_failed(&e);
                    if self.wait_backoff(&shutdown).await {
                        return;
                    }
                    continue;
                }
                Err(_) => {
                    self.connect_failed("connect timed out");
                    if self.wait_backoff(&shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            let now = crate::clock::now_ns();
            if !first {
                self.status.metrics.all.sbe_reconnections.inc();
            }
            first = false;
            self.ingest.connected(reason, down_since.map(|d| now - d), now);
            self.status.connected(self.ingest.epoch());
            tracing::info!(epoch = self.ingest.epoch(), ?reason, "stream connected");
            self.flush().await;
            let end = self.read(ws, &shutdown).await;
            let now = crate::clock::now_ns();
            down_since = Some(now);
            self.status.disconnected(now);
            match end {
                End::Shutdown => return,
                End::Reconnect(r) => {
                    tracing::warn!(reason = ?r, "stream disconnected; reconnecting");
                    self.ingest.gap_all(GapReason::Disconnected, now);
                    self.flush().await;
                    reason = r;
                    let planned = matches!(r, ReconnectReason::ServerShutdown | ReconnectReason::Lifetime);
                    if !planned && self.wait_backoff(&shutdown).await {
                        return;
                    }
                }
            }
        }
    }

    async fn connect(
        &self,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        String,
    > {
        let mut req = self
            .params
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| e.to_string())?;
        if let Some(k) = &self.params.api_key {
            let v = HeaderValue::from_str(k)
                .map_err(|_| "the API key is not a valid header value".to_string())?;
            req.headers_mut().insert("X-MBX-APIKEY", v);
        }
        let connector = Connector::Rustls(self.params.tls.clone());
        let cfg = ws_config(self.params.max_message_bytes);
        let (ws, _) = connect_async_tls_with_config(req, Some(cfg), true, Some(connector))
            .await
            .map_err(|e| e.to_string())?;
        Ok(ws)
    }

    fn connect_failed(&self, e: &str) {
        tracing::warn!(error = %e, url = %self.params.url, "stream connect failed");
        self.status.metrics.error(ErrorType::Connection, Stage::Websocket);
    }

    /// Sleeps the next backoff delay; true when shutdown came first.
    async fn wait_backoff(&mut self, shutdown: &CancellationToken) -> bool {
        let d = self.params.backoff.next_delay();
        sleep_or_shutdown(d, shutdown).await
    }

    async fn flush(&mut self) {
        if self.forward.send_all(&mut self.ingest.out).await > 0 {
            self.status.drop_marker_pending = true;
        }
        for req in self.ingest.snapshots.drain(..) {
            let _ = self.snapshots.try_send(req);
        }
    }

    async fn read(
        &mut self,
        mut ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        shutdown: &CancellationToken,
    ) -> End {
        let lifetime = tokio::time::sleep(self.params.max_age);
        tokio::pin!(lifetime);
        let mut last = Instant::now();
        let mut data_seen = false;
        loop {
            let idle = tokio::time::sleep_until(last + self.params.idle_timeout);
            let msg = tokio::select! {
                _ = shutdown.cancelled() => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return End::Shutdown;
                }
                _ = &mut lifetime => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return End::Reconnect(ReconnectReason::Lifetime);
                }
                _ = idle => {
                    self.status.metrics.error(ErrorType::Timeout, Stage::Websocket);
                    return End::Reconnect(ReconnectReason::PingTimeout);
                }
                m = ws.next() => m,
            };
            last = Instant::now();
            let msg = match msg {
                Some(Ok(m)) => m,
                Some(Err(WsError::Capacity(e))) => {
                    tracing::error!(error = %e, limit = self.params.max_message_bytes,
                        "stream message over exchange.max_message_bytes; reconnecting");
                    self.status
                        .metrics
                        .all
                        .oversized_inputs
                        .get_or_create(&InputSourceLabels {
                            source: InputSource::Websocket,
                        })
                        .inc();
                    return End::Reconnect(ReconnectReason::ConnectionError);
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "stream read failed");
                    self.status.metrics.error(ErrorType::Connection, Stage::Websocket);
                    return End::Reconnect(ReconnectReason::ConnectionError);
                }
                None => return End::Reconnect(ReconnectReason::ConnectionError),
            };
            match msg {
                Message::Binary(frame) => {
                    let recv_ns = crate::clock::now_ns();
                    self.status.message(recv_ns);
                    if let Some(r) = &self.recorder {
                        r.record(recv_ns, frame.clone()).await;
                    }
                    if self.status.drop_marker_pending && self.forward.has_room(self.ingest_symbols() + 1) {
                        self.status.drop_marker_pending = false;
                        self.ingest.gap_all(GapReason::Dropped, recv_ns);
                    }
                    self.ingest.frame(&frame, recv_ns);
                    self.flush().await;
                    if !data_seen {
                        data_seen = true;
                        self.params.backoff.reset();
                    }
                }
                Message::Text(text) => {
                    self.status.message(crate::clock::now_ns());
                    if is_server_shutdown(text.as_str()) {
                        tracing::warn!("serverShutdown received; reconnecting now");
                        let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                        return End::Reconnect(ReconnectReason::ServerShutdown);
                    }
                    tracing::debug!(text = %text.as_str(), "control message");
                }
                Message::Ping(_) => {
                    // tungstenite queues the pong and sends it with the next read.
                    self.params.messages.record(std::time::Instant::now());
                }
                Message::Close(frame) => {
                    tracing::warn!(?frame, "server closed the stream");
                    return End::Reconnect(ReconnectReason::ConnectionError);
                }
                Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    fn ingest_symbols(&self) -> usize {
        self.status.symbols
    }
}

/// A `serverShutdown` event (`{"e":"serverShutdown","E":...}`).
pub fn is_server_shutdown(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("e").and_then(|e| e.as_str()).map(|e| e == "serverShutdown"))
        .unwrap_or(false)
}

/// Sleeps `d`; true when shutdown came first.
async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_combines_every_stream_of_every_symbol_in_lower_case() {
        let url = stream_url(
            "wss://stream-sbe.binance.com:9443/",
            &["BTCUSDT".into()],
            &["trade".into(), "bestBidAsk".into(), "depth".into()],
        );
        assert_eq!(
            url,
            "wss://stream-sbe.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@bestBidAsk/btcusdt@depth"
        );
    }

    #[test]
    fn only_a_server_shutdown_event_asks_for_a_reconnect() {
        assert!(is_server_shutdown(
            r#"{"e":"serverShutdown","E":1728972148778716}"#
        ));
        assert!(!is_server_shutdown(r#"{"result":null,"id":1}"#));
        assert!(!is_server_shutdown("not json"));
    }
}
