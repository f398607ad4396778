//! One WebSocket client: forwards subscribed frames from the broadcast, answers control requests,
//! pings every `ping_interval`, and disconnects on pong timeout, lifetime end, message-rate abuse,
//! queue overflow (slow client) or a forced disconnect.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::control;
use crate::hub::{Outbound, Shared};
use crate::stats::inc;
use crate::streams::Subscriptions;

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    ClientClosed,
    PongTimeout,
    Lifetime,
    MessageRate,
    SlowClient,
    Forced,
    Shutdown,
}

/// Tracks the subscribed-session count for `wait_for_subscriber`.
struct SubscriberGuard<'a> {
    shared: &'a Shared,
    counted: bool,
}

impl SubscriberGuard<'_> {
    fn update(&mut self, subs: &Subscriptions) {
        let want = !subs.is_empty();
        if want != self.counted {
            self.shared.subscriber_delta(if want { 1 } else { -1 });
            self.counted = want;
        }
    }
}

impl Drop for SubscriberGuard<'_> {
    fn drop(&mut self) {
        if self.counted {
            self.shared.subscriber_delta(-1);
        }
    }
}

/// Fixed one-second window of client messages.
struct RateWindow {
    start: Instant,
    count: u32,
}

impl RateWindow {
    fn exceeded(&mut self, limit: u32, now: Instant) -> bool {
        if now.duration_since(self.start) >= Duration::from_secs(1) {
            self.start = now;
            self.count = 0;
        }
        self.count += 1;
        limit > 0 && self.count > limit
    }
}

/// Runs the session to its end.
pub async fn run(
    shared: Arc<Shared>,
    ws: Ws,
    mut subs: Subscriptions,
    mut rx: broadcast::Receiver<Outbound>,
) {
    let stats = &shared.stats;
    inc(&stats.connections_total);
    inc(&stats.clients);
    let mut guard = SubscriberGuard {
        shared: &shared,
        counted: false,
    };
    guard.update(&subs);
    let end = serve(&shared, ws, &mut subs, &mut rx, &mut guard).await;
    drop(guard);
    let counter = match end {
        End::PongTimeout => Some(&stats.ping_timeouts),
        End::Lifetime => Some(&stats.lifetime_disconnects),
        End::MessageRate => Some(&stats.message_rate_disconnects),
        End::SlowClient => Some(&stats.slow_client_disconnects),
        End::Forced => Some(&stats.forced_disconnects),
        End::ClientClosed | End::Shutdown => None,
    };
    if let Some(c) = counter {
        inc(c);
    }
    // Last, so that whoever sees the client gone also sees why it went.
    stats.clients.fetch_sub(1, std::sync::atomic::Ordering::Release);
    tracing::debug!(?end, "websocket session ended");
}

async fn serve(
    shared: &Shared,
    ws: Ws,
    subs: &mut Subscriptions,
    rx: &mut broadcast::Receiver<Outbound>,
    guard: &mut SubscriberGuard<'_>,
) -> End {
    let cfg = &shared.cfg;
    let stats = &shared.stats;
    let symbol = cfg.stream_symbol();
    let (mut sink, mut stream) = ws.split();
    let started = Instant::now();
    let lifetime_end = started + cfg.max_lifetime;
    let mut next_ping = started + cfg.ping_interval;
    // Oldest ping not yet answered by a pong.
    let mut unanswered: Option<Instant> = None;
    let mut rate = RateWindow {
        start: started,
        count: 0,
    };
    let mut combined = false;
    let mut ping_seq: u64 = 0;
    let mut unflushed = false;
    let close = |code: CloseCode, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    loop {
        let pong_deadline = unanswered.map(|t| t + cfg.pong_timeout);
        let timer = pong_deadline
            .map_or(next_ping, |d| d.min(next_ping))
            .min(lifetime_end);
        tokio::select! {
            () = shared.shutdown.cancelled() => {
                let _ = sink.send(close(CloseCode::Away, "server shutting down")).await;
                return End::Shutdown;
            }
            () = sleep_until(timer) => {
                let now = Instant::now();
                if now >= lifetime_end {
                    let _ = sink.send(close(CloseCode::Normal, "connection lifetime reached")).await;
                    return End::Lifetime;
                }
                if pong_deadline.is_some_and(|d| now >= d) {
                    let _ = sink.send(close(CloseCode::Policy, "pong timeout")).await;
                    return End::PongTimeout;
                }
                if now >= next_ping {
                    next_ping = now + cfg.ping_interval;
                    if !shared.is_silent() {
                        ping_seq += 1;
                        let payload = ping_seq.to_string().into_bytes();
                        if sink.send(Message::Ping(payload.into())).await.is_err() {
                            return End::ClientClosed;
                        }
                        inc(&stats.pings_sent);
                        unanswered.get_or_insert(now);
                    }
                }
            }
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { return End::ClientClosed };
                let counted = matches!(msg, Message::Text(_) | Message::Ping(_) | Message::Pong(_));
                if counted && rate.exceeded(cfg.client_message_limit, Instant::now()) {
                    let _ = sink.send(close(CloseCode::Policy, "too many messages")).await;
                    return End::MessageRate;
                }
                match msg {
                    Message::Text(text) => {
                        inc(&stats.control_messages);
                        let reply = control::handle(text.as_str(), &symbol, subs, &mut combined);
                        guard.update(subs);
                        if sink.send(Message::text(reply)).await.is_err() {
                            return End::ClientClosed;
                        }
                    }
                    Message::Pong(_) => {
                        inc(&stats.pongs_received);
                        unanswered = None;
                    }
                    // tungstenite queues the pong itself; flush it out now.
                    Message::Ping(_) => {
                        if sink.flush().await.is_err() {
                            return End::ClientClosed;
                        }
                    }
                    Message::Close(_) => return End::ClientClosed,
                    Message::Binary(_) | Message::Frame(_) => {}
                }
            }
            out = rx.recv() => {
                let msg = match out {
                    Ok(Outbound::Data { kind, frame }) => subs.contains(kind).then(|| {
                        stats.sent.inc(kind);
                        Message::Binary(frame)
                    }),
                    Ok(Outbound::Binary(frame)) => Some(Message::Binary(frame)),
                    Ok(Outbound::Text(text)) => Some(Message::text(text)),
                    Ok(Outbound::DisconnectAll) => return End::Forced,
                    Err(RecvError::Lagged(_)) => return End::SlowClient,
                    Err(RecvError::Closed) => return End::Shutdown,
                };
                if let Some(msg) = msg {
                    if sink.feed(msg).await.is_err() {
                        return End::ClientClosed;
                    }
                    unflushed = true;
                }
                // Batch writes while frames are queued; flush as soon as the queue is drained.
                if unflushed && rx.is_empty() {
                    if sink.flush().await.is_err() {
                        return End::ClientClosed;
                    }
                    unflushed = false;
                }
            }
        }
    }
}
