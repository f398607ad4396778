//! Inference's own Redis client as production configures it (TLS + ACL user `inference`, built by
//! svc_kit::redis::fred_config like the binary does): the real publish script (EVALSHA with SCRIPT
//! LOAD on first use, writing {S}:predictions, :latest and :last_slot) and the features read are
//! allowed; the same connection cannot write a checkpoint or the features hash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use fred::prelude::*;
use inference::store::{HotPathStore, PublishOutcome, RedisStore};
use std::time::Duration;
use svc_kit::testing::secure_redis::SecureRedis;

#[tokio::test]
async fn inference_publishes_over_tls_as_its_user_and_cannot_write_a_checkpoint() {
    let redis = SecureRedis::start().expect("redis-server with TLS, openssl, python3 + PyYAML");
    let (config, _) = svc_kit::redis::fred_config(&redis.config("inference"), None).unwrap();
    let store = RedisStore::with_config(config.clone(), "BTCUSDT", 1000, Duration::from_secs(2)).unwrap();
    store.start();
    assert!(
        store.wait_connected(Duration::from_secs(10)).await,
        "inference connected over TLS"
    );
    let json = Bytes::from_static(b"{\"p\":1}");
    assert!(matches!(
        store.publish(1_000, json.clone()).await.unwrap(),
        PublishOutcome::Written
    ));
    assert!(matches!(
        store.publish(1_000, json).await.unwrap(),
        PublishOutcome::Duplicate
    ));
    assert!(store.read_features().await.unwrap().is_none());

    // The same credentials, used directly: no checkpoint, features or lease writes.
    let raw = Builder::from_config(config).build().unwrap();
    raw.init().await.unwrap();
    for (what, r) in [
        (
            "checkpoint",
            raw.hset::<(), _, _>("{BTCUSDT}:ckpt:shard-0", ("seq", "0")).await,
        ),
        (
            "features",
            raw.hset::<(), _, _>("{BTCUSDT}:features", ("epoch", "9")).await,
        ),
    ] {
        let e = r.expect_err(what);
        assert!(e.to_string().contains("NOPERM"), "{what}: {e}");
    }
}

/// Issue 18 over TLS + ACL as production runs it: the aggregator's real flush script, as ACL user
/// `aggregator`, publishes the features; inference's `PushStore`, as ACL user `inference`, serves them
/// from memory (the subscription is allowed by `deploy/redis/acl.yaml`, not just by a default user).
#[tokio::test(flavor = "current_thread")]
async fn pushed_features_reach_inference_over_tls_as_each_services_own_user() {
    use inference::push::PushLimits;
    use inference::push_store::PushStore;
    let redis = SecureRedis::start().expect("redis-server with TLS, openssl, python3 + PyYAML");
    let (inf_config, _) = svc_kit::redis::fred_config(&redis.config("inference"), None).unwrap();
    let read = RedisStore::with_config(inf_config.clone(), "BTCUSDT", 1000, Duration::from_secs(2)).unwrap();
    read.start();
    assert!(read.wait_connected(Duration::from_secs(10)).await);
    let push = PushStore::new(read, inf_config, "BTCUSDT", PushLimits::default(), None).unwrap();
    push.start_push();

    let (agg_config, _) = svc_kit::redis::fred_config(&redis.config("aggregator"), None).unwrap();
    let agg = aggregator::store::Store::connect(
        agg_config,
        "BTCUSDT",
        market::InstrumentScale::BTCUSDT_SPOT,
        Duration::from_secs(2),
        metrics_schema::AggregatorMetrics::register(&mut Default::default()),
    )
    .unwrap();
    let mut values = [0.0; features::N_FEATURES];
    values[features::spec::idx::MID_PRICE] = 61_602.015;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut flushes = 0;
    while !push.serving_push() {
        assert!(
            std::time::Instant::now() < deadline,
            "never served from memory after {flushes} flushes"
        );
        let now = inference::hot_path::now_us();
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
        agg.flush(&p, &[], now)
            .await
            .expect("the aggregator flushes as its ACL user");
        flushes += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let raw = push.read_features().await.unwrap().unwrap();
    let snap = inference::contract::decode(&raw).unwrap();
    assert_eq!(snap.mid, Some(61_602.015));
    assert_eq!(push.served().push.load(std::sync::atomic::Ordering::Relaxed), 1);
    push.quit_push().await;
}
