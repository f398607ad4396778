//! The feed: pulls events from a [`Source`], paces them, applies armed faults, keeps the served book
//! in step and publishes frames to the sessions.

mod pacer;
mod state;

use std::sync::Arc;

use bytes::Bytes;
use market::{DepthDiff, DepthSnapshot};

pub use pacer::Pacer;
pub use state::MarketState;

use crate::faults::Damage;
use crate::frames;
use crate::hub::{Outbound, Shared, lock};
use crate::stats::inc;
use crate::streams::StreamKind;

/// One event of a source.
#[derive(Debug, Clone)]
pub struct SourceEvent {
    /// Position on the source's own clock (µs), used for pacing only.
    pub pacing_us: u64,
    /// The event.
    pub kind: EventKind,
}

/// What a source produces.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// A stream frame, ready to send; `diff` is set for `@depth` frames (it feeds the served book).
    Frame {
        stream: StreamKind,
        frame: Vec<u8>,
        diff: Option<DepthDiff>,
        /// Exchange event time (µs).
        event_time_us: u64,
    },
    /// A REST depth snapshot (recorded, or the synthetic book at start); not streamed.
    Snapshot(DepthSnapshot),
}

/// Why a source could not produce an event.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} line {line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
}

/// A pull-based market-event source (pure or file-backed; never async).
pub trait Source: Send {
    /// The next event, `None` at the end.
    fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>>;
    /// Starts over (for `--loop`); ids and times must keep rising. `false` if unsupported.
    fn restart(&mut self) -> Result<bool, SourceError>;
    /// The market was paused for `us`: move the source's clock forward by that much (nothing
    /// happens in between), so later event times are current again. `false` if unsupported
    /// (recorded times), and the pacing is shifted instead.
    fn skip(&mut self, _us: u64) -> bool {
        false
    }
}

/// Runs the feed until the source ends (without `--loop`) or shutdown.
pub async fn run(shared: Arc<Shared>, mut source: Box<dyn Source>) {
    // Snapshots are loaded at once (REST works immediately); frames wait for a subscriber.
    let mut waiting = shared.cfg.wait_for_subscriber;
    let mut pacer = Pacer::new(shared.cfg.speed);
    let mut out_buf = Vec::with_capacity(4096);
    loop {
        if shared.shutdown.is_cancelled() {
            return;
        }
        match pacer.hold(&shared).await {
            None => return,
            Some(held) if !held.is_zero() => {
                let us = u64::try_from(held.as_micros()).unwrap_or(u64::MAX);
                if !source.skip(us) {
                    pacer.shift(held);
                }
            }
            Some(_) => {}
        }
        let event = match source.next_event() {
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                inc(&shared.stats.source_errors);
                tracing::warn!(error = %e, "source event skipped");
                continue;
            }
            None => {
                if !shared.cfg.loop_source || !restart(&shared, source.as_mut()) {
                    shared
                        .stats
                        .source_finished
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!("source finished");
                    return;
                }
                pacer.reset();
                continue;
            }
        };
        if waiting && matches!(event.kind, EventKind::Frame { .. }) {
            shared.wait_for_subscriber().await;
            waiting = false;
        }
        if !pacer.wait(event.pacing_us, &shared).await {
            return;
        }
        inc(&shared.stats.source_events);
        process(&shared, event.kind, &mut out_buf);
    }
}

fn restart(shared: &Shared, source: &mut dyn Source) -> bool {
    match source.restart() {
        Ok(true) => {
            inc(&shared.stats.source_loops);
            lock(&shared.market).reset();
            shared.publish(Outbound::DisconnectAll);
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::error!(error = %e, "source restart failed");
            false
        }
    }
}

fn process(shared: &Shared, kind: EventKind, out_buf: &mut Vec<u8>) {
    match kind {
        EventKind::Snapshot(snap) => {
            let mut market = lock(&shared.market);
            market.on_snapshot(&snap);
            if market.is_servable() {
                shared.book_ready.notify_waiters();
            }
        }
        EventKind::Frame {
            stream,
            frame,
            diff,
            event_time_us,
        } => {
            let stats = &shared.stats;
            stats
                .last_event_time_us
                .fetch_max(event_time_us, std::sync::atomic::Ordering::Relaxed);
            let depth20 = diff.and_then(|d| update_book(shared, d, event_time_us));
            if stream == StreamKind::Depth && lock(&shared.faults).take_drop_diff() {
                inc(&stats.dropped_depth_diffs);
            } else {
                send(shared, stream, frame);
            }
            if let Some((id, top)) = depth20 {
                out_buf.clear();
                let sym = &shared.cfg.symbol;
                if frames::depth20(out_buf, &shared.scale, event_time_us, id, &top, sym).is_ok() {
                    send(shared, StreamKind::Depth20, out_buf.clone());
                }
            }
        }
    }
}

/// Applies a diff to the served book; returns `@depth20` content when one is due.
fn update_book(shared: &Shared, diff: DepthDiff, event_time_us: u64) -> Option<(u64, market::TopOfBook)> {
    let last_u = diff.last_update_id;
    let mut market = lock(&shared.market);
    let was_synced = market.is_synced();
    let synced = market.on_diff(diff);
    shared
        .stats
        .last_update_id
        .fetch_max(last_u, std::sync::atomic::Ordering::Relaxed);
    if synced && !was_synced {
        shared.book_ready.notify_waiters();
    }
    let interval = u64::try_from(shared.cfg.depth20_interval.as_micros()).unwrap_or(u64::MAX);
    synced
        .then(|| market.depth20_due(event_time_us, interval))
        .flatten()
}

/// Publishes a frame, damaged if a corrupt / truncate fault is armed for its stream; during a
/// network stall the frame is lost (counted in `stall_lost_frames`, not in `sent`).
fn send(shared: &Shared, stream: StreamKind, frame: Vec<u8>) {
    if shared.stalled_until().is_some() {
        inc(&shared.stats.stall_lost_frames);
        return;
    }
    let damage = lock(&shared.faults).take_damage(stream);
    let frame = match damage {
        None => frame,
        Some(Damage::Corrupt) => {
            inc(&shared.stats.corrupted_frames);
            frames::corrupt(&frame)
        }
        Some(Damage::Truncate) => {
            inc(&shared.stats.truncated_frames);
            frames::truncated(&frame)
        }
    };
    shared.stats.published.inc(stream);
    shared.publish(Outbound::Data {
        kind: stream,
        frame: Bytes::from(frame),
    });
}
