#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The producer against a real kinesalite: order, completeness, outage recovery, backpressure.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::ShardIteratorType;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kinesis_io::producer::{Assembler, Outgoing, Producer, ProducerConfig};
use metrics_schema::IngestorMetrics;
use metrics_schema::labels::LabelValue;
use prometheus_client::registry::Registry;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use svc_kit::testing::servers::Kinesalite;
use tokio_util::sync::CancellationToken;

/// Length-prefixed concatenation: enough to check aggregation without the real record format.
struct Concat;
impl Assembler for Concat {
    fn assemble(&mut self, _key: &str, q: &mut VecDeque<Bytes>, max: usize) -> (Bytes, u32) {
        let mut out = BytesMut::new();
        let mut n = 0;
        while let Some(ev) = q.front() {
            if n > 0 && out.len() + 4 + ev.len() > max {
                break;
            }
            out.put_u32(ev.len() as u32);
            out.extend_from_slice(ev);
            q.pop_front();
            n += 1;
        }
        (out.freeze(), n)
    }
}

async fn client(endpoint: &str) -> Client {
    kinesis_io::client::build_local(endpoint).await
}

async fn create_stream(c: &Client, name: &str) {
    c.create_stream()
        .stream_name(name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    for _ in 0..200 {
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

/// Every event in the stream, in order, unpacked from the records.
async fn read_all(c: &Client, name: &str) -> Vec<u64> {
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
            .limit(1000)
            .send()
            .await
            .unwrap();
        for rec in r.records() {
            let mut b = Bytes::copy_from_slice(rec.data().as_ref());
            while b.has_remaining() {
                let len = b.get_u32() as usize;
                out.push(b.split_to(len).get_u64());
            }
        }
        if r.records().is_empty() {
            break;
        }
        it = r.next_shard_iterator().map(str::to_string);
    }
    out
}

fn producer(c: Client, stream: &str, max_buffered: usize) -> (Producer<Concat>, IngestorMetrics, Registry) {
    let mut reg = Registry::default();
    let m = IngestorMetrics::register(&mut reg);
    let cfg = ProducerConfig {
        stream_name: stream.into(),
        linger: Duration::from_millis(20),
        max_buffered_events: max_buffered,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        max_record_bytes: 4096,
    };
    (Producer::new(c, cfg, Concat, m.clone()), m, reg)
}

fn ev(i: u64) -> Outgoing {
    Outgoing {
        partition_key: Arc::from("BTCUSDT"),
        data: Bytes::copy_from_slice(&i.to_be_bytes()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_kinesis_once_and_in_order_aggregated_into_records() {
    let k = Kinesalite::start().unwrap();
    let c = client(&k.endpoint()).await;
    create_stream(&c, "events").await;
    let (p, m, _reg) = producer(c.clone(), "events", 100_000);
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let stop = CancellationToken::new();
    let task = tokio::spawn(p.run(rx, stop.clone(), Duration::from_secs(5)));
    for i in 0..5_000u64 {
        tx.send(ev(i)).await.unwrap();
    }
    drop(tx);
    let stats = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stats.events_sent, 5_000);
    assert_eq!(stats.events_unsent, 0);
    let got = read_all(&c, "events").await;
    assert_eq!(got, (0..5_000).collect::<Vec<_>>());
    // 4 KiB records of 12-byte events: aggregation, not one record per event.
    assert!(stats.records_sent < 100, "records {}", stats.records_sent);
    assert_eq!(m.kinesis_records_sent.get(), stats.records_sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kinesis_outage_buffers_with_backpressure_and_loses_nothing_after_restart() {
    let mut k = Kinesalite::start().unwrap();
    let port = k.port;
    let c = client(&k.endpoint()).await;
    create_stream(&c, "events").await;
    let (p, m, _reg) = producer(c.clone(), "events", 300);
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let stop = CancellationToken::new();
    let task = tokio::spawn(p.run(rx, stop.clone(), Duration::from_secs(10)));
    for i in 0..200u64 {
        tx.send(ev(i)).await.unwrap();
    }
    // Poll (deadline, no fixed sleep) until the first 200 are in the stream, then exactly those.
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(20);
    let before = loop {
        let got = read_all(&c, "events").await;
        if got.len() >= 200 || tokio::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        before,
        (0..200).collect::<Vec<_>>(),
        "the first 200 events, in order, in the stream within 20 s: {} events after {:?}",
        before.len(),
        started.elapsed()
    );

    k.stop();
    // The buffer bound (300) plus the channel (16) is all that fits: the 400th send must block.
    let mut sent = 200u64;
    let blocked = loop {
        match tokio::time::timeout(Duration::from_millis(500), tx.send(ev(sent))).await {
            Ok(r) => {
                r.unwrap();
                sent += 1;
                assert!(sent < 1_000, "no backpressure");
            }
            Err(_) => break sent,
        }
    };
    assert!(
        (200 + 300..=200 + 300 + 16 + 1).contains(&blocked),
        "blocked at {blocked}"
    );
    assert!(m.buffer_depth.get().unwrap() >= 299.0);
    let failed: u64 = metrics_schema::labels::KinesisError::ALL
        .iter()
        .map(|&e| {
            m.kinesis_failed_records
                .get_or_create(&metrics_schema::services::ingestor::KinesisErrorLabels { error_type: e })
                .get()
        })
        .sum();
    assert!(failed > 0, "failed puts are counted");

    let _k2 = Kinesalite::start_on(port).unwrap();
    create_stream(&c, "events").await; // kinesalite keeps streams in memory
    drop(tx);
    let stats = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stats.events_unsent, 0);
    let after = read_all(&c, "events").await;
    assert_eq!(
        after,
        (200..blocked).collect::<Vec<_>>(),
        "everything buffered during the outage arrives, in order"
    );
}
