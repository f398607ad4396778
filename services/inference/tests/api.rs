//! The HTTP API: latest, bounded list, Server-Sent Events (ending on shutdown), and the service
//! with neither Redis nor a model telling the truth about it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use svc_kit::testing::servers::RedisServer;

#[test]
fn api_serves_latest_and_a_bounded_newest_first_list() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let svc = start_ticking(&redis.url(), 200, &[("INFERENCE__PREDICTIONS__HISTORY", "5")]);
    wait_for(Duration::from_secs(10), "six predictions", || {
        let (_, l) = get_json(svc.base(), "/v1/predictions?limit=5");
        (l.as_array().map(Vec::len) == Some(5)).then_some(())
    });
    let (status, latest) = get_json(svc.base(), "/v1/predictions/latest");
    assert_eq!(status, 200);
    assert_eq!(latest["symbol"], "BTCUSDT");
    let (_, list) = get_json(svc.base(), "/v1/predictions?limit=3");
    let ticks: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tick_time_us"].as_i64().unwrap())
        .collect();
    assert_eq!(ticks.len(), 3);
    assert!(ticks.windows(2).all(|w| w[0] > w[1]), "newest first: {ticks:?}");
    assert_eq!(http(svc.base(), "GET", "/v1/predictions?limit=6", "").0, 400);
    assert_eq!(http(svc.base(), "GET", "/v1/predictions?limit=0", "").0, 400);
    assert_eq!(http(svc.base(), "POST", "/v1/predictions/latest", "").0, 405);
    assert_eq!(http(svc.base(), "GET", "/v1/nothing", "").0, 404);
}

#[test]
fn sse_stream_pushes_each_prediction_and_ends_on_shutdown() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let svc = start_ticking(&redis.url(), 200, &[]);
    let addr = svc.base().trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /v1/predictions/stream HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut ids = Vec::new();
    let mut head = String::new();
    let mut line = String::new();
    while ids.len() < 3 {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "stream ended early");
        head.push_str(&line);
        if let Some(id) = line.trim_end().strip_prefix("id: ") {
            ids.push(id.parse::<i64>().unwrap());
        }
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            let p: serde_json::Value = serde_json::from_str(data).unwrap();
            assert_eq!(p["tick_time_us"].as_i64(), ids.last().copied());
        }
    }
    assert!(head.contains("text/event-stream"), "{head}");
    assert!(
        ids.windows(2).all(|w| w[1] - w[0] == 200_000),
        "one event per tick: {ids:?}"
    );
    // SIGTERM: the stream ends (EOF) and the process exits cleanly.
    let Service { process, dir: _dir } = svc;
    let waiter = std::thread::spawn(move || process.terminate(Duration::from_secs(20)));
    let start = Instant::now();
    let mut ended = false;
    while start.elapsed() < Duration::from_secs(10) {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) => {
                ended = true;
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(ended, "SSE stream did not end on shutdown");
    assert!(waiter.join().unwrap().unwrap().success());
}

#[test]
fn without_redis_or_model_the_service_runs_and_reports_fallback_and_disconnected() {
    let port = svc_kit::testing::free_port().unwrap();
    let url = format!("redis://127.0.0.1:{port}");
    let svc = start_service(
        &url,
        None,
        None,
        &[
            ("INFERENCE__TICK__INTERVAL_MS", "200"),
            ("INFERENCE__TICK__REDIS_TIMEOUT_MS", "100"),
        ],
    );
    let h = wait_for(Duration::from_secs(10), "health after a tick", || {
        let (status, h) = svc.health();
        (status == 200 && h["components"]["feature_pipeline"]["detail"] != "no tick yet").then_some(h)
    });
    assert_eq!(h["components"]["model_status"]["status"], "unhealthy", "{h}");
    assert_eq!(
        h["components"]["redis_connectivity"]["status"], "disconnected",
        "{h}"
    );
    assert_eq!(h["status"], "degraded");
    let p = svc.latest();
    assert_eq!(p["fallback_reason"], "redis_unavailable", "{p}");
    assert_eq!(http(svc.base(), "GET", "/ready", "").0, 200);
}

/// Issue 17 item 5: every API answer is counted per bounded route, errors by class, and timed.
#[test]
fn api_requests_errors_and_latency_are_exported_per_bounded_route() {
    let redis = RedisServer::start().unwrap();
    let _writer = FeatureWriter::start(redis.port);
    let svc = start_ticking(&redis.url(), 200, &[("INFERENCE__PREDICTIONS__HISTORY", "5")]);
    wait_for(Duration::from_secs(10), "a first prediction", || {
        (http(svc.base(), "GET", "/v1/predictions/latest", "").0 == 200).then_some(())
    });
    // The polls above answered 503 until the first tick: those count as 5xx on their route.
    let before = svc.metric(r#"inference_http_requests_total{route="predictions_latest"}"#);
    let unavailable_before =
        svc.metric(r#"inference_http_request_errors_total{route="predictions_latest",class="5xx"}"#);
    for _ in 0..3 {
        assert_eq!(http(svc.base(), "GET", "/v1/predictions/latest", "").0, 200);
    }
    assert_eq!(http(svc.base(), "GET", "/v1/predictions?limit=0", "").0, 400);
    assert_eq!(http(svc.base(), "GET", "/v1/model", "").0, 200);
    for path in ["/v1/nothing", "/wp-login.php", "/v1/predictions/latest/extra"] {
        assert_eq!(http(svc.base(), "GET", path, "").0, 404);
    }
    assert_eq!(http(svc.base(), "POST", "/v1/admin/variant", "{}").0, 403);

    let text = svc.metrics();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no series {prefix} in\n{text}"))
    };
    assert_eq!(
        value(r#"inference_http_requests_total{route="predictions_latest"}"#) - before,
        3.0
    );
    assert_eq!(
        value(r#"inference_http_requests_total{route="predictions"}"#),
        1.0
    );
    assert_eq!(value(r#"inference_http_requests_total{route="model"}"#), 1.0);
    assert_eq!(value(r#"inference_http_requests_total{route="other"}"#), 3.0);
    assert_eq!(
        value(r#"inference_http_requests_total{route="admin_variant"}"#),
        1.0
    );
    assert_eq!(
        value(r#"inference_http_request_errors_total{route="predictions",class="4xx"}"#),
        1.0
    );
    assert_eq!(
        value(r#"inference_http_request_errors_total{route="other",class="4xx"}"#),
        3.0
    );
    assert_eq!(
        value(r#"inference_http_request_errors_total{route="admin_variant",class="4xx"}"#),
        1.0
    );
    assert_eq!(
        value(r#"inference_http_request_errors_total{route="model",class="4xx"}"#),
        0.0
    );
    assert_eq!(
        value(r#"inference_http_request_errors_total{route="predictions_latest",class="5xx"}"#),
        unavailable_before
    );
    assert_eq!(
        value(r#"inference_http_request_duration_seconds_count{route="model"}"#),
        1.0
    );
    assert_eq!(
        value(r#"inference_http_request_duration_seconds_count{route="other"}"#),
        3.0
    );
    // Unknown paths never create a series of their own.
    assert!(!text.contains("wp-login"), "a free-text path leaked into a label");
    let routes: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("inference_http_requests_total{"))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    // Four read routes, three admin routes (variant, promote, rollback), other.
    assert_eq!(routes.len(), 8, "{routes:?}");
}
