//! `dataset-builder`: writes a labelled CSV training table from a spot or USD-M recording, a top-of-book
//! snapshot series, the pipeline's own archive, a Tardis trades CSV or the seeded synthetic market. Exit code 64 for bad options, 1 for data errors.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use dataset::{BuildReport, DatasetError, FLAT_THRESHOLD_BPS, HORIZON_US, Source, SyntheticConfig, build};
use features::{FEATURE_NAMES, FEATURE_VERSION};

/// Build a labelled training table (features from crates/features, 10 s future return and direction).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Recorded `<local_recv_ns> <json>` file (gzipped if it ends in .gz); repeat for several files,
    /// which are replayed in the order given.
    #[arg(long, value_name = "PATH")]
    recording: Vec<PathBuf>,
    /// Recorded Binance USD-M futures stream (`depth@0ms` diffs chained on `pu`); repeat for several files.
    #[arg(long, value_name = "PATH", conflicts_with = "recording")]
    usdm_recording: Vec<PathBuf>,
    /// Top-of-book snapshot JSON lines `{"ts","bids","asks"}` (no trades: trade features stay cold).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["recording", "usdm_recording"])]
    book_snapshots: Option<PathBuf>,
    /// Tardis.dev trades CSV (trades only: book features stay cold, labels use the last trade price).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["recording", "usdm_recording", "book_snapshots"])]
    tardis_trades: Option<PathBuf>,
    /// The pipeline's own history: a Firehose S3 archive (downloaded) or the local archive `make run` writes
    /// (`ARCHIVE_DIR`); a file or a directory read recursively in path order (docs/model.md).
    #[arg(long, value_name = "DIR|FILE", conflicts_with_all = ["recording", "usdm_recording", "book_snapshots", "tardis_trades"])]
    archive: Option<PathBuf>,
    /// Use the seeded synthetic market instead of a file.
    #[arg(long, conflicts_with_all = ["recording", "usdm_recording", "book_snapshots", "tardis_trades", "archive"])]
    synthetic: bool,
    /// Seed of the synthetic market.
    #[arg(long, default_value_t = 1, requires = "synthetic")]
    seed: u64,
    /// Hours of synthetic exchange time.
    #[arg(long, default_value_t = 1.0, requires = "synthetic")]
    hours: f64,
    /// Grid step in milliseconds (must divide 10 000): 2000 for evaluation, e.g. 250 for training.
    #[arg(long, default_value_t = 2000)]
    every_ms: u64,
    /// Print the feature contract (version, names, horizon, flat threshold) as JSON and exit.
    #[arg(long, exclusive = true)]
    feature_spec: bool,
    /// Output CSV (stdout when absent).
    #[arg(long, short, value_name = "PATH")]
    out: Option<PathBuf>,
}

impl Args {
    fn source(&self) -> Result<Source, DatasetError> {
        if self.synthetic {
            if !(self.hours > 0.0 && self.hours.is_finite()) {
                return Err(DatasetError::Options("--hours must be > 0".into()));
            }
            return Ok(Source::Synthetic(SyntheticConfig::new(self.seed, self.hours)));
        }
        if let Some(p) = &self.archive {
            return Ok(Source::Archive(p.clone()));
        }
        if let Some(p) = &self.tardis_trades {
            return Ok(Source::TardisTrades(p.clone()));
        }
        if let Some(p) = &self.book_snapshots {
            return Ok(Source::BookSnapshots(p.clone()));
        }
        if !self.usdm_recording.is_empty() {
            return Ok(Source::UsdmRecording(self.usdm_recording.clone()));
        }
        if self.recording.is_empty() {
            return Err(DatasetError::Options(
                "give --recording PATH…, --usdm-recording PATH…, --book-snapshots PATH, --tardis-trades PATH, --archive DIR|FILE or --synthetic".into(),
            ));
        }
        Ok(Source::Recording(self.recording.clone()))
    }
}

fn run(args: &Args) -> Result<BuildReport, DatasetError> {
    let source = args.source()?;
    let io_err = |path: &PathBuf| {
        let path = path.clone();
        move |source| DatasetError::Io { path, source }
    };
    match &args.out {
        Some(path) => {
            let file = File::create(path).map_err(io_err(path))?;
            let mut w = BufWriter::new(file);
            let report = build(&source, args.every_ms, &mut w)?;
            w.flush().map_err(io_err(path))?;
            Ok(report)
        }
        None => {
            let mut w = BufWriter::new(std::io::stdout().lock());
            let report = build(&source, args.every_ms, &mut w)?;
            w.flush().map_err(io_err(&PathBuf::from("<stdout>")))?;
            Ok(report)
        }
    }
}

/// `{"feature_version":1,"feature_names":[…],"horizon_s":10,"flat_threshold_bps":0.5}`.
fn feature_spec() -> String {
    let names: Vec<String> = FEATURE_NAMES.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "{{\"feature_version\":{FEATURE_VERSION},\"feature_names\":[{}],\"horizon_s\":{},\"flat_threshold_bps\":{FLAT_THRESHOLD_BPS}}}",
        names.join(","),
        HORIZON_US / 1_000_000
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.feature_spec {
        println!("{}", feature_spec());
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(r) => {
            eprintln!(
                "dataset-builder: {} events, {} samples ({} synced), {} re-anchors, {} rows \
                 (up {}, down {}, flat {} at |r| < {FLAT_THRESHOLD_BPS} bp), rows {}..{} µs",
                r.replay.events,
                r.replay.samples,
                r.replay.synced_samples,
                r.replay.reanchors,
                r.rows,
                r.up,
                r.down,
                r.flat,
                r.first_us,
                r.last_us
            );
            if let Some(a) = r.replay.archive {
                eprintln!(
                    "dataset-builder: archive: {} records, {} undecodable, {} duplicates skipped, {} events skipped, {} book gaps",
                    a.records, a.bad_records, a.duplicates, a.skipped_events, a.gaps
                );
            }
            ExitCode::SUCCESS
        }
        Err(e @ DatasetError::Options(_)) => {
            eprintln!("dataset-builder: {e}");
            ExitCode::from(64)
        }
        Err(e) => {
            eprintln!("dataset-builder: {e}");
            ExitCode::FAILURE
        }
    }
}
