//! Inference service bench against a real local redis-server (harness = false):
//!
//! * hot path (features → checks → model → EVALSHA publish{XADD, SET}) over 5 000 back-to-back
//!   iterations, on a current-thread runtime like the service's tick thread. The features come as
//!   the service gets them (issue 18): the snapshot the aggregator's flush script pushed, held in
//!   memory (`PushStore`), fed by the real flush (`aggregator::store::Store::flush`) every 100 ms
//!   from another thread, with the `HGETALL` read as the fallback; the share served from memory
//!   and the delivery delay are reported. The read path alone (`…_read_…`) and the raw-socket floor
//!   of one and two round trips (hand-written RESP on a tokio socket, no client library) are
//!   measured in the same run;
//! * the same hot path under concurrent API readers: 1 000 ticks on a 10 ms wall-clock-aligned
//!   interval (jitter measured per tick) while `wrk -t2 -c16` reads `GET /v1/predictions/latest`
//!   from the service's API served in-process (svc-kit shell, multi-thread runtime), every core
//!   shared (`…_api_load`, `api_latest_*_c16_during_ticks`);
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
use inference::push::PushLimits;
use inference::push_store::PushStore;
use inference::state::Published;
use inference::state::Shared;
use inference::store::{HotPathStore, RedisStore};
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

/// The aggregator's flushes, from their own thread: the real flush script (features hash + push)
/// every `every`, a synced vector at the current time, until dropped.
struct Feeder {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Feeder {
    fn start(url: &str, every: Duration) -> Feeder {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, url) = (stop.clone(), url.to_string());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let store = aggregator::store::Store::connect(
                    fred::prelude::Config::from_url(&url).unwrap(),
                    "BTCUSDT",
                    market::InstrumentScale::BTCUSDT_SPOT,
                    Duration::from_secs(1),
                    metrics_schema::AggregatorMetrics::register(&mut Default::default()),
                )
                .unwrap();
                let mut flushes = 0;
                while !s.load(std::sync::atomic::Ordering::Relaxed) {
                    let now = now_us();
                    let mut values = [0.0; features::N_FEATURES];
                    values[features::spec::idx::MID_PRICE] = 61_602.015;
                    let p = aggregator::state::Published {
                        fv: features::FeatureVector {
                            version: features::FEATURE_VERSION,
                            event_time_us: now as u64,
                            values,
                            warm: [true; features::N_FEATURES],
                        },
                        epoch: 1,
                        state: market::SyncState::Synced,
                        last_update_id: 1,
                        bids: Vec::new(),
                        asks: Vec::new(),
                        reanchors: 0,
                    };
                    if store.flush(&p, &[], now).await.is_ok() {
                        flushes += 1;
                    }
                    tokio::time::sleep(every).await;
                }
                flushes
            })
        });
        Feeder {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().map_or(0, |t| t.join().unwrap())
    }
}

/// Connects the store on the calling (current-thread) runtime, writes a synced features hash and
/// loads the model: the hot path exactly as the tick thread runs it (`PushStore` when `push`, like
/// the service; the bare read store otherwise).
async fn setup<S: HotPathStore>(redis: &RedisServer, wrap: impl FnOnce(RedisStore) -> S) -> HotPath<S> {
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
    // The bench rewrites nothing, so allow any feature (and market) age.
    HotPath {
        store: wrap(store),
        shared,
        limits: Limits::new(i64::MAX / 2, 0.0).with_market(None, 0),
    }
}

#[derive(Default)]
struct Stages {
    total: Vec<f64>,
    read: Vec<f64>,
    model: Vec<f64>,
    publish: Vec<f64>,
}

impl Stages {
    fn push(&mut self, o: &inference::hot_path::TickOutcome) {
        // Written, not a duplicate slot (whose publish skips the XADD and would flatter the numbers).
        assert!(
            matches!(o.published, Ok(inference::store::PublishOutcome::Written)) && o.reason.is_none(),
            "{:?} {:?}",
            o.published,
            o.reason
        );
        self.total.push(o.timings.total * 1e6);
        self.read.push(o.timings.read * 1e6);
        self.model.push(o.timings.model.unwrap_or(0.0) * 1e6);
        self.publish.push(o.timings.publish * 1e6);
    }

