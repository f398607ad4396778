//! `--loop` over a small plain-text recording (ids and times keep rising, clients are disconnected at
//! the wrap), and the `exchange-sim` binary itself (`--help`, bad flags, serving on a free port).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::time::Duration;

use binance_sbe::{StreamEvent, decode_stream_frame};
use common::*;
use exchange_sim::{SimConfig, Simulator, SourceConfig};
use tokio_tungstenite::tungstenite::Message;

const RECORDING: &str = r#"1000000000 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1001,"s":"BTCUSDT","U":10,"u":11,"b":[["100.00","1.0"]],"a":[]}}
1010000000 {"lastUpdateId":10,"bids":[["99.00","1.0"]],"asks":[["101.00","2.0"]]}
1020000000 {"stream":"btcusdt@trade","data":{"e":"trade","E":1002,"s":"BTCUSDT","t":5,"p":"100.50","q":"0.1","T":1002,"m":false,"M":true}}
1030000000 {"stream":"btcusdt@bookTicker","data":{"u":12,"s":"BTCUSDT","b":"100.00","B":"1.0","a":"101.00","A":"2.0"}}
1040000000 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1004,"s":"BTCUSDT","U":12,"u":13,"b":[],"a":[["101.00","1.5"]]}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looped_replay_disconnects_at_the_wrap_and_keeps_ids_rising() {
    let dir = std::env::temp_dir().join(format!("exchange-sim-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tiny.txt");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(RECORDING.as_bytes())
        .unwrap();
    let mut cfg = SimConfig::for_tests(SourceConfig::Replay { files: vec![file] });
    cfg.loop_source = true;
    cfg.speed = exchange_sim::Speed::Factor(1.0); // lines are 10 ms apart
    let sim = Simulator::start(cfg).await.unwrap();
    let addr = sim.local_addr();
    let mut ids = Vec::new();
    let mut trade_ids = Vec::new();
    let mut bbo_times = Vec::new();
    let mut connections = 0;
    while connections < 3 {
        let mut ws = ws(
            addr,
            "/stream?streams=btcusdt@depth/btcusdt@trade/btcusdt@bestBidAsk",
            None,
        )
        .await
        .unwrap();
        connections += 1;
        while let Some(Message::Binary(f)) = next_msg(&mut ws, Duration::from_secs(5)).await {
            match decode_stream_frame(&f).unwrap() {
                StreamEvent::DepthDiff(d) => ids.push((d.first_book_update_id(), d.last_book_update_id())),
                StreamEvent::Trades(t) => trade_ids.extend(t.trade_list().map(|x| x.id)),
                StreamEvent::BestBidAsk(b) => bbo_times.push(b.event_time()),
                StreamEvent::DepthSnapshot(_) => {}
            }
        }
    }
    assert!(
        ids.windows(2).all(|w| w[1].0 > w[0].1),
        "update ids rise across passes: {ids:?}"
    );
    assert!(trade_ids.windows(2).all(|w| w[1] > w[0]), "{trade_ids:?}");
    assert!(bbo_times.windows(2).all(|w| w[1] > w[0]), "{bbo_times:?}");
    let s = stats(addr).await;
    assert!(s.source.loops >= 2, "{s:?}");
    // The served book follows each pass: snapshot + bridging diff, then the next diff.
    let snap = rest_snapshot_sbe(addr, 10).await;
    let in_pass = 10 + (snap.last_update_id - 10) % 4;
    assert!(
        snap.last_update_id > 13,
        "served from a later pass: {}",
        snap.last_update_id
    );
    assert!(
        [11, 13].contains(&in_pass),
        "ids shifted by the id span (4): {}",
        snap.last_update_id
    );
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn binary_prints_help_and_rejects_bad_flags_with_exit_64() {
    let bin = env!("CARGO_BIN_EXE_exchange-sim");
    let out = std::process::Command::new(bin).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--replay",
        "--synthetic",
        "--seed",
        "--speed",
        "--loop",
        "--api-key-required",
        "--fault",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let out = std::process::Command::new(bin)
        .args(["--ping-interval-secs", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = std::process::Command::new(bin)
        .args(["--replay", "/nonexistent.gz", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(64),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_the_synthetic_market_on_the_given_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_exchange-sim"))
        .args(["--listen", &addr.to_string(), "--seed", "3", "--speed", "5"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "binary did not listen");
    assert!(
        ws(addr, "/ws/btcusdt@depth", None).await.is_err(),
        "API key required by default"
    );
    let mut ws = ws(addr, "/ws/btcusdt@depth", Some("key")).await.unwrap();
    let Some(Message::Binary(f)) = next_msg(&mut ws, Duration::from_secs(5)).await else {
        panic!("no frame")
    };
    assert!(matches!(decode_stream_frame(&f), Ok(StreamEvent::DepthDiff(_))));
    let snap = rest_snapshot_sbe(addr, 100).await;
    assert_eq!(snap.bids.len(), 100);
    child.kill().unwrap();
    let _ = child.wait();
}
