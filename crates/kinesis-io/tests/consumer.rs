#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The shard consumer against a real kinesalite: start positions from the gate, order, child shards.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use kinesis_io::consumer::{self, BoxFuture, ConsumerConfig, ShardBatch, ShardGate, StartPosition};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use svc_kit::testing::servers::Kinesalite;
use tokio_util::sync::CancellationToken;

struct Gate {
    start: StartPosition,
    claimed: Mutex<Vec<String>>,
}

impl ShardGate for Gate {
    fn claim(&self, shard_id: &str) -> BoxFuture<Option<StartPosition>> {
        self.claimed.lock().unwrap().push(shard_id.to_string());
        let s = self.start.clone();
        Box::pin(async move { Some(s) })
    }
}

async fn stream(c: &Client, name: &str) {
    c.create_stream()
        .stream_name(name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    wait_active(c, name).await;
}

async fn wait_active(c: &Client, name: &str) {
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

async fn put(c: &Client, name: &str, range: std::ops::Range<u32>) -> Vec<String> {
    let mut seqs = Vec::new();
    for i in range {
        let out = c
            .put_record()
            .stream_name(name)
            .partition_key(format!("k{}", i % 7))
            .data(Blob::new(i.to_be_bytes().to_vec()))
            .send()
            .await
            .unwrap();
        seqs.push(out.sequence_number().to_string());
    }
    seqs
}

fn cfg(name: &str) -> ConsumerConfig {
    ConsumerConfig {
        stream_name: name.into(),
        max_records_per_call: 37,
        shard_refresh: Duration::from_millis(300),
        ..ConsumerConfig::default()
    }
}

/// Runs a consumer until `n` records arrived (bounded); returns (shard, value) in arrival order.
async fn consume(
    c: &Client,
    name: &str,
    start: StartPosition,
    n: usize,
) -> (Vec<(String, u32)>, Vec<String>) {
    let gate = Arc::new(Gate {
        start,
        claimed: Mutex::default(),
    });
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ShardBatch>(4);
    let stop = CancellationToken::new();
    let task = tokio::spawn(consumer::run(
        c.clone(),
        cfg(name),
        gate.clone(),
        tx,
        stop.clone(),
    ));
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while got.len() < n {
            let b = rx.recv().await.unwrap();
            for r in &b.records {
                got.push((
                    b.shard_id.to_string(),
                    u32::from_be_bytes(r.data[..4].try_into().unwrap()),
                ));
            }
        }
    })
    .await
    .expect("records within 60 s");
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    let claimed = gate.claimed.lock().unwrap().clone();
    (got, claimed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_arrives_once_in_order_from_the_position_the_gate_returns() {
    let k = Kinesalite::start().unwrap();
    let c = kinesis_io::client::build_local(&k.endpoint()).await;
    stream(&c, "s").await;
    let seqs = put(&c, "s", 0..200).await;
    let (all, _) = consume(&c, "s", StartPosition::TrimHorizon, 200).await;
    assert_eq!(
        all.iter().map(|x| x.1).collect::<Vec<_>>(),
        (0..200).collect::<Vec<_>>()
    );
    let (rest, _) = consume(&c, "s", StartPosition::AfterSequence(seqs[149].clone()), 50).await;
    assert_eq!(
        rest.iter().map(|x| x.1).collect::<Vec<_>>(),
        (150..200).collect::<Vec<_>>()
    );
    let (at, _) = consume(&c, "s", StartPosition::AtSequence(seqs[10].clone()), 190).await;
    assert_eq!(at[0].1, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_shards_are_read_only_after_their_parent_is_read_to_the_end() {
    let k = Kinesalite::start().unwrap();
    let c = kinesis_io::client::build_local(&k.endpoint()).await;
    stream(&c, "s").await;
    put(&c, "s", 0..60).await;
    let shards = c.list_shards().stream_name("s").send().await.unwrap();
    let parent = shards.shards()[0].shard_id().to_string();
    c.split_shard()
        .stream_name("s")
        .shard_to_split(&parent)
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .unwrap();
    wait_active(&c, "s").await;
    put(&c, "s", 60..120).await;
    let (got, claimed) = consume(&c, "s", StartPosition::TrimHorizon, 120).await;
    let first_child = got.iter().position(|(s, _)| *s != parent).unwrap();
    assert_eq!(first_child, 60, "the parent's 60 records come first");
    assert!(got[..60].iter().all(|(s, _)| *s == parent));
    let mut values: Vec<u32> = got.iter().map(|x| x.1).collect();
    values.sort_unstable();
    assert_eq!(values, (0..120).collect::<Vec<_>>(), "nothing lost or doubled");
    assert_eq!(claimed.len(), 3, "parent and both children claimed: {claimed:?}");
}

#[test]
fn sequence_numbers_order_numerically_not_lexically() {
    use std::cmp::Ordering::*;
    assert_eq!(consumer::seq_cmp("9", "10"), Less);
    assert_eq!(
        consumer::seq_cmp(
            "49590338271490256608559692538361571095921575989136588898",
            "49590338271490256608559692538361571095921575989136588899"
        ),
        Less
    );
    assert_eq!(consumer::seq_cmp("7", "7"), Equal);
}
