//! Archive files → record payloads, streaming (gzip detected by its magic bytes, not the file name:
//! Firehose object names carry no extension unless configured).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{HEADER_LEN, fixed_part, record_len};
use crate::error::DatasetError;

/// The archive files under `path` (itself when it is a file), in path order; `.tmp` files and hidden
/// entries are skipped. An empty result is an error: nothing to read is a mistake, not an empty dataset.
pub fn archive_files(path: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| DatasetError::Io { path: p, source }
    };
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.ends_with(".tmp") {
                continue;
            }
            let p = entry.path();
            if entry.file_type().map_err(io_err(&p))?.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(DatasetError::Options(format!(
            "archive {} holds no archive file",
            path.display()
        )));
    }
    Ok(files)
}

/// Record payloads of one archive file.
pub struct ArchiveFileReader {
    path: PathBuf,
    inner: Box<dyn Read>,
    offset: u64,
    failed: bool,
}

impl ArchiveFileReader {
    /// Opens `path` (gzip or plain).
    pub fn open(path: &Path) -> Result<Self, DatasetError> {
        let file = File::open(path).map_err(|source| DatasetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut buf = BufReader::with_capacity(1 << 16, file);
        let gz = buf
            .fill_buf()
            .map_err(|source| DatasetError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn Read> = if gz {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(buf)))
        } else {
            Box::new(buf)
        };
        Ok(Self {
            path: path.to_path_buf(),
            inner,
            offset: 0,
            failed: false,
        })
    }

    fn error(&self, reason: String) -> DatasetError {
        DatasetError::Archive {
            path: self.path.clone(),
            offset: self.offset,
            reason,
        }
    }

    /// Fills `buf` completely; `Ok(false)` at a clean end of file before the first byte.
    fn fill(&mut self, buf: &mut [u8], at_boundary: bool) -> Result<bool, DatasetError> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) if got == 0 && at_boundary => return Ok(false),
                Ok(0) => return Err(self.error("truncated record (file ends inside it)".into())),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(format!("read failed: {e}"))),
            }
        }
        Ok(true)
    }

    fn next_record(&mut self) -> Result<Option<Vec<u8>>, DatasetError> {
        let mut header = [0u8; HEADER_LEN];
        if !self.fill(&mut header, true)? {
            return Ok(None);
        }
        let fixed = fixed_part(&header).map_err(|e| self.error(e.to_string()))?;
        let mut record = header.to_vec();
        record.resize(HEADER_LEN + fixed, 0);
        self.fill(&mut record[HEADER_LEN..], false)?;
        let n = record.len();
        let events_len = u32::from_le_bytes([record[n - 4], record[n - 3], record[n - 2], record[n - 1]]);
        let total = record_len(fixed, events_len).map_err(|e| self.error(e.to_string()))?;
        record.resize(total, 0);
        self.fill(&mut record[n..], false)?;
        self.offset += total as u64;
        Ok(Some(record))
    }
}

impl Iterator for ArchiveFileReader {
    type Item = Result<Vec<u8>, DatasetError>;

    /// The next record; after an error the file yields nothing more (its framing is lost).
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_record() {
            Ok(r) => r.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Every record of the archive at `path` (file or directory), file after file. Files are opened one at a
/// time (an archive may hold thousands); an unreadable one yields its error in turn.
pub fn records(path: &Path) -> Result<impl Iterator<Item = Result<Vec<u8>, DatasetError>>, DatasetError> {
    let files = archive_files(path)?;
    Ok(files
        .into_iter()
        .flat_map(|f| -> Box<dyn Iterator<Item = Result<Vec<u8>, DatasetError>>> {
            match ArchiveFileReader::open(&f) {
                Ok(r) => Box::new(r),
                Err(e) => Box::new(std::iter::once(Err(e))),
            }
        }))
}
