//! Admin authentication against the real binary (issue 15 item 1): `POST /v1/admin/variant` needs
//! the bearer token and `application/json`; without a configured token the endpoint is disabled.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use svc_kit::testing::servers::RedisServer;

const BODY: &str = r#"{"variant":"baseline"}"#;
const JSON: (&str, &str) = ("Content-Type", "application/json");

#[test]
fn admin_variant_switch_needs_the_bearer_token_and_a_json_body() {
    let redis = RedisServer::start().unwrap();
    let svc = start_service(
        &redis.url(),
        Some("ml.onnx"),
        Some("baseline.onnx"),
        &[("INFERENCE_ADMIN_TOKEN", "t0ken-under-test")],
    );
    let post = |headers: &[(&str, &str)]| http_with(svc.base(), "POST", "/v1/admin/variant", headers, BODY);
    let (status, body) = post(&[JSON]);
    assert_eq!(status, 401, "no token: {body}");
    assert_eq!(post(&[JSON, ("Authorization", "Bearer wrong")]).0, 401);
    assert_eq!(
        post(&[JSON, ("Authorization", "t0ken-under-test")]).0,
        401,
        "not a bearer"
    );
    // A cross-site `text/plain` POST carrying the token is still refused.
    let (status, body) = post(&[
        ("Content-Type", "text/plain"),
        ("Authorization", "Bearer t0ken-under-test"),
    ]);
    assert_eq!(status, 415, "{body}");
    let (_, m) = get_json(svc.base(), "/v1/model");
    assert_eq!(m["variant"], "ml", "no refused request switched the model");
    let (status, body) = post(&[JSON, ("Authorization", "Bearer t0ken-under-test")]);
    assert_eq!(status, 200, "{body}");
    let (_, m) = get_json(svc.base(), "/v1/model");
    assert_eq!(m["variant"], "baseline");
}

#[test]
fn admin_endpoints_are_disabled_without_a_configured_token() {
    let redis = RedisServer::start().unwrap();
    let svc = start_service(&redis.url(), Some("ml.onnx"), Some("baseline.onnx"), &[]);
    let (status, body) = http_with(
        svc.base(),
        "POST",
        "/v1/admin/variant",
        &[JSON, ("Authorization", "Bearer anything")],
        BODY,
    );
    assert_eq!(status, 403, "{body}");
    let (_, m) = get_json(svc.base(), "/v1/model");
    assert_eq!(m["variant"], "ml");
}
