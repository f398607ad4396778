//! Pipeline benches with the real release binaries, real kinesalite and real Redis (harness = false):
//!
//! 1. `ingest_to_kinesis_events_per_sec` — the recorded spot pair (~100 k events, a bounded run)
//!    served by the exchange simulator (in-process) at max speed → the `ingestor` binary → kinesalite.
//!    Events accepted by PutRecords (the `ingestor_kinesis_batch_events` histogram sum, scraped from
//!    the binary's `/metrics`) divided by the time from the first ingested frame to the last accepted
//!    record. Also the ingestor's peak RSS at that rate (`rss_mb_ingestor_max_rate`).
//! 2. `reanchor_ms_p50` / `reanchor_ms_p99` — the whole pipeline live (simulator replaying at 1×,
//!    `ingestor`, `aggregator`, `inference` binaries, kinesalite, Redis): `GAPS` times, the simulator
//!    drops the next depth diff; the time from arming the drop until `{BTCUSDT}:anchor` in Redis is
//!    `synced` at a newer epoch (ingestor gap detection, StreamGap marker, REST snapshot, Kinesis,
//!    aggregator re-anchor, one MULTI/EXEC). `GAPS` = 20, so p99 is the slowest sample.
//! 3. `rss_mb_ingestor` / `rss_mb_aggregator` / `rss_mb_inference` — VmHWM of each binary at the end
//!    of run 2 (live replay, 20 re-anchors, the inference tick loop and a `GET
//!    /v1/predictions/latest` per second).
//!
//! The aggregator and inference binaries are taken from beside this bench's own executable
//! (`target/release/`); `cargo bench --workspace` builds them for their own benches. Missing
//! recordings or binaries skip the affected part with a printed reason.
//!
//! Writes `$CARGO_TARGET_DIR/bench/parts/{ingest_kinesis,reanchor,rss}.json` (default
//! `<workspace>/target`). Run: `cargo bench --workspace --bench pipeline`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{STREAM, create_stream, spot_files, synthetic};
use exchange_sim::{Fault, SimConfig, Simulator, SourceConfig, Speed};
use fred::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use svc_kit::testing::ServiceProcess;
use svc_kit::testing::servers::{Kinesalite, RedisServer};

const GAPS: usize = 20;
const SYNC_LIMIT: Duration = Duration::from_secs(60);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parts_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    let dir = target.join("bench/parts");
    std::fs::create_dir_all(&dir).expect("create bench/parts");
    dir
}

fn write_part(name: &str, fields: &[(&str, f64)]) {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("  \"{k}\": {v}")).collect();
    let path = parts_dir().join(name);
    std::fs::write(&path, format!("{{\n{}\n}}\n", body.join(",\n"))).expect("write part");
    println!("wrote {}", path.display());
}

/// Sum of every sample of metric `name` (all label sets) in a Prometheus text exposition.
fn metric_sum(body: &str, name: &str) -> f64 {
    body.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(p: &ServiceProcess) -> String {
    let url = format!("{}/metrics", p.base_url);
    match tokio::time::timeout(Duration::from_secs(5), svc_kit::cli::http_get(&url)).await {
        Ok(Ok((200, body))) => body,
        _ => String::new(),
    }
}

/// Peak resident set (VmHWM) of a live process, MiB.
fn vm_hwm_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

fn sibling_binary(name: &str) -> Option<PathBuf> {
    // This executable is target/<profile>/deps/pipeline-<hash>; the binaries sit in target/<profile>/.
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join(name);
    if p.is_file() {
        Some(p)
    } else {
        println!(
            "SKIP part: {} not built (run `cargo bench --workspace`)",
            p.display()
        );
        None
    }
}

fn start(binary: &Path, prefix: &str, env: &[(&str, &str)]) -> ServiceProcess {
    tokio::task::block_in_place(|| ServiceProcess::start(&binary.display().to_string(), prefix, env))
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()))
}

const AWS_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

