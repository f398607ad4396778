//! Offline dataset builder: replays a recording, a Tardis trades file or a seeded synthetic market
//! through `market` (book sync) and `features` (the same engine the aggregator runs, so training and
//! serving cannot drift) and writes a labelled CSV table, one row per grid time.
//!
//! * [`source`] — where events come from ([`Source`]); [`usdm`] and [`depth10`] read USD-M recordings
//!   (diffs chained on `pu`) and top-of-book snapshot series.
//! * [`archive`] — the pipeline's own history (Firehose S3 archive or the local archive of `make run`).
//! * [`synthetic`] — the seeded synthetic market.
//! * [`replay`] — book sync + feature engine + grid sampling.
//! * [`labels`] — 10 s future return and direction (flat below 0.5 bp).
//! * [`table`] — the CSV layout.

pub mod archive;
pub mod depth10;
pub mod error;
pub mod labels;
pub mod replay;
pub mod rng;
pub mod source;
pub mod synthetic;
pub mod table;
pub mod tardis;
pub mod usdm;

use std::io::Write;

use market::InstrumentScale;

pub use error::DatasetError;
pub use labels::{Direction, FLAT_THRESHOLD_BPS, HORIZON_US, LabeledRow, label};
pub use replay::{ReplayStats, Sample, Sampler};
pub use source::{PriceReference, Source};
pub use synthetic::{SyntheticConfig, SyntheticMarket};

/// What a build produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Replay counters.
    pub replay: ReplayStats,
    /// Rows written.
    pub rows: u64,
    /// Rows labelled up / down / flat.
    pub up: u64,
    /// See `up`.
    pub down: u64,
    /// See `up`.
    pub flat: u64,
    /// Sample time of the first and last row (µs), 0 when there is none.
    pub first_us: u64,
    /// See `first_us`.
    pub last_us: u64,
}

/// The symbol read from an archive (the pipeline serves BTCUSDT).
pub const ARCHIVE_SYMBOL: &str = "BTCUSDT";

/// Replays `source` and returns its grid samples (step `every_ms`).
pub fn replay(
    source: &Source,
    every_ms: u64,
    scale: InstrumentScale,
) -> Result<(Vec<Sample>, ReplayStats), DatasetError> {
    let every_us = every_ms.saturating_mul(1000);
    if every_us == 0 || !HORIZON_US.is_multiple_of(every_us) {
        return Err(DatasetError::Options(format!(
            "--every-ms {every_ms} must be > 0 and divide the {} ms horizon",
            HORIZON_US / 1000
        )));
    }
    let mut sampler = Sampler::new(every_us, source.has_book(), source.price_reference(), scale);
    if let Source::Archive(path) = source {
        let mut feed = archive::feed::ArchiveFeed::new(ARCHIVE_SYMBOL, scale);
        for record in archive::reader::records(path)? {
            feed.push_record(&mut sampler, &record?);
        }
        let (samples, mut stats) = sampler.finish();
        stats.archive = Some(feed.stats());
        return Ok((samples, stats));
    }
    if let Source::BookSnapshots(path) = source {
        for view in depth10::Depth10Reader::open(path, scale)? {
            sampler.push_view(view?);
        }
        return Ok(sampler.finish());
    }
    for event in source.events(scale)? {
        sampler.push(event?);
    }
    Ok(sampler.finish())
}

/// Builds the labelled table of `source` sampled every `every_ms` and writes it as CSV to `out`.
pub fn build<W: Write>(source: &Source, every_ms: u64, out: &mut W) -> Result<BuildReport, DatasetError> {
    let scale = InstrumentScale::BTCUSDT_SPOT;
    let (samples, stats) = replay(source, every_ms, scale)?;
    let rows = label(&samples, every_ms * 1000);
    table::write_csv(out, &rows).map_err(|source| DatasetError::Io {
        path: "<output>".into(),
        source,
    })?;
    let count = |d: Direction| rows.iter().filter(|r| r.direction == d).count() as u64;
    Ok(BuildReport {
        replay: stats,
        rows: rows.len() as u64,
        up: count(Direction::Up),
        down: count(Direction::Down),
        flat: count(Direction::Flat),
        first_us: rows.first().map_or(0, |r| r.sample.time_us),
        last_us: rows.last().map_or(0, |r| r.sample.time_us),
    })
}
