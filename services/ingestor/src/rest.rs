//! REST depth snapshots over HTTP/1.1 (plain for the simulator, TLS for Binance): SBE body,
//! request-weight budget from `X-MBX-USED-WEIGHT-1M`, 429/418 `Retry-After`, timeouts and a
//! circuit breaker. One request per connection: snapshots are rare.

use crate::breaker::CircuitBreaker;
use crate::weight::WeightBudget;
use binance_sbe::{RestResponse, decode_rest_response};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use metrics_schema::IngestorMetrics;
use metrics_schema::labels::InputSource;
use metrics_schema::labels::{ErrorType, HttpStatus, RestEndpoint, Stage};
use metrics_schema::services::ingestor::{InputSourceLabels, RestCallLabels};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Why a snapshot could not be fetched; `wait` says when trying again makes sense.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("not sent: weight budget or Retry-After ({0:?} to wait)")]
    Budget(Duration),
    #[error("not sent: circuit breaker open ({0:?} to wait)")]
    BreakerOpen(Duration),
    #[error("HTTP {status} (Retry-After {retry_after:?})")]
    RateLimited { status: u16, retry_after: Duration },
    #[error("HTTP {0}")]
    Status(u16),
    #[error("timed out")]
    Timeout,
    #[error("transport: {0}")]
    Transport(String),
    #[error("undecodable body: {0}")]
    Decode(String),
    #[error("response body larger than rest.max_body_bytes ({0} bytes); abandoned")]
    TooLarge(usize),
}

impl RestError {
    /// The least time before a retry can succeed (zero: use the caller's backoff).
    pub fn wait(&self) -> Duration {
        match self {
            Self::Budget(d) | Self::BreakerOpen(d) => *d,
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => Duration::ZERO,
        }
    }
}

pub struct RestClient {
    uri: Uri,
    tls: Option<tokio_rustls::TlsConnector>,
    api_key: Option<Arc<str>>,
    timeout: Duration,
    max_body_bytes: usize,
    budget: WeightBudget,
    breaker: CircuitBreaker,
    metrics: IngestorMetrics,
}

pub struct RestParams {
    pub base_url: String,
    pub timeout: Duration,
    pub weight_budget: u32,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// Largest response body read (see `rest.max_body_bytes`).
    pub max_body_bytes: usize,
}

/// Default `Retry-After` when a 429/418 carries none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The longest `Retry-After` honoured: Binance's longest IP ban (418) is 3 days. A larger value
/// (or one that would overflow a clock) is clamped to this, never trusted as is.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);

/// A `Retry-After` header value in delta-seconds, clamped to [`MAX_RETRY_AFTER`]; `None` when it
/// is not a number (the HTTP-date form is not sent by Binance; the default wait applies).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: a parse failure can only be overflow, which is "huge".
    let secs = v.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

impl RestClient {
    pub fn new(
        p: RestParams,
        tls: Arc<rustls::ClientConfig>,
        api_key: Option<Arc<str>>,
        metrics: IngestorMetrics,
    ) -> Result<Self, String> {
        let uri: Uri = p.base_url.parse().map_err(|e| format!("rest_url: {e}"))?;
        let https = uri.scheme_str() == Some("https");
        metrics.rest_circuit_breaker_state.set(0.0);
        metrics.rest_rate_limit_remaining.set(f64::from(p.weight_budget));
        Ok(Self {
            uri,
            tls: https.then(|| tokio_rustls::TlsConnector::from(tls)),
            api_key,
            timeout: p.timeout,
            max_body_bytes: p.max_body_bytes,
            budget: WeightBudget::new(p.weight_budget, Duration::from_secs(60)),
            breaker: CircuitBreaker::new(p.breaker_failures, p.breaker_cooldown),
            metrics,
        })
    }

    fn count(&self, status: HttpStatus, took: Duration) {
        self.metrics
            .rest_api_calls
            .get_or_create(&RestCallLabels {
                endpoint: RestEndpoint::Depth,
                status,
            })
            .inc();
        self.metrics.rest_api_duration.observe(took.as_secs_f64());
    }

    fn export_state(&mut self, now: Instant) {
        self.metrics
            .rest_circuit_breaker_state
            .set(self.breaker.state(now).gauge());
        self.metrics
            .rest_rate_limit_remaining
            .set(f64::from(self.budget.remaining(now)));
    }

