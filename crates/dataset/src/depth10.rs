//! Top-of-book snapshot series: gzip (or plain) JSON lines
//! `{"ts": <epoch s>, "bids": [[price, qty] × N], "asks": [[price, qty] × N]}`, best level first, as in the
//! rlmm/Kaggle BTCUSDT perpetual 10-level file. No trades and no update ids: each line is a full view of the
//! top levels, handed to the feature engine as a best bid/ask (mid, microprice, spread, returns, OFI between
//! consecutive views) and a book view (imbalances). Trade features stay cold.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use market::{InstrumentScale, Level, TopOfBook};
use serde::Deserialize;

use crate::error::DatasetError;

/// One snapshot: exchange time (µs) and the top levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookView {
    /// Snapshot time (µs since the epoch).
    pub time_us: u64,
    /// Levels, best first.
    pub top: TopOfBook,
}

#[derive(Deserialize)]
struct Line {
    ts: f64,
    bids: Vec<[f64; 2]>,
    asks: Vec<[f64; 2]>,
}

/// Reads a snapshot series.
pub struct Depth10Reader {
    lines: Box<dyn BufRead>,
    path: PathBuf,
    scale: InstrumentScale,
    line_no: usize,
    last_us: u64,
    buf: String,
}

impl std::fmt::Debug for Depth10Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Depth10Reader")
            .field("path", &self.path)
            .field("line_no", &self.line_no)
            .finish_non_exhaustive()
    }
}

/// `value × 10^decimals` when that is a whole number (within float noise of the JSON decimal).
fn exact(value: f64, decimals: u8) -> Option<i64> {
    let scaled = value * 10f64.powi(i32::from(decimals));
    let rounded = scaled.round();
    ((scaled - rounded).abs() <= 1e-9 * scaled.abs().max(1000.0)
        && rounded.is_finite()
        && rounded.abs() < 9e15)
        .then_some(rounded as i64)
}

impl Depth10Reader {
    /// Opens `path` (gzipped when the name ends in `.gz`).
    pub fn open(path: &Path, scale: InstrumentScale) -> Result<Self, DatasetError> {
        let file = File::open(path).map_err(|source| DatasetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let lines: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(BufReader::new(flate2::read::GzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        Ok(Self::from_reader(lines, path.to_path_buf(), scale))
    }

    /// Reads from any buffered reader (`path` only names it in errors).
    pub fn from_reader(lines: Box<dyn BufRead>, path: PathBuf, scale: InstrumentScale) -> Self {
        Self {
            lines,
            path,
            scale,
            line_no: 0,
            last_us: 0,
            buf: String::new(),
        }
    }

    fn bad(&self, reason: impl Into<String>) -> DatasetError {
        DatasetError::Snapshot {
            path: self.path.clone(),
            line: self.line_no,
            reason: reason.into(),
        }
    }

    fn parse(&mut self) -> Result<BookView, DatasetError> {
        let line: Line = serde_json::from_str(self.buf.trim()).map_err(|e| self.bad(e.to_string()))?;
        if !(line.ts.is_finite() && line.ts > 0.0) {
            return Err(self.bad(format!("bad ts {}", line.ts)));
        }
        let time_us = (line.ts * 1e6).round() as u64;
        if time_us <= self.last_us {
            return Err(self.bad(format!("ts {} is not after the previous line", line.ts)));
        }
        let (pd, qd) = (self.scale.price_decimals, self.scale.qty_decimals);
        let side = |raw: &[[f64; 2]], bids: bool| -> Result<Vec<Level>, DatasetError> {
            let mut out: Vec<Level> = Vec::with_capacity(raw.len());
            for [p, q] in raw {
                let price = exact(*p, pd).filter(|p| *p > 0);
                let qty = exact(*q, qd).filter(|q| *q > 0);
                let (Some(price), Some(qty)) = (price, qty) else {
                    return Err(self.bad(format!(
                        "level [{p}, {q}] is not a positive whole number of ticks/lots"
                    )));
                };
                if out
                    .last()
                    .is_some_and(|l| if bids { price >= l.price } else { price <= l.price })
                {
                    return Err(self.bad("levels are not ordered best first"));
                }
                out.push(Level::new(price, qty));
            }
            Ok(out)
        };
        let top = TopOfBook {
            bids: side(&line.bids, true)?,
            asks: side(&line.asks, false)?,
        };
        match (top.best_bid(), top.best_ask()) {
            (Some(b), Some(a)) if b.price < a.price => {}
            (Some(_), Some(_)) => return Err(self.bad("crossed book")),
            _ => return Err(self.bad("a side is empty")),
        }
        self.last_us = time_us;
        Ok(BookView { time_us, top })
    }
}

impl Iterator for Depth10Reader {
    type Item = Result<BookView, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.lines.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    return Some(Err(DatasetError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
            self.line_no += 1;
            if !self.buf.trim().is_empty() {
                return Some(self.parse());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Result<BookView, DatasetError>> {
        let cursor = std::io::Cursor::new(text.as_bytes().to_vec());
        Depth10Reader::from_reader(Box::new(cursor), "<mem>".into(), InstrumentScale::BTCUSDT_SPOT).collect()
    }

    #[test]
    fn a_line_becomes_a_view_in_exact_ticks_and_lots() {
        let rows = read(
            r#"{"ts": 1673302660.926, "bids": [[17181.6, 23.371], [17181.5, 0.746]], "asks": [[17181.7, 7.474], [17181.8, 3.442]]}"#,
        );
        let view = rows[0].as_ref().unwrap();
        assert_eq!(view.time_us, 1_673_302_660_926_000);
        assert_eq!(view.top.best_bid(), Some(Level::new(1_718_160, 2_337_100_000)));
        assert_eq!(view.top.asks[1], Level::new(1_718_180, 344_200_000));
    }

    #[test]
    fn crossed_unordered_or_out_of_order_lines_are_errors_with_their_line_number() {
        let ok = r#"{"ts": 10.0, "bids": [[100.0, 1.0]], "asks": [[100.1, 1.0]]}"#;
        let crossed = r#"{"ts": 11.0, "bids": [[100.2, 1.0]], "asks": [[100.1, 1.0]]}"#;
        let unordered = r#"{"ts": 11.0, "bids": [[100.0, 1.0], [100.05, 1.0]], "asks": [[100.1, 1.0]]}"#;
        let back = r#"{"ts": 9.0, "bids": [[100.0, 1.0]], "asks": [[100.1, 1.0]]}"#;
        for (bad, want) in [
            (crossed, "crossed"),
            (unordered, "ordered"),
            (back, "not after"),
            ("{", "EOF"),
        ] {
            let rows = read(&format!("{ok}\n{bad}\n"));
            assert!(rows[0].is_ok());
            let err = rows[1].as_ref().unwrap_err().to_string();
            assert!(err.contains(":2:") && err.contains(want), "{err}");
        }
    }
}
