//! The lifecycle part of the API (issue 17):
//!
//! * `POST /v1/admin/promote` and `POST /v1/admin/rollback`, body `{}` or
//!   `{"reason":"…","actor":"…"}` (both optional, bounded), authenticated like every admin route
//!   ([`crate::admin`]); 200 with `{action, from_version, to_version, audit_error}`, 409 when there is
//!   nothing to switch to (no challenger, no or an invalid previous champion), 500 when the model
//!   files cannot be moved;
//! * the `champion` / `challenger` / `lifecycle` parts of `GET /v1/model`.

use crate::admin::AdminToken;
use crate::config::Variant;
use crate::promotion::{self, Actor};
use crate::state::Shared;
use http_body_util::{BodyExt, Limited};
use hyper::{Response, StatusCode};
use metrics_schema::InferenceMetrics;
use metrics_schema::labels::LifecycleAction;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use svc_kit::http::{Body, Request, json};

const MAX_BODY: usize = 2048;
const MAX_REASON: usize = 500;
const MAX_ACTOR: usize = 100;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchRequest {
    reason: Option<String>,
    actor: Option<String>,
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json(status, &json!({ "error": message }))
}

/// An authorised admin request's promote (`Promote`) or rollback (`Rollback`).
pub async fn switch(
    shared: &Arc<Shared>,
    token: &AdminToken,
    metrics: Option<InferenceMetrics>,
    req: Request,
    action: LifecycleAction,
) -> Response<Body> {
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "body too large or unreadable"),
    };
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(SwitchRequest::default())
    } else {
        serde_json::from_slice::<SwitchRequest>(&body)
    };
    let r = match parsed {
        Ok(r)
            if r.reason.as_ref().is_none_or(|s| s.chars().count() <= MAX_REASON)
                && r.actor.as_ref().is_none_or(|s| s.chars().count() <= MAX_ACTOR) =>
        {
            r
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                r#"expected {} or {"reason":"<= 500 chars","actor":"<= 100 chars"}"#,
            );
        }
    };
    let actor = Actor {
        id: token.identity(),
        requested_by: r.actor,
    };
    let reason = r.reason.unwrap_or_else(|| "admin request".into());
    let metrics = metrics
        .unwrap_or_else(|| InferenceMetrics::register(&mut prometheus_client::registry::Registry::default()));
    let done = if action == LifecycleAction::Rollback {
        promotion::rollback(shared, &metrics, &actor, &reason).await
    } else {
        promotion::promote(shared, &metrics, &actor, action, &reason).await
    };
    match done {
        Ok(s) => json(
            StatusCode::OK,
            &json!({
                "action": metrics_schema::labels::LabelValue::as_str(action),
                "from_version": s.from_version,
                "to_version": s.to_version,
                "audit_error": s.audit_error,
            }),
        ),
        Err(e) if e.is_conflict() => error(StatusCode::CONFLICT, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// What `/v1/model` adds about the lifecycle: both roles with versions and live scores.
pub fn model_parts(shared: &Shared) -> (Value, Value, Value) {
    let lc = &shared.lifecycle;
    let scores = lc.scores();
    let champion = json!({
        "role": "champion",
        "version": shared.models.get(Variant::Ml).map(|m| m.version.clone()),
        "serving": shared.variant() == Variant::Ml,
        "live": scores.champion,
    });
    let challenger = json!({
        "role": "challenger",
        "configured": lc.challenger.is_some(),
        "version": lc.challenger_model().map(|m| m.version.clone()),
        "slot": lc.challenger_status(),
        "stream": crate::shadow::stream_key(&shared.symbol),
        "live": scores.challenger,
    });
    let lifecycle = json!({
        "previous_path": lc.previous_path.display().to_string(),
        "previous_kept": lc.previous_path.exists(),
        "audit_log": lc.audit_path.display().to_string(),
        "auto_promote": lc.config.auto_promote,
        "auto_margin": lc.config.auto_margin,
        "auto_min_windows": lc.config.auto_min_windows,
    });
    (champion, challenger, lifecycle)
}
