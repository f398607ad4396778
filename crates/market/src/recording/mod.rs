//! Parser for recorded Binance JSON streams (`<local_recv_ns> <json>` per line, optionally gzipped), as
//! written by the hftbacktest collector: combined-stream envelopes `{"stream":..,"data":..}` for `@depth*`,
//! `@trade` and `@bookTicker`, plus REST depth snapshots `{"lastUpdateId":..,"bids":..,"asks":..}`.
//!
//! Behind the `recording` cargo feature so the core stays dependency-free. Used by tests and by the offline
//! dataset builder. Prices and quantities are converted to exact ticks / lots; times to µs.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use crate::events::{BestBidAsk, DepthDiff, DepthSnapshot, Level, Trade};
use crate::scale::{DecimalError, InstrumentScale};

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedLine {
    /// Collector receive time (ns, collector clock).
    pub local_ns: u64,
    /// The event.
    pub event: RecordedEvent,
}

/// A recorded market event in exact units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedEvent {
    /// `@depth` diff.
    Depth(DepthDiff),
    /// `@trade`.
    Trade(Trade),
    /// `@bookTicker`; `event_time_us` is 0 when the stream carries no event time (spot).
    BookTicker(BestBidAsk),
    /// REST depth snapshot.
    Snapshot(DepthSnapshot),
}

impl RecordedLine {
    /// Exchange event time (µs), when the message carries one.
    pub fn exchange_time_us(&self) -> Option<u64> {
        match &self.event {
            RecordedEvent::Depth(d) => Some(d.event_time_us),
            RecordedEvent::Trade(t) => Some(t.event_time_us),
            RecordedEvent::BookTicker(b) => (b.event_time_us != 0).then_some(b.event_time_us),
            RecordedEvent::Snapshot(_) => None,
        }
    }
}

/// Why a line could not be parsed.
#[derive(Debug)]
pub enum RecordingError {
    /// Reading the file failed.
    Io(io::Error),
    /// The line is not `<ns> <json>`.
    Format {
        /// 1-based line number (0 when parsing a single line).
        line: usize,
    },
    /// The JSON did not match the expected message.
    Json {
        /// 1-based line number.
        line: usize,
        /// serde_json error.
        source: serde_json::Error,
    },
    /// A price or quantity was not an exact number of ticks / lots.
    Decimal {
        /// 1-based line number.
        line: usize,
        /// Conversion error.
        source: DecimalError,
    },
}

impl fmt::Display for RecordingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "reading recording: {e}"),
            Self::Format { line } => write!(f, "line {line}: expected `<local_ns> <json>`"),
            Self::Json { line, source } => write!(f, "line {line}: {source}"),
            Self::Decimal { line, source } => write!(f, "line {line}: {source}"),
        }
    }
}

impl std::error::Error for RecordingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Json { source, .. } => Some(source),
            Self::Decimal { source, .. } => Some(source),
            Self::Format { .. } => None,
        }
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct DepthMsg<'a> {
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(rename = "U")]
    first: u64,
    #[serde(rename = "u")]
    last: u64,
    #[serde(rename = "b", borrow)]
    bids: Vec<[&'a str; 2]>,
    #[serde(rename = "a", borrow)]
    asks: Vec<[&'a str; 2]>,
}

#[derive(Deserialize)]
struct TradeMsg<'a> {
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(rename = "t")]
    trade_id: u64,
    #[serde(rename = "p")]
    price: &'a str,
    #[serde(rename = "q")]
    qty: &'a str,
    #[serde(rename = "m")]
    buyer_maker: bool,
}

#[derive(Deserialize)]
struct TickerMsg<'a> {
    #[serde(rename = "E", default)]
    event_time: u64,
    #[serde(rename = "u")]
    update_id: u64,
    #[serde(rename = "b")]
    bid: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    #[serde(rename = "a")]
    ask: &'a str,
    #[serde(rename = "A")]
    ask_qty: &'a str,
}

