//! REST: `GET /api/v3/depth`, `/api/v3/exchangeInfo`, `/api/v3/ping`, `/api/v3/time`, in JSON or
//! SBE (`Accept: application/sbe` + `X-MBX-SBE: 3:<2..5>`), with per-IP weight accounting
//! (`X-MBX-USED-WEIGHT-1M`, 429 / 418 + `Retry-After`) and the armed REST faults.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::{ACCEPT, HeaderMap, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};

use super::http::{Body, json, json_error, respond};
use super::limits::{Verdict, retry_after_secs};
use crate::faults::RestFault;
use crate::frames;
use crate::hub::{Shared, lock, now_us};
use crate::stats::inc;

const SBE: &str = "application/sbe";
/// How long a depth request waits for the source's first snapshot.
const BOOK_WAIT: Duration = Duration::from_secs(5);

/// Response encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Sbe { version: u16 },
}

/// Picks JSON or SBE like Binance; `Err` is an SBE error for an unusable `X-MBX-SBE` header when
/// the client accepts nothing else.
pub fn negotiate(headers: &HeaderMap) -> Result<Format, (i16, &'static str)> {
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("*/*");
    if !accept.contains(SBE) {
        return Ok(Format::Json);
    }
    let json_ok = accept.contains("application/json") || accept.contains("*/*");
    let header = headers.get("x-mbx-sbe").and_then(|v| v.to_str().ok());
    let parsed = header.and_then(|h| {
        let (s, v) = h.trim().split_once(':')?;
        Some((s.parse::<u16>().ok()?, v.parse::<u16>().ok()?))
    });
    match parsed {
        Some((3, version)) if (2..=5).contains(&version) => Ok(Format::Sbe { version }),
        _ if json_ok => Ok(Format::Json),
        None => Err((-1152, "Invalid X-MBX-SBE header; expected <SCHEMA_ID>:<VERSION>.")),
        Some(_) => Err((
            -1153,
            "Unsupported SBE schema ID or version specified in the X-MBX-SBE header.",
        )),
    }
}

