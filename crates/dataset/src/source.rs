//! Where events come from: recorded Binance streams (gzipped or plain `<local_recv_ns> <json>` lines, in
//! file order), a Tardis trades CSV, or the seeded synthetic market. Every source yields
//! [`RecordedEvent`]s, so all of them go through the same replay.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use market::InstrumentScale;
use market::recording::{RecordedEvent, RecordingReader, open_gz};

use crate::error::DatasetError;
use crate::synthetic::{SyntheticConfig, SyntheticMarket};
use crate::tardis::TardisTrades;
use crate::usdm::UsdmReader;

/// Boxed stream of events.
pub type Events = Box<dyn Iterator<Item = Result<RecordedEvent, DatasetError>>>;

/// Which price the labels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceReference {
    /// Mid of the best bid/ask (the `mid_price` feature).
    Mid,
    /// Last trade price (trades-only sources, which have no quotes).
    LastTrade,
}

/// An event source.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Recorded Binance combined streams, replayed in the given order.
    Recording(Vec<PathBuf>),
    /// Recorded Binance USD-M futures streams: `depth@0ms` diffs chain on `pu` ([`crate::usdm`]).
    UsdmRecording(Vec<PathBuf>),
    /// Top-of-book snapshot JSON lines (no trades: trade features stay cold), see [`crate::depth10`].
    BookSnapshots(PathBuf),
    /// A Tardis.dev `trades` CSV (trades only: no book, no quotes).
    TardisTrades(PathBuf),
    /// The pipeline's own Kinesis records: a Firehose S3 archive or a local archive (file or directory),
    /// see [`crate::archive`].
    Archive(PathBuf),
    /// The seeded synthetic market.
    Synthetic(SyntheticConfig),
}

impl Source {
    /// `false` for trades-only sources, whose rows cannot require a synced book.
    pub fn has_book(&self) -> bool {
        !matches!(self, Self::TardisTrades(_))
    }

    /// The price the labels are computed from.
    pub fn price_reference(&self) -> PriceReference {
        if self.has_book() {
            PriceReference::Mid
        } else {
            PriceReference::LastTrade
        }
    }

    /// Opens the source. Every file is opened up front so a missing one fails before any work.
    pub fn events(&self, scale: InstrumentScale) -> Result<Events, DatasetError> {
        match self {
            Self::Recording(paths) => {
                if paths.is_empty() {
                    return Err(DatasetError::Options("no recording file given".into()));
                }
                let mut all: Events = Box::new(std::iter::empty());
                for path in paths {
                    all = Box::new(all.chain(recording(path, scale)?));
                }
                Ok(all)
            }
            Self::UsdmRecording(paths) => {
                if paths.is_empty() {
                    return Err(DatasetError::Options("no recording file given".into()));
                }
                let mut all: Events = Box::new(std::iter::empty());
                for path in paths {
                    all = Box::new(all.chain(UsdmReader::open(path, scale)?));
                }
                Ok(all)
            }
            Self::BookSnapshots(_) => Err(DatasetError::Options(
                "book snapshots are views, not events: replay them with dataset::replay".into(),
            )),
            Self::Archive(_) => Err(DatasetError::Options(
                "archives hold pipeline records, not recorded events: replay them with dataset::replay"
                    .into(),
            )),
            Self::TardisTrades(path) => {
                let file = File::open(path).map_err(|source| DatasetError::Io {
                    path: path.clone(),
                    source,
                })?;
                Ok(Box::new(TardisTrades::new(
                    BufReader::new(file),
                    path.clone(),
                    scale,
                )))
            }
            Self::Synthetic(cfg) => Ok(Box::new(SyntheticMarket::new(*cfg).map(Ok))),
        }
    }
}

fn recording(path: &Path, scale: InstrumentScale) -> Result<Events, DatasetError> {
    let io_err = |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let owned = path.to_path_buf();
    let to_event = move |line: Result<market::recording::RecordedLine, _>| {
        line.map(|l| l.event).map_err(|source| DatasetError::Recording {
            path: owned.clone(),
            source,
        })
    };
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(open_gz(path, scale).map_err(io_err)?.map(to_event)))
    } else {
        let file = File::open(path).map_err(io_err)?;
        Ok(Box::new(
            RecordingReader::new(BufReader::new(file), scale).map(to_event),
        ))
    }
}
