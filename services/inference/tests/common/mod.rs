//! Test helpers: a minimal blocking RESP client (to play the aggregator), a raw HTTP/1.1 client, a
//! features writer thread, and the service process with its fixtures in a temporary directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inference::contract::{self, AnchorState, FeatureSnapshot};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use svc_kit::testing::ServiceProcess;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64
}

/// A RESP reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Resp>),
}

fn read_reply(r: &mut impl BufRead) -> std::io::Result<Resp> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let line = line.trim_end();
    let (kind, rest) = line.split_at(1.min(line.len()));
    let bad = || std::io::Error::other(format!("bad RESP line {line:?}"));
    Ok(match kind {
        "+" => Resp::Simple(rest.into()),
        "-" => Resp::Error(rest.into()),
        ":" => Resp::Int(rest.parse().map_err(|_| bad())?),
        "$" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                Resp::Bulk(None)
            } else {
                let mut buf = vec![0; n as usize + 2];
                r.read_exact(&mut buf)?;
                buf.truncate(n as usize);
                Resp::Bulk(Some(buf))
            }
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            let mut v = Vec::new();
            for _ in 0..n.max(0) {
                v.push(read_reply(r)?);
            }
            Resp::Array(v)
        }
        _ => return Err(bad()),
    })
}

/// One command on a fresh connection.
pub fn redis_cmd(port: u16, args: &[&[u8]]) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    s.write_all(&out)?;
    read_reply(&mut BufReader::new(s))
}

pub fn write_features(port: u16, symbol: &str, snap: &FeatureSnapshot) -> std::io::Result<()> {
    let key = contract::features_key(symbol);
    let fields = contract::encode(snap);
    let mut args: Vec<&[u8]> = vec![b"HSET", key.as_bytes()];
    for (k, v) in &fields {
        args.push(k.as_bytes());
        args.push(v);
    }
    match redis_cmd(port, &args)? {
        Resp::Error(e) => Err(std::io::Error::other(e)),
        _ => Ok(()),
    }
}

/// How the writer thread shapes each refresh.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Fresh,
    /// compute time 10 s in the past.
    Stale,
    Incomplete,
    Buffering,
    Paused,
    /// Computed now, about a market 30 s old (backlog replay, or after a stall whose clock lags).
    MarketLag,
    /// Event time 10 s ahead of the wall clock (a skewed exchange or host clock).
    ClockAhead,
    /// A hash as a Redis restored from a 10-minute-old snapshot holds it (compute and event old).
    Restored,
}