fn start_ingestor(sim: &exchange_sim::SimHandle, kinesis: &str, stream: &str) -> ServiceProcess {
    let (ws, rest) = (sim.ws_url(), sim.http_url());
    let mut env = vec![
        ("INGESTOR__EXCHANGE__WS_URL", ws.as_str()),
        ("INGESTOR__EXCHANGE__REST_URL", rest.as_str()),
        ("INGESTOR__KINESIS__ENDPOINT_URL", kinesis),
        ("INGESTOR__KINESIS__STREAM_NAME", stream),
        ("INGESTOR__LOG__LEVEL", "warn"),
    ];
    env.extend_from_slice(&AWS_ENV);
    start(Path::new(env!("CARGO_BIN_EXE_ingestor")), "INGESTOR", &env)
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// Run 1: max-speed replay → ingestor binary → kinesalite.
async fn ingest_to_kinesis(files: Vec<PathBuf>) {
    let k = Kinesalite::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, STREAM).await;
    let sim = Simulator::start(SimConfig::for_tests(SourceConfig::Replay { files }))
        .await
        .unwrap();
    let ing = start_ingestor(&sim, &k.endpoint(), STREAM);
    let kinds = ["trade", "bestBidAsk", "depth"];
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut t_first: Option<Instant> = None;
    let (mut accepted, mut t_last_change) = (0.0f64, Instant::now());
    let mut hwm = 0.0f64;
    loop {
        assert!(
            Instant::now() < deadline,
            "ingest_to_kinesis did not finish in 300 s"
        );
        let body = scrape(&ing).await;
        let now = Instant::now();
        if t_first.is_none() && metric_sum(&body, "ingestor_sbe_messages_total") > 0.0 {
            t_first = Some(now);
        }
        let a = metric_sum(&body, "ingestor_kinesis_batch_events_sum");
        if a > accepted {
            accepted = a;
            t_last_change = now;
        }
        hwm = hwm.max(vm_hwm_mib(ing.child.id()).unwrap_or(0.0));
        let s = sim.stats();
        let sent: u64 = kinds.iter().map(|k| s.sent.get(*k).copied().unwrap_or(0)).sum();
        let all_sent = s.source.finished && kinds.iter().all(|k| s.sent.get(*k) == s.published.get(*k));
        if all_sent && accepted >= sent as f64 {
            break;
        }
        // Something was dropped (counted by the ingestor): stop once nothing moves for 3 s.
        if all_sent && now.duration_since(t_last_change) > Duration::from_secs(3) {
            println!(
                "ingest_to_kinesis: {accepted} accepted < {sent} sent; dropped {}",
                metric_sum(&body, "ingestor_events_dropped_total")
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let secs = t_last_change.duration_since(t_first.unwrap()).as_secs_f64();
    let eps = (accepted / secs).round();
    let body = scrape(&ing).await;
    println!(
        "ingest_to_kinesis_events_per_sec: {eps} ({accepted} events accepted in {secs:.2} s, {} records, \
         {} failed records, {} dropped); ingestor VmHWM {hwm} MiB",
        metric_sum(&body, "ingestor_kinesis_records_sent_total"),
        metric_sum(&body, "ingestor_kinesis_failed_records_total"),
        metric_sum(&body, "ingestor_events_dropped_total"),
    );
    drop(ing);
    sim.shutdown().await;
    write_part(
        "ingest_kinesis.json",
        &[
            ("ingest_to_kinesis_events_per_sec", eps),
            ("ingest_to_kinesis_events", accepted),
            ("rss_mb_ingestor_max_rate", hwm),
        ],
    );
}

async fn anchor(rc: &fred::clients::Client) -> (u64, String) {
    let v: Vec<Option<String>> = rc
        .hmget("{BTCUSDT}:anchor", vec!["epoch", "state"])
        .await
        .unwrap_or_default();
    let epoch = v
        .first()
        .cloned()
        .flatten()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    (epoch, v.get(1).cloned().flatten().unwrap_or_default())
}

/// Run 2: the live pipeline; GAPS dropped depth diffs → time until re-anchored; VmHWM of each binary.
async fn reanchor_and_rss(source: SourceConfig) {
    let (Some(agg_bin), Some(inf_bin)) = (sibling_binary("aggregator"), sibling_binary("inference")) else {
        return;
    };
    let k = Kinesalite::start().unwrap();
    let r = RedisServer::start().unwrap();
    let kc = kinesis_io::client::build_local(&k.endpoint()).await;
    create_stream(&kc, STREAM).await;
    let mut cfg = SimConfig::for_tests(source);
    cfg.speed = Speed::Factor(1.0);
    let sim = Simulator::start(cfg).await.unwrap();
    let started = Instant::now();
    let ing = start_ingestor(&sim, &k.endpoint(), STREAM);
    let (kinesis, redis) = (k.endpoint(), r.url());
    let mut env = vec![
        ("AGGREGATOR__KINESIS__ENDPOINT_URL", kinesis.as_str()),
        ("AGGREGATOR__KINESIS__STREAM_NAME", STREAM),
        ("AGGREGATOR__REDIS__URL", redis.as_str()),
        ("AGGREGATOR__LOG__LEVEL", "warn"),
    ];
    env.extend_from_slice(&AWS_ENV);
    let agg = start(&agg_bin, "AGGREGATOR", &env);
    let model = workspace()
        .join("model/artifacts/model.onnx")
        .display()
        .to_string();
    let baseline = workspace()
        .join("model/artifacts/baseline.onnx")
        .display()
        .to_string();
    let inf = start(
        &inf_bin,
        "INFERENCE",
        &[
            ("INFERENCE__REDIS__URL", redis.as_str()),
            ("INFERENCE__MODEL__PATH", model.as_str()),
            ("INFERENCE__MODEL__BASELINE_PATH", baseline.as_str()),
            ("INFERENCE__LOG__LEVEL", "warn"),
        ],
    );
    let rc = Builder::from_config(Config::from_url(&redis).unwrap())
        .build()
        .unwrap();
    rc.init().await.unwrap();

    let t = Instant::now();
    loop {
        if anchor(&rc).await.1 == "synced" {
            break;
        }
        assert!(t.elapsed() < SYNC_LIMIT, "aggregator never synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "reanchor: first sync {:.0} ms after start",
        started.elapsed().as_secs_f64() * 1000.0
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let latest = format!("{}/v1/predictions/latest", inf.base_url);
    let mut samples = Vec::new();
    let mut failed = 0;
    for _ in 0..GAPS {
        let (epoch, _) = anchor(&rc).await;
        let t0 = Instant::now();
        sim.inject(&Fault::DropDepthDiffs { count: 1 });
        loop {
            let (e, s) = anchor(&rc).await;
            if e > epoch && s == "synced" {
                samples.push(t0.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if t0.elapsed() > SYNC_LIMIT {
                failed += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let _ = svc_kit::cli::http_get(&latest).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let rss = [
        ("rss_mb_ingestor", vm_hwm_mib(ing.child.id())),
        ("rss_mb_aggregator", vm_hwm_mib(agg.child.id())),
        ("rss_mb_inference", vm_hwm_mib(inf.child.id())),
    ];
    let (am, im, inm) = (scrape(&agg).await, scrape(&ing).await, scrape(&inf).await);
    let secs = started.elapsed().as_secs_f64();
    drop((inf, agg, ing));
    sim.shutdown().await;

    let hist_sum = metric_sum(&am, "aggregator_reanchor_duration_seconds_sum");
    let hist_n = metric_sum(&am, "aggregator_reanchor_duration_seconds_count");
    println!(
        "reanchor: {} gaps, {failed} not re-anchored within {SYNC_LIMIT:?}; ingestor sequence gaps {}; \
         aggregator reanchor histogram n={hist_n} mean {:.1} ms (its own start→synced span)",
        samples.len(),
        metric_sum(&im, "ingestor_sbe_sequence_gaps_total"),
        if hist_n > 0.0 {
            hist_sum / hist_n * 1000.0
        } else {
            f64::NAN
        },
    );
    println!(
        "inference during the run: {} ticks with a prediction published",
        metric_sum(&inm, "inference_predictions_total")
    );
    let mut parts: Vec<(&str, f64)> = Vec::new();
    if failed == 0 && !samples.is_empty() {
        samples.sort_by(f64::total_cmp);
        let r1 = |x: f64| (x * 10.0).round() / 10.0;
        let (p50, p99, max) = (
            pct(&samples, 0.5),
            pct(&samples, 0.99),
            samples[samples.len() - 1],
        );
        println!(
            "reanchor_ms p50 {p50:.1} p99 {p99:.1} max {max:.1} ({} samples)",
            samples.len()
        );
        parts.extend([
            ("reanchor_ms_p50", r1(p50)),
            ("reanchor_ms_p99", r1(p99)),
            ("reanchor_ms_max", r1(max)),
            ("reanchor_samples", samples.len() as f64),
        ]);
    } else {
        println!("reanchor_ms not reported: {failed} of {GAPS} gaps did not re-anchor");
    }
    write_part("reanchor.json", &parts);
    let rss: Vec<(&str, f64)> = rss.iter().filter_map(|(k, v)| Some((*k, (*v)?))).collect();
    println!("rss (VmHWM after a {secs:.0} s live run): {rss:?}");
    let mut rss = rss;
    rss.push(("rss_run_secs", secs.round()));
    write_part("rss.json", &rss);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let files = spot_files();
    match &files {
        Some(f) => ingest_to_kinesis(f.clone()).await,
        None => println!("SKIP ingest_to_kinesis_events_per_sec: recorded spot data absent"),
    }
    let source = match files {
        Some(files) => SourceConfig::Replay { files },
        None => {
            println!("reanchor/rss: recorded spot data absent, using the synthetic market");
            synthetic()
        }
    };
    reanchor_and_rss(source).await;
}
