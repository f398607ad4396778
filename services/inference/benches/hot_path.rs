//! Inference service bench against a real local redis-server (harness = false):
//!
//! * hot path (HGETALL features → checks → model → MULTI{XADD, SET}) over 5 000 iterations, on a
//!   current-thread runtime like the service's tick thread, and the raw-socket round-trip floor;
//! * the model alone, and the cost of handing a ~5 µs run to another thread (inline vs
//!   `spawn_blocking` vs a dedicated thread with channels) — the reason the tick runs it inline;
//! * tick jitter of the wall-clock-aligned interval over a bounded run;
//! * `GET /v1/predictions/latest` under `wrk -t2 -c16 -d10s` against the real binary.
//!
//! Writes `$CARGO_TARGET_DIR/bench/parts/inference.json` (default `<workspace>/target/bench/parts/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fred::prelude::*;
use inference::config::Variant;
use inference::contract;
use inference::decision::Limits;
use inference::hot_path::{HotPath, now_us};
use inference::models::ModelStore;
use inference::state::Shared;
use inference::store::RedisStore;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use svc_kit::testing::ServiceProcess;
use svc_kit::testing::servers::RedisServer;
use tokio_util::sync::CancellationToken;

const ITERATIONS: usize = 5_000;
const WARMUP: usize = 500;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Percentile of sorted microsecond samples.
fn pct(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut us: Vec<f64>, out: &mut Map<String, Value>, keys: &[(&str, f64)]) {
    us.sort_by(f64::total_cmp);
    println!(
        "{name}: n={} p50 {:.1} µs  p99 {:.1} µs  p99.9 {:.1} µs  max {:.1} µs",
        us.len(),
        pct(&us, 0.5),
        pct(&us, 0.99),
        pct(&us, 0.999),
        us[us.len() - 1]
    );
    for (key, q) in keys {
        out.insert((*key).into(), json!((pct(&us, *q) * 10.0).round() / 10.0));
    }
}

fn model_file() -> PathBuf {
    let committed = workspace().join("model/artifacts/model.onnx");
    if committed.exists() {
        committed
    } else {
        println!("model/artifacts/model.onnx absent: using the test fixture model");
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ml.onnx")
    }
}

async fn hot_path(redis: &RedisServer, out: &mut Map<String, Value>) {
    let store =
        RedisStore::connect(&redis.url(), None, "BTCUSDT", 10_000, Duration::from_millis(250)).unwrap();
    assert!(store.wait_connected(Duration::from_secs(5)).await);
    let snap = contract::synced_snapshot(61_602.015, now_us());
    let encoded: Vec<(&str, fred::types::Value)> = contract::encode(&snap)
        .into_iter()
        .map(|(k, v)| (k, fred::types::Value::Bytes(v.into())))
        .collect();
    let _: () = store
        .client()
        .hset(&store.keys().features, encoded)
        .await
        .unwrap();
    let models = ModelStore::new(model_file(), PathBuf::from("none.onnx"));
    assert!(matches!(
        models.reload(Variant::Ml, true, 0),
        inference::models::Reload::Loaded(_)
    ));
    let shared = Arc::new(Shared::new(
        "BTCUSDT".into(),
        models,
        Variant::Ml,
        100,
        4,
        CancellationToken::new(),
    ));
    // The bench rewrites nothing, so allow any feature age.
    let hot = HotPath {
        store,
        shared,
        limits: Limits::new(i64::MAX / 2, 0.0),
    };
    let (mut total, mut read, mut model, mut publish) = (vec![], vec![], vec![], vec![]);
    for i in 0..WARMUP + ITERATIONS {
        let o = hot.tick(i as i64 * 2_000_000).await;
        assert!(
            o.published.is_ok() && o.reason.is_none(),
            "{:?} {:?}",
            o.published,
            o.reason
        );
        if i >= WARMUP {
            total.push(o.timings.total * 1e6);
            read.push(o.timings.read * 1e6);
            model.push(o.timings.model.unwrap_or(0.0) * 1e6);
            publish.push(o.timings.publish * 1e6);
        }
    }
    let keys = [
        ("inference_hot_path_us_p50", 0.5),
        ("inference_hot_path_us_p99", 0.99),
        ("inference_hot_path_us_p999", 0.999),
    ];
    summary("hot path total", total, out, &keys);
    summary("  redis read (HGETALL)", read, out, &[]);
    summary("  model (inline, in loop)", model, out, &[]);
    summary("  publish (serialise + MULTI XADD SET EXEC)", publish, out, &[]);
}

