//! The `{S}:features` contract across the two services: what the aggregator's encoder writes
//! (`aggregator::encode::features_fields`, the fields its flush puts in the hash) decoded by the
//! inference reader (`inference::contract::decode`), field by field, for every feature-contract
//! version in use (the aggregator's `features::FEATURE_VERSION` and the version every committed
//! model in `model/artifacts` declares). The inference-only tests play the aggregator with
//! inference's own encoder; this one uses the real writer. The pushed snapshot (issue 18) is checked
//! the same way on a real redis-server: what the real flush script publishes, as inference's
//! subscriber holds it, decodes field by field like the hash the same flush wrote.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aggregator::encode::{CONTRACT_FORMAT, features_fields};
use aggregator::state::Published;
use features::{FEATURE_NAMES, FEATURE_VERSION, FeatureVector, N_FEATURES};
use fred::types::Value;
use inference::contract::{self, AnchorState, FeatureSnapshot, RawFeatures};
use market::{InstrumentScale, SyncState};

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model/artifacts")
}

/// The ONNX models the repository ships (what `make run` / the e2e load).
fn committed_models() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(artifacts())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    out.sort();
    out
}

/// What the aggregator's flush writes, as the (field, value) pairs an `HGETALL` returns.
fn hgetall(p: &Published, now_us: i64, flush_seq: u64) -> RawFeatures {
    let flat = features_fields(p, &InstrumentScale::BTCUSDT_SPOT, now_us, flush_seq);
    assert_eq!(flat.len() % 2, 0, "field/value pairs");
    flat.chunks_exact(2)
        .map(|kv| {
            let bytes = |v: &Value| match v {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Bytes(b) => b.to_vec(),
                other => panic!("unexpected value type {other:?}"),
            };
            (bytes(&kv[0]), bytes::Bytes::from(bytes(&kv[1])))
        })
        .collect()
}

/// Awkward but valid feature values: signs, -0.0, subnormal, huge, fractions that do not round-trip
/// through short decimal text.
fn values(seed: usize) -> [f64; N_FEATURES] {
    let pool = [
        61_602.015,
        -0.125,
        -0.0,
        f64::MIN_POSITIVE / 4.0,
        1e300,
        0.1 + 0.2,
        -3.0e-9,
        std::f64::consts::PI,
    ];
    std::array::from_fn(|i| pool[(i + seed) % pool.len()] * (1.0 + i as f64 / 7.0))
}

fn published(version: u32, state: SyncState, warm: impl Fn(usize) -> bool, seed: usize) -> Published {
    Published {
        fv: FeatureVector {
            version,
            event_time_us: 1_723_075_200_123_456 + seed as u64,
            values: values(seed),
            warm: std::array::from_fn(warm),
        },
        epoch: 7 + seed as u64,
        state,
        last_update_id: 42_000_000 + seed as u64,
        bids: Vec::new(),
        asks: Vec::new(),
        reanchors: 3,
    }
}

fn assert_decodes_field_by_field(p: &Published, now_us: i64) -> FeatureSnapshot {
    let raw = hgetall(p, now_us, 99);
    assert_fields_match(p, now_us, &raw)
}

fn assert_fields_match(p: &Published, now_us: i64, raw: &RawFeatures) -> FeatureSnapshot {
    let s = contract::decode(raw).unwrap_or_else(|e| panic!("inference cannot read the aggregator: {e}"));
    let fv = &p.fv;
    assert_eq!(s.fmt, CONTRACT_FORMAT, "fmt");
    assert_eq!(s.fmt, contract::FORMAT, "fmt the reader understands");
    assert_eq!(s.version, fv.version, "v");
    assert_eq!(s.sig, features::feature_list_signature(), "sig");
    assert_eq!(s.values.len(), N_FEATURES, "n");
    for (i, (got, want)) in s.values.iter().zip(fv.values.iter()).enumerate() {
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "values[{i}] ({}) bit for bit",
            FEATURE_NAMES[i]
        );
    }
    for (i, w) in fv.warm.iter().enumerate() {
        assert_eq!(s.warm >> i & 1 == 1, *w, "warm bit {i} ({})", FEATURE_NAMES[i]);
    }
    assert_eq!(
        s.warm >> N_FEATURES.min(63),
        0,
        "no warm bit past the feature list"
    );
    assert_eq!(
        s.completeness.to_bits(),
        fv.completeness().to_bits(),
        "completeness"
    );
    let mid_warm = fv.warm[features::spec::idx::MID_PRICE];
    // The reader treats a non-positive or non-finite mid as unknown (docs/redis-contract.md).
    let want_mid = mid_warm
        .then_some(fv.values[features::spec::idx::MID_PRICE])
        .filter(|m| m.is_finite() && *m > 0.0);
    assert_eq!(s.mid.map(f64::to_bits), want_mid.map(f64::to_bits), "mid");
    assert_eq!(
        s.event_time_us,
        i64::try_from(fv.event_time_us).unwrap(),
        "event_time_us"
    );
    assert_eq!(s.compute_time_us, now_us, "compute_time_us");
    assert_eq!(s.epoch, p.epoch, "epoch");
    let want_state = match p.state {
        SyncState::Synced => AnchorState::Synced,
        SyncState::Buffering => AnchorState::Buffering,
        SyncState::Failed => AnchorState::Failed,
    };
    assert_eq!(s.state, want_state, "state");
    assert_eq!(s.usable, p.state == SyncState::Synced, "usable");
    s
}

