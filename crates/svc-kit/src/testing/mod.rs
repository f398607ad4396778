//! Helpers for tests that run real processes (service binaries, Redis, kinesalite) on free
//! loopback ports, and stop them when dropped.

pub mod secure_redis;
pub mod servers;

use crate::cli::http_get;
use metrics_schema::Service;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound then released).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A service process that is killed when dropped.
pub struct ServiceProcess {
    pub child: Child,
    pub base_url: String,
}

impl ServiceProcess {
    /// Start `binary` listening on a free port (`<PREFIX>__HTTP__LISTEN`) and wait until it serves.
    pub fn start(binary: &str, env_prefix: &str, extra_env: &[(&str, &str)]) -> Result<Self, String> {
        let port = free_port().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(binary);
        cmd.env(format!("{env_prefix}__HTTP__LISTEN"), format!("127.0.0.1:{port}"))
            .env(format!("{env_prefix}__LOG__FORMAT"), "json")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|e| format!("spawn {binary}: {e}"))?;
        let p = ServiceProcess {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        };
        p.wait_serving(Duration::from_secs(20))?;
        Ok(p)
    }

    fn wait_serving(&self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.get("/metrics").is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("{} did not serve within {limit:?}", self.base_url))
    }

    /// GET a path on the service (blocking).
    pub fn get(&self, path: &str) -> Result<(u16, String), String> {
        let url = format!("{}{path}", self.base_url);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), http_get(&url)).await })
            .map_err(|_| "timed out".to_string())?
    }

    /// Send SIGTERM and wait for exit (bounded).
    pub fn terminate(mut self, limit: Duration) -> Result<ExitStatus, String> {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("did not exit within {limit:?} of SIGTERM"))
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Names from the schema that `exposition` is missing (metric family names in HELP lines).
pub fn missing_metrics(service: Service, exposition: &str) -> Vec<&'static str> {
    metrics_schema::defs_for(service)
        .filter(|d| !exposition.contains(&format!("# HELP {} ", d.registration_name())))
        .map(|d| d.name)
        .collect()
}

/// `--check-config` with `url_var` set to a Redis URL holding a password: the printed
/// configuration shows the URL with the password redacted and never the password itself.
pub fn check_config_redacts_redis_password(binary: &str, url_var: &str) -> Result<(), String> {
    let secret = "s3cret-pw-never-printed";
    let out = Command::new(binary)
        .arg("--check-config")
        .env(url_var, format!("rediss://svc-user:{secret}@cache.example:6379"))
        .env("REDIS_AUTH_TOKEN", "env-token-never-printed")
        .output()
        .map_err(|e| e.to_string())?;
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(format!("--check-config exited {:?}: {all}", out.status.code()));
    }
    if all.contains(secret) || all.contains("env-token-never-printed") {
        return Err(format!("--check-config printed a password: {all}"));
    }
    if !all.contains("rediss://svc-user:***@cache.example:6379") {
        return Err(format!("--check-config does not show the redacted URL: {all}"));
    }
    Ok(())
}

/// The standard binary contract every service must meet.
pub fn check_binary_contract(binary: &str, env_prefix: &str, service: Service) -> Result<(), String> {
    // Bad configuration: exit 64 and name the field.
    let out = Command::new(binary)
        .env(format!("{env_prefix}__SHUTDOWN__DRAIN_TIMEOUT_SECS"), "-1")
        .env(format!("{env_prefix}__NO_SUCH_SECTION__X"), "1")
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(64) {
        return Err(format!(
            "bad config exited {:?}, want 64; stderr: {stderr}",
            out.status.code()
        ));
    }
    if !stderr.contains("shutdown.drain_timeout_secs") || !stderr.contains("no_such_section") {
        return Err(format!("bad config error does not name every field: {stderr}"));
    }
    // Serves every metric of its service, then stops cleanly on SIGTERM.
    let p = ServiceProcess::start(binary, env_prefix, &[])?;
    let (status, body) = p.get("/metrics")?;
    if status != 200 {
        return Err(format!("/metrics answered {status}"));
    }
    let missing = missing_metrics(service, &body);
    if !missing.is_empty() {
        return Err(format!("/metrics misses {missing:?}"));
    }
    let (_, health) = p.get("/health")?;
    if !health.contains("\"components\"") {
        return Err(format!("/health is not the component report: {health}"));
    }
    let status = p.terminate(Duration::from_secs(25))?;
    if !status.success() {
        return Err(format!("exit after SIGTERM: {status}"));
    }
    Ok(())
}
