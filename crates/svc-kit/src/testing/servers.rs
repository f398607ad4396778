//! Real Redis and kinesalite servers for integration tests, each on a free loopback port,
//! stopped (and their data removed) on drop. Missing binaries are an error that says to run
//! `make bootstrap`; tests never silently skip them.

use super::free_port;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn workspace_root() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

fn wait_port(port: u16, child: &mut Child, what: &str) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited early: {status}"));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(format!("{what} did not listen on {port} within 20 s"))
}

/// A `redis-server` on a free port with persistence off.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    pub fn start() -> Result<Self, String> {
        let port = free_port().map_err(|e| e.to_string())?;
        Self::start_on(port)
    }

    /// Start on a given port (used to restart a server where clients expect it).
    pub fn start_on(port: u16) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("redis-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server ({e}); run `make bootstrap`"))?;
        wait_port(port, &mut child, "redis-server")?;
        Ok(RedisServer { child, port, dir })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stop the server now (simulating an outage); the port is free again afterwards.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// kinesalite (npm, installed under `.local/node` by `make bootstrap`) bound to 127.0.0.1.
pub struct Kinesalite {
    child: Child,
    pub port: u16,
}

impl Kinesalite {
    pub fn start() -> Result<Self, String> {
        let port = free_port().map_err(|e| e.to_string())?;
        Self::start_on(port)
    }

    pub fn start_on(port: u16) -> Result<Self, String> {
        let module = std::env::var_os("KINESALITE_MODULE")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(".local/node/node_modules/kinesalite"));
        if !module.exists() {
            return Err(format!(
                "kinesalite not installed at {}; run `make bootstrap`",
                module.display()
            ));
        }
        let script = format!(
            "require({:?})({{createStreamMs:20,deleteStreamMs:20,updateStreamMs:20,shardLimit:50}}).listen({port},'127.0.0.1')",
            module.display().to_string()
        );
        let mut child = Command::new("node")
            .args(["-e", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start node for kinesalite ({e})"))?;
        wait_port(port, &mut child, "kinesalite")?;
        Ok(Kinesalite { child, port })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Kinesalite {
    fn drop(&mut self) {
        self.stop();
    }
}
