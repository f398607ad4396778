//! Kinesis outage: kinesalite (with on-disk storage, so its data survives) is stopped mid-stream
//! and restarted; the producer buffers, backpressure shows in the metrics, and nothing is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use exchange_sim::{Simulator, Speed};
use metrics_schema::labels::{DropReason, Intentional, LabelValue};
use metrics_schema::services::ingestor::DropLabels;
use pipeline_events::OwnedEvent;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// kinesalite storing its data under `dir` (leveldown), so a restart keeps every record.
struct DiskKinesalite(Child);

impl DiskKinesalite {
    fn start(port: u16, dir: &Path) -> Self {
        let module = std::env::var_os("KINESALITE_MODULE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.local/node/node_modules/kinesalite")
            });
        let script = format!(
            "require({:?})({{path:{:?},createStreamMs:20,deleteStreamMs:20,updateStreamMs:20}}).listen({port},'127.0.0.1')",
            module.display().to_string(),
            dir.display().to_string()
        );
        let mut child = Command::new("node")
            .args(["-e", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..400 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self(child);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("kinesalite did not listen on {port}");
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for DiskKinesalite {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesalite_stopped_and_restarted_mid_stream_loses_nothing_and_backpressure_shows_in_metrics() {
    let dir = std::env::temp_dir().join(format!("ingestor-outage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = svc_kit::testing::free_port().unwrap();
    let mut kinesalite = DiskKinesalite::start(port, &dir);
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = kinesis_io::client::build_local(&endpoint).await;
    create_stream(&client, STREAM).await;

    let mut simcfg = sim_config(synthetic());
    simcfg.speed = Speed::Factor(20.0);
    let sim = Simulator::start(simcfg).await.unwrap();
    let mut cfg = config(&sim);
    cfg.kinesis.endpoint_url = Some(endpoint);
    let shutdown = CancellationToken::new();
    let running = ingestor::app::start(cfg, client.clone(), shutdown.clone())
        .await
        .unwrap();
    let m = running.metrics.clone();
    let health = running.health.clone();
    wait_until(Duration::from_secs(30), "records flowing", || {
        m.kinesis_records_sent.get() >= 3 && health.is_ready()
    })
    .await;

    kinesalite.stop();
    let before = messages(&m);
    wait_until(Duration::from_secs(20), "events piling up in the buffer", || {
        m.buffer_depth.get().unwrap_or(0.0) >= 200.0 && messages(&m) > before + 200
    })
    .await;
    wait_until(Duration::from_secs(5), "kinesis retrying in /health", || {
        health.get("kinesis").map(|c| c.status) == Some("retrying") && !health.is_ready()
    })
    .await;
    let depth_during = m.buffer_depth.get().unwrap();

    let _restarted = DiskKinesalite::start(port, &dir);
    wait_until(Duration::from_secs(60), "backlog drained", || {
        m.buffer_depth.get().unwrap_or(f64::MAX) < depth_during / 4.0
    })
    .await;
    wait_until(Duration::from_secs(5), "kinesis ok again", || {
        health.get("kinesis").map(|c| c.status) == Some("ok")
    })
    .await;
    shutdown.cancel();
    let stats = running.stop().await.unwrap();
    assert_eq!(stats.events_unsent, 0);

    let dropped: u64 = DropReason::ALL
        .iter()
        .flat_map(|&reason| {
            Intentional::ALL
                .iter()
                .map(move |&intentional| DropLabels { reason, intentional })
        })
        .map(|l| m.events_dropped.get_or_create(&l).get())
        .sum();
    assert_eq!(dropped, 0, "the buffer held the whole outage");
    // At-least-once: a record accepted just before the kill may be sent again after the restart;
    // its batch sequence identifies the copy. Without copies, sequences must run 1..=n (no loss).
    let mut seen = std::collections::HashSet::new();
    let recs: Vec<Rec> = read_all(&client, STREAM)
        .await
        .into_iter()
        .filter(|r| seen.insert((r.producer_id, r.batch_sequence)))
        .collect();
    let seqs: Vec<u64> = recs.iter().map(|r| r.batch_sequence).collect();
    assert_eq!(
        seqs,
        (1..=recs.len() as u64).collect::<Vec<_>>(),
        "no record lost or reordered"
    );
    let evs = events(&recs);
    let market = count(&evs, |e| {
        matches!(
            e,
            OwnedEvent::Trade { .. } | OwnedEvent::BestBidAsk { .. } | OwnedEvent::DepthDiff { .. }
        )
    });
    // Frames keep arriving until shutdown: compare with the counter read after the stop.
    assert_eq!(
        market as u64,
        messages(&m),
        "every market frame counted was published"
    );
    assert!(
        market as u64 > before + 200,
        "the outage backlog is in the stream"
    );
    assert_eq!(count(&evs, |e| matches!(e, OwnedEvent::StreamGap { .. })), 0);
    let mut prev_u = None;
    for e in &evs {
        if let OwnedEvent::DepthDiff {
            first_update_id,
            last_update_id,
            ..
        } = e
        {
            if let Some(p) = prev_u {
                assert_eq!(*first_update_id, p + 1, "diff chain intact across the outage");
            }
            prev_u = Some(*last_update_id);
        }
    }
    assert!(depth_during >= 200.0);
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
