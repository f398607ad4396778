//! WebSocket upgrade on the shared hyper server: `/ws`, `/ws/<stream>[/<stream>…]` and
//! `/stream?streams=<a>/<b>`, with the `X-MBX-APIKEY` check.

use std::sync::Arc;

use hyper::header::{CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::http::{Body, json_error};
use super::session;
use crate::hub::Shared;
use crate::stats::inc;
use crate::streams::{Subscriptions, parse_stream};

/// Is this a WebSocket path?
pub fn is_ws_path(path: &str) -> bool {
    path == "/ws" || path.starts_with("/ws/") || path == "/stream"
}

/// Stream names requested in the URL.
fn requested_streams<'a>(path: &'a str, query: Option<&'a str>) -> Vec<&'a str> {
    if let Some(rest) = path.strip_prefix("/ws/") {
        return rest.split('/').filter(|s| !s.is_empty()).collect();
    }
    if path == "/stream" {
        return query
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.strip_prefix("streams="))
            .flat_map(|v| v.split('/'))
            .filter(|s| !s.is_empty())
            .collect();
    }
    Vec::new()
}

/// Answers the upgrade request (101) and spawns the session, or rejects it.
pub fn upgrade(shared: &Arc<Shared>, mut req: Request<hyper::body::Incoming>) -> Response<Body> {
    let reject = |status, code, msg: &str| {
        inc(&shared.stats.rejected_upgrades);
        json_error(status, code, msg)
    };
    let is_upgrade = req
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY).cloned() else {
        return reject(StatusCode::BAD_REQUEST, -1100, "WebSocket upgrade required.");
    };
    if !is_upgrade {
        return reject(StatusCode::BAD_REQUEST, -1100, "WebSocket upgrade required.");
    }
    if shared.cfg.api_key_required {
        let has_key = req
            .headers()
            .get("x-mbx-apikey")
            .is_some_and(|v| !v.as_bytes().is_empty());
        if !has_key {
            return reject(StatusCode::UNAUTHORIZED, -2014, "API-key format invalid.");
        }
    }
    let symbol = shared.cfg.stream_symbol();
    let mut subs = Subscriptions::default();
    for name in requested_streams(req.uri().path(), req.uri().query()) {
        match parse_stream(name, &symbol) {
            Some(kind) => subs.add(kind),
            None => {
                let msg = format!("Invalid request: unknown stream `{name}`.");
                return reject(StatusCode::BAD_REQUEST, -1121, &msg);
            }
        }
    }
    // Subscribe to the broadcast before answering, so nothing published after the 101 is missed.
    let rx = shared.subscribe();
    let on_upgrade = hyper::upgrade::on(&mut req);
    let session_shared = Arc::clone(shared);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
                session::run(session_shared, ws, subs, rx).await;
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    });
    let mut resp = Response::new(super::http::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_come_from_the_path_or_the_streams_query() {
        assert_eq!(requested_streams("/ws/btcusdt@trade", None), ["btcusdt@trade"]);
        assert_eq!(
            requested_streams("/ws/btcusdt@trade/btcusdt@depth", None),
            ["btcusdt@trade", "btcusdt@depth"]
        );
        assert_eq!(
            requested_streams("/stream", Some("streams=btcusdt@depth/btcusdt@bestBidAsk")),
            ["btcusdt@depth", "btcusdt@bestBidAsk"]
        );
        assert!(requested_streams("/ws", None).is_empty());
        assert!(is_ws_path("/ws") && is_ws_path("/stream") && !is_ws_path("/wsx"));
    }
}
