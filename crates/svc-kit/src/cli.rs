//! Command-line pieces every binary shares: `--config`, `--check-config`, and the `healthcheck`
//! subcommand used by container health checks (no curl in the image).

use crate::config::{self, EXIT_BAD_CONFIG, Validate};
use http_body_util::{BodyExt, Empty};
use hyper::Uri;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// YAML configuration file. Environment variables `<PREFIX>__SECTION__KEY` override it.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Validate the configuration, print the effective values as JSON, and exit.
    #[arg(long)]
    pub check_config: bool,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum CommonCommand {
    /// Probe a running service's /health; exit 0 when healthy or degraded, 1 otherwise.
    Healthcheck {
        #[arg(long, value_name = "URL")]
        url: String,
    },
}

/// Load the configuration; on error print every problem and return exit code 64.
/// With `--check-config`, print the effective configuration and return success.
pub fn load_config<C>(args: &CommonArgs, env_prefix: &str) -> Result<C, ExitCode>
where
    C: DeserializeOwned + Serialize + Validate,
{
    match config::load::<C>(args.config.as_deref(), env_prefix) {
        Ok(c) => {
            if args.check_config {
                match serde_json::to_string_pretty(&c) {
                    Ok(s) => println!("{s}"),
                    Err(e) => eprintln!("cannot print configuration: {e}"),
                }
                return Err(ExitCode::SUCCESS);
            }
            Ok(c)
        }
        Err(e) => {
            eprint!("{e}");
            Err(ExitCode::from(EXIT_BAD_CONFIG))
        }
    }
}

/// Run the health probe against `url` (http only, loopback in containers).
pub fn healthcheck(url: &str) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(async { tokio::time::timeout(Duration::from_secs(3), probe(url)).await }) {
        Ok(Ok(200)) => ExitCode::SUCCESS,
        Ok(Ok(code)) => {
            eprintln!("healthcheck: HTTP {code}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("healthcheck: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("healthcheck: timed out");
            ExitCode::FAILURE
        }
    }
}

async fn probe(url: &str) -> Result<u16, String> {
    http_get(url).await.map(|(status, _)| status)
}

/// A minimal HTTP/1.1 GET returning status and body (health probes and tests).
pub async fn http_get(url: &str) -> Result<(u16, String), String> {
    let uri: Uri = url.parse().map_err(|e| format!("bad url: {e}"))?;
    let host = uri.host().ok_or("url has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/health");
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, host)
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
