//! inference: Redis features → ONNX model → predictions every 2 s.

use clap::Parser;
use std::process::ExitCode;
use svc_kit::cli::{CommonArgs, CommonCommand};

use inference::app;

#[derive(Parser)]
#[command(
    version,
    about = "Redis features → tract-onnx model → predictions every 2 s (API and metrics on :9092)"
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
        "inference",
        "INFERENCE",
        &cli.common,
        cli.command.as_ref(),
        app::run,
    )
}
