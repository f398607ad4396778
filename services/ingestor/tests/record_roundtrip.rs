//! Recorder → simulator round trip: the simulator replays the head of the real spot recording, the
//! ingestor runs with `--record DIR` (and publishes to kinesalite as usual), then a second
//! simulator replays DIR. It must serve exactly the recorded frames, in order — the same trade ids
//! and update ids the ingestor published to Kinesis in the first leg.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use binance_sbe::{StreamEvent, decode_stream_frame};
use common::*;
use exchange_sim::{Simulator, SourceConfig};
use futures_util::StreamExt;
use pipeline_events::OwnedEvent;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Lines of the real recording replayed (bounded run; the REST snapshot line is line 8).
const LINES: usize = 5000;
const STREAMS: [&str; 3] = ["trade", "bestBidAsk", "depth"];

/// A source sequence id as the pipeline sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Id {
    Trades(Vec<i64>),
    BestBidAsk(i64),
    Depth(i64, i64),
}

fn id_of_frame(frame: &[u8]) -> Id {
    match decode_stream_frame(frame).unwrap() {
        StreamEvent::Trades(t) => Id::Trades(t.trade_list().map(|x| x.id).collect()),
        StreamEvent::BestBidAsk(b) => Id::BestBidAsk(b.book_update_id()),
        StreamEvent::DepthDiff(d) => Id::Depth(d.first_book_update_id(), d.last_book_update_id()),
        StreamEvent::DepthSnapshot(_) => panic!("@depth20 was not subscribed"),
    }
}

fn id_of_event(e: &OwnedEvent) -> Option<Id> {
    match e {
        OwnedEvent::Trade { fills, .. } => Some(Id::Trades(fills.iter().map(|f| f.trade_id).collect())),
        OwnedEvent::BestBidAsk { event, .. } => Some(Id::BestBidAsk(event.book_update_id)),
        OwnedEvent::DepthDiff {
            first_update_id,
            last_update_id,
            ..
        } => Some(Id::Depth(*first_update_id, *last_update_id)),
        _ => None,
    }
}

/// The first `LINES` lines of the real spot recording as a plain file in `dir`, or `None` (with a
/// printed reason) when `../shared` is absent.
fn bounded_recording(dir: &Path) -> Option<PathBuf> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot/btcusdt_20240808.gz");
    if !src.is_file() {
        eprintln!("SKIP: recorded spot data not found at {}", src.display());
        return None;
    }
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(&src).unwrap(),
    ));
    let path = dir.join("head.txt");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for line in reader.lines().take(LINES) {
        writeln!(out, "{}", line.unwrap()).unwrap();
    }
    out.flush().unwrap();
    Some(path)
}

/// Every `(receive time, frame)` of the recorder's files in `dir`, in file-name (= hour) order.
fn recorded(dir: &Path) -> Vec<(i64, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("sbe-"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the recorder wrote no file");
    let mut out = Vec::new();
    for f in files {
        let r = BufReader::new(flate2::read::MultiGzDecoder::new(
            std::fs::File::open(&f).unwrap(),
        ));
        for line in r.lines() {
            out.push(ingestor::recorder::parse_line(&line.unwrap()).expect("well-formed line"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_frames_replay_as_the_same_event_sequence() {
    let tmp = std::env::temp_dir().join(format!("ingestor-roundtrip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let Some(head) = bounded_recording(&tmp) else {
        return;
    };
    let rec_dir = tmp.join("rec");

    // Leg 1: simulator (real recording) → ingestor --record DIR → kinesalite.
    let rd = rec_dir.clone();
    let mut rig = Rig::start(sim_config(SourceConfig::Replay { files: vec![head] }), |c| {
        c.recorder.dir = Some(rd);
    })
    .await;
    assert!(
        rig.sim.wait_source_finished(Duration::from_secs(120)).await,
        "replay did not finish"
    );
    let sim = &rig.sim;
    wait_until(Duration::from_secs(60), "every published frame sent", || {
        let s = sim.stats();
        STREAMS.iter().all(|k| s.sent[*k] == s.published[*k])
    })
    .await;
    let sent = rig.sim.stats().sent;
    let total: u64 = STREAMS.iter().map(|k| sent[*k]).sum();
    assert!(total > 1000, "a meaningful run: {total} frames");
    let m = rig.m().clone();
    wait_until(Duration::from_secs(60), "every sent frame ingested", || {
        messages(&m) == total
    })
    .await;
    let published: Vec<Id> = events(&rig.stop_and_read().await)
        .iter()
        .filter_map(id_of_event)
        .collect();
    assert_eq!(published.len() as u64, total, "every frame reached Kinesis");

    // The recording: one line per frame received, receive times non-decreasing.
    let lines = recorded(&rec_dir);
    assert_eq!(lines.len() as u64, total, "one line per frame");
    assert!(
        lines.windows(2).all(|w| w[0].0 <= w[1].0),
        "receive times in order"
    );
    let frames: Vec<Vec<u8>> = lines.into_iter().map(|(_, f)| f).collect();

    // Leg 2: a second simulator replays DIR; a client reads every stream.
    let sim2 = Simulator::start(sim_config(SourceConfig::Replay {
        files: vec![rec_dir.clone()],
    }))
    .await
    .unwrap();
    let url = format!(
        "{}/stream?streams=btcusdt@trade/btcusdt@bestBidAsk/btcusdt@depth",
        sim2.ws_url()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut served = Vec::with_capacity(frames.len());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while served.len() < frames.len() {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Binary(f)))) => served.push(f.to_vec()),
            Ok(Some(Ok(_))) => {}
            other => panic!("after {} of {} frames: {other:?}", served.len(), frames.len()),
        }
    }
    assert!(sim2.wait_source_finished(Duration::from_secs(30)).await);
    let s2 = sim2.stats();
    assert_eq!(s2.source.errors, 0, "{s2:?}");
    for k in STREAMS {
        assert_eq!(
            s2.published[k], sent[k],
            "{k}: same count per stream as the first leg"
        );
    }
    let replayed: Vec<Id> = served.iter().map(|f| id_of_frame(f)).collect();
    assert_eq!(
        replayed, published,
        "same event sequence as published in the first leg"
    );
    assert!(served == frames, "frames served byte for byte as recorded");
    sim2.shutdown().await;
    let _ = std::fs::remove_dir_all(&tmp);
}
