//! Errors of the dataset builder.

use std::path::PathBuf;

use market::recording::RecordingError;

/// Why a dataset could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A recording line could not be parsed.
    #[error("{path}: {source}")]
    Recording {
        /// The recording.
        path: PathBuf,
        /// The cause (carries the line number).
        source: RecordingError,
    },
    /// A Tardis trades CSV line could not be parsed.
    #[error("{path}:{line}: {reason}")]
    Tardis {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A book-snapshot JSON line could not be used.
    #[error("{path}:{line}: {reason}")]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// An archive file could not be split into records.
    #[error("{path}: byte {offset}: {reason}")]
    Archive {
        /// The archive file.
        path: PathBuf,
        /// Offset of the record (in the decompressed stream).
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// The options do not describe a valid dataset.
    #[error("invalid options: {0}")]
    Options(String),
}
