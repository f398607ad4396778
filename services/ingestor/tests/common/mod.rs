//! Test rig: the exchange simulator in-process, kinesalite as a real process, the ingestor
//! in-process (its own metrics and health), and a reader for everything that reached Kinesis.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::ShardIteratorType;
use exchange_sim::{SimConfig, SimHandle, Simulator, SourceConfig, SyntheticParams};
use ingestor::app::Running;
use ingestor::config::Config;
use pipeline_events::{OwnedEvent, RecordReader};
use std::path::PathBuf;
use std::time::Duration;
use svc_kit::testing::servers::Kinesalite;
use tokio_util::sync::CancellationToken;

pub const STREAM: &str = "market-events";

/// The spot recording pair, or `None` (with a printed reason) when `../shared` is absent.
pub fn spot_files() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/market/hftbacktest/examples/spot");
    let files: Vec<_> = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    if files.iter().all(|f| f.is_file()) {
        Some(files)
    } else {
        eprintln!("SKIP: recorded spot data not found under {}", dir.display());
        None
    }
}

pub fn synthetic() -> SourceConfig {
    SourceConfig::Synthetic {
        seed: 7,
        start_time_us: None,
        params: SyntheticParams::default(),
    }
}

pub async fn create_stream(c: &Client, name: &str) {
    c.create_stream()
        .stream_name(name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    for _ in 0..500 {
        let s = c
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        if s.stream_description_summary()
            .map(|d| d.stream_status().as_str() == "ACTIVE")
            .unwrap_or(false)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("stream not active");
}

/// One record as read back: envelope fields and its events.
#[derive(Debug)]
pub struct Rec {
    pub producer_id: u64,
    pub batch_sequence: u64,
    pub events: Vec<OwnedEvent>,
}

/// Every record of the (single-shard) stream, in order.
pub async fn read_all(c: &Client, name: &str) -> Vec<Rec> {
    let shards = c.list_shards().stream_name(name).send().await.unwrap();
    let shard = shards.shards()[0].shard_id().to_string();
    let mut it = c
        .get_shard_iterator()
        .stream_name(name)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .map(str::to_string);
    let mut out = Vec::new();
    while let Some(i) = it {
        let r = c
            .get_records()
            .shard_iterator(i)
            .limit(10_000)
            .send()
            .await
            .unwrap();
        for rec in r.records() {
            assert_eq!(rec.partition_key(), Some("BTCUSDT"));
            let reader = RecordReader::new(rec.data().as_ref()).unwrap();
            out.push(Rec {
                producer_id: reader.producer_id(),
                batch_sequence: reader.batch_sequence(),
                events: reader.events().map(|e| e.unwrap().to_owned_event()).collect(),
            });
        }
        if r.records().is_empty() {
            break;
        }
        it = r.next_shard_iterator().map(str::to_string);
    }
    out
}

pub fn events(recs: &[Rec]) -> Vec<OwnedEvent> {
    recs.iter().flat_map(|r| r.events.iter().cloned()).collect()
}

/// Ingestor config against `sim` with short timeouts for tests.
pub fn config(sim: &SimHandle) -> Config {
    let mut c = Config::default();
    c.http.listen = ([127, 0, 0, 1], 0).into();
    c.exchange.ws_url = sim.ws_url();
    c.exchange.rest_url = sim.http_url();
    c.exchange.ping_interval_secs = 0.5;
    c.exchange.idle_timeout_secs = 1.5;
    c.exchange.reconnect_backoff_base_ms = 50;
    c.exchange.reconnect_backoff_max_ms = 500;
    c.rest.snapshot_interval_secs = 0.0;
    c.rest.retry_backoff_base_ms = 50;
    c.rest.retry_backoff_max_ms = 500;
    c.rest.timeout_secs = 2.0;
    c.producer.linger_ms = 20;
    c.producer.backoff_base_ms = 20;
    c.producer.backoff_max_ms = 300;
    c.shutdown.drain_timeout_secs = 30.0;
    c
}

pub fn sim_config(source: SourceConfig) -> SimConfig {
    let mut s = SimConfig::for_tests(source);
    s.ping_interval = Duration::from_millis(500);
    s
}

pub struct Rig {
    pub sim: SimHandle,
    pub kinesalite: Kinesalite,
    pub client: Client,
    pub ingestor: Option<Running>,
    pub shutdown: CancellationToken,
}

impl Rig {
    pub async fn start(sim: SimConfig, tweak: impl FnOnce(&mut Config)) -> Rig {
        let kinesalite = Kinesalite::start().unwrap();
        let client = kinesis_io::client::build_local(&kinesalite.endpoint()).await;
        create_stream(&client, STREAM).await;
        let sim = Simulator::start(sim).await.unwrap();
        let mut cfg = config(&sim);
        cfg.kinesis.endpoint_url = Some(kinesalite.endpoint());
        tweak(&mut cfg);
        let shutdown = CancellationToken::new();
        let ingestor = ingestor::app::start(cfg, client.clone(), shutdown.clone())
            .await
            .unwrap();
        Rig {
            sim,
            kinesalite,
            client,
            ingestor: Some(ingestor),
            shutdown,
        }
    }

    pub fn m(&self) -> &metrics_schema::IngestorMetrics {
        &self.ingestor.as_ref().unwrap().metrics
    }

    pub fn health(&self) -> &svc_kit::health::Health {
        &self.ingestor.as_ref().unwrap().health
    }

    /// Stops the ingestor (drains the producer) and returns every record in the stream.
    pub async fn stop_and_read(&mut self) -> Vec<Rec> {
        self.shutdown.cancel();
        let stats = self.ingestor.take().unwrap().stop().await.unwrap();
        assert_eq!(stats.events_unsent, 0, "{stats:?}");
        read_all(&self.client, STREAM).await
    }
}

/// Polls `cond` every 20 ms until it holds or `limit` passes.
pub async fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn count<F: Fn(&OwnedEvent) -> bool>(evs: &[OwnedEvent], f: F) -> usize {
    evs.iter().filter(|e| f(e)).count()
}

pub fn messages(m: &metrics_schema::IngestorMetrics) -> u64 {
    use metrics_schema::labels::{LabelValue, MessageType};
    use metrics_schema::services::ingestor::MessageTypeLabels;
    MessageType::ALL
        .iter()
        .map(|&message_type| {
            m.sbe_messages
                .get_or_create(&MessageTypeLabels { message_type })
                .get()
        })
        .sum()
}

/// Successful REST depth calls counted by the ingestor.
pub fn rest_ok(m: &metrics_schema::IngestorMetrics) -> u64 {
    m.rest_api_calls
        .get_or_create(&metrics_schema::services::ingestor::RestCallLabels {
            endpoint: metrics_schema::labels::RestEndpoint::Depth,
            status: metrics_schema::labels::HttpStatus::Ok,
        })
        .get()
}
