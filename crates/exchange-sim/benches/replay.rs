//! Replay throughput at max speed, end to end: the real spot recording pair is converted JSON → SBE,
//! paced at `max` (back-pressure from the client), published and read by one WebSocket client
//! subscribed to every stream. Writes `{"sim_replay_events_per_sec": N}` (source events per wall
//! second, median of 5) to `$CARGO_TARGET_DIR/bench/parts/exchange_sim.json`
//! (default `<workspace>/target/bench/parts/`). Skips with a printed reason without `../shared`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use exchange_sim::{SimConfig, Simulator, SourceConfig};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

fn spot_files() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot");
    let files: Vec<_> = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    files.iter().all(|f| f.is_file()).then_some(files)
}

/// One replay; returns (source events, frames received, elapsed).
async fn run_once(files: Vec<PathBuf>) -> (u64, u64, Duration) {
    let sim = Simulator::start(SimConfig::for_tests(SourceConfig::Replay { files }))
        .await
        .unwrap();
    let url = format!(
        "{}/stream?streams=btcusdt@trade/btcusdt@bestBidAsk/btcusdt@depth/btcusdt@depth20",
        sim.ws_url()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let started = Instant::now();
    let mut frames = 0u64;
    loop {
        match tokio::time::timeout(Duration::from_millis(200), ws.next()).await {
            Ok(Some(Ok(Message::Binary(_)))) => frames += 1,
            Ok(Some(Ok(_))) => {}
            Ok(_) => panic!("connection lost"),
            Err(_) => {
                let s = sim.stats();
                let published: u64 = s.published.values().sum();
                if s.source.finished && frames >= published {
                    let elapsed = started.elapsed() - Duration::from_millis(200);
                    sim.shutdown().await;
                    return (s.source.events, frames, elapsed);
                }
            }
        }
    }
}

fn out_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("bench/parts/exchange_sim.json")
}

fn main() {
    let Some(files) = spot_files() else {
        eprintln!("SKIP replay bench: recorded spot data not found under ../shared");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rates = Vec::new();
    for round in 1..=5 {
        let (events, frames, elapsed) = rt.block_on(run_once(files.clone()));
        let rate = events as f64 / elapsed.as_secs_f64();
        println!(
            "replay round {round}: {events} source events, {frames} frames received in {elapsed:.2?} → {rate:.0} events/s"
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let path = out_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let body = serde_json::json!({"sim_replay_events_per_sec": median.round()});
    std::fs::write(&path, format!("{body}\n")).unwrap();
    println!(
        "sim_replay_events_per_sec = {median:.0} (median; range {:.0}–{:.0}) → {}",
        rates[0],
        rates[rates.len() - 1],
        path.display()
    );
}
