//! `--record DIR`: every raw WebSocket binary frame with its receive time, one line each,
//!
//! ```text
//! <local_recv_ns> <base64 of the SBE frame>\n        (standard alphabet, padded)
//! ```
//!
//! in gzip files rotated hourly (UTC): `DIR/sbe-YYYYMMDD-HH.gz`. A file reopened in the same hour
//! gets another gzip member appended (read it with a multi-member decoder). Lines are written by a
//! dedicated thread; the handle's channel is bounded, so a slow disk slows the reader rather than
//! losing frames silently.

use crate::retention::Retention;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use metrics_schema::IngestorMetrics;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

#[derive(Clone)]
pub struct RecorderHandle {
    tx: mpsc::Sender<(i64, Bytes)>,
}

impl RecorderHandle {
    pub async fn record(&self, recv_ns: i64, frame: Bytes) {
        let _ = self.tx.send((recv_ns, frame)).await;
    }
}

/// Starts the writer thread (no retention); it finishes the current file when every handle is
/// dropped.
pub fn start(dir: PathBuf) -> std::io::Result<(RecorderHandle, std::thread::JoinHandle<()>)> {
    let off = Retention {
        max_age_hours: 0,
        max_bytes: 0,
    };
    let (handle, writer) = open(dir, off, None)?;
    let join = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(writer)?;
    Ok((handle, join))
}

/// Creates `dir` and returns the handle plus the blocking writer loop (for the caller to run on
/// a thread of its choice); the loop finishes the current file when every handle is dropped.
/// `retention` is enforced when a file is opened and every [`RETENTION_CHECK_FRAMES`] frames;
/// deletions are counted in `ingestor_recorder_files_deleted_total`.
pub fn open(
    dir: PathBuf,
    retention: Retention,
    metrics: Option<IngestorMetrics>,
) -> std::io::Result<(RecorderHandle, impl FnOnce() + Send + 'static)> {
    std::fs::create_dir_all(&dir)?;
    let (tx, mut rx) = mpsc::channel::<(i64, Bytes)>(65_536);
    let writer = move || {
        let mut w = Writer {
            dir,
            hour: None,
            file: None,
            retention,
            metrics,
            since_check: 0,
        };
        while let Some((ns, frame)) = rx.blocking_recv() {
            if let Err(e) = w.write(ns, &frame) {
                tracing::warn!(error = %e, "recorder write failed");
            }
        }
        w.finish();
    };
    Ok((RecorderHandle { tx }, writer))
}

/// Frames between two retention checks within one hour (the byte budget also holds while a
/// single busy hour grows).
pub const RETENTION_CHECK_FRAMES: u32 = 10_000;

struct Writer {
    dir: PathBuf,
    hour: Option<i64>,
    file: Option<GzEncoder<File>>,
    retention: Retention,
    metrics: Option<IngestorMetrics>,
    since_check: u32,
}