/// An error in the negotiated format, with `Retry-After` when given.
fn error(
    format: Format,
    status: StatusCode,
    code: i16,
    msg: &str,
    retry: Option<Duration>,
) -> Response<Body> {
    let mut resp = match format {
        Format::Json => json_error(status, i64::from(code), msg),
        Format::Sbe { version } => {
            let mut out = Vec::new();
            let retry_us = retry.map(|d| now_us() + u64::try_from(d.as_micros()).unwrap_or(0));
            let _ = frames::rest_error(&mut out, code, msg, now_us(), retry_us, version);
            respond(status, SBE, out)
        }
    };
    if let Some(d) = retry
        && let Ok(v) = HeaderValue::from_str(&retry_after_secs(d).to_string())
    {
        resp.headers_mut().insert(RETRY_AFTER, v);
    }
    resp
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// Binance's depth weight by limit.
pub fn depth_weight(limit: usize) -> u32 {
    match limit {
        0..=100 => 5,
        101..=500 => 25,
        501..=1000 => 50,
        _ => 250,
    }
}

/// A validated request.
enum Endpoint {
    Depth { limit: usize },
    ExchangeInfo,
    Ping,
    Time,
}

impl Endpoint {
    fn weight(&self) -> u32 {
        match self {
            Self::Depth { limit } => depth_weight(*limit),
            Self::ExchangeInfo => 20,
            Self::Ping | Self::Time => 1,
        }
    }
}

fn parse(
    shared: &Shared,
    req: &Request<hyper::body::Incoming>,
) -> Result<Endpoint, (StatusCode, i16, String)> {
    if req.method() != Method::GET {
        return Err((StatusCode::METHOD_NOT_ALLOWED, -1, "Method not allowed.".into()));
    }
    let query = req.uri().query();
    match req.uri().path() {
        "/api/v3/ping" => Ok(Endpoint::Ping),
        "/api/v3/time" => Ok(Endpoint::Time),
        "/api/v3/exchangeInfo" => Ok(Endpoint::ExchangeInfo),
        "/api/v3/depth" => {
            let symbol = query_param(query, "symbol").filter(|s| !s.is_empty()).ok_or((
                StatusCode::BAD_REQUEST,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.".into(),
            ))?;
            if symbol != shared.cfg.symbol {
                return Err((StatusCode::BAD_REQUEST, -1121, "Invalid symbol.".into()));
            }
            let limit = match query_param(query, "limit") {
                None => 100,
                Some(l) => l.parse::<usize>().map_err(|_| {
                    (
                        StatusCode::BAD_REQUEST,
                        -1100,
                        "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."
                            .into(),
                    )
                })?,
            };
            Ok(Endpoint::Depth {
                limit: limit.clamp(1, 5000),
            })
        }
        _ => Err((StatusCode::NOT_FOUND, -1, "Unknown endpoint.".into())),
    }
}

/// Handles one `/api/v3/*` request from `ip`.
pub async fn handle(shared: &Arc<Shared>, ip: IpAddr, req: Request<hyper::body::Incoming>) -> Response<Body> {
    inc(&shared.stats.rest_requests);
    let format = match negotiate(req.headers()) {
        Ok(f) => f,
        Err((code, msg)) => {
            return error(
                Format::Sbe { version: 5 },
                StatusCode::BAD_REQUEST,
                code,
                msg,
                None,
            );
        }
    };
    let endpoint = match parse(shared, &req) {
        Ok(e) => e,
        Err((status, code, msg)) => return error(format, status, code, &msg, None),
    };
    let verdict = lock(&shared.limiter).charge(ip, endpoint.weight(), Instant::now());
    let delay = lock(&shared.faults).take_rest_delay();
    if let Some(d) = delay {
        inc(&shared.stats.rest_delayed);
        tokio::time::sleep(d).await;
    }
    let (used, mut resp) = match verdict {
        Verdict::Banned { used, retry_after } => {
            inc(&shared.stats.rest_418);
            let msg = "Way too much request weight used; IP banned. Please use WebSocket Streams for live updates to avoid bans.";
            (
                used,
                error(format, StatusCode::IM_A_TEAPOT, -1003, msg, Some(retry_after)),
            )
        }
        Verdict::Limited { used, retry_after } => {
            inc(&shared.stats.rest_429);
            let msg = format!(
                "Too much request weight used; current limit is {} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
                shared.cfg.rest_weight_limit
            );
            (
                used,
                error(
                    format,
                    StatusCode::TOO_MANY_REQUESTS,
                    -1003,
                    &msg,
                    Some(retry_after),
                ),
            )
        }
        Verdict::Allowed { used } => {
            let forced = lock(&shared.faults).take_rest();
            let resp = match forced {
                Some(f) => {
                    inc(&shared.stats.rest_faults_served);
                    forced_error(format, f)
                }
                None => serve(shared, format, endpoint).await,
            };
            (used, resp)
        }
    };
    if let Ok(v) = HeaderValue::from_str(&used.to_string()) {
        resp.headers_mut().insert("x-mbx-used-weight-1m", v);
    }
    if let Format::Sbe { version } = format
        && version < 5
    {
        resp.headers_mut()
            .insert("x-mbx-sbe-deprecated", HeaderValue::from_static("true"));
    }
    resp
}

fn forced_error(format: Format, f: RestFault) -> Response<Body> {
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry = Some(Duration::from_secs(f.retry_after_secs));
    match status {
        StatusCode::TOO_MANY_REQUESTS => error(
            format,
            status,
            -1003,
            "Too much request weight used (simulated).",
            retry,
        ),
        StatusCode::IM_A_TEAPOT => error(
            format,
            status,
            -1003,
            "Way too much request weight used; IP banned (simulated).",
            retry,
        ),
        s if s.is_server_error() => error(
            format,
            s,
            -1001,
            "Internal error; unable to process your request. Please try again.",
            None,
        ),
        s => error(format, s, -1, "Simulated fault.", None),
    }
}

async fn serve(shared: &Shared, format: Format, endpoint: Endpoint) -> Response<Body> {
    match endpoint {
        Endpoint::Depth { limit } => depth(shared, format, limit).await,
        Endpoint::Ping => match format {
            Format::Json => json(StatusCode::OK, "{}".into()),
            Format::Sbe { version } => respond(StatusCode::OK, SBE, header_only(0, 101, version, &[])),
        },
        Endpoint::Time => match format {
            Format::Json => json(StatusCode::OK, format!(r#"{{"serverTime":{}}}"#, now_us() / 1000)),
            Format::Sbe { version } => {
                let t = i64::try_from(now_us()).unwrap_or(i64::MAX).to_le_bytes();
                respond(StatusCode::OK, SBE, header_only(8, 102, version, &t))
            }
        },
        Endpoint::ExchangeInfo => match format {
            Format::Json => json(StatusCode::OK, super::exchange_info::json(shared)),
            Format::Sbe { .. } => error(
                format,
                StatusCode::BAD_REQUEST,
                -1153,
                "ExchangeInfoResponse (template 103) is not served in SBE by the simulator; accept application/json.",
                None,
            ),
        },
    }
}

/// A REST-schema message with a fixed root block and no groups.
fn header_only(block_length: u16, template_id: u16, version: u16, block: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + block.len());
    for v in [block_length, template_id, 3, version] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(block);
    out
}

async fn depth(shared: &Shared, format: Format, limit: usize) -> Response<Body> {
    let deadline = tokio::time::Instant::now() + BOOK_WAIT;
    let snapshot = loop {
        let ready = shared.book_ready.notified();
        if let Some(s) = lock(&shared.market).snapshot(limit) {
            break Some(s);
        }
        if tokio::time::timeout_at(deadline, ready).await.is_err() {
            break None;
        }
    };
    let Some((id, top)) = snapshot else {
        return error(
            format,
            StatusCode::SERVICE_UNAVAILABLE,
            -1001,
            "Internal error; unable to process your request. Please try again.",
            None,
        );
    };
    match format {
        Format::Json => json(StatusCode::OK, frames::rest_depth_json(&shared.scale, id, &top)),
        Format::Sbe { version } => {
            let mut out = Vec::with_capacity(32 + 16 * (top.bids.len() + top.asks.len()));
            match frames::rest_depth(&mut out, &shared.scale, id, &top, version) {
                Ok(()) => respond(StatusCode::OK, SBE, out),
                Err(e) => error(
                    format,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    -1001,
                    &e.to_string(),
                    None,
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn negotiation_follows_binance_sbe_rules() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<Format, i16>);
        let cases: &[Case<'_>] = &[
            (&[], Ok(Format::Json)),
            (&[("accept", "application/json")], Ok(Format::Json)),
            (
                &[("accept", SBE), ("x-mbx-sbe", "3:2")],
                Ok(Format::Sbe { version: 2 }),
            ),
            (
                &[("accept", SBE), ("x-mbx-sbe", "3:5")],
                Ok(Format::Sbe { version: 5 }),
            ),
            (&[("accept", SBE)], Err(-1152)),
            (&[("accept", SBE), ("x-mbx-sbe", "3:1")], Err(-1153)),
            (&[("accept", SBE), ("x-mbx-sbe", "banana")], Err(-1152)),
            (
                &[("accept", "application/sbe, application/json")],
                Ok(Format::Json),
            ),
        ];
        for (h, expected) in cases {
            let got = negotiate(&headers(h)).map_err(|(c, _)| c);
            assert_eq!(got, *expected, "{h:?}");
        }
    }

    #[test]
    fn depth_weight_follows_the_limit_bands() {
        let w: Vec<u32> = [1, 100, 101, 500, 501, 1000, 1001, 5000]
            .iter()
            .map(|l| depth_weight(*l))
            .collect();
        assert_eq!(w, [5, 5, 25, 25, 50, 50, 250, 250]);
    }
}
