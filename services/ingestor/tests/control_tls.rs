//! The control channel as it runs in ECS: Redis over TLS (private CA here, ElastiCache's in AWS)
//! with ACL users. The aggregator writes the request with its own user; the ingestor reads it as
//! the `ingestor` user (read-only on `{S}:control`) and fetches a snapshot. The ingestor's user
//! cannot write the control stream itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use exchange_sim::Speed;
use fred::prelude::*;
use pipeline_events::OwnedEvent;
use std::time::Duration;
use svc_kit::testing::secure_redis::SecureRedis;

const KEY: &str = "{BTCUSDT}:control";

async fn snapshots(rig: &Rig) -> usize {
    events(&read_all(&rig.client, STREAM).await)
        .iter()
        .filter(|e| matches!(e, OwnedEvent::DepthSnapshot { .. }))
        .count()
}

async fn client_as(redis: &SecureRedis, user: &str) -> Client {
    let (config, _) = svc_kit::redis::fred_config(&redis.config(user), None).unwrap();
    let c = Builder::from_config(config).build().unwrap();
    c.init().await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_request_over_tls_and_acl_users_triggers_a_snapshot() {
    let redis = SecureRedis::start().expect("redis-server with TLS, openssl, python3 + PyYAML");
    let ingestor = redis.config("ingestor");
    let mut sim = sim_config(synthetic());
    sim.speed = Speed::Factor(2.0);
    let mut rig = Rig::start(sim, move |c| {
        c.control.redis_url = Some(ingestor.url.clone());
        c.control.redis_username = ingestor.username.clone();
        c.control.redis_password_file = ingestor.password_file.clone();
        c.control.redis_ca_file = ingestor.ca_file.clone();
    })
    .await;
    let m = rig.m().clone();
    let health = rig.health().clone();
    wait_until(
        Duration::from_secs(30),
        "streaming, anchored, control connected over TLS as user ingestor",
        || {
            messages(&m) > 20
                && rest_ok(&m) >= 1
                && health.get("control").is_some_and(|c| c.status == "connected")
        },
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while snapshots(&rig).await < 1 {
        assert!(tokio::time::Instant::now() < deadline, "no startup snapshot");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(snapshots(&rig).await, 1);
    // The reader reads entries added after its first XREAD: give it one read cycle.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The ingestor's own user may only read the control stream.
    let own = client_as(&redis, "ingestor").await;
    let denied: Result<String, Error> = own
        .xadd(KEY, false, None, "*", vec![("type", "snapshot_request")])
        .await;
    assert!(
        denied
            .expect_err("ingestor wrote control")
            .to_string()
            .contains("NOPERM")
    );

    let aggregator = client_as(&redis, "aggregator").await;
    let calls = rest_ok(&m);
    let _id: String = aggregator
        .xadd(
            KEY,
            false,
            ("MAXLEN", "~", 1000i64),
            "*",
            vec![
                ("type", "snapshot_request"),
                ("epoch", "1"),
                ("reason", "timeout"),
            ],
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while snapshots(&rig).await < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no snapshot 20 s after a control request over TLS"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rest_ok(&m), calls + 1, "one REST depth call for the request");
    let _ = rig.stop_and_read().await;
}
