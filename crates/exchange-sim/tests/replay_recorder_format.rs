//! Replay of the ingestor recorder's format (`<local_recv_ns> <base64 SBE frame>`, hourly
//! multi-member gzip files in a directory): frames are served byte for byte in order, a recorded
//! REST depth body anchors the served book, bad lines are counted and skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use binance_sbe::{JsonContext, json_to_sbe};
use common::*;
use exchange_sim::{SimConfig, Simulator, SourceConfig};
use flate2::Compression;
use flate2::write::GzEncoder;
use market::Level;
use tokio_tungstenite::tungstenite::Message;

fn sbe(json: &str) -> Vec<u8> {
    let ctx = JsonContext {
        fallback_event_time_us: Some(1_003_000),
        ..JsonContext::default()
    };
    let mut out = Vec::new();
    json_to_sbe(json, &ctx, &mut out).unwrap();
    out
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Appends one gzip member holding `lines` to `path` (as the recorder does on reopening a file).
fn append_member(path: &Path, lines: &[String]) {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut gz = GzEncoder::new(f, Compression::fast());
    for l in lines {
        gz.write_all(l.as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    gz.finish().unwrap().flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_directory_is_served_frame_for_frame_and_anchors_the_book() {
    let diff1 =
        sbe(r#"{"e":"depthUpdate","E":1001,"s":"BTCUSDT","U":10,"u":11,"b":[["100.00","1.0"]],"a":[]}"#);
    let rest = sbe(r#"{"lastUpdateId":10,"bids":[["99.00","1.0"]],"asks":[["101.00","2.0"]]}"#);
    let trade = sbe(
        r#"{"e":"trade","E":1002,"s":"BTCUSDT","t":5,"p":"100.50","q":"0.1","T":1002,"m":false,"M":true}"#,
    );
    let bba = sbe(r#"{"u":12,"s":"BTCUSDT","b":"100.00","B":"1.0","a":"101.00","A":"2.0"}"#);
    let diff2 =
        sbe(r#"{"e":"depthUpdate","E":1004,"s":"BTCUSDT","U":12,"u":13,"b":[],"a":[["101.00","1.5"]]}"#);
    let line = |ns: u64, f: &[u8]| format!("{ns} {}", b64(f));

    let dir = std::env::temp_dir().join(format!("exchange-sim-sbe-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Hour 23: two members (the recorder reopened the file); hour 00 of the next day: one more.
    let h23 = dir.join("sbe-20240808-23.gz");
    append_member(&h23, &[line(1_000_000_000, &diff1), line(1_010_000_000, &rest)]);
    append_member(
        &h23,
        &[
            line(1_020_000_000, &trade),
            "1025000000 not*base64".into(),
            line(1_030_000_000, &bba),
        ],
    );
    append_member(&dir.join("sbe-20240809-00.gz"), &[line(1_040_000_000, &diff2)]);
    std::fs::write(dir.join("notes.txt"), "not a recording").unwrap();

    let sim = Simulator::start(SimConfig::for_tests(SourceConfig::Replay {
        files: vec![dir.clone()],
    }))
    .await
    .unwrap();
    let addr = sim.local_addr();
    let mut ws = ws(
        addr,
        "/stream?streams=btcusdt@depth/btcusdt@trade/btcusdt@bestBidAsk",
        None,
    )
    .await
    .unwrap();
    let mut served = Vec::new();
    while served.len() < 4 {
        match next_msg(&mut ws, Duration::from_secs(10)).await {
            Some(Message::Binary(f)) => served.push(f.to_vec()),
            Some(_) => {}
            None => panic!("only {} frames served", served.len()),
        }
    }
    assert_eq!(
        served,
        vec![diff1, trade, bba, diff2],
        "served as recorded, in order"
    );
    assert!(sim.wait_source_finished(Duration::from_secs(10)).await);
    let s = stats(addr).await;
    assert_eq!(s.source.errors, 1, "the bad line is counted and skipped: {s:?}");
    assert_eq!(s.source.last_update_id, 13);

    // The recorded REST body anchored the served book; both diffs are applied on top.
    let snap = rest_snapshot_sbe(addr, 10).await;
    assert_eq!(snap.last_update_id, 13);
    assert_eq!(
        snap.bids,
        vec![Level::new(10_000, 100_000_000), Level::new(9_900, 100_000_000)]
    );
    assert_eq!(snap.asks, vec![Level::new(10_100, 150_000_000)]);
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_without_recorder_files_is_refused() {
    let dir = std::env::temp_dir().join(format!("exchange-sim-sbe-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let res = Simulator::start(SimConfig::for_tests(SourceConfig::Replay {
        files: vec![dir.clone()],
    }))
    .await;
    assert!(res.is_err());
    let _ = std::fs::remove_dir_all(dir);
}
