//! `metrics-schema list --format json|markdown` prints the inventory;
//! `metrics-schema lint [--root DIR] [FILES...]` checks PromQL in rules and dashboards.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "The pipeline's metric schema: inventory and PromQL lint")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print every metric (exposed name, type, labels, buckets, service).
    List {
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Fail on any metric in prometheus/rules or grafana/ that the schema does not define.
    Lint {
        /// Repository root (used when no files are given).
        #[arg(long, default_value = ".")]
        root: PathBuf,
        files: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Markdown,
}

fn main() -> ExitCode {
    match Cli::parse().cmd {
        Cmd::List { format: Format::Json } => {
            match serde_json::to_string_pretty(&metrics_schema::inventory()) {
                Ok(s) => {
                    println!("{s}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::List {
            format: Format::Markdown,
        } => {
            print!("{}", metrics_schema::markdown::render());
            ExitCode::SUCCESS
        }
        Cmd::Lint { root, files } => {
            let files = if files.is_empty() {
                metrics_schema::lint::default_files(&root)
            } else {
                files
            };
            let (checked, findings) = metrics_schema::lint::lint_files(&files);
            for f in &findings {
                eprintln!("{f}");
            }
            println!(
                "metric lint: {} files, {checked} expressions, {} problems",
                files.len(),
                findings.len()
            );
            if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
