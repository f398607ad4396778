//! USD-M futures recordings. Their `depth@0ms` diffs carry `pu` (the previous diff's final id) and chain on
//! `pu == previous u`; `U` is *not* `previous u + 1` (ids are shared with other streams). The book sync in
//! `crates/market` implements the spot rule `U == previous u + 1`, so this reader rewrites each diff's
//! first id to `pu + 1`: the spot check `U' == previous u + 1` is then exactly the futures check
//! `pu == previous u`, a real break still shows as a gap, and the snapshot bridge
//! (`U' <= lastUpdateId + 1 <= u`) accepts the first diff the futures recipe accepts (or the next one, when
//! `u == lastUpdateId`, which the snapshot already contains).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use market::InstrumentScale;
use market::recording::{RecordedEvent, RecordingError, parse_line};
use serde::Deserialize;

use crate::error::DatasetError;

#[derive(Deserialize)]
struct PuEnvelope {
    data: PuData,
}

#[derive(Deserialize)]
struct PuData {
    pu: u64,
}

/// Events of one USD-M recording (gzipped when the name ends in `.gz`), in file order.
pub struct UsdmReader {
    lines: Box<dyn BufRead>,
    path: PathBuf,
    scale: InstrumentScale,
    line_no: usize,
    buf: String,
}

impl std::fmt::Debug for UsdmReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsdmReader")
            .field("path", &self.path)
            .field("line_no", &self.line_no)
            .finish_non_exhaustive()
    }
}

impl UsdmReader {
    /// Opens `path`.
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
        Ok(Self {
            lines,
            path: path.to_path_buf(),
            scale,
            line_no: 0,
            buf: String::new(),
        })
    }

    fn err(&self, source: RecordingError) -> DatasetError {
        DatasetError::Recording {
            path: self.path.clone(),
            source,
        }
    }

    /// Parses the current line; `Ok(None)` for stream kinds the replay does not use.
    fn parse(&self) -> Result<Option<RecordedEvent>, DatasetError> {
        let Some(line) = parse_line(&self.buf, self.line_no, &self.scale).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let mut event = line.event;
        if let RecordedEvent::Depth(d) = &mut event {
            let json = self.buf.trim().split_once(' ').map_or("", |(_, j)| j);
            let pu = serde_json::from_str::<PuEnvelope>(json)
                .map_err(|source| {
                    self.err(RecordingError::Json {
                        line: self.line_no,
                        source,
                    })
                })?
                .data
                .pu;
            d.first_update_id = pu.saturating_add(1);
        }
        Ok(Some(event))
    }
}

impl Iterator for UsdmReader {
    type Item = Result<RecordedEvent, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.lines.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(self.err(RecordingError::Io(e)))),
            }
            self.line_no += 1;
            if self.buf.trim().is_empty() {
                continue;
            }
            match self.parse() {
                Ok(None) => continue,
                Ok(Some(event)) => return Some(Ok(event)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn reader(text: &str) -> UsdmReader {
        UsdmReader {
            lines: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            path: PathBuf::from("<mem>"),
            scale: InstrumentScale::BTCUSDT_SPOT,
            line_no: 0,
            buf: String::new(),
        }
    }

    const DIFF: &str = r#"1 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":500,"u":520,"pu":480,"b":[["61800.20","0.014"]],"a":[]}}"#;

    #[test]
    fn a_diff_starts_right_after_its_pu() {
        let events: Vec<_> = reader(DIFF).collect::<Result<_, _>>().unwrap();
        let [RecordedEvent::Depth(d)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!((d.first_update_id, d.last_update_id), (481, 520));
    }

    #[test]
    fn a_diff_without_pu_is_a_clear_error_with_the_line_number() {
        let mut text = Vec::new();
        writeln!(text, "{}", DIFF.replace(r#""pu":480,"#, "")).unwrap();
        let err = reader(std::str::from_utf8(&text).unwrap())
            .next()
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