/// Rewrites `{S}:features` every 200 ms (like the aggregator's flushes), mid drifting upward.
pub struct FeatureWriter {
    pub mode: Arc<Mutex<Mode>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl FeatureWriter {
    pub fn start(port: u16) -> Self {
        let mode = Arc::new(Mutex::new(Mode::Fresh));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (mode.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let mut i = 0u64;
            while !s.load(Ordering::Relaxed) {
                let now = now_us();
                let mut snap = contract::synced_snapshot(60_000.0 + i as f64 * 0.5, now);
                match *m.lock().unwrap() {
                    Mode::Fresh => {}
                    Mode::Stale => snap.compute_time_us = now - 10_000_000,
                    Mode::Incomplete => snap.completeness = 0.5,
                    Mode::Buffering => {
                        snap.state = AnchorState::Buffering;
                        snap.usable = false;
                    }
                    Mode::MarketLag => snap.event_time_us = now - 30_000_000,
                    Mode::ClockAhead => snap.event_time_us = now + 10_000_000,
                    Mode::Restored => {
                        snap.compute_time_us = now - 600_000_000;
                        snap.event_time_us = now - 600_000_000;
                    }
                    Mode::Paused => {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                }
                let _ = write_features(port, "BTCUSDT", &snap);
                i += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        FeatureWriter {
            mode,
            stop,
            handle: Some(handle),
        }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

impl Drop for FeatureWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `(status, body)` of one HTTP/1.1 request (`Content-Type: application/json`).
pub fn http(base: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    http_with(base, method, path, &[("Content-Type", "application/json")], body)
}

/// `(status, body)` of one HTTP/1.1 request with these headers.
pub fn http_with(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

pub fn get_json(base: &str, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = http(base, "GET", path, "");
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// Polls `f` every 100 ms until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The service, its model files in a temporary directory (so tests can replace them).
pub struct Service {
    pub process: ServiceProcess,
    pub dir: tempfile::TempDir,
}

impl Service {
    pub fn base(&self) -> &str {
        &self.process.base_url
    }
    pub fn model_path(&self) -> PathBuf {
        self.dir.path().join("model.onnx")
    }
    /// Replace the ML model file atomically (write beside, then rename).
    pub fn install_model(&self, fixture_name: &str) {
        let tmp = self.dir.path().join(".model.onnx.tmp");
        std::fs::copy(fixture(fixture_name), &tmp).unwrap();
        std::fs::rename(&tmp, self.model_path()).unwrap();
    }
    pub fn health(&self) -> (u16, serde_json::Value) {
        get_json(self.base(), "/health")
    }
    pub fn component(&self, name: &str) -> String {
        let (_, h) = self.health();
        h["components"][name]["status"].as_str().unwrap_or("").to_string()
    }
    pub fn latest(&self) -> serde_json::Value {
        get_json(self.base(), "/v1/predictions/latest").1
    }
    pub fn metrics(&self) -> String {
        http(self.base(), "GET", "/metrics", "").1
    }
    /// The value of one exposition line starting with `prefix` (e.g. `name{label="x"}`), 0 if absent.
    pub fn metric(&self, prefix: &str) -> f64 {
        self.metrics()
            .lines()
            .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

/// Starts the binary with `ml` (a fixture name, or `None` for no file) and `baseline` fixtures.
/// The service with the ml + baseline fixtures, ticking every `interval_ms` with a Redis timeout of
/// half of it (what most behaviour tests need), plus `extra` settings.
pub fn start_ticking(redis_url: &str, interval_ms: u64, extra: &[(&str, &str)]) -> Service {
    let interval = interval_ms.to_string();
    let timeout = (interval_ms / 2).to_string();
    let mut env = vec![
        ("INFERENCE__TICK__INTERVAL_MS", interval.as_str()),
        ("INFERENCE__TICK__REDIS_TIMEOUT_MS", timeout.as_str()),
    ];
    env.extend_from_slice(extra);
    start_service(redis_url, Some("ml.onnx"), Some("baseline.onnx"), &env)
}

pub fn start_service(
    redis_url: &str,
    ml: Option<&str>,
    baseline: Option<&str>,
    extra: &[(&str, &str)],
) -> Service {
    let dir = tempfile::tempdir().unwrap();
    if let Some(m) = ml {
        std::fs::copy(fixture(m), dir.path().join("model.onnx")).unwrap();
    }
    if let Some(b) = baseline {
        std::fs::copy(fixture(b), dir.path().join("baseline.onnx")).unwrap();
    }
    let model = dir.path().join("model.onnx").display().to_string();
    let mut env: Vec<(&str, &str)> = vec![
        ("INFERENCE__REDIS__URL", redis_url),
        ("INFERENCE__MODEL__PATH", model.as_str()),
        ("INFERENCE__MODEL__RELOAD_POLL_MS", "200"),
    ];
    env.extend_from_slice(extra);
    let process = ServiceProcess::start(env!("CARGO_BIN_EXE_inference"), "INFERENCE", &env).unwrap();
    Service { process, dir }
}

/// The value of `field` in every entry of a stream, oldest first.
pub fn stream_field(port: u16, key: &str, field: &str) -> Vec<Vec<u8>> {
    let Resp::Array(entries) = redis_cmd(port, &[b"XRANGE", key.as_bytes(), b"-", b"+"]).unwrap() else {
        panic!("XRANGE reply")
    };
    entries
        .into_iter()
        .map(|e| {
            let Resp::Array(mut idf) = e else { panic!("entry") };
            let Resp::Array(fields) = idf.remove(1) else {
                panic!("fields")
            };
            let pos = fields
                .iter()
                .position(|f| *f == Resp::Bulk(Some(field.as_bytes().to_vec())))
                .unwrap_or_else(|| panic!("no {field} in a {key} entry"));
            let Resp::Bulk(Some(v)) = &fields[pos + 1] else {
                panic!("{field} value")
            };
            v.clone()
        })
        .collect()
}

/// The `json` field of every entry of a stream, oldest first (e.g. `{BTCUSDT}:predictions`).
pub fn stream_json(port: u16, key: &str) -> Vec<serde_json::Value> {
    stream_field(port, key, "json")
        .iter()
        .map(|v| serde_json::from_slice(v).unwrap())
        .collect()
}

/// `POST path` with the admin bearer token and a JSON body.
pub fn admin_post(base: &str, token: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {token}");
    let (status, text) = http_with(
        base,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", auth.as_str()),
        ],
        body,
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}
