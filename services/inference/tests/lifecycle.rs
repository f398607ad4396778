//! Issue 17 item 3 on the running service: an admin promotion and rollback under live ticks keep
//! exactly one prediction per slot and switch within one tick, are audited and counted; the
//! automatic policy promotes a better challenger only after enough windows and never a worse one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use svc_kit::testing::servers::RedisServer;

const TOKEN: &str = "lifecycle-t0ken";

fn model(svc: &Service) -> Value {
    get_json(svc.base(), "/v1/model").1
}

fn audit(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

struct Setup {
    svc: Service,
    challenger: PathBuf,
    _dir: tempfile::TempDir,
}

/// The service with the `champion` fixture as model.onnx and the `challenger` fixture at a path of
/// its own, the admin token set.
fn start(
    redis: &RedisServer,
    interval_ms: u64,
    champion: &str,
    challenger: &str,
    extra: &[(&str, &str)],
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("challenger.onnx");
    std::fs::copy(fixture(challenger), &path).unwrap();
    let c = path.display().to_string();
    let interval = interval_ms.to_string();
    let timeout = (interval_ms / 4).to_string();
    let mut env = vec![
        ("INFERENCE__TICK__INTERVAL_MS", interval.as_str()),
        ("INFERENCE__TICK__REDIS_TIMEOUT_MS", timeout.as_str()),
        ("INFERENCE__LIFECYCLE__CHALLENGER_PATH", c.as_str()),
        ("INFERENCE_ADMIN_TOKEN", TOKEN),
    ];
    env.extend_from_slice(extra);
    let svc = start_service(&redis.url(), Some(champion), Some("baseline.onnx"), &env);
    Setup {
        svc,
        challenger: path,
        _dir: dir,
    }
}

/// `(tick_time_us, model_version)` of every champion stream entry, oldest first.
fn served(port: u16) -> Vec<(i64, String)> {
    stream_json(port, "{BTCUSDT}:predictions")
        .iter()
        .map(|p| {
            (
                p["tick_time_us"].as_i64().unwrap(),
                p["model_version"].as_str().unwrap_or("fallback").to_string(),
            )
        })
        .collect()
}

#[test]
fn promotion_and_rollback_under_live_ticks_keep_one_prediction_per_slot_and_switch_within_a_tick() {
    const INTERVAL_US: i64 = 500_000;
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let s = start(&redis, 500, "ml.onnx", "baseline.onnx", &[]);
    let svc = &s.svc;
    let (old, new) = wait_for(
        Duration::from_secs(20),
        "champion serving, challenger loaded",
        || {
            let m = model(svc);
            let old = m["champion"]["version"].as_str()?.to_string();
            let new = m["challenger"]["version"].as_str()?.to_string();
            (svc.latest()["model_version"] == old.as_str()).then_some((old, new))
        },
    );
    // Nothing to roll back to yet: refused, audited, nothing switched.
    let (status, body) = admin_post(svc.base(), TOKEN, "/v1/admin/rollback", "{}");
    assert_eq!(status, 409, "{body}");
    let (status, _) = admin_post(svc.base(), "wrong", "/v1/admin/promote", "{}");
    assert_eq!(status, 401);

    let (status, body) = admin_post(
        svc.base(),
        TOKEN,
        "/v1/admin/promote",
        r#"{"reason":"test promotion","actor":"alice"}"#,
    );
    let promoted_at = now_us();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["from_version"].as_str(), body["to_version"].as_str()),
        (Some(old.as_str()), Some(new.as_str()))
    );
    assert!(
        !s.challenger.exists(),
        "the challenger file became the champion's"
    );
    wait_for(Duration::from_secs(10), "four ticks after the promotion", || {
        served(redis.port)
            .last()
            .is_some_and(|(t, _)| *t >= promoted_at + 4 * INTERVAL_US)
            .then_some(())
    });
    let m = model(svc);
    assert_eq!(m["champion"]["version"], new.as_str());
    assert!(m["challenger"]["version"].is_null());
    assert_eq!(m["lifecycle"]["previous_kept"], true);

    let (status, body) = admin_post(
        svc.base(),
        TOKEN,
        "/v1/admin/rollback",
        r#"{"reason":"test rollback"}"#,
    );
    let rolled_back_at = now_us();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["to_version"], old.as_str());
    wait_for(Duration::from_secs(10), "four ticks after the rollback", || {
        served(redis.port)
            .last()
            .is_some_and(|(t, _)| *t >= rolled_back_at + 4 * INTERVAL_US)
            .then_some(())
    });

    let ticks = served(redis.port);
    eprintln!(
        "{} predictions, promoted at {promoted_at}, rolled back at {rolled_back_at}",
        ticks.len()
    );
    let count = |lo: i64, hi: i64| ticks.iter().filter(|(t, _)| (lo..hi).contains(t)).count();
    assert!(
        count(promoted_at + INTERVAL_US, rolled_back_at - INTERVAL_US) >= 3
            && count(rolled_back_at + INTERVAL_US, i64::MAX) >= 3,
        "enough ticks on each side of each switch: {ticks:?}"
    );
    for w in ticks.windows(2) {
        assert_eq!(
            w[1].0 - w[0].0,
            INTERVAL_US,
            "exactly one prediction per slot: {w:?}"
        );
    }
    for (t, v) in &ticks {
        // The slot after the answer is served by the new champion; the slot in flight may be either.
        let want = if *t >= rolled_back_at + INTERVAL_US || *t < promoted_at - INTERVAL_US {
            Some(&old)
        } else if *t >= promoted_at + INTERVAL_US && *t < rolled_back_at - INTERVAL_US {
            Some(&new)
        } else {
            None
        };
        if let Some(want) = want {
            assert_eq!(
                v, want,
                "slot {t}: promoted {promoted_at}, rolled back {rolled_back_at}"
            );
        }
    }
    assert_eq!(
        std::fs::read(svc.model_path()).unwrap(),
        std::fs::read(fixture("ml.onnx")).unwrap()
    );
    let previous = svc.dir.path().join("previous.onnx");
    assert_eq!(
        std::fs::read(previous).unwrap(),
        std::fs::read(fixture("baseline.onnx")).unwrap()
    );

    let log = audit(&svc.dir.path().join("lifecycle-audit.jsonl"));
    let actions: Vec<_> = log
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [("rollback", "refused"), ("promote", "done"), ("rollback", "done")]
    );
    let (p, r) = (&log[1], &log[2]);
    assert!(p["actor"].as_str().unwrap().starts_with("admin-token:"), "{p}");
    assert!(!p.to_string().contains(TOKEN), "the token is never written");
    assert_eq!(
        (p["requested_by"].as_str(), p["reason"].as_str()),
        (Some("alice"), Some("test promotion"))
    );
    assert_eq!(
        (p["from_version"].as_str(), p["to_version"].as_str()),
        (Some(old.as_str()), Some(new.as_str()))
    );
    assert_eq!(
        (r["from_version"].as_str(), r["to_version"].as_str()),
        (Some(new.as_str()), Some(old.as_str()))
    );
    assert!(p["scores"]["champion"]["scored"].is_u64() && p["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        svc.metric(r#"inference_model_promotions_total{action="promote"}"#),
        1.0
    );
    assert_eq!(
        svc.metric(r#"inference_model_promotions_total{action="rollback"}"#),
        1.0
    );
}

#[test]
fn the_automatic_policy_promotes_a_better_challenger_only_after_enough_windows() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    // On the writer's rising mid the ML fixture (up) beats the baseline fixture (down).
    let policy = [
        ("INFERENCE__LIFECYCLE__AUTO_PROMOTE", "true"),
        ("INFERENCE__LIFECYCLE__AUTO_MIN_WINDOWS", "40"),
    ];
    let s = start(&redis, 200, "baseline.onnx", "ml.onnx", &policy);
    let svc = &s.svc;
    let log_path = svc.dir.path().join("lifecycle-audit.jsonl");
    let log = wait_for(Duration::from_secs(60), "an automatic promotion", || {
        let log = audit(&log_path);
        log.iter().any(|e| e["action"] == "auto_promote").then_some(log)
    });
    assert_eq!(log[0]["action"], "auto_refused");
    assert!(
        log[0]["reason"].as_str().unwrap().contains("too few"),
        "first refused for too few windows: {}",
        log[0]
    );
    let promo = log.iter().find(|e| e["action"] == "auto_promote").unwrap();
    assert_eq!(
        (promo["actor"].as_str(), promo["outcome"].as_str()),
        (Some("policy"), Some("done"))
    );
    let (ch, cc) = (&promo["scores"]["champion"], &promo["scores"]["challenger"]);
    assert!(
        ch["moved"].as_u64().unwrap() >= 40 && cc["moved"].as_u64().unwrap() >= 40,
        "{promo}"
    );
    assert!(
        cc["log_loss"].as_f64().unwrap() + 0.01 <= ch["log_loss"].as_f64().unwrap(),
        "{promo}"
    );
    assert!(promo["reason"].as_str().unwrap().contains("beats"), "{promo}");
    assert_eq!(
        svc.metric(r#"inference_model_promotions_total{action="auto_promote"}"#),
        1.0
    );
    wait_for(Duration::from_secs(5), "the promoted model serving", || {
        svc.latest()["model_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("mlp-"))
            .then_some(())
    });
}

#[test]
fn the_automatic_policy_never_promotes_a_worse_challenger() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let policy = [
        ("INFERENCE__LIFECYCLE__AUTO_PROMOTE", "true"),
        ("INFERENCE__LIFECYCLE__AUTO_MIN_WINDOWS", "40"),
    ];
    let s = start(&redis, 200, "ml.onnx", "baseline.onnx", &policy);
    let svc = &s.svc;
    let log_path = svc.dir.path().join("lifecycle-audit.jsonl");
    let log = wait_for(
        Duration::from_secs(60),
        "the policy judging on enough windows",
        || {
            let log = audit(&log_path);
            log.iter()
                .any(|e| e["reason"].as_str().is_some_and(|r| r.contains("< margin")))
                .then_some(log)
        },
    );
    let last = log.last().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["outcome"].as_str()),
        (Some("auto_refused"), Some("refused"))
    );
    assert!(
        last["scores"]["challenger"]["moved"].as_u64().unwrap() >= 40,
        "{last}"
    );
    // Keep ticking with the verdict unchanged: still no promotion.
    let scored = svc.metric(r#"inference_model_scored_predictions_total{model="challenger"}"#);
    wait_for(
        Duration::from_secs(10),
        "20 more challenger windows scored",
        || {
            (svc.metric(r#"inference_model_scored_predictions_total{model="challenger"}"#) >= scored + 20.0)
                .then_some(())
        },
    );
    assert!(audit(&log_path).iter().all(|e| e["action"] != "auto_promote"));
    assert_eq!(
        svc.metric(r#"inference_model_promotions_total{action="auto_promote"}"#),
        0.0
    );
    assert!(
        model(svc)["champion"]["version"]
            .as_str()
            .unwrap()
            .starts_with("mlp-")
    );
}