    fn report(self, label: &str, suffix: &str, out: &mut Map<String, Value>) {
        let keys = [
            (format!("inference_hot_path_us_p50{suffix}"), 0.5),
            (format!("inference_hot_path_us_p99{suffix}"), 0.99),
            (format!("inference_hot_path_us_p999{suffix}"), 0.999),
        ];
        let keys: Vec<(&str, f64)> = keys.iter().map(|(k, q)| (k.as_str(), *q)).collect();
        summary(&format!("hot path total{label}"), self.total, out, &keys);
        summary(
            "  features (pushed snapshot or HGETALL) + decode",
            self.read,
            out,
            &[],
        );
        summary("  model (inline, in loop)", self.model, out, &[]);
        summary(
            "  publish (serialise + EVALSHA {XADD, SET})",
            self.publish,
            out,
            &[],
        );
    }
}

/// Back-to-back ticks, as the earlier measurements were taken.
/// Slots from `first_slot` on (a slot already published would be a duplicate, which skips the XADD).
async fn hot_path<S: HotPathStore>(
    hot: &HotPath<S>,
    first_slot: i64,
    suffix: &str,
    out: &mut Map<String, Value>,
) {
    let mut st = Stages::default();
    for i in 0..WARMUP + ITERATIONS {
        let o = hot.tick((first_slot + i as i64) * 2_000_000).await;
        if i >= WARMUP {
            st.push(&o);
        }
    }
    st.report(suffix, suffix, out);
}

/// Ticks served from the pushed snapshot / read, and delivery delays, over the measured phases only
/// (between phases the bench's tick runtime is not driven, unlike the service's tick thread, so
/// messages wait there and would count as slow deliveries).
#[derive(Default)]
struct PushTally {
    push: u64,
    read: u64,
    delays_us: Vec<f64>,
    started: (u64, u64),
}

