//! Replay of recorded market data, plain or gzip (multi-member), in either of two line formats,
//! detected per line:
//! - `<local_recv_ns> <json>`: recorded Binance JSON streams (the hftbacktest collector format),
//!   converted to SBE;
//! - `<local_recv_ns> <base64 SBE frame>`: the ingestor's recorder (`--record DIR`), served as
//!   recorded ([`sbe`]). A directory stands for its recorder files `sbe-YYYYMMDD-HH.gz`, in name
//!   (= time) order.
//!
//! JSON lines:
//! Each line is parsed once by [`market::recording::parse_line`] (exact ticks / lots for the served
//! book) and converted to its SBE frame by [`binance_sbe::json_to_sbe`] (exact decimals). Quirks of
//! the recordings:
//! - spot `bookTicker` carries no event time: it gets the line's local receive time moved onto the
//!   exchange clock by the latest observed `E − local` offset (≈ +1.27 s on the spot files);
//! - the REST snapshot line comes after the diff that bridges it: the served book buffers diffs until
//!   the snapshot ([`crate::feed::MarketState`]);
//! - pacing follows the local receive time, which orders all streams.

mod sbe;
mod shift;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use binance_sbe::{JsonContext, JsonKind, json_to_sbe};
use market::InstrumentScale;
use market::recording::{RecordedEvent, parse_line};

pub use shift::{Shift, Span};

use crate::feed::{EventKind, Source, SourceError, SourceEvent};
use crate::streams::StreamKind;

type Reader = Box<dyn BufRead + Send>;

/// Opens a recording, gunzipping when the file starts with the gzip magic bytes.
pub fn open_recording(path: &Path) -> std::io::Result<Reader> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    let file = File::open(path)?;
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    })
}

/// Replays files back to back; restartable for `--loop`.
pub struct ReplaySource {
    files: Vec<PathBuf>,
    next_file: usize,
    reader: Option<(Reader, String)>,
    line_no: usize,
    line: String,
    scale: InstrumentScale,
    /// Latest `E − local` (µs) seen on a message carrying an exchange time.
    clock_offset_us: Option<i64>,
    pass: u64,
    span: Span,
    shift: Shift,
}

impl std::fmt::Debug for ReplaySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplaySource")
            .field("files", &self.files)
            .field("pass", &self.pass)
            .finish_non_exhaustive()
    }
}

