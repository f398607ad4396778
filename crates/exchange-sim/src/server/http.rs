//! Small HTTP helpers (bodies, JSON errors in Binance's `{"code":..,"msg":..}` shape).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// Response body type of the whole server.
pub type Body = Full<Bytes>;

/// An empty body.
pub fn empty() -> Body {
    Full::new(Bytes::new())
}

/// A response with a body and content type.
pub fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A JSON response.
pub fn json(status: StatusCode, body: String) -> Response<Body> {
    respond(status, "application/json;charset=UTF-8", body)
}

/// Binance's JSON error body.
pub fn json_error(status: StatusCode, code: i64, msg: &str) -> Response<Body> {
    json(status, serde_json::json!({"code": code, "msg": msg}).to_string())
}
