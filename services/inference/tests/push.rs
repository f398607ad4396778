//! Pushed features (issue 18) against a real redis-server and the real aggregator flush script
//! (`aggregator::store::Store::flush`, which writes `{S}:features` and publishes the same fields on
//! `{S}:features:push` in one atomic script): the inference `PushStore` serves the tick from memory
//! with no round trip, never a torn snapshot, never one older than the hash by more than the
//! delivery delay, and falls back to the read (counted) when the subscription drops or Redis
//! restarts, then resynchronises.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aggregator::state::Published;
use aggregator::store::Store;
use features::{FEATURE_VERSION, FeatureVector, N_FEATURES};
use fred::prelude::*;
use inference::contract;
use inference::push::PushLimits;
use inference::push_store::PushStore;
use inference::store::{HotPathStore, RedisStore};
use market::{InstrumentScale, SyncState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use svc_kit::testing::servers::RedisServer;

fn now_us() -> i64 {
    inference::hot_path::now_us()
}

/// Flush `k`: every feature value is `k` (a torn snapshot would mix two flushes' values).
fn published(k: u64) -> Published {
    Published {
        fv: FeatureVector {
            version: FEATURE_VERSION,
            event_time_us: 1_723_075_200_000_000 + k,
            values: [k as f64; N_FEATURES],
            warm: [true; N_FEATURES],
        },
        epoch: 1,
        state: SyncState::Synced,
        last_update_id: k,
        bids: Vec::new(),
        asks: Vec::new(),
        reanchors: 0,
    }
}

#[derive(Clone, Copy, Debug)]
struct Flushed {
    k: u64,
    /// `compute_time_us` (taken just before the script ran).
    c: i64,
    /// Wall clock once the script had returned (it committed before this).
    done: i64,
}

/// The aggregator's flushes on their own runtime: flush k with `compute_time_us` c_k every `every`,
/// until stopped; records (k, c_k, the time the script had returned). A failed flush (Redis down) is
/// retried with the same k.
struct Feeder {
    stop: Arc<AtomicBool>,
    pub flushed: Arc<Mutex<Vec<Flushed>>>,
    pub next: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Feeder {
    fn start(url: &str, every: Duration) -> Feeder {
        let stop = Arc::new(AtomicBool::new(false));
        let flushed = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicU64::new(1));
        let (s, f, n, url) = (stop.clone(), flushed.clone(), next.clone(), url.to_string());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let metrics = metrics_schema::AggregatorMetrics::register(&mut Default::default());
                let store = Store::connect(
                    Config::from_url(&url).unwrap(),
                    "BTCUSDT",
                    InstrumentScale::BTCUSDT_SPOT,
                    Duration::from_millis(500),
                    metrics,
                )
                .unwrap();
                while !s.load(Ordering::Relaxed) {
                    let k = n.load(Ordering::Relaxed);
                    let c = now_us();
                    if store.flush(&published(k), &[], c).await.is_ok() {
                        f.lock().unwrap().push(Flushed { k, c, done: now_us() });
                        n.store(k + 1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(every).await;
                }
            });
        });
        Feeder {
            stop,
            flushed,
            next,
            thread: Some(thread),
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The inference side: the read store wrapped by the push subscriber, with its metrics registry.
async fn push_store(url: &str) -> (PushStore<RedisStore>, prometheus_client::registry::Registry) {
    let read = RedisStore::connect(url, None, "BTCUSDT", 1_000, Duration::from_millis(250)).unwrap();
    assert!(read.wait_connected(Duration::from_secs(5)).await);
    let mut reg = prometheus_client::registry::Registry::default();
    let metrics = metrics_schema::InferenceMetrics::register(&mut reg);
    let store = PushStore::new(
        read,
        Config::from_url(url).unwrap(),
        "BTCUSDT",
        PushLimits::default(),
        Some(metrics),
    )
    .unwrap()
    .record_delays();
    store.start_push();
    (store, reg)
}

/// Polls (yielding to the subscriber task) until `f` holds or the deadline passes.
async fn until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One tick's read: the flush it came from (`k`), checked whole.
async fn tick_read(store: &PushStore<RedisStore>) -> Option<u64> {
    let raw = store.read_features().await.ok()??;
    let s = contract::decode(&raw).expect("a served snapshot decodes");
    let k = s.values[0];
    assert!(
        s.values.iter().all(|v| v.to_bits() == k.to_bits()),
        "torn snapshot: {:?}",
        s.values
    );
    assert_eq!(
        s.event_time_us,
        1_723_075_200_000_000 + k as i64,
        "fields of one flush"
    );
    Some(k as u64)
}

/// One tick's features: the flush they came from, when the tick started, and whether memory served
/// them.
#[derive(Clone, Copy, Debug)]
struct Tick {
    k: u64,
    t: i64,
    push: bool,
}

/// The staleness bound, checked after the fact. A tick that started at `t` and got flush `k` is stale
/// if flush k + 1 had certainly committed before `t` (its script had returned: `done < t`), with two
/// excuses, both for a snapshot from memory only:
/// * k + 1 was delivered later: t < c_{k+1} + its delivery delay ≤ c_{k+1} + D (D: the largest
///   delivery delay measured);
/// * k + 1 was published while the subscriber's connection was gone (lost) and the tick ran before
///   the client had noticed the drop: `t` within `undetected` (the interval from the drop to the
///   first tick that fell back to a read).
fn assert_never_stale(
    served: &[Tick],
    flushed: &[Flushed],
    delays: &[(i64, i64)],
    undetected: Option<(i64, i64)>,
) {
    let d_max = delays.iter().map(|(_, d)| *d).max().unwrap_or(0);
    let delivered: std::collections::HashSet<i64> = delays.iter().map(|(c, _)| *c).collect();
    for tick in served {
        let Some(next) = flushed.iter().find(|f| f.k == tick.k + 1) else {
            continue;
        };
        let was_delivered = delivered.contains(&next.c);
        let in_flight = tick.push && was_delivered && next.c + d_max >= tick.t;
        let lost_undetected =
            tick.push && !was_delivered && undetected.is_some_and(|(from, to)| (from..=to).contains(&tick.t));
        assert!(
            next.done >= tick.t || in_flight || lost_undetected,
            "{tick:?} got flush {}, but flush {} had committed by {} µs (delivery delay bound {d_max} µs, delivered: {was_delivered})",
            tick.k,
            tick.k + 1,
            next.done
        );
    }
}

/// Ticks back to back (sleeping 0.5 ms between them) for `limit` or until `done`; records every
/// tick's snapshot.
async fn tick_until(
    store: &PushStore<RedisStore>,
    served: &mut Vec<Tick>,
    limit: Duration,
    mut done: impl FnMut(&PushStore<RedisStore>) -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let t = now_us();
        let pushed = served_counts(store).0;
        if let Some(k) = tick_read(store).await {
            let push = served_counts(store).0 > pushed;
            served.push(Tick { k, t, push });
        }
        if done(store) {
            return true;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    false
}

fn served_counts(store: &PushStore<RedisStore>) -> (u64, u64) {
    (
        store.served().push.load(Ordering::Relaxed),
        store.served().read.load(Ordering::Relaxed),
    )
}

/// `{name}{labels} value` of the exposition (0 when absent).
fn metric(reg: &prometheus_client::registry::Registry, series: &str) -> f64 {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, reg).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

fn kill_pubsub_clients(port: u16) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$4\r\nTYPE\r\n$6\r\npubsub\r\n")
        .unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    let reply = String::from_utf8_lossy(&buf[..n]).to_string();
    assert_eq!(reply.trim(), ":1", "killed the one subscriber: {reply}");
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_flushes_while_ticking_are_served_from_memory_never_torn_never_stale() {
    let redis = RedisServer::start().expect("redis-server (make bootstrap)");
    let (store, _reg) = push_store(&redis.url()).await;
    let feeder = Feeder::start(&redis.url(), Duration::from_millis(2));
    until("the first pushed snapshot", Duration::from_secs(10), || {
        store.serving_push()
    })
    .await;
    let before = served_counts(&store);
    let mut served = Vec::new();
    tick_until(&store, &mut served, Duration::from_secs(2), |_| false).await;
    let flushed = feeder.flushed.clone();
    drop(feeder);
    let (push, read) = served_counts(&store);
    let (push, read) = (push - before.0, read - before.1);
    let delays = store.take_delays();
    let flushed = flushed.lock().unwrap().clone();
    println!(
        "{} flushes, {} delivered, {} ticks: {push} from memory, {read} read; served flushes {}..={}",
        flushed.len(),
        delays.len(),
        served.len(),
        served.first().map_or(0, |s| s.k),
        served.last().map_or(0, |s| s.k)
    );
    assert!(flushed.len() > 100, "the feeder flushed {}", flushed.len());
    assert!(
        push as f64 >= 0.99 * (push + read) as f64,
        "{push} of {} ticks from memory",
        push + read
    );
    assert!(
        served.windows(2).all(|w| w[0].k <= w[1].k),
        "snapshots never go backwards"
    );
    assert_never_stale(&served, &flushed, &delays, None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_subscription_is_counted_read_through_and_resynchronised() {
    let redis = RedisServer::start().expect("redis-server (make bootstrap)");
    let (store, reg) = push_store(&redis.url()).await;
    let feeder = Feeder::start(&redis.url(), Duration::from_millis(5));
    let mut served = Vec::new();
    assert!(
        tick_until(&store, &mut served, Duration::from_secs(10), |s| s.serving_push()).await,
        "never served from memory"
    );
    let push_before = metric(&reg, "inference_feature_source_total{source=\"push\"}");
    let read_before = metric(&reg, "inference_feature_source_total{source=\"read\"}");
    let killed_at = now_us();
    kill_pubsub_clients(redis.port);
    // The flushes go on; those published while the subscriber is gone are lost to it.
    let mut fell_back = false;
    let resynced = tick_until(&store, &mut served, Duration::from_secs(10), |s| {
        fell_back |= metric(&reg, "inference_feature_source_total{source=\"read\"}") > read_before;
        fell_back && s.serving_push()
    })
    .await;
    assert!(fell_back, "no tick read after the subscription dropped");
    let detected_at = served
        .iter()
        .find(|t| t.t >= killed_at && !t.push)
        .map_or(i64::MAX, |t| t.t);
    assert!(resynced, "the subscription never resynchronised");
    // Serve from memory again for a while after the resync.
    tick_until(&store, &mut served, Duration::from_millis(300), |_| false).await;
    let flushed = feeder.flushed.clone();
    drop(feeder);
    let flushed = flushed.lock().unwrap().clone();
    let delays = store.take_delays();
    let reasons: Vec<(&str, f64)> = ["disconnected", "no_snapshot", "silent", "lagging"]
        .into_iter()
        .map(|r| {
            (
                r,
                metric(
                    &reg,
                    &format!("inference_feature_push_fallbacks_total{{reason=\"{r}\"}}"),
                ),
            )
        })
        .collect();
    println!(
        "{} flushes, {} delivered; fallbacks {reasons:?}; push {} → {}",
        flushed.len(),
        delays.len(),
        push_before,
        metric(&reg, "inference_feature_source_total{source=\"push\"}")
    );
    assert!(
        delays.len() < flushed.len(),
        "some flushes were published while the subscriber was gone"
    );
    assert!(
        reasons.iter().any(|(r, n)| *r != "silent" && *n > 0.0),
        "the fallback is counted with its reason: {reasons:?}"
    );
    assert!(metric(&reg, "inference_feature_source_total{source=\"push\"}") > push_before);
    println!(
        "drop noticed by the first tick {} µs after the kill",
        detected_at - killed_at
    );
    assert!(
        detected_at - killed_at < 50_000,
        "the drop went unnoticed for {} µs",
        detected_at - killed_at
    );
    assert_never_stale(&served, &flushed, &delays, Some((killed_at, detected_at)));
}

#[tokio::test(flavor = "current_thread")]
async fn a_redis_restart_falls_back_to_reads_then_serves_pushed_snapshots_again() {
    let mut redis = RedisServer::start().expect("redis-server (make bootstrap)");
    let port = redis.port;
    let (store, reg) = push_store(&redis.url()).await;
    let feeder = Feeder::start(&redis.url(), Duration::from_millis(5));
    let mut served = Vec::new();
    assert!(tick_until(&store, &mut served, Duration::from_secs(10), |s| s.serving_push()).await);
    let stopped_at = now_us();
    redis.stop();
    let k_at_stop = feeder.next.load(Ordering::Relaxed);
    let read_before = metric(&reg, "inference_feature_source_total{source=\"read\"}");
    assert!(
        tick_until(&store, &mut served, Duration::from_secs(5), |_| metric(
            &reg,
            "inference_feature_source_total{source=\"read\"}"
        ) > read_before)
        .await,
        "no fallback read counted while redis was down"
    );
    // Empty after the restart (persistence is off), as a restarted ElastiCache node may be.
    let _redis = RedisServer::start_on(port).expect("restart redis-server on the same port");
    let resynced = tick_until(&store, &mut served, Duration::from_secs(15), |s| s.serving_push()).await;
    assert!(resynced, "never served from memory after the restart");
    tick_until(&store, &mut served, Duration::from_millis(300), |_| false).await;
    let flushed = feeder.flushed.clone();
    drop(feeder);
    let flushed = flushed.lock().unwrap().clone();
    let delays = store.take_delays();
    let after: Vec<u64> = served.iter().map(|s| s.k).filter(|k| *k >= k_at_stop).collect();
    let detected_at = served
        .iter()
        .find(|t| t.t >= stopped_at && !t.push)
        .map_or(i64::MAX, |t| t.t);
    println!(
        "{} flushes, {} delivered; served {} snapshots, {} of them flushed after the restart",
        flushed.len(),
        delays.len(),
        served.len(),
        after.len()
    );
    assert!(
        !after.is_empty(),
        "snapshots flushed after the restart were served"
    );
    assert_never_stale(&served, &flushed, &delays, Some((stopped_at, detected_at)));
}
