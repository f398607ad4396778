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
