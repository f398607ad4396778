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
use metrics_schema::labels::{ErrorType, HttpStatus, RestEndpoint, Stage};
use metrics_schema::services::ingestor::RestCallLabels;
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
}

/// Default `Retry-After` when a 429/418 carries none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

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
            Ok(Err(e)) => {
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
    async fn get(&self, path: &str) -> Result<(StatusCode, Option<u32>, Option<Duration>, Bytes), String> {
        let host = self.uri.host().ok_or("rest_url has no host")?;
        let port = self
            .uri
            .port_u16()
            .unwrap_or(if self.tls.is_some() { 443 } else { 80 });
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| e.to_string())?;
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
        let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        match &self.tls {
            Some(tls) => {
                let name =
                    rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
                let stream = tls.connect(name, tcp).await.map_err(|e| e.to_string())?;
                send(stream, req).await
            }
            None => send(tcp, req).await,
        }
    }
}

async fn send<S>(
    stream: S,
    req: Request<Empty<Bytes>>,
) -> Result<(StatusCode, Option<u32>, Option<Duration>, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let conn = tokio::spawn(conn);
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (parts, body) = resp.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let used = header("x-mbx-used-weight-1m").and_then(|v| v.parse().ok());
    let retry = header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    conn.abort();
    Ok((parts.status, used, retry, body))
}
