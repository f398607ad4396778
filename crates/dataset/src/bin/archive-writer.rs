//! `archive-writer`: reads every shard of the Kinesis stream and writes each record, byte for byte, into
//! rotating gzip files in the Firehose archive format (`dataset::archive`), so a local run (`make run` with
//! `ARCHIVE_DIR`) leaves a history `dataset-builder --archive` can train on. At-least-once: a restart reads
//! the stream again from the start (`--from trim-horizon`); the dataset builder drops the duplicates as the
//! aggregator does. SIGINT/SIGTERM finish the open file. Exit 64 for bad options, 1 for I/O errors.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Parser, ValueEnum};
use dataset::archive::writer::{ArchiveWriter, Rotation};
use kinesis_io::consumer::{self, BoxFuture, ConsumerConfig, ShardGate, StartPosition};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum From {
    /// Everything the stream still holds (its retention).
    TrimHorizon,
    /// Only records written after the start.
    Latest,
}

/// Archive the pipeline's Kinesis records to local gzip files (Firehose format).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Directory of the archive (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Kinesis stream.
    #[arg(long, default_value = "market-events")]
    stream: String,
    /// Kinesis endpoint (kinesalite); unset = AWS.
    #[arg(long, value_name = "URL", env = "KINESIS_ENDPOINT_URL")]
    endpoint: Option<String>,
    /// AWS region.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    region: String,
    /// Where to start reading each shard.
    #[arg(long, value_enum, default_value = "trim-horizon")]
    from: From,
    /// Close a file after this many seconds.
    #[arg(long, default_value_t = 60)]
    rotate_secs: u64,
    /// Close a file after this many uncompressed MiB.
    #[arg(long, default_value_t = 64)]
    rotate_mib: u64,
}

struct AllShards(StartPosition);

impl ShardGate for AllShards {
    fn claim(&self, _shard_id: &str) -> BoxFuture<Option<StartPosition>> {
        let p = self.0.clone();
        Box::pin(async move { Some(p) })
    }
}

async fn run(args: Args) -> Result<(), String> {
    let rotation = Rotation {
        max_bytes: args.rotate_mib.saturating_mul(1024 * 1024),
        max_age: Duration::from_secs(args.rotate_secs),
    };
    let mut writer =
        ArchiveWriter::new(&args.dir, rotation).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let client = kinesis_io::client::build(&svc_kit::KinesisConfig {
        stream_name: args.stream.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint.clone(),
    })
    .await;
    let start = match args.from {
        From::TrimHorizon => StartPosition::TrimHorizon,
        From::Latest => StartPosition::Latest,
    };
    let cfg = ConsumerConfig {
        stream_name: args.stream.clone(),
        shard_refresh: Duration::from_secs(2),
        ..ConsumerConfig::default()
    };
    let (tx, mut rx) = mpsc::channel(16);
    let stop = CancellationToken::new();
    let task = tokio::spawn(consumer::run(
        client,
        cfg,
        Arc::new(AllShards(start)),
        tx,
        stop.clone(),
    ));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let (mut written, mut refused) = (0u64, 0u64);
    eprintln!(
        "archive-writer: archiving stream {} into {}",
        args.stream,
        args.dir.display()
    );
    let io = |e: std::io::Error| format!("{}: {e}", args.dir.display());
    loop {
        tokio::select! {
            _ = shutdown_signal() => break,
            b = rx.recv() => match b {
                Some(batch) => for r in &batch.records {
                    let now = SystemTime::now();
                    if let Some(done) = writer.rotate_if_due(now).map_err(io)? {
                        eprintln!("archive-writer: wrote {} ({written} records so far, {refused} refused)", done.display());
                    }
                    if writer.write(&r.data, now).map_err(io)? {
                        written += 1;
                    } else {
                        refused += 1;
                        eprintln!("archive-writer: record {} of {} is not one pipeline record; not archived", r.sequence_number, batch.shard_id);
                    }
                },
                None => break,
            },
            _ = tick.tick() => {
                if let Some(done) = writer.rotate_if_due(SystemTime::now()).map_err(io)? {
                    eprintln!("archive-writer: wrote {} ({written} records so far, {refused} refused)", done.display());
                }
            }
        }
    }
    stop.cancel();
    let _ = task.await;
    if let Some(done) = writer.close().map_err(io)? {
        eprintln!("archive-writer: wrote {}", done.display());
    }
    eprintln!("archive-writer: stopped after {written} records ({refused} refused)");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.rotate_secs == 0 || args.rotate_mib == 0 {
        eprintln!("archive-writer: --rotate-secs and --rotate-mib must be > 0");
        return ExitCode::from(64);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("archive-writer: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("archive-writer: {e}");
            ExitCode::FAILURE
        }
    }
}
