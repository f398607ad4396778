//! ingestor: Binance SBE streams + REST snapshots → sequence checks → Kinesis.

use clap::Parser;
use std::process::ExitCode;
use svc_kit::cli::{CommonArgs, CommonCommand};

mod app;
mod config;

#[derive(Parser)]
#[command(
    version,
    about = "Binance SBE market data → sequence checks → AWS Kinesis (metrics on :9090)"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<CommonCommand>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    svc_kit::runner::main(
        "ingestor",
        "INGESTOR",
        &cli.common,
        cli.command.as_ref(),
        app::run,
    )
}
