//! A `redis-server` as production runs it: TLS only (a throwaway CA and server certificate made
//! with `openssl` in a temp dir) and the ACL users of `deploy/redis/acl.yaml`, rendered by
//! `deploy/redis/render_acl.py` with fresh random passwords. The plain port is off; the default
//! user is disabled. Stopped and its directory removed on drop.

use super::free_port;
use crate::RedisConfig;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The users `deploy/redis/acl.yaml` defines (tests log in as each).
pub const USERS: [&str; 4] = ["aggregator", "inference", "ingestor", "redis-exporter"];

pub struct SecureRedis {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run ({e}); run `make bootstrap`"))?;
    if !out.status.success() {
        return Err(format!(
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// CA key + self-signed CA certificate, server key + certificate for 127.0.0.1 / localhost.
fn make_certs(dir: &Path) -> Result<(), String> {
    let p = |f: &str| dir.join(f);
    run(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            ])
            .arg("/CN=pipeline test CA")
            .arg("-keyout")
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem")),
        "openssl CA",
    )?;
    run(
        Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"])
            .arg("-keyout")
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr")),
        "openssl server key",
    )?;
    std::fs::write(
        p("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    run(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .arg("-in")
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-extfile")
            .arg(p("san.ext"))
            .arg("-out")
            .arg(p("server.pem")),
        "openssl sign",
    )
}

fn python() -> PathBuf {
    let venv = super::servers::workspace_root().join(".local/venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

impl SecureRedis {
    pub fn start() -> Result<Self, String> {
        let port = free_port().map_err(|e| e.to_string())?;
        let dir = std::env::temp_dir().join(format!("redis-tls-{}-{port}", std::process::id()));
        let pw = dir.join("pw");
        std::fs::create_dir_all(&pw).map_err(|e| e.to_string())?;
        make_certs(&dir)?;
        for user in USERS {
            let secret: String = (0..32)
                .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
                .collect();
            std::fs::write(pw.join(user), secret).map_err(|e| e.to_string())?;
        }
        let root = super::servers::workspace_root();
        run(
            Command::new(python())
                .arg(root.join("deploy/redis/render_acl.py"))
                .arg("aclfile")
                .arg(dir.join("users.acl"))
                .arg("--password-dir")
                .arg(&pw),
            "deploy/redis/render_acl.py",
        )?;
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args(["--save", "", "--appendonly", "no", "--tls-auth-clients", "no"])
            .arg("--tls-cert-file")
            .arg(dir.join("server.pem"))
            .arg("--tls-key-file")
            .arg(dir.join("server.key"))
            .arg("--tls-ca-cert-file")
            .arg(dir.join("ca.pem"))
            .arg("--aclfile")
            .arg(dir.join("users.acl"))
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server ({e}); run `make bootstrap`"))?;
        let start = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server (TLS) exited early: {status}"));
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                return Err(format!("redis-server (TLS) did not listen on {port} within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(SecureRedis { child, port, dir })
    }

    /// `rediss://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn password_file(&self, user: &str) -> PathBuf {
        self.dir.join("pw").join(user)
    }

    /// The connection settings of `user`: TLS with the test CA, its ACL user and password file.
    pub fn config(&self, user: &str) -> RedisConfig {
        RedisConfig {
            url: self.url(),
            username: Some(user.to_string()),
            password_file: Some(self.password_file(user)),
            ca_file: Some(self.ca_file()),
        }
    }
}

impl Drop for SecureRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
