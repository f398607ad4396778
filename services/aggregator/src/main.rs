//! aggregator: Kinesis → order book + features → Redis, with atomic re-anchoring.

use clap::Parser;
use std::process::ExitCode;
use svc_kit::cli::{CommonArgs, CommonCommand};

use aggregator::app;

#[derive(Parser)]
#[command(
    version,
    about = "Kinesis → order book + features → Redis with atomic re-anchoring (metrics on :9091)"
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
        "aggregator",
        "AGGREGATOR",
        &cli.common,
        cli.command.as_ref(),
        app::run,
    )
}