#[derive(Deserialize)]
struct SnapshotMsg<'a> {
    #[serde(rename = "lastUpdateId")]
    last_update_id: u64,
    #[serde(borrow)]
    bids: Vec<[&'a str; 2]>,
    #[serde(borrow)]
    asks: Vec<[&'a str; 2]>,
}

/// Binance JSON times are ms by default and µs with `timeUnit=MICROSECOND`; normalise to µs.
const fn to_us(t: u64) -> u64 {
    if t < 100_000_000_000_000 {
        t.saturating_mul(1000)
    } else {
        t
    }
}

/// The stream kind of a combined-stream line (`"btcusdt@depth@100ms"` → `"depth"`), found without a full
/// parse so the payload can be decoded straight into its typed struct.
fn stream_kind(json: &str) -> Option<&str> {
    let start = json.find("\"stream\"")? + "\"stream\"".len();
    let rest = json
        .get(start..)?
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let name = rest.get(..rest.find('"')?)?;
    let kind = name.split_once('@').map_or(name, |(_, k)| k);
    Some(kind.split_once('@').map_or(kind, |(k, _)| k))
}

/// Parses one `<local_ns> <json>` line. Returns `Ok(None)` for stream kinds this module does not handle.
pub fn parse_line(
    line: &str,
    line_no: usize,
    scale: &InstrumentScale,
) -> Result<Option<RecordedLine>, RecordingError> {
    let (ts, json) = line
        .trim()
        .split_once(' ')
        .ok_or(RecordingError::Format { line: line_no })?;
    let local_ns = ts.parse().map_err(|_| RecordingError::Format { line: line_no })?;
    let json_err = |source| RecordingError::Json {
        line: line_no,
        source,
    };
    let dec_err = |source| RecordingError::Decimal {
        line: line_no,
        source,
    };
    let levels = |raw: &[[&str; 2]]| -> Result<Vec<Level>, RecordingError> {
        raw.iter()
            .map(|[p, q]| {
                Ok(Level::new(
                    scale.parse_price(p).map_err(dec_err)?,
                    scale.parse_qty(q).map_err(dec_err)?,
                ))
            })
            .collect()
    };
    let event = match stream_kind(json) {
        Some("depth") => {
            let m = serde_json::from_str::<Envelope<DepthMsg<'_>>>(json)
                .map_err(json_err)?
                .data;
            RecordedEvent::Depth(DepthDiff {
                first_update_id: m.first,
                last_update_id: m.last,
                event_time_us: to_us(m.event_time),
                bids: levels(&m.bids)?,
                asks: levels(&m.asks)?,
            })
        }
        Some("trade") => {
            let m = serde_json::from_str::<Envelope<TradeMsg<'_>>>(json)
                .map_err(json_err)?
                .data;
            RecordedEvent::Trade(Trade {
                event_time_us: to_us(m.event_time),
                trade_id: m.trade_id,
                price: scale.parse_price(m.price).map_err(dec_err)?,
                qty: scale.parse_qty(m.qty).map_err(dec_err)?,
                is_buyer_maker: m.buyer_maker,
            })
        }
        Some("bookTicker") => {
            let m = serde_json::from_str::<Envelope<TickerMsg<'_>>>(json)
                .map_err(json_err)?
                .data;
            RecordedEvent::BookTicker(BestBidAsk {
                event_time_us: to_us(m.event_time),
                update_id: m.update_id,
                bid: Level::new(
                    scale.parse_price(m.bid).map_err(dec_err)?,
                    scale.parse_qty(m.bid_qty).map_err(dec_err)?,
                ),
                ask: Level::new(
                    scale.parse_price(m.ask).map_err(dec_err)?,
                    scale.parse_qty(m.ask_qty).map_err(dec_err)?,
                ),
            })
        }
        Some(_) => return Ok(None),
        None => {
            let m = serde_json::from_str::<SnapshotMsg<'_>>(json).map_err(json_err)?;
            RecordedEvent::Snapshot(DepthSnapshot {
                last_update_id: m.last_update_id,
                bids: levels(&m.bids)?,
                asks: levels(&m.asks)?,
            })
        }
    };
    Ok(Some(RecordedLine { local_ns, event }))
}

/// Iterator over the events of a recording.
#[derive(Debug)]
pub struct RecordingReader<R> {
    reader: R,
    scale: InstrumentScale,
    line_no: usize,
    buf: String,
}

impl<R: BufRead> RecordingReader<R> {
    /// Reads `<ns> <json>` lines from `reader`.
    pub fn new(reader: R, scale: InstrumentScale) -> Self {
        Self {
            reader,
            scale,
            line_no: 0,
            buf: String::new(),
        }
    }
}

/// Opens a gzipped recording.
pub fn open_gz(
    path: &Path,
    scale: InstrumentScale,
) -> io::Result<RecordingReader<BufReader<flate2::read::GzDecoder<File>>>> {
    let file = File::open(path)?;
    Ok(RecordingReader::new(
        BufReader::new(flate2::read::GzDecoder::new(file)),
        scale,
    ))
}

impl<R: BufRead> Iterator for RecordingReader<R> {
    type Item = Result<RecordedLine, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(RecordingError::Io(e))),
            }
            self.line_no += 1;
            if self.buf.trim().is_empty() {
                continue;
            }
            match parse_line(&self.buf, self.line_no, &self.scale) {
                Ok(None) => continue,
                Ok(Some(line)) => return Some(Ok(line)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests;