impl Writer {
    fn write(&mut self, recv_ns: i64, frame: &[u8]) -> std::io::Result<()> {
        let hour = recv_ns.div_euclid(3_600_000_000_000);
        if self.hour != Some(hour) || self.file.is_none() {
            self.finish();
            let path = file_for(&self.dir, hour);
            let f = OpenOptions::new().create(true).append(true).open(&path)?;
            self.file = Some(GzEncoder::new(f, Compression::fast()));
            self.hour = Some(hour);
            self.since_check = RETENTION_CHECK_FRAMES;
        }
        self.since_check += 1;
        if self.since_check >= RETENTION_CHECK_FRAMES {
            self.since_check = 0;
            self.retain(hour);
        }
        if let Some(f) = self.file.as_mut() {
            let mut line = String::with_capacity(24 + frame.len() * 4 / 3 + 4);
            line.push_str(&recv_ns.to_string());
            line.push(' ');
            base64_encode(frame, &mut line);
            line.push('\n');
            f.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn retain(&self, hour: i64) {
        let current = file_for(Path::new(""), hour);
        let current = current.to_str();
        match crate::retention::enforce(&self.dir, hour, current, self.retention) {
            Ok((deleted, _)) => {
                if let Some(m) = &self.metrics {
                    m.recorder_files_deleted.inc_by(deleted);
                }
            }
            Err(e) => tracing::warn!(error = %e, "recorder retention failed"),
        }
    }

    fn finish(&mut self) {
        if let Some(f) = self.file.take()
            && let Err(e) = f.finish().and_then(|mut f| f.flush())
        {
            tracing::warn!(error = %e, "recorder could not finish a file");
        }
    }
}

/// `DIR/sbe-YYYYMMDD-HH.gz` for an hour number since the Unix epoch (UTC).
pub fn file_for(dir: &Path, hour: i64) -> PathBuf {
    let (y, m, d) = civil_from_days(hour.div_euclid(24));
    dir.join(format!("sbe-{y:04}{m:02}{d:02}-{:02}.gz", hour.rem_euclid(24)))
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Standard base64 (RFC 4648 §4, padded) of `data`, appended to `out`.
pub fn base64_encode(data: &[u8], out: &mut String) {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode_string(data, out);
}

/// Decodes one recording line into (receive time, frame); `None` if malformed.
pub fn parse_line(line: &str) -> Option<(i64, Vec<u8>)> {
    use base64::Engine as _;
    let (ns, b64) = line.trim_end_matches(['\n', '\r']).split_once(' ')?;
    let ns = ns.parse().ok()?;
    let out = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((ns, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_test_vectors_and_round_trips() {
        for (raw, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut s = String::new();
            base64_encode(raw.as_bytes(), &mut s);
            assert_eq!(s, want);
            assert_eq!(
                parse_line(&format!("7 {s}\n")),
                Some((7, raw.as_bytes().to_vec()))
            );
        }
        let bytes: Vec<u8> = (0..=255).collect();
        let mut s = String::new();
        base64_encode(&bytes, &mut s);
        assert_eq!(parse_line(&format!("1 {s}")).unwrap().1, bytes);
    }

    #[test]
    fn files_are_named_by_utc_hour() {
        // 2024-08-08T23:59:59Z and one second later.
        let ns = 1_723_161_599_000_000_000i64;
        let h = ns / 3_600_000_000_000;
        assert_eq!(
            file_for(Path::new("/r"), h),
            PathBuf::from("/r/sbe-20240808-23.gz")
        );
        assert_eq!(
            file_for(Path::new("/r"), h + 1),
            PathBuf::from("/r/sbe-20240809-00.gz")
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn recorded_frames_are_read_back_in_order_with_their_times() {
        let dir = std::env::temp_dir().join(format!("ingestor-rec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (h, join) = start(dir.clone()).unwrap();
        let t0 = 1_723_161_599_000_000_000i64;
        rt.block_on(async {
            h.record(t0, Bytes::from_static(b"\x01\x02\x03")).await;
            h.record(t0 + 2_000_000_000, Bytes::from_static(b"next hour"))
                .await;
        });
        drop(h);
        join.join().unwrap();
        let read = |name: &str| {
            let f = File::open(dir.join(name)).unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(f), &mut s).unwrap();
            s.lines().map(|l| parse_line(l).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(read("sbe-20240808-23.gz"), vec![(t0, vec![1, 2, 3])]);
        assert_eq!(
            read("sbe-20240809-00.gz"),
            vec![(t0 + 2_000_000_000, b"next hour".to_vec())]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Without retention the recording directory grows without bound (one file per hour).
    #[test]
    fn retention_bounds_the_recording_by_age_and_bytes_and_counts_deletions() {
        let hour_ns = 3_600_000_000_000i64;
        let t0 = 1_723_161_600_000_000_000i64; // 2024-08-09T00:00Z
        let run = |dir: &Path, r: Retention| {
            let _ = std::fs::remove_dir_all(dir);
            let m = IngestorMetrics::register(&mut prometheus_client::registry::Registry::default());
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (h, writer) = open(dir.to_path_buf(), r, Some(m.clone())).unwrap();
            let join = std::thread::spawn(writer);
            rt.block_on(async {
                let mut x = 0x9E37_79B9_7F4A_7C15u64;
                for i in 0..6 {
                    // 48 KiB of pseudo-random bytes per hour (xorshift): gzip cannot shrink
                    // the base64 text much below 64 KiB.
                    let frame: Vec<u8> = (0..49_152)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            x.to_le_bytes()[0]
                        })
                        .collect();
                    h.record(t0 + i * hour_ns, Bytes::from(frame)).await;
                }
            });
            drop(h);
            join.join().unwrap();
            (names(dir), m.recorder_files_deleted.get())
        };
        let base = std::env::temp_dir().join(format!("ingestor-retention-{}", std::process::id()));
        let (kept, deleted) = run(
            &base.join("age"),
            Retention {
                max_age_hours: 2,
                max_bytes: 0,
            },
        );
        assert_eq!(kept, ["sbe-20240809-04.gz", "sbe-20240809-05.gz"]);
        assert_eq!(deleted, 4);
        let (kept, deleted) = run(
            &base.join("bytes"),
            Retention {
                max_age_hours: 0,
                max_bytes: 120_000,
            },
        );
        let size = |n: &String| std::fs::metadata(base.join("bytes").join(n)).unwrap().len();
        let closed: u64 = kept.iter().filter(|n| !n.ends_with("-05.gz")).map(size).sum();
        assert!(kept.contains(&"sbe-20240809-05.gz".to_string()), "{kept:?}");
        assert!(deleted >= 2, "{deleted} deleted, kept {kept:?}");
        // Checked when each hour's file opens: the closed files then fit the budget; only the
        // hour being written can take the directory past it.
        assert!(closed <= 120_000, "{closed} bytes in closed files {kept:?}");
        let _ = std::fs::remove_dir_all(&base);
    }
}