fn model_alone(out: &mut Map<String, Value>) -> Arc<inference::models::LoadedModel> {
    let m = Arc::new(inference::models::load(&model_file(), 0).unwrap());
    let row = vec![0.1f32; m.model.n_features()];
    let mut us = Vec::with_capacity(20_000);
    for i in 0..21_000 {
        let t = Instant::now();
        std::hint::black_box(m.model.predict(&row).unwrap());
        if i >= 1_000 {
            us.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    summary(
        "model run alone",
        us,
        out,
        &[("model_run_us_p50", 0.5), ("model_run_us_p99", 0.99)],
    );
    m
}

async fn dispatch(m: Arc<inference::models::LoadedModel>, out: &mut Map<String, Value>) {
    let row = vec![0.1f32; m.model.n_features()];
    let n = 3_000;
    let (mut inline, mut blocking, mut thread) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(m.model.predict(&row).unwrap());
        inline.push(t.elapsed().as_secs_f64() * 1e6);
    }
    for _ in 0..n {
        let (m2, r2) = (m.clone(), row.clone());
        let t = Instant::now();
        let p = tokio::task::spawn_blocking(move || m2.model.predict(&r2))
            .await
            .unwrap();
        std::hint::black_box(p.unwrap());
        blocking.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<f32>, tokio::sync::oneshot::Sender<_>)>(1);
    let m2 = m.clone();
    let worker = std::thread::spawn(move || {
        while let Ok((row, reply)) = rx.recv() {
            let _ = reply.send(m2.model.predict(&row));
        }
    });
    for _ in 0..n {
        let t = Instant::now();
        let (otx, orx) = tokio::sync::oneshot::channel();
        tx.send((row.clone(), otx)).unwrap();
        std::hint::black_box(orx.await.unwrap().unwrap());
        thread.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(tx);
    worker.join().unwrap();
    summary(
        "model dispatch: inline",
        inline,
        out,
        &[("model_dispatch_inline_us_p50", 0.5)],
    );
    summary(
        "model dispatch: spawn_blocking",
        blocking,
        out,
        &[("model_dispatch_spawn_blocking_us_p50", 0.5)],
    );
    summary(
        "model dispatch: dedicated thread",
        thread,
        out,
        &[("model_dispatch_thread_us_p50", 0.5)],
    );
}

async fn jitter(out: &mut Map<String, Value>) {
    let interval_us = 100_000;
    let mut i = inference::tick::aligned_interval(interval_us);
    let mut ms = Vec::new();
    for _ in 0..100 {
        i.tick().await;
        let off = inference::schedule::offset_us(now_us(), interval_us);
        ms.push(off.unsigned_abs() as f64 / 1e3);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "tick jitter (100 ticks of 100 ms): p50 {:.3} ms  p99 {:.3} ms",
        pct(&ms, 0.5),
        pct(&ms, 0.99)
    );
    out.insert(
        "tick_jitter_ms_p99".into(),
        json!((pct(&ms, 0.99) * 1000.0).round() / 1000.0),
    );
}

/// `2.50ms` / `812.00us` / `1.2s` → milliseconds.
fn wrk_ms(v: &str) -> Option<f64> {
    let (num, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e3)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|x| x * factor)
}

/// Runs `wrk -c16 -d10s --latency` (optionally pinned to `cpu`) and returns (rps, p99 ms).
fn wrk(url: &str, threads: &str, cpu: Option<&str>) -> Option<(f64, f64)> {
    let mut cmd = match cpu {
        Some(c) => {
            let mut c2 = std::process::Command::new("taskset");
            c2.args(["-c", c, "wrk"]);
            c2
        }
        None => std::process::Command::new("wrk"),
    };
    let o = cmd
        .args([threads, "-c16", "-d10s", "--latency", url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    println!(
        "wrk {threads} -c16 -d10s{}:\n{text}",
        cpu.map(|c| format!(" (pinned to cpu {c})")).unwrap_or_default()
    );
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
    };
    let rps = field("Requests/sec:")?.parse::<f64>().ok()?;
    let p99 = wrk_ms(&field("99%")?)?;
    Some((rps.round(), (p99 * 1000.0).round() / 1000.0))
}

fn start_service(redis: &RedisServer, workers: Option<&str>) -> Option<ServiceProcess> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let model = model_file().display().to_string();
    let baseline = fixtures.join("baseline.onnx").display().to_string();
    let url = redis.url();
    let mut env = vec![
        ("INFERENCE__REDIS__URL", url.as_str()),
        ("INFERENCE__MODEL__PATH", model.as_str()),
        ("INFERENCE__MODEL__BASELINE_PATH", baseline.as_str()),
        ("INFERENCE__TICK__INTERVAL_MS", "500"),
        ("INFERENCE__LOG__LEVEL", "warn"),
    ];
    if let Some(w) = workers {
        env.push(("TOKIO_WORKER_THREADS", w));
    }
    match ServiceProcess::start(env!("CARGO_BIN_EXE_inference"), "INFERENCE", &env) {
        Ok(s) => {
            std::thread::sleep(Duration::from_secs(1));
            Some(s)
        }
        Err(e) => {
            println!("api bench skipped: {e}");
            None
        }
    }
}

/// `GET /v1/predictions/latest` at 16 connections, twice: (1) as specified, `wrk -t2` beside the
/// service on the same 2 cores, where the closed-loop client's own threads and the service's
/// workers time-slice and the p99 mostly measures CPU contention; (2) isolated: the service with
/// one worker pinned to cpu 0, `wrk -t1` pinned to cpu 1 (reported as the headline numbers).
fn api_load(redis: &RedisServer, out: &mut Map<String, Value>) {
    let Some(svc) = start_service(redis, None) else {
        return;
    };
    let url = format!("{}/v1/predictions/latest", svc.base_url);
    match wrk(&url, "-t2", None) {
        Some((rps, p99)) => {
            out.insert("api_latest_rps_c16_t2_shared_cores".into(), json!(rps));
            out.insert("api_latest_p99_ms_c16_t2_shared_cores".into(), json!(p99));
        }
        None => {
            println!("api bench skipped: wrk not found (make bootstrap installs it)");
            return;
        }
    }
    let _ = svc.terminate(Duration::from_secs(20));
    let Some(svc) = start_service(redis, Some("1")) else {
        return;
    };
    let pid = svc.child.id().to_string();
    let pinned = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &pid])
        .output()
        .is_ok_and(|o| o.status.success());
    let url = format!("{}/v1/predictions/latest", svc.base_url);
    let isolated = if pinned { wrk(&url, "-t1", Some("1")) } else { None };
    match isolated {
        Some((rps, p99)) => {
            out.insert("api_latest_rps_c16".into(), json!(rps));
            out.insert("api_latest_p99_ms_c16".into(), json!(p99));
        }
        None => println!("isolated api run skipped (taskset unavailable)"),
    }
    let _ = svc.terminate(Duration::from_secs(20));
}

