//! The prediction API beside /metrics, /health and /ready (served from memory, never from Redis):
//!
//! * `GET /v1/predictions/latest` — the latest prediction (503 before the first tick)
//! * `GET /v1/predictions?limit=N` — the newest N (1 ≤ N ≤ `predictions.history`, default 100), newest first
//! * `GET /v1/predictions/stream` — Server-Sent Events, one `prediction` event per tick
//! * `GET /v1/model` — variant, both model slots, feature contract
//! * `POST /v1/admin/variant` `{"variant":"ml"|"baseline"}` — switch the serving variant at runtime;
//!   needs `Authorization: Bearer <admin token>` and `Content-Type: application/json` ([`admin`];
//!   403 when no token is configured, 401 for a missing or wrong token, 415 for another body type)
//! * `POST /v1/admin/promote`, `POST /v1/admin/rollback` — champion switches, same authentication
//!   ([`crate::lifecycle_api`], [`crate::promotion`])
//!
//! Every answered request is counted per route ([`route_label`]: a closed enum, unknown paths are
//! `other`) in `inference_http_requests_total`, timed to its response headers in
//! `inference_http_request_duration_seconds`, and 4xx/5xx answers are counted in
//! `inference_http_request_errors_total{class}`. `/metrics`, `/health` and `/ready` are served by the
//! shell and are not counted here.

use crate::admin::{self, AdminToken};
use crate::config::Variant;
use crate::sse;
use crate::state::Shared;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Limited};
use hyper::{Method, Response, StatusCode};
use metrics_schema::InferenceMetrics;
use metrics_schema::labels::{ApiRoute, LifecycleAction};
use serde::Deserialize;
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use svc_kit::http::{Body, BoxFuture, Request, Routes, json, method_not_allowed, not_found, respond};

pub const DEFAULT_LIMIT: usize = 100;
const MAX_ADMIN_BODY: usize = 1024;

pub struct Api {
    shared: Arc<Shared>,
    admin: Arc<AdminToken>,
    metrics: Arc<OnceLock<InferenceMetrics>>,
}

impl Api {
    pub fn new(shared: Arc<Shared>, admin: AdminToken) -> Self {
        Api {
            shared,
            admin: Arc::new(admin),
            metrics: Arc::new(OnceLock::new()),
        }
    }

    /// Where the composition root puts the metrics once the shell has registered them (the shell
    /// takes the routes before it creates the registry); requests answered before that are not
    /// counted.
    pub fn metrics_slot(&self) -> Arc<OnceLock<InferenceMetrics>> {
        self.metrics.clone()
    }
}

/// The bounded `route` label of a request path: one value per API route, `other` for anything else.
pub fn route_label(path: &str) -> ApiRoute {
    match path {
        "/v1/predictions/latest" => ApiRoute::PredictionsLatest,
        "/v1/predictions" => ApiRoute::Predictions,
        "/v1/predictions/stream" => ApiRoute::PredictionsStream,
        "/v1/model" => ApiRoute::Model,
        "/v1/admin/variant" => ApiRoute::AdminVariant,
        "/v1/admin/promote" => ApiRoute::AdminPromote,
        "/v1/admin/rollback" => ApiRoute::AdminRollback,
        _ => ApiRoute::Other,
    }
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json(status, &json!({ "error": message }))
}

/// `limit` from a query string: default when absent, `Err` when malformed or out of range.
pub fn parse_limit(query: Option<&str>, max: usize) -> Result<usize, String> {
    let value = query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "limit")
        .map(|(_, v)| v);
    match value {
        None => Ok(DEFAULT_LIMIT.min(max)),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("limit must be an integer in [1, {max}], got {v:?}")),
        },
    }
}

/// `[a,b,c]` from already-serialised JSON values.
pub fn json_array(items: &[Bytes]) -> Bytes {
    let mut out = BytesMut::with_capacity(items.iter().map(|b| b.len() + 1).sum::<usize>() + 2);
    out.extend_from_slice(b"[");
    for (i, b) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",");
        }
        out.extend_from_slice(b);
    }
    out.extend_from_slice(b"]");
    out.freeze()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantRequest {
    variant: String,
}

/// The refusal answer when an admin request is not authorised.
fn refused(token: &AdminToken, req: &Request) -> Option<Response<Body>> {
    let refused = admin::authorize(token, req.headers()).err()?;
    tracing::warn!(
        status = refused.status.as_u16(),
        path = req.uri().path(),
        "admin request refused: {}",
        refused.message
    );
    let mut resp = error(refused.status, refused.message);
    if refused.status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer"),
        );
    }
    Some(resp)
}

async fn set_variant(shared: &Shared, token: &AdminToken, req: Request) -> Response<Body> {
    if let Some(resp) = refused(token, &req) {
        return resp;
    }
    let body = match Limited::new(req.into_body(), MAX_ADMIN_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "body too large or unreadable"),
    };
    let Some(v) = serde_json::from_slice::<VariantRequest>(&body)
        .ok()
        .and_then(|r| Variant::parse(&r.variant))
    else {
        return error(StatusCode::BAD_REQUEST, r#"expected {"variant":"ml"|"baseline"}"#);
    };
    let previous = shared.set_variant(v);
    tracing::warn!(
        variant = v.as_str(),
        previous = previous.as_str(),
        "model variant switched by the admin API"
    );
    json(
        StatusCode::OK,
        &json!({ "variant": v.as_str(), "previous": previous.as_str() }),
    )
}