impl PushTally {
    fn counts(store: &PushStore<RedisStore>) -> (u64, u64) {
        let s = store.served();
        (
            s.push.load(std::sync::atomic::Ordering::Relaxed),
            s.read.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    fn begin(&mut self, store: &PushStore<RedisStore>) {
        store.take_delays();
        self.started = Self::counts(store);
    }

    fn end(&mut self, store: &PushStore<RedisStore>) {
        let (p, r) = Self::counts(store);
        self.push += p - self.started.0;
        self.read += r - self.started.1;
        self.delays_us
            .extend(store.take_delays().into_iter().map(|(_, d)| d as f64));
    }

    fn report(self, flushes: u64, out: &mut Map<String, Value>) {
        let share = self.push as f64 / (self.push + self.read).max(1) as f64;
        println!(
            "features: {} ticks from the pushed snapshot, {} read ({:.2} %), {flushes} flushes in all",
            self.push,
            self.read,
            share * 100.0
        );
        out.insert(
            "inference_feature_push_share".into(),
            json!((share * 10_000.0).round() / 10_000.0),
        );
        if !self.delays_us.is_empty() {
            summary(
                "  pushed features delivery delay (flush's compute time → in memory)",
                self.delays_us,
                out,
                &[
                    ("inference_feature_push_delay_us_p50", 0.5),
                    ("inference_feature_push_delay_us_p99", 0.99),
                ],
            );
        }
    }
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
    parse_wrk(&text)
}

/// (requests/s, p99 ms) from `wrk --latency` output.
fn parse_wrk(text: &str) -> Option<(f64, f64)> {
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

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        bulk(&mut out, a);
    }
    out
}

/// Reads one complete reply of known length (`expected` bytes).
async fn read_exact_len(s: &mut tokio::net::TcpStream, buf: &mut [u8], expected: usize) {
    use tokio::io::AsyncReadExt;
    let mut got = 0;
    while got < expected {
        got += s.read(&mut buf[got..]).await.unwrap();
    }
}

/// The floor of the hot path's two round trips on a raw tokio socket (no client library, no
/// parsing: the reply lengths are learnt once), to tell the client's overhead from loopback's.
async fn raw_floor(port: u16, out: &mut Map<String, Value>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 16384];
    let hgetall = resp(&[b"HGETALL", b"{BTCUSDT}:features"]);
    s.write_all(&resp(&[
        b"SCRIPT",
        b"LOAD",
        inference::store::PUBLISH_LUA.as_bytes(),
    ]))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let n = s.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    let sha = text.lines().nth(1).unwrap().trim().to_string();
    let json = br#"{"symbol":"BTCUSDT","tick_time_us":1700000000000000,"target_time_us":1700000010000000,"horizon_s":10,"mid":61602.015,"predicted_mid":61602.1,"expected_return":1.3e-6,"expected_return_bps":0.013,"p_up":0.52,"confidence":0.52,"direction":"up","served_by":"ml","variant":"ml","model_version":"mlp-0123456789abcdef","feature_age_ms":0.4,"feature_completeness":1.0,"anchor_epoch":1,"fallback_reason":null}"#;
    // The script publishes a slot only once (per-slot idempotence, KEYS[3] = last slot): every
    // request carries the next slot (same length, so the replies are the same length: `:1`).
    let publish = |slot: u64| {
        resp(&[
            b"EVALSHA",
            sha.as_bytes(),
            b"3",
            b"{BTCUSDT}:predictions",
            b"{BTCUSDT}:predictions:latest",
            b"{BTCUSDT}:predictions:last_slot",
            b"10000",
            slot.to_string().as_bytes(),
            json,
        ])
    };
    s.write_all(&hgetall).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let read_len = s.read(&mut buf).await.unwrap();
    s.write_all(&publish(1_700_000_000_000_000)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let publish_len = s.read(&mut buf).await.unwrap();
    assert_eq!(
        &buf[..publish_len],
        b":1\r\n",
        "{}",
        String::from_utf8_lossy(&buf[..publish_len])
    );
    let (mut total, mut read, mut publ) = (vec![], vec![], vec![]);
    for i in 0..WARMUP + ITERATIONS {
        let next = publish(1_700_000_000_000_001 + i as u64);
        let t = Instant::now();
        s.write_all(&hgetall).await.unwrap();
        read_exact_len(&mut s, &mut buf, read_len).await;
        let t1 = Instant::now();
        s.write_all(&next).await.unwrap();
        read_exact_len(&mut s, &mut buf, publish_len).await;
        if i >= WARMUP {
            total.push(t.elapsed().as_secs_f64() * 1e6);
            read.push((t1 - t).as_secs_f64() * 1e6);
            publ.push(t1.elapsed().as_secs_f64() * 1e6);
        }
    }
    summary(
        "floor: raw tokio socket, HGETALL + EVALSHA round trips",
        total,
        out,
        &[
            ("redis_raw_two_round_trips_us_p50", 0.5),
            ("redis_raw_two_round_trips_us_p99", 0.99),
            ("redis_raw_two_round_trips_us_p999", 0.999),
        ],
    );
    summary(
        "  raw HGETALL round trip",
        read,
        out,
        &[
            ("redis_raw_hgetall_us_p50", 0.5),
            ("redis_raw_hgetall_us_p99", 0.99),
        ],
    );
    summary(
        "  raw EVALSHA publish round trip (the one-round-trip floor)",
        publ,
        out,
        &[
            ("redis_raw_publish_us_p50", 0.5),
            ("redis_raw_publish_us_p99", 0.99),
            ("redis_raw_publish_us_p999", 0.999),
        ],
    );
}

/// The hot path under concurrent API readers: the service's API on the multi-thread runtime `rt`
/// (in-process, like the service), `wrk -t2 -c16` against `GET /v1/predictions/latest`, and the
/// tick loop's schedule on this (current-thread) runtime: 1 000 ticks of a 10 ms wall-clock-aligned
/// interval, each measuring its jitter and running the hot path, the prediction published to the
/// API like the tick loop does.
fn under_api_load(
    rt: &tokio::runtime::Runtime,
    ct: &tokio::runtime::Runtime,
    hot: &HotPath<PushStore<RedisStore>>,
    tally: &mut PushTally,
    out: &mut Map<String, Value>,
) {
    let token = CancellationToken::new();
    let routes: Arc<dyn svc_kit::http::Routes> = Arc::new(inference::api::Api::new(
        hot.shared.clone(),
        inference::admin::AdminToken::default(),
    ));
    let (shell, _metrics) = rt
        .block_on(svc_kit::shell::Shell::start(
            "127.0.0.1:0".parse().unwrap(),
            token.clone(),
            metrics_schema::InferenceMetrics::register,
            Some(routes),
        ))
        .unwrap();
    let publish = |o: &inference::hot_path::TickOutcome| {
        hot.shared.publish(Published {
            tick_time_us: o.prediction.tick_time_us,
            json: o.json.clone(),
        });
    };
    publish(&ct.block_on(hot.tick(0)));
    let url = format!("http://{}/v1/predictions/latest", shell.local_addr);
    let child = std::process::Command::new("wrk")
        .args(["-t2", "-c16", "-d13s", "--latency", &url])
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(child) = child else {
        println!("api-load hot path skipped: wrk not found (make bootstrap installs it)");
        return;
    };
    // Drive the tick runtime meanwhile, as the service's tick thread always is.
    ct.block_on(async { tokio::time::sleep(Duration::from_secs(1)).await });
    tally.begin(&hot.store);
    let interval_us = 10_000;
    let (st, jitter_ms) = ct.block_on(async {
        let mut st = Stages::default();
        let mut jitter_ms = Vec::new();
        let mut interval = inference::tick::aligned_interval(interval_us);
        let mut last_slot = 0;
        for _ in 0..1_000 {
            interval.tick().await;
            let wall = now_us();
            jitter_ms.push(inference::schedule::offset_us(wall, interval_us).unsigned_abs() as f64 / 1e3);
            // A tick late by more than half the interval rounds to the next slot, which the next
            // tick would round to as well: a duplicate, whose publish skips the XADD.
            let slot = inference::schedule::nearest_slot_us(wall, interval_us).max(last_slot + interval_us);
            last_slot = slot;
            let o = hot.tick(slot).await;
            st.push(&o);
            publish(&o);
        }
        (st, jitter_ms)
    });
    tally.end(&hot.store);
    let o = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    println!("wrk -t2 -c16 -d13s during the ticks (in-process API, shared cores):\n{text}");
    if let Some((rps, p99)) = parse_wrk(&text) {
        out.insert("api_latest_rps_c16_during_ticks".into(), json!(rps));
        out.insert("api_latest_p99_ms_c16_during_ticks".into(), json!(p99));
    }
    st.report(" under API load (1 000 ticks at 10 ms)", "_api_load", out);
    summary(
        "  tick jitter under API load (ms as µs·1e-3)",
        jitter_ms.iter().map(|m| m * 1e3).collect(),
        out,
        &[],
    );
    let mut j = jitter_ms;
    j.sort_by(f64::total_cmp);
    out.insert(
        "tick_jitter_ms_p99_api_load".into(),
        json!((pct(&j, 0.99) * 1000.0).round() / 1000.0),
    );
    token.cancel();
    rt.block_on(shell.join());
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
    // Like the service: the tick loop and its Redis client on a current-thread runtime, the API on
    // a multi-thread one. `BENCH_ONLY=hot_path` stops after the hot-path measurements (no file).
    let ct = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The service's path: pushed snapshot in memory (the aggregator's flush every 100 ms, its
    // default interval), read as the fallback.
    let feeder = Feeder::start(&redis.url(), Duration::from_millis(100));
    let hot = ct.block_on(setup(&redis, |store| {
        let push = PushStore::new(
            store,
            fred::prelude::Config::from_url(&redis.url()).unwrap(),
            "BTCUSDT",
            PushLimits::default(),
            None,
        )
        .unwrap()
        .record_delays();
        push.start_push();
        push
    }));
    ct.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !hot.store.serving_push() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let mut tally = PushTally::default();
    tally.begin(&hot.store);
    ct.block_on(hot_path(&hot, 0, "", &mut out));
    tally.end(&hot.store);
    let read_only = ct.block_on(setup(&redis, |s| s));
    ct.block_on(hot_path(
        &read_only,
        (WARMUP + ITERATIONS) as i64,
        "_read",
        &mut out,
    ));
    ct.block_on(raw_floor(redis.port, &mut out));
    under_api_load(&rt, &ct, &hot, &mut tally, &mut out);
    let flushes = feeder.stop();
    tally.report(flushes, &mut out);
    if std::env::var("BENCH_ONLY").as_deref() == Ok("hot_path") {
        return;
    }
    let m = model_alone(&mut out);
    rt.block_on(dispatch(m, &mut out));
    ct.block_on(jitter(&mut out));
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
