//! Record payloads → rotating gzip archive files in the Firehose format (concatenated records).
//!
//! A file is written as `<name>.gz.tmp` and renamed to `<name>.gz` when it is rotated or closed, so a
//! reader never sees a half-written file (and skips `.tmp` leftovers of a crash). Names are
//! `market-events-<unix ms, 13 digits>-<sequence, 6 digits>.gz`: path order is time order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::{HEADER_LEN, fixed_part, record_len};

/// When the current file is closed and a new one started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Uncompressed bytes per file.
    pub max_bytes: u64,
    /// Age of a file.
    pub max_age: Duration,
}

impl Default for Rotation {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_age: Duration::from_secs(300),
        }
    }
}

struct Open {
    tmp: PathBuf,
    done: PathBuf,
    gz: GzEncoder<BufWriter<File>>,
    bytes: u64,
    opened: SystemTime,
}

/// Writes archive files into one directory.
pub struct ArchiveWriter {
    dir: PathBuf,
    rotation: Rotation,
    current: Option<Open>,
    seq: u64,
}

/// `true` when `payload` is exactly one pipeline-events record (what the reader can frame).
pub fn is_one_record(payload: &[u8]) -> bool {
    let Some(header) = payload
        .get(..HEADER_LEN)
        .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
    else {
        return false;
    };
    let Ok(fixed) = fixed_part(header) else {
        return false;
    };
    let at = HEADER_LEN + fixed - 4;
    let Some(len) = payload.get(at..at + 4) else {
        return false;
    };
    let events_len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
    record_len(fixed, events_len).is_ok_and(|n| n == payload.len())
}

impl ArchiveWriter {
    /// A writer into `dir` (created if missing).
    pub fn new(dir: &Path, rotation: Rotation) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            rotation,
            current: None,
            seq: 0,
        })
    }

    /// Appends one record to the current file (opened at `now` if none is). A payload that is not exactly
    /// one record is refused (`Ok(false)`): written, it would break the framing of everything after it in
    /// the file. Rotation is the caller's: [`Self::rotate_if_due`] before writing, and on a timer.
    pub fn write(&mut self, payload: &[u8], now: SystemTime) -> std::io::Result<bool> {
        if !is_one_record(payload) {
            return Ok(false);
        }
        if self.current.is_none() {
            self.current = Some(self.open(now)?);
        }
        if let Some(f) = self.current.as_mut() {
            f.gz.write_all(payload)?;
            f.bytes += payload.len() as u64;
        }
        Ok(true)
    }

    /// Closes the current file when it is full or old enough (call it on a timer too, so a quiet stream
    /// still gets its files finished).
    pub fn rotate_if_due(&mut self, now: SystemTime) -> std::io::Result<Option<PathBuf>> {
        let due = self.current.as_ref().is_some_and(|f| {
            f.bytes >= self.rotation.max_bytes
                || now.duration_since(f.opened).unwrap_or_default() >= self.rotation.max_age
        });
        if due { self.close() } else { Ok(None) }
    }

    /// Finishes the current file (gzip trailer, fsync, rename); returns its final path.
    pub fn close(&mut self) -> std::io::Result<Option<PathBuf>> {
        let Some(f) = self.current.take() else {
            return Ok(None);
        };
        let mut w = f.gz.finish()?;
        w.flush()?;
        w.get_ref().sync_all()?;
        std::fs::rename(&f.tmp, &f.done)?;
        Ok(Some(f.done))
    }

    fn open(&mut self, now: SystemTime) -> std::io::Result<Open> {
        let ms = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        self.seq += 1;
        let name = format!("market-events-{ms:013}-{:06}.gz", self.seq);
        let done = self.dir.join(&name);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let file = File::create(&tmp)?;
        Ok(Open {
            tmp,
            done,
            gz: GzEncoder::new(BufWriter::new(file), Compression::fast()),
            bytes: 0,
            opened: now,
        })
    }
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
