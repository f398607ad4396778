//! A client syncs a local book per Binance's procedure (WebSocket diffs + REST snapshot) while the
//! simulator replays the real spot recording pair at max speed; the final touch must equal the last
//! recorded bookTicker (61602.01 / 61602.02).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use binance_sbe::{StreamEvent, decode_stream_frame};
use common::*;
use exchange_sim::{SimConfig, Simulator, SourceConfig};
use market::{BookSync, SyncConfig, SyncOutcome, SyncState};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_book_synced_from_rest_and_diffs_ends_at_the_last_recorded_book_ticker() {
    let Some(files) = spot_files() else { return };
    let sim = Simulator::start(SimConfig::for_tests(SourceConfig::Replay { files }))
        .await
        .unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(
        addr,
        "/stream?streams=btcusdt@depth/btcusdt@bestBidAsk",
        Some("key"),
    )
    .await
    .unwrap();

    let mut sync = BookSync::new(SyncConfig::default());
    let (mut diffs, mut tickers, mut reanchors, mut snapshot_requested) = (0u64, 0u64, 0, false);
    let mut last_ticker = None;
    loop {
        let Some(msg) = next_msg(&mut ws, Duration::from_millis(300)).await else {
            let s = stats(addr).await;
            let done =
                s.source.finished && s.published["depth"] == diffs && s.published["bestBidAsk"] == tickers;
            assert!(s.source.finished || diffs > 0, "nothing streamed: {s:?}");
            if done {
                break;
            }
            continue;
        };
        let Message::Binary(frame) = msg else {
            panic!("unexpected {msg:?}")
        };
        match decode_stream_frame(&frame).unwrap() {
            StreamEvent::DepthDiff(_) => {
                diffs += 1;
                let outcome = sync.on_diff(diff_of(&frame).unwrap());
                if matches!(outcome, SyncOutcome::Reanchored(_)) {
                    reanchors += 1;
                }
                if !snapshot_requested {
                    // Binance step 2: buffer first, then fetch the snapshot.
                    snapshot_requested = true;
                    let snap = rest_snapshot_sbe(addr, 5000).await;
                    if matches!(sync.on_snapshot(sync.epoch(), &snap), SyncOutcome::Reanchored(_)) {
                        reanchors += 1;
                    }
                }
                if let Some(book) = sync.book() {
                    assert!(!book.is_crossed(), "crossed at {}", book.last_update_id());
                }
            }
            StreamEvent::BestBidAsk(b) => {
                tickers += 1;
                last_ticker = Some((b.bid_price(), b.ask_price(), b.price_exponent()));
            }
            other => panic!("subscribed to depth and bestBidAsk only, got {}", other.kind()),
        }
    }
    assert_eq!(reanchors, 1, "synced once and never lost sync");
    assert_eq!(sync.state(), SyncState::Synced);
    assert!(
        diffs > 6000 && tickers > 70_000,
        "diffs {diffs} tickers {tickers}"
    );
    let book = sync.book().unwrap();
    let (bid, ask) = (book.best_bid().unwrap().price, book.best_ask().unwrap().price);
    assert_eq!((bid, ask), (6_160_201, 6_160_202), "61602.01 / 61602.02");
    let (tb, ta, exp) = last_ticker.unwrap();
    assert_eq!(
        (
            SCALE.price_from_mantissa(tb, exp).unwrap(),
            SCALE.price_from_mantissa(ta, exp).unwrap()
        ),
        (bid, ask),
        "the last streamed bestBidAsk agrees with the synced book"
    );
    // The REST book after the end is the same book.
    let snap = rest_snapshot_sbe(addr, 5).await;
    assert_eq!(snap.last_update_id, book.last_update_id());
    assert_eq!((snap.bids[0].price, snap.asks[0].price), (bid, ask));
    let s = stats(addr).await;
    assert_eq!(s.sent["depth"], diffs);
    assert_eq!(s.source.errors, 0);
    sim.shutdown().await;
}
