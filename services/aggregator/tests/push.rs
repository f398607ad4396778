//! The flush script's push (issue 18) on a real redis-server: every accepted flush publishes, in the
//! same script, exactly the `{S}:features` fields it wrote on `{S}:features:push`; a flush the
//! script refuses (epoch regression) publishes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aggregator::state::Published;
use aggregator::store::{Store, StoreError};
use features::{FEATURE_VERSION, FeatureVector, N_FEATURES};
use fred::prelude::*;
use market::{InstrumentScale, SyncState};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use svc_kit::testing::servers::RedisServer;

fn published(epoch: u64, k: f64) -> Published {
    Published {
        fv: FeatureVector {
            version: FEATURE_VERSION,
            event_time_us: 1_723_075_200_000_000,
            values: [k; N_FEATURES],
            warm: [true; N_FEATURES],
        },
        epoch,
        state: SyncState::Synced,
        last_update_id: 7,
        bids: Vec::new(),
        asks: Vec::new(),
        reanchors: 0,
    }
}

/// A bare RESP subscriber: one message's payload, or `None` on timeout.
struct Sub(BufReader<TcpStream>);

impl Sub {
    fn new(port: u16, channel: &str) -> Sub {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(format!("*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{channel}\r\n", channel.len()).as_bytes())
            .unwrap();
        let mut sub = Sub(BufReader::new(s));
        let ack = sub.next(Duration::from_secs(5)).expect("subscribe ack");
        assert_eq!(ack[0], b"subscribe");
        sub
    }

    fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.0.read_line(&mut l) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(l.trim_end().to_string()),
        }
    }

    /// One pushed array (`message`/`subscribe` frames) as its bulk items.
    fn next(&mut self, limit: Duration) -> Option<Vec<Vec<u8>>> {
        self.0.get_ref().set_read_timeout(Some(limit)).unwrap();
        let head = self.line()?;
        let n: usize = head.strip_prefix('*')?.parse().ok()?;
        let mut items = Vec::new();
        for _ in 0..n {
            let h = self.line()?;
            if let Some(i) = h.strip_prefix(':') {
                items.push(i.as_bytes().to_vec());
                continue;
            }
            let len: usize = h.strip_prefix('$')?.parse().ok()?;
            let mut b = vec![0u8; len + 2];
            self.0.read_exact(&mut b).ok()?;
            b.truncate(len);
            items.push(b);
        }
        Some(items)
    }
}

/// Splits a payload's `<len>:<bytes>` items into field → value.
fn fields(payload: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut items = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let colon = at + payload[at..].iter().position(|b| *b == b':').unwrap();
        let len: usize = std::str::from_utf8(&payload[at..colon]).unwrap().parse().unwrap();
        items.push(payload[colon + 1..colon + 1 + len].to_vec());
        at = colon + 1 + len;
    }
    assert_eq!(items.len() % 2, 0);
    items
        .chunks_exact(2)
        .map(|kv| (String::from_utf8(kv[0].clone()).unwrap(), kv[1].clone()))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn an_accepted_flush_publishes_the_hash_it_wrote_and_a_refused_one_publishes_nothing() {
    let redis = RedisServer::start().expect("redis-server (make bootstrap)");
    let mut sub = Sub::new(redis.port, "{BTCUSDT}:features:push");
    let store = Store::connect(
        Config::from_url(&redis.url()).unwrap(),
        "BTCUSDT",
        InstrumentScale::BTCUSDT_SPOT,
        Duration::from_secs(2),
        metrics_schema::AggregatorMetrics::register(&mut Default::default()),
    )
    .unwrap();
    store.flush(&published(3, 1.5), &[], 1_000).await.unwrap();
    // (Blocking read: the script has returned, so the message is already on the socket.)
    let msg = sub.next(Duration::from_secs(5)).expect("the flush published");
    assert_eq!(msg[0], b"message");
    assert_eq!(msg[1], b"{BTCUSDT}:features:push");
    let pushed = fields(&msg[2]);
    let admin = Client::new(Config::from_url(&redis.url()).unwrap(), None, None, None);
    admin.init().await.unwrap();
    let hash: HashMap<String, Vec<u8>> = admin.hgetall("{BTCUSDT}:features").await.unwrap();
    assert_eq!(
        pushed, hash,
        "the payload is the hash the flush wrote, field by field"
    );
    assert_eq!(pushed["epoch"], b"3");
    assert_eq!(pushed["values"].len(), N_FEATURES * 8);

    // An older epoch is refused by the script: nothing written, nothing published.
    let refused = store.flush(&published(2, 9.0), &[], 2_000).await;
    assert!(
        matches!(refused, Err(StoreError::EpochRegression(3))),
        "{refused:?}"
    );
    assert!(
        sub.next(Duration::from_millis(300)).is_none(),
        "a refused flush published"
    );
    store.flush(&published(3, 2.5), &[], 3_000).await.unwrap();
    let next = fields(&sub.next(Duration::from_secs(5)).expect("next flush")[2]);
    assert_eq!(next["compute_time_us"], b"3000");
}

/// Deploy order safety: an aggregator whose ACL user may not PUBLISH on the channel (the users
/// stack not yet updated) still flushes: the hash is written, the flush succeeds, nothing is pushed.
#[tokio::test(flavor = "current_thread")]
async fn a_refused_publish_does_not_fail_the_flush() {
    let redis = RedisServer::start().expect("redis-server (make bootstrap)");
    let admin = Client::new(Config::from_url(&redis.url()).unwrap(), None, None, None);
    admin.init().await.unwrap();
    // The aggregator's rights before issue 18: its keys and commands, no channel, no PUBLISH.
    let _: () = admin
        .custom(
            fred::cmd!("ACL"),
            vec![
                "SETUSER",
                "agg-old",
                "on",
                ">agg-old-password-123",
                "resetchannels",
                "~{BTCUSDT}:*",
                "-@all",
                "+evalsha",
                "+eval",
                "+script|load",
                "+hset",
                "+hget",
                "+ping",
                "+hello",
                "+info",
                "+client|setname",
                "+client|id",
                "+select",
                "+auth",
            ],
        )
        .await
        .unwrap();
    let mut sub = Sub::new(redis.port, "{BTCUSDT}:features:push");
    let mut config = Config::from_url(&redis.url()).unwrap();
    config.username = Some("agg-old".into());
    config.password = Some("agg-old-password-123".into());
    let store = Store::connect(
        config,
        "BTCUSDT",
        InstrumentScale::BTCUSDT_SPOT,
        Duration::from_secs(2),
        metrics_schema::AggregatorMetrics::register(&mut Default::default()),
    )
    .unwrap();
    store
        .flush(&published(4, 1.0), &[], 5_000)
        .await
        .expect("the flush succeeds although PUBLISH is refused");
    let epoch: String = admin.hget("{BTCUSDT}:features", "epoch").await.unwrap();
    assert_eq!(epoch, "4", "the hash was written");
    assert!(
        sub.next(Duration::from_millis(300)).is_none(),
        "nothing was published"
    );
}
