//! The raw answers of one poll, exactly as the services gave them, and their on-disk capture
//! (`watch --dump DIR`): one file per endpoint, first line `status: N` or `error: why`, then the
//! body. The render tests replay such captures; a missing file reads as "not captured".

use std::path::Path;
use std::time::Duration;

/// One endpoint's answer: status and body, or why there was none (refused, timed out).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Http { status: u16, body: String },
    Failed(String),
}

impl Answer {
    /// The body of a 2xx answer.
    pub fn ok_body(&self) -> Result<&str, String> {
        match self {
            Answer::Http { status, body } if (200..300).contains(status) => Ok(body),
            Answer::Http { status, body } => Err(format!("HTTP {status} {}", first_line(body))),
            Answer::Failed(why) => Err(why.clone()),
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(120).collect()
}

/// Every endpoint `watch` reads, in a fixed order (also the capture's file names).
pub const ENDPOINTS: &[&str] = &[
    "inference.latest",
    "inference.predictions",
    "inference.metrics",
    "inference.health",
    "aggregator.metrics",
    "aggregator.health",
    "ingestor.metrics",
    "ingestor.health",
    "alertmanager.alerts",
];

/// The answers of one poll, by endpoint name, and when it was taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Raw {
    pub taken_at_us: i64,
    pub answers: Vec<(&'static str, Answer)>,
}

impl Raw {
    pub fn get(&self, endpoint: &str) -> Answer {
        self.answers
            .iter()
            .find(|(e, _)| *e == endpoint)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| Answer::Failed("not captured".into()))
    }

    /// Write the capture to `dir` (created).
    pub fn dump(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("taken_at_us"), self.taken_at_us.to_string())?;
        for (name, answer) in &self.answers {
            let text = match answer {
                Answer::Http { status, body } => format!("status: {status}\n{body}"),
                Answer::Failed(why) => format!("error: {why}\n"),
            };
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    }

    /// Read a capture written by [`Raw::dump`].
    pub fn load(dir: &Path) -> Result<Raw, String> {
        let read = |name: &str| std::fs::read_to_string(dir.join(name));
        let taken_at_us = read("taken_at_us")
            .map_err(|e| format!("{}: {e}", dir.join("taken_at_us").display()))?
            .trim()
            .parse()
            .map_err(|e| format!("taken_at_us: {e}"))?;
        let mut answers = Vec::new();
        for name in ENDPOINTS {
            let Ok(text) = read(name) else { continue };
            let (head, body) = text.split_once('\n').unwrap_or((&text, ""));
            let answer = if let Some(code) = head.strip_prefix("status: ") {
                let status = code
                    .trim()
                    .parse()
                    .map_err(|e| format!("{name}: bad status line: {e}"))?;
                Answer::Http {
                    status,
                    body: body.to_string(),
                }
            } else if let Some(why) = head.strip_prefix("error: ") {
                Answer::Failed(why.to_string())
            } else {
                return Err(format!("{name}: first line must be `status: N` or `error: why`"));
            };
            answers.push((*name, answer));
        }
        Ok(Raw { taken_at_us, answers })
    }
}

/// Base URLs of the services `watch` polls.
#[derive(Clone, Debug)]
pub struct Targets {
    pub inference: String,
    pub aggregator: String,
    pub ingestor: String,
    pub alertmanager: String,
}

impl Targets {
    fn url(&self, endpoint: &str) -> String {
        let (base, path) = match endpoint {
            "inference.latest" => (&self.inference, "/v1/predictions/latest"),
            "inference.predictions" => (&self.inference, "/v1/predictions?limit=1000"),
            "inference.metrics" => (&self.inference, "/metrics"),
            "inference.health" => (&self.inference, "/health"),
            "aggregator.metrics" => (&self.aggregator, "/metrics"),
            "aggregator.health" => (&self.aggregator, "/health"),
            "ingestor.metrics" => (&self.ingestor, "/metrics"),
            "ingestor.health" => (&self.ingestor, "/health"),
            _ => (
                &self.alertmanager,
                "/api/v2/alerts?active=true&silenced=false&inhibited=false",
            ),
        };
        format!("{}{path}", base.trim_end_matches('/'))
    }
}

/// Poll every endpoint at once, each bounded by `timeout`.
pub async fn fetch(targets: &Targets, timeout: Duration) -> Raw {
    let taken_at_us = now_us();
    let calls = ENDPOINTS.iter().map(|name| {
        let url = targets.url(name);
        async move {
            let answer = match tokio::time::timeout(timeout, svc_kit::cli::http_get(&url)).await {
                Ok(Ok((status, body))) => Answer::Http { status, body },
                Ok(Err(e)) => Answer::Failed(e),
                Err(_) => Answer::Failed(format!("no answer within {timeout:?}")),
            };
            (*name, answer)
        }
    });
    let mut answers = Vec::with_capacity(ENDPOINTS.len());
    let handles: Vec<_> = calls.map(tokio::spawn).collect();
    for (h, name) in handles.into_iter().zip(ENDPOINTS) {
        answers.push(h.await.unwrap_or_else(|e| (*name, Answer::Failed(e.to_string()))));
    }
    Raw { taken_at_us, answers }
}

pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