    /// `GET /api/v3/depth` in SBE; the body is returned once it decodes as a depth response.
    pub async fn depth(&mut self, symbol: &str, limit: u32) -> Result<Bytes, RestError> {
        let now = Instant::now();
        self.budget
            .reserve(crate::config::depth_weight(limit), now)
            .map_err(RestError::Budget)?;
        if let Err(wait) = self.breaker.allow(now) {
            self.export_state(now);
            return Err(RestError::BreakerOpen(wait));
        }
        self.export_state(now);
        let path = format!("/api/v3/depth?symbol={symbol}&limit={limit}");
        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, self.get(&path)).await;
        let took = started.elapsed();
        let now = Instant::now();
        let outcome = match result {
            Err(_) => {
                self.count(HttpStatus::Timeout, took);
                self.metrics.error(ErrorType::Timeout, Stage::Rest);
                self.breaker.on_failure(now);
                Err(RestError::Timeout)
            }
            Ok(Err(GetError::TooLarge)) => {
                self.count(HttpStatus::Transport, took);
                self.metrics
                    .oversized_inputs
                    .get_or_create(&InputSourceLabels {
                        source: InputSource::Rest,
                    })
                    .inc();
                self.breaker.on_failure(now);
                tracing::warn!(
                    limit = self.max_body_bytes,
                    "REST body over rest.max_body_bytes; abandoned"
                );
                Err(RestError::TooLarge(self.max_body_bytes))
            }
            Ok(Err(GetError::Transport(e))) => {
                self.count(HttpStatus::Transport, took);
                self.metrics.error(ErrorType::Connection, Stage::Rest);
                self.breaker.on_failure(now);
                Err(RestError::Transport(e))
            }
            Ok(Ok((status, used, retry_after, body))) => {
                if let Some(used) = used {
                    self.budget.observe_used(used, now);
                }
                self.classify(status, retry_after, body, took, now)
            }
        };
        self.export_state(now);
        outcome
    }

    fn classify(
        &mut self,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: Bytes,
        took: Duration,
        now: Instant,
    ) -> Result<Bytes, RestError> {
        match status.as_u16() {
            200 => {
                self.count(HttpStatus::Ok, took);
                match decode_rest_response(&body) {
                    Ok(RestResponse::Depth(_)) => {
                        self.breaker.on_success();
                        Ok(body)
                    }
                    Ok(RestResponse::Error(e)) => {
                        self.metrics.error(ErrorType::Rejected, Stage::Rest);
                        Err(RestError::Decode(format!(
                            "error response {}: {}",
                            e.code(),
                            e.msg()
                        )))
                    }
                    Err(e) => {
                        self.metrics.error(crate::metrics::error_type(&e), Stage::Rest);
                        self.breaker.on_failure(now);
                        Err(RestError::Decode(e.to_string()))
                    }
                }
            }
            code @ (429 | 418) => {
                let label = if code == 429 {
                    HttpStatus::TooManyRequests
                } else {
                    HttpStatus::Teapot
                };
                self.count(label, took);
                self.metrics.error(ErrorType::Throttled, Stage::Rest);
                let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                self.budget.retry_after(wait, now);
                tracing::warn!(status = code, retry_after = ?wait, "REST rate limited; waiting Retry-After");
                Err(RestError::RateLimited {
                    status: code,
                    retry_after: wait,
                })
            }
            code => {
                let server = status.is_server_error();
                self.count(
                    if server {
                        HttpStatus::ServerError
                    } else {
                        HttpStatus::ClientError
                    },
                    took,
                );
                self.metrics.error(ErrorType::Rejected, Stage::Rest);
                self.breaker.on_failure(now);
                Err(RestError::Status(code))
            }
        }
    }

    /// One GET; returns status, used weight, Retry-After and the body.
    async fn get(&self, path: &str) -> Result<(StatusCode, Option<u32>, Option<Duration>, Bytes), GetError> {
        let host = self
            .uri
            .host()
            .ok_or_else(|| GetError::Transport("rest_url has no host".into()))?;
        let port = self
            .uri
            .port_u16()
            .unwrap_or(if self.tls.is_some() { 443 } else { 80 });
        let tcp = TcpStream::connect((host, port)).await.map_err(transport)?;
        let _ = tcp.set_nodelay(true);
        let authority = self.uri.authority().map(|a| a.as_str()).unwrap_or(host);
        let mut req = Request::get(path)
            .header("host", authority)
            .header("accept", "application/sbe")
            .header("x-mbx-sbe", "3:5")
            .header("user-agent", "btc-pipeline-ingestor");
        if let Some(k) = &self.api_key {
            req = req.header("x-mbx-apikey", k.as_ref());
        }
        let req = req.body(Empty::<Bytes>::new()).map_err(transport)?;
        match &self.tls {
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(transport)?;
                let stream = tls.connect(name, tcp).await.map_err(transport)?;
                send(stream, req, self.max_body_bytes).await
            }
            None => send(tcp, req, self.max_body_bytes).await,
        }
    }
}

/// Why a GET failed below the HTTP status level.
#[derive(Debug)]
enum GetError {
    Transport(String),
    /// The body exceeded the limit; the connection was dropped without reading the rest.
    TooLarge,
}

fn transport(e: impl std::fmt::Display) -> GetError {
    GetError::Transport(e.to_string())
}

async fn send<S>(
    stream: S,
    req: Request<Empty<Bytes>>,
    max_body_bytes: usize,
) -> Result<(StatusCode, Option<u32>, Option<Duration>, Bytes), GetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(transport)?;
    let conn = tokio::spawn(conn);
    let resp = sender.send_request(req).await.map_err(transport)?;
    let (parts, body) = resp.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let used = header("x-mbx-used-weight-1m").and_then(|v| v.parse().ok());
    let retry = header("retry-after").and_then(parse_retry_after);
    let collected = http_body_util::Limited::new(body, max_body_bytes).collect().await;
    conn.abort();
    let body = match collected {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(GetError::TooLarge),
        Err(e) => return Err(transport(e)),
    };
    Ok((parts.status, used, retry, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_parsed_and_clamped_to_the_longest_ban() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("18446744073709551615"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
