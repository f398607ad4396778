//! `GET /v1/predictions/stream`: Server-Sent Events, one `prediction` event per published tick.
//! Subscribers are bounded (a semaphore permit per stream, 503 beyond), a slow subscriber skips
//! what it missed (tokio broadcast lag → a `lagged` comment) instead of holding memory, and every
//! stream ends when shutdown starts so the HTTP server can drain.

use crate::state::{Published, Shared};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use std::convert::Infallible;
use std::time::Duration;
use svc_kit::http::{Body, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, broadcast};
use tokio_util::sync::CancellationToken;

const KEEPALIVE: Duration = Duration::from_secs(15);

/// One SSE event for a prediction.
pub fn event(p: &Published) -> Bytes {
    let mut out = Vec::with_capacity(p.json.len() + 48);
    out.extend_from_slice(format!("id: {}\nevent: prediction\ndata: ", p.tick_time_us).as_bytes());
    out.extend_from_slice(&p.json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

struct Sub {
    rx: broadcast::Receiver<Published>,
    shutdown: CancellationToken,
    _permit: OwnedSemaphorePermit,
    started: bool,
}

async fn next(mut s: Sub) -> Option<(Bytes, Sub)> {
    if !s.started {
        s.started = true;
        return Some((Bytes::from_static(b"retry: 2000\n: connected\n\n"), s));
    }
    let chunk = tokio::select! {
        _ = s.shutdown.cancelled() => return None,
        _ = tokio::time::sleep(KEEPALIVE) => Bytes::from_static(b": keepalive\n\n"),
        r = s.rx.recv() => match r {
            Ok(p) => event(&p),
            Err(RecvError::Lagged(n)) => Bytes::from(format!(": lagged, {n} prediction(s) skipped\n\n")),
            Err(RecvError::Closed) => return None,
        },
    };
    Some((chunk, s))
}

pub fn response(shared: &Shared) -> Response<Body> {
    let Ok(permit) = shared.sse_slots.clone().try_acquire_owned() else {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "error": "too many stream subscribers" }),
        );
    };
    if shared.shutdown.is_cancelled() {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "error": "shutting down" }),
        );
    }
    let sub = Sub {
        rx: shared.subscribe(),
        shutdown: shared.shutdown.clone(),
        _permit: permit,
        started: false,
    };
    let stream = futures_util::stream::unfold(sub, next).map(|b| Ok::<_, Infallible>(Frame::data(b)));
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prediction_event_carries_its_tick_as_id_and_the_json_as_data() {
        let e = event(&Published {
            tick_time_us: 42,
            json: Bytes::from_static(b"{\"p_up\":0.5}"),
        });
        assert_eq!(&e[..], b"id: 42\nevent: prediction\ndata: {\"p_up\":0.5}\n\n");
    }
}