/// The floor of one HGETALL round trip on a raw tokio socket (no client library), to tell the
/// client's overhead from loopback's.
async fn raw_floor(port: u16, out: &mut Map<String, Value>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.set_nodelay(true).unwrap();
    let cmd = b"*2\r\n$7\r\nHGETALL\r\n$18\r\n{BTCUSDT}:features\r\n";
    let mut buf = vec![0u8; 8192];
    s.write_all(cmd).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let expected = s.read(&mut buf).await.unwrap();
    let mut us = Vec::new();
    for i in 0..5500 {
        let t = Instant::now();
        s.write_all(cmd).await.unwrap();
        let mut got = 0;
        while got < expected {
            got += s.read(&mut buf[got..]).await.unwrap();
        }
        if i >= 500 {
            us.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    summary(
        "floor: raw tokio socket HGETALL round trip",
        us,
        out,
        &[("redis_raw_hgetall_us_p50", 0.5)],
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let redis = RedisServer::start().expect("redis-server (make bootstrap)");
    let mut out = Map::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Like the service: the tick loop and its Redis client on a current-thread runtime
    // (`BENCH_RT=multi` runs it on the 2-worker runtime instead, for comparison).
    let ct = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var("BENCH_RT").as_deref() == Ok("multi") {
        rt.block_on(hot_path(&redis, &mut out));
    } else {
        ct.block_on(hot_path(&redis, &mut out));
    }
    ct.block_on(raw_floor(redis.port, &mut out));
    if std::env::var("BENCH_ONLY").as_deref() == Ok("hot_path") {
        return;
    }
    let m = model_alone(&mut out);
    rt.block_on(dispatch(m, &mut out));
    rt.block_on(jitter(&mut out));
    api_load(&redis, &mut out);
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    let dir = target.join("bench/parts");
    std::fs::create_dir_all(&dir).expect("create bench/parts");
    let path = dir.join("inference.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&Value::Object(out)).unwrap() + "\n",
    )
    .expect("write");
    println!("wrote {}", path.display());
}
