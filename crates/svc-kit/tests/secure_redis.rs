//! The TLS + ACL Redis test server (svc_kit::testing::secure_redis) with the client settings every
//! service uses (svc_kit::redis::fred_config): each user connects over TLS with the private CA and
//! its password file; the wrong CA, a wrong password or plain TCP are refused; inference, with its
//! own credentials, cannot write a checkpoint, a lease or the features hash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fred::prelude::*;
use std::time::Duration;
use svc_kit::redis::fred_config;
use svc_kit::testing::secure_redis::SecureRedis;

async fn client(cfg: &svc_kit::RedisConfig) -> Result<Client, Error> {
    let (config, _) = fred_config(cfg, None).unwrap();
    let c = Builder::from_config(config)
        .with_connection_config(|c| c.connection_timeout = Duration::from_secs(5))
        .build()?;
    tokio::time::timeout(Duration::from_secs(10), c.init())
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, "init timed out"))??;
    Ok(c)
}

#[tokio::test]
async fn each_user_connects_over_tls_and_inference_cannot_write_a_checkpoint() {
    let redis = SecureRedis::start().expect("redis-server with TLS, openssl, python3 + PyYAML");

    let agg = client(&redis.config("aggregator"))
        .await
        .expect("aggregator over TLS + ACL");
    let _: () = agg.hset("{BTCUSDT}:ckpt:shard-0", ("seq", "1")).await.unwrap();

    let inf = client(&redis.config("inference"))
        .await
        .expect("inference over TLS + ACL");
    let ckpt: Result<(), Error> = inf.hset("{BTCUSDT}:ckpt:shard-0", ("seq", "0")).await;
    let e = ckpt.expect_err("inference wrote a checkpoint");
    assert!(e.to_string().contains("NOPERM"), "{e}");
    let lease: Result<(), Error> = inf
        .set("{BTCUSDT}:lease:shard-0", "thief:9", None, None, false)
        .await;
    assert!(
        lease
            .expect_err("inference took a lease")
            .to_string()
            .contains("NOPERM")
    );
    let seq: String = agg.hget("{BTCUSDT}:ckpt:shard-0", "seq").await.unwrap();
    assert_eq!(seq, "1", "the checkpoint is unchanged");
    let _: () = inf
        .set("{BTCUSDT}:predictions:latest", "{}", None, None, false)
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_ca_wrong_password_and_plain_tcp_are_refused() {
    let redis = SecureRedis::start().expect("redis-server with TLS, openssl, python3 + PyYAML");

    // System roots do not trust the throwaway CA.
    let mut no_ca = redis.config("inference");
    no_ca.ca_file = None;
    assert!(
        client(&no_ca).await.is_err(),
        "TLS without the private CA connected"
    );

    // Another user's password.
    let mut wrong_pw = redis.config("inference");
    wrong_pw.password_file = Some(redis.password_file("aggregator"));
    let e = client(&wrong_pw)
        .await
        .expect_err("a wrong password authenticated");
    assert!(
        e.to_string().contains("WRONGPASS") || e.to_string().contains("invalid"),
        "{e}"
    );

    // Plain TCP to the TLS port.
    let plain = svc_kit::RedisConfig {
        url: format!("redis://127.0.0.1:{}", redis.port),
        ca_file: None,
        ..redis.config("inference")
    };
    assert!(client(&plain).await.is_err(), "plain TCP talked to the TLS port");
}

/// Issue 18: the aggregator's flush script publishes the features on `{S}:features:push` and
/// inference subscribes to it, both over TLS as their own users; inference cannot publish there
/// (a forged snapshot) and the ingestor's subscription is refused.
#[tokio::test]
async fn aggregator_publishes_pushed_features_that_inference_receives_over_tls() {
    let redis = SecureRedis::start().expect("redis-server with TLS, openssl, python3 + PyYAML");
    let channel = "{BTCUSDT}:features:push";
    let (config, _) = fred_config(&redis.config("inference"), None).unwrap();
    let sub = Builder::from_config(config).build().unwrap();
    let mut messages = sub.message_rx();
    tokio::time::timeout(Duration::from_secs(10), sub.init())
        .await
        .unwrap()
        .unwrap();
    sub.subscribe(channel).await.expect("inference subscribes");

    // The ingestor's SUBSCRIBE is refused by the server (NOPERM; fred 10 does not surface that
    // reply as an error), so the publish below reaches inference alone.
    let ingestor = Builder::from_config(fred_config(&redis.config("ingestor"), None).unwrap().0)
        .build()
        .unwrap();
    ingestor.init().await.unwrap();
    let mut ingestor_messages = ingestor.message_rx();
    let _ = ingestor.subscribe(channel).await;

    let agg = client(&redis.config("aggregator")).await.unwrap();
    let receivers: i64 = agg
        .eval(
            "redis.call('HSET', KEYS[1], 'fmt', '1') return redis.call('PUBLISH', ARGV[1], ARGV[2])",
            vec!["{BTCUSDT}:features"],
            vec![channel, "3:fmt1:1"],
        )
        .await
        .expect("the aggregator's script publishes");
    assert_eq!(receivers, 1, "inference only");
    let msg = tokio::time::timeout(Duration::from_secs(5), messages.recv())
        .await
        .expect("delivered")
        .unwrap();
    assert_eq!(msg.value.as_bytes(), Some(b"3:fmt1:1".as_slice()));
    assert!(ingestor_messages.try_recv().is_err(), "the ingestor received it");

    let inf = client(&redis.config("inference")).await.unwrap();
    let forged: Result<i64, Error> = inf.publish(channel, "forged").await;
    assert!(
        forged
            .expect_err("inference published")
            .to_string()
            .contains("NOPERM")
    );
}