impl ReplaySource {
    /// A replay of `files` (checked to exist); a directory stands for its recorder files
    /// (`sbe-*.gz`, sorted by name, i.e. by hour).
    pub fn new(paths: Vec<PathBuf>) -> Result<Self, SourceError> {
        let mut files = Vec::with_capacity(paths.len());
        for f in paths {
            if f.is_dir() {
                files.extend(recorder_files(&f)?);
            } else if f.is_file() {
                files.push(f);
            } else {
                return Err(SourceError::Io {
                    path: f.display().to_string(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                });
            }
        }
        Ok(Self {
            files,
            next_file: 0,
            reader: None,
            line_no: 0,
            line: String::new(),
            scale: InstrumentScale::BTCUSDT_SPOT,
            clock_offset_us: None,
            pass: 0,
            span: Span::default(),
            shift: Shift::default(),
        })
    }

    /// Reads the next non-empty line into `self.line`; `false` at the end of the last file.
    fn read_line(&mut self) -> Result<bool, SourceError> {
        loop {
            if self.reader.is_none() {
                let Some(path) = self.files.get(self.next_file) else {
                    return Ok(false);
                };
                let name = path.display().to_string();
                let reader = open_recording(path).map_err(|source| SourceError::Io {
                    path: name.clone(),
                    source,
                })?;
                self.next_file += 1;
                self.line_no = 0;
                self.reader = Some((reader, name));
            }
            let Some((reader, name)) = self.reader.as_mut() else {
                continue;
            };
            self.line.clear();
            match reader.read_line(&mut self.line) {
                Ok(0) => self.reader = None,
                Ok(_) => {
                    self.line_no += 1;
                    if !self.line.trim().is_empty() {
                        return Ok(true);
                    }
                }
                Err(source) => {
                    let path = name.clone();
                    self.reader = None;
                    return Err(SourceError::Io { path, source });
                }
            }
        }
    }

    fn line_error(&self, message: String) -> SourceError {
        SourceError::Line {
            path: self.reader.as_ref().map(|r| r.1.clone()).unwrap_or_default(),
            line: self.line_no,
            message,
        }
    }

    /// Converts the current line; `Ok(None)` for lines of streams the simulator does not serve.
    fn convert(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        match self.line.trim().split_once(' ') {
            Some((_, payload)) if !sbe::is_json(payload) => self.convert_sbe(),
            _ => self.convert_json(),
        }
    }

    /// A recorder line: `<local_recv_ns> <base64 SBE frame>`, served as recorded.
    fn convert_sbe(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        let (ns, payload) = self.line.trim().split_once(' ').unwrap_or_default();
        let local_ns: u64 = ns
            .parse()
            .map_err(|_| self.line_error(format!("bad receive time `{ns}`")))?;
        let mut frame = Vec::with_capacity(payload.len() * 3 / 4);
        if sbe::base64_decode(payload, &mut frame).is_none() {
            return Err(self.line_error("neither JSON nor base64".into()));
        }
        let decoded = sbe::decode(&frame, &self.scale).map_err(|e| self.line_error(e))?;
        let local_us = local_ns / 1000;
        let first_pass = self.pass == 0;
        if first_pass {
            self.span.time_us(local_us);
        }
        let pacing_us = local_us + self.shift.time_us;
        let (stream, mut diff, event_time_us) = match decoded {
            sbe::Decoded::Snapshot(mut snap) => {
                if first_pass {
                    self.span.update_id(snap.last_update_id);
                }
                self.shift.snapshot(&mut snap);
                let kind = EventKind::Snapshot(snap);
                return Ok(Some(SourceEvent { pacing_us, kind }));
            }
            sbe::Decoded::Frame {
                stream,
                diff,
                event_time_us,
                update_ids,
                trade_ids,
            } => {
                if first_pass {
                    self.span.time_us(event_time_us);
                    update_ids.into_iter().for_each(|u| self.span.update_id(u));
                    trade_ids.into_iter().for_each(|t| self.span.trade_id(t));
                }
                (stream, diff, event_time_us)
            }
        };
        if !self.shift.is_zero() {
            self.shift.frame(&mut frame);
            if let Some(d) = diff.as_mut() {
                self.shift.diff(d);
            }
        }
        Ok(Some(SourceEvent {
            pacing_us,
            kind: EventKind::Frame {
                stream,
                frame,
                diff,
                event_time_us: event_time_us + self.shift.time_us,
            },
        }))
    }

    /// A JSON line (collector format), converted to SBE.
    fn convert_json(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        let parsed =
            parse_line(&self.line, self.line_no, &self.scale).map_err(|e| self.line_error(e.to_string()))?;
        let Some(rec) = parsed else { return Ok(None) };
        let local_us = rec.local_ns / 1000;
        let exchange_us = rec.exchange_time_us();
        if let Some(e) = exchange_us {
            self.clock_offset_us = Some(e as i64 - local_us as i64);
        }
        let first_pass = self.pass == 0;
        if first_pass {
            self.span.time_us(local_us);
            if let Some(e) = exchange_us {
                self.span.time_us(e);
            }
        }
        let pacing_us = local_us + self.shift.time_us;
        let (stream, diff) = match rec.event {
            RecordedEvent::Snapshot(mut snap) => {
                if first_pass {
                    self.span.update_id(snap.last_update_id);
                }
                self.shift.snapshot(&mut snap);
                let kind = EventKind::Snapshot(snap);
                return Ok(Some(SourceEvent { pacing_us, kind }));
            }
            RecordedEvent::Depth(mut d) => {
                if first_pass {
                    self.span.update_id(d.first_update_id);
                    self.span.update_id(d.last_update_id);
                }
                self.shift.diff(&mut d);
                (StreamKind::Depth, Some(d))
            }
            RecordedEvent::Trade(t) => {
                if first_pass {
                    self.span.trade_id(t.trade_id);
                }
                (StreamKind::Trade, None)
            }
            RecordedEvent::BookTicker(b) => {
                if first_pass {
                    self.span.update_id(b.update_id);
                }
                (StreamKind::BestBidAsk, None)
            }
        };
        let fallback = local_us.saturating_add_signed(self.clock_offset_us.unwrap_or(0));
        let ctx = JsonContext {
            fallback_event_time_us: Some(i64::try_from(fallback).unwrap_or(i64::MAX)),
            ..JsonContext::default()
        };
        let json = self.line.trim().split_once(' ').map_or("", |(_, j)| j);
        let mut frame = Vec::with_capacity(128);
        let kind = json_to_sbe(json, &ctx, &mut frame).map_err(|e| self.line_error(e.to_string()))?;
        let expected = match kind {
            JsonKind::Trade => StreamKind::Trade,
            JsonKind::BestBidAsk => StreamKind::BestBidAsk,
            JsonKind::DepthDiff => StreamKind::Depth,
            JsonKind::RestDepth => return Err(self.line_error("REST body in a stream envelope".into())),
        };
        if expected != stream {
            return Err(self.line_error(format!("stream {stream} carried a {expected} event")));
        }
        if !self.shift.is_zero() {
            self.shift.frame(&mut frame);
        }
        let event_time_us = exchange_us.unwrap_or(fallback) + self.shift.time_us;
        Ok(Some(SourceEvent {
            pacing_us,
            kind: EventKind::Frame {
                stream,
                frame,
                diff,
                event_time_us,
            },
        }))
    }
}

/// The recorder's files in `dir` (`sbe-*.gz`), sorted by name.
fn recorder_files(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let io = |source| SourceError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("sbe-") && name.ends_with(".gz") && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no recorder files (sbe-*.gz) in the directory",
        )));
    }
    files.sort();
    Ok(files)
}

impl Source for ReplaySource {
    fn next_event(&mut self) -> Option<Result<SourceEvent, SourceError>> {
        loop {
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            match self.convert() {
                Ok(Some(e)) => return Some(Ok(e)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn restart(&mut self) -> Result<bool, SourceError> {
        self.pass += 1;
        self.shift = self.span.shift(self.pass);
        self.next_file = 0;
        self.reader = None;
        self.clock_offset_us = None;
        Ok(true)
    }
}