fn model_info(shared: &Shared) -> Response<Body> {
    let v = shared.variant();
    let (champion, challenger, lifecycle) = crate::lifecycle_api::model_parts(shared);
    json(
        StatusCode::OK,
        &json!({
            "variant": v.as_str(),
            "serving": shared.models.get(v).map(|m| m.version.clone()),
            "ml": shared.models.status(Variant::Ml),
            "baseline": shared.models.status(Variant::Baseline),
            "feature_version": features::FEATURE_VERSION,
            "feature_signature": features::feature_list_signature(),
            "last_run_error": shared.run_error(),
            "champion": champion,
            "challenger": challenger,
            "lifecycle": lifecycle,
        }),
    )
}

async fn switch(
    shared: &Arc<Shared>,
    token: &AdminToken,
    metrics: &OnceLock<InferenceMetrics>,
    req: Request,
    action: LifecycleAction,
) -> Response<Body> {
    match refused(token, &req) {
        Some(resp) => resp,
        None => crate::lifecycle_api::switch(shared, token, metrics.get().cloned(), req, action).await,
    }
}

async fn route(
    shared: Arc<Shared>,
    token: Arc<AdminToken>,
    metrics: Arc<OnceLock<InferenceMetrics>>,
    req: Request,
) -> Response<Body> {
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    match req.uri().path() {
        "/v1/predictions/latest" if get => match shared.latest() {
            Some(p) => respond(StatusCode::OK, "application/json", p.json),
            None => error(StatusCode::SERVICE_UNAVAILABLE, "no prediction yet"),
        },
        "/v1/predictions" if get => match parse_limit(req.uri().query(), shared.history_cap()) {
            Ok(n) => respond(StatusCode::OK, "application/json", json_array(&shared.recent(n))),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "/v1/predictions/stream" if get => sse::response(&shared),
        "/v1/model" if get => model_info(&shared),
        "/v1/admin/variant" if req.method() == Method::POST => set_variant(&shared, &token, req).await,
        "/v1/admin/promote" if req.method() == Method::POST => {
            switch(&shared, &token, &metrics, req, LifecycleAction::Promote).await
        }
        "/v1/admin/rollback" if req.method() == Method::POST => {
            switch(&shared, &token, &metrics, req, LifecycleAction::Rollback).await
        }
        "/v1/predictions/latest" | "/v1/predictions" | "/v1/predictions/stream" | "/v1/model" => {
            method_not_allowed("GET, HEAD")
        }
        "/v1/admin/variant" | "/v1/admin/promote" | "/v1/admin/rollback" => method_not_allowed("POST"),
        _ => not_found(),
    }
}

impl Routes for Api {
    fn call(&self, req: Request) -> BoxFuture<Response<Body>> {
        let label = route_label(req.uri().path());
        let metrics = self.metrics.clone();
        let answer = route(self.shared.clone(), self.admin.clone(), metrics.clone(), req);
        Box::pin(async move {
            let start = Instant::now();
            let resp = answer.await;
            if let Some(m) = metrics.get() {
                m.http_request(label, resp.status().as_u16(), start.elapsed().as_secs_f64());
            }
            resp
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_is_bounded() {
        assert_eq!(parse_limit(None, 1000), Ok(100));
        assert_eq!(parse_limit(Some("limit=5"), 1000), Ok(5));
        assert_eq!(parse_limit(Some("x=1&limit=1000"), 1000), Ok(1000));
        assert_eq!(parse_limit(None, 10), Ok(10));
        assert!(parse_limit(Some("limit=0"), 1000).is_err());
        assert!(parse_limit(Some("limit=1001"), 1000).is_err());
        assert!(parse_limit(Some("limit=abc"), 1000).is_err());
    }

    #[test]
    fn route_label_is_bounded_and_matches_every_route() {
        assert_eq!(route_label("/v1/predictions/latest"), ApiRoute::PredictionsLatest);
        assert_eq!(route_label("/v1/predictions"), ApiRoute::Predictions);
        assert_eq!(route_label("/v1/predictions/stream"), ApiRoute::PredictionsStream);
        assert_eq!(route_label("/v1/model"), ApiRoute::Model);
        assert_eq!(route_label("/v1/admin/variant"), ApiRoute::AdminVariant);
        assert_eq!(route_label("/v1/admin/promote"), ApiRoute::AdminPromote);
        assert_eq!(route_label("/v1/admin/rollback"), ApiRoute::AdminRollback);
        for unknown in [
            "/",
            "/v1/predictions/",
            "/v1/predictions/latest/x",
            "/wp-login.php",
            "",
        ] {
            assert_eq!(route_label(unknown), ApiRoute::Other, "{unknown:?}");
        }
    }

    #[test]
    fn json_array_joins_serialised_values() {
        assert_eq!(json_array(&[]), Bytes::from_static(b"[]"));
        let items = [Bytes::from_static(b"{\"a\":1}"), Bytes::from_static(b"2")];
        assert_eq!(json_array(&items), Bytes::from_static(b"[{\"a\":1},2]"));
    }
}
