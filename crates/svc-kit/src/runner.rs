//! The synchronous `main` every binary shares: parse config (exit 64 on error), set up logging,
//! build the runtime, run the service, map the outcome to an exit code.

use crate::cli::{CommonArgs, CommonCommand, healthcheck, load_config};
use crate::config::Validate;
use crate::telemetry::{self, LogConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::process::ExitCode;

/// A service configuration with the sections the runner needs.
pub trait ServiceConfig: DeserializeOwned + Serialize + Validate {
    fn log(&self) -> &LogConfig;
}

/// Errors a service returns from `run` (start-up failures such as a port in use).
pub type RunError = Box<dyn std::error::Error + Send + Sync>;

pub fn main<C, F, Fut>(
    name: &str,
    env_prefix: &str,
    args: &CommonArgs,
    cmd: Option<&CommonCommand>,
    run: F,
) -> ExitCode
where
    C: ServiceConfig,
    F: FnOnce(C) -> Fut,
    Fut: Future<Output = Result<(), RunError>>,
{
    if let Some(CommonCommand::Healthcheck { url }) = cmd {
        return healthcheck(url);
    }
    let cfg: C = match load_config(args, env_prefix) {
        Ok(c) => c,
        Err(code) => return code,
    };
    telemetry::init(cfg.log());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(name)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cfg)) {
        Ok(()) => {
            tracing::info!(service = name, "stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(service = name, error = %e, "stopped with an error");
            ExitCode::FAILURE
        }
    }
}