#[test]
fn every_state_and_warm_pattern_the_aggregator_writes_decodes_field_by_field() {
    let states = [SyncState::Synced, SyncState::Buffering, SyncState::Failed];
    let warms: [&dyn Fn(usize) -> bool; 4] = [&|_| true, &|_| false, &|i| i % 2 == 1, &|i| i != 0];
    let mut checked = 0;
    for (si, state) in states.into_iter().enumerate() {
        for (wi, warm) in warms.iter().enumerate() {
            let p = published(FEATURE_VERSION, state, warm, si * 4 + wi);
            assert_decodes_field_by_field(&p, 1_723_075_200_500_000 + checked);
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn every_feature_contract_version_in_use_is_written_by_the_aggregator_and_read_by_inference() {
    let models = committed_models();
    assert!(
        models.len() >= 2,
        "expected the committed models in {}: {models:?}",
        artifacts().display()
    );
    let mut in_use = BTreeSet::from([FEATURE_VERSION]);
    for m in &models {
        let props = model_meta::read_metadata(m).unwrap();
        let info = model_meta::validate_metadata_against(&props, FEATURE_VERSION, FEATURE_NAMES)
            .unwrap_or_else(|e| panic!("{}: the aggregator cannot feed this model: {e}", m.display()));
        assert_eq!(info.feature_names, FEATURE_NAMES, "{}", m.display());
        in_use.insert(info.feature_version);
    }
    for version in in_use {
        // seed 0: a positive mid, so `mid` is carried through as a number
        let p = published(version, SyncState::Synced, |_| true, 0);
        assert!(p.fv.values[features::spec::idx::MID_PRICE] > 0.0);
        let s = assert_decodes_field_by_field(&p, 1_723_075_201_000_000);
        assert_eq!(
            s.sig,
            format!("v{version}:{}", FEATURE_NAMES.join(",")),
            "the signature names the version and the feature list the models were trained on"
        );
    }
}

/// Issue 18: every state and warm pattern, flushed by the real flush script (`Store::flush`), received
/// by inference's subscriber (`PushStore`, served from memory) and read back with `HGETALL`: both
/// decode field by field to what the aggregator published, and to the same snapshot.
#[tokio::test(flavor = "current_thread")]
async fn the_pushed_snapshot_decodes_field_by_field_like_the_hash_the_same_flush_wrote() {
    use fred::prelude::{ClientLike, Config};
    use inference::push::PushLimits;
    use inference::push_store::PushStore;
    use inference::store::{HotPathStore, RedisStore};
    use std::time::{Duration, Instant};

    let redis = svc_kit::testing::servers::RedisServer::start().expect("redis-server (make bootstrap)");
    let read = RedisStore::connect(&redis.url(), None, "BTCUSDT", 100, Duration::from_secs(1)).unwrap();
    assert!(read.wait_connected(Duration::from_secs(5)).await);
    // The fixed 2024 compute times would count as a lagging delivery: timeliness is not this test's.
    let limits = PushLimits {
        max_delay_us: i64::MAX,
        ..PushLimits::default()
    };
    let push = PushStore::new(
        read,
        Config::from_url(&redis.url()).unwrap(),
        "BTCUSDT",
        limits,
        None,
    )
    .unwrap();
    push.start_push();
    let agg = aggregator::store::Store::connect(
        Config::from_url(&redis.url()).unwrap(),
        "BTCUSDT",
        InstrumentScale::BTCUSDT_SPOT,
        Duration::from_secs(2),
        metrics_schema::AggregatorMetrics::register(&mut Default::default()),
    )
    .unwrap();
    let states = [SyncState::Synced, SyncState::Buffering, SyncState::Failed];
    let warms: [&dyn Fn(usize) -> bool; 4] = [&|_| true, &|_| false, &|i| i % 2 == 1, &|i| i != 0];
    let mut checked = 0;
    for (si, state) in states.into_iter().enumerate() {
        for (wi, warm) in warms.iter().enumerate() {
            // Seeds (and so epochs) increase: the script refuses an epoch regression.
            let p = published(FEATURE_VERSION, state, warm, si * 4 + wi);
            let now_us = 1_723_075_200_500_000 + checked;
            // Until the subscription is up the first flushes are not delivered: flush again.
            let deadline = Instant::now() + Duration::from_secs(10);
            let pushed = loop {
                agg.flush(&p, &[], now_us).await.unwrap();
                let wait = Instant::now() + Duration::from_millis(200);
                let mut got = None;
                while Instant::now() < wait {
                    if push.serving_push() {
                        let raw = push.read_features().await.unwrap().unwrap();
                        if contract::decode(&raw).is_ok_and(|s| s.compute_time_us == now_us) {
                            got = Some(raw);
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                if let Some(raw) = got {
                    break raw;
                }
                assert!(Instant::now() < deadline, "flush {checked} was never pushed");
            };
            let from_push = assert_fields_match(&p, now_us, &pushed);
            let hash = HotPathStore::read_features(&*push).await.unwrap().unwrap();
            let from_hash = assert_fields_match(&p, now_us, &hash);
            assert_eq!(from_push, from_hash, "pushed and stored snapshots are the same");
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
    assert!(push.subscriber().is_connected());
    push.quit_push().await;
}
