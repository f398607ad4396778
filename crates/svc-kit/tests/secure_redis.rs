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
