//! Admin API on the simulator's port: `POST /admin/fault` (one [`Fault`] as JSON),
//! `DELETE /admin/fault` (clear armed faults), `GET /admin/stats`.

use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::{Method, Request, Response, StatusCode};

use super::http::{Body, json, json_error};
use crate::faults::Fault;
use crate::hub::{Shared, apply_fault, lock};

const MAX_BODY: usize = 64 * 1024;

/// Routes `/admin/*`.
pub async fn handle(shared: &Arc<Shared>, req: Request<hyper::body::Incoming>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/admin/stats") => match serde_json::to_string(&shared.stats.snapshot()) {
            Ok(body) => json(StatusCode::OK, body),
            Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, -1, &e.to_string()),
        },
        (&Method::POST, "/admin/fault") => {
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => return json_error(StatusCode::BAD_REQUEST, -1, &e.to_string()),
            };
            match serde_json::from_slice::<Fault>(&body) {
                Ok(fault) => {
                    tracing::info!(?fault, "fault injected");
                    apply_fault(shared, &fault);
                    json(StatusCode::OK, serde_json::json!({"applied": fault}).to_string())
                }
                Err(e) => json_error(StatusCode::BAD_REQUEST, -1, &format!("invalid fault: {e}")),
            }
        }
        (&Method::DELETE, "/admin/fault") => {
            lock(&shared.faults).clear();
            json(StatusCode::OK, r#"{"cleared":true}"#.into())
        }
        _ => json_error(StatusCode::NOT_FOUND, -1, "unknown admin endpoint"),
    }
}
