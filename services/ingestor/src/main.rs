//! ingestor: Binance SBE streams + REST snapshots → sequence checks → Kinesis.

use clap::Parser;
use ingestor::app;
use ingestor::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;
use svc_kit::cli::{CommonArgs, CommonCommand};

#[derive(Parser)]
#[command(
    version,
    about = "Binance SBE market data → sequence checks → AWS Kinesis (metrics on :9090)"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Record every raw frame to hourly gzip files in DIR (overrides recorder.dir).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<CommonCommand>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let record = cli.record.clone();
    svc_kit::runner::main(
        "ingestor",
        "INGESTOR",
        &cli.common,
        cli.command.as_ref(),
        move |mut cfg: Config| {
            if record.is_some() {
                cfg.recorder.dir = record;
            }
            app::run(cfg)
        },
    )
}
