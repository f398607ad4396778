#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::time::{Duration, SystemTime};

use pipeline_events::{Event, EventMeta, Fill, RecordBuilder, RecordReader, TradeEvent};

use super::reader::{archive_files, records};
use super::split;
use super::writer::{ArchiveWriter, Rotation, is_one_record};
use crate::DatasetError;

fn record(batch: u64, trades: usize) -> Vec<u8> {
    let mut b = RecordBuilder::new(7, batch, 0, pipeline_events::MAX_RECORD_BYTES);
    for i in 0..trades {
        let fills = [Fill {
            trade_id: i as i64,
            price: 6_000_000 + i as i64,
            qty: 10,
            is_buyer_maker: i % 2 == 0,
        }];
        b.push(&Event::Trade(TradeEvent {
            meta: EventMeta {
                ingest_time_ns: 1,
                connection_epoch: 1,
            },
            symbol: "BTCUSDT",
            event_time_us: 1_000_000 + i as i64,
            trade_time_us: 1_000_000 + i as i64,
            price_exponent: -2,
            qty_exponent: -3,
            fills: &fills,
        }))
        .unwrap();
    }
    b.into_bytes()
}

/// A record as a newer producer would write it: 8 more bytes at the end of the envelope's root block.
fn newer_version(r: &[u8]) -> Vec<u8> {
    let block = u16::from_le_bytes([r[0], r[1]]);
    let mut out = r.to_vec();
    out[..2].copy_from_slice(&(block + 8).to_le_bytes());
    out[6..8].copy_from_slice(&2u16.to_le_bytes());
    let at = 8 + usize::from(block);
    out.splice(at..at, [0xAB; 8]);
    out
}

#[test]
fn concatenated_records_split_at_their_own_lengths_including_a_newer_longer_envelope() {
    let a = record(1, 3);
    let b = newer_version(&record(2, 1));
    let c = record(3, 0);
    assert!(
        RecordReader::new(&b).is_ok(),
        "the newer record is still readable"
    );
    let all = [a.clone(), b.clone(), c.clone()].concat();
    let parts = split(&all).unwrap();
    assert_eq!(parts, vec![&a[..], &b[..], &c[..]]);
    assert!(is_one_record(&a) && is_one_record(&b) && !is_one_record(&all));
}

#[test]
fn a_truncated_or_foreign_record_is_an_error_at_its_offset() {
    let a = record(1, 2);
    let mut bad = [a.clone(), a[..a.len() - 3].to_vec()].concat();
    assert_eq!(split(&bad).unwrap_err().0, a.len());
    bad.truncate(a.len());
    bad.extend_from_slice(b"{\"json\":1}\n");
    let (at, why) = split(&bad).unwrap_err();
    assert_eq!(at, a.len());
    assert!(why.contains("not a pipeline-events record"), "{why}");
}

#[test]
fn reader_reads_plain_and_multi_member_gzip_files_in_path_order_and_skips_tmp_files() {
    let dir = tempdir("reader");
    let recs: Vec<Vec<u8>> = (1..=5).map(|i| record(i, i as usize)).collect();
    // Two gzip members in one file (Firehose may deliver concatenated members), then a plain file.
    let mut gz = Vec::new();
    for part in [&recs[..2], &recs[2..3]] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&part.concat()).unwrap();
        gz.extend(e.finish().unwrap());
    }
    std::fs::create_dir_all(dir.join("2026/01/01/00")).unwrap();
    std::fs::write(dir.join("2026/01/01/00/a-no-extension"), gz).unwrap();
    std::fs::create_dir_all(dir.join("2026/01/01/01")).unwrap();
    std::fs::write(dir.join("2026/01/01/01/b.bin"), recs[3..].concat()).unwrap();
    std::fs::write(dir.join("2026/01/01/01/c.gz.tmp"), b"half written").unwrap();
    let got: Vec<Vec<u8>> = records(&dir).unwrap().map(Result::unwrap).collect();
    assert_eq!(got, recs);
    assert_eq!(archive_files(&dir).unwrap().len(), 2);
}

#[test]
fn reader_names_the_file_and_offset_of_a_truncated_record() {
    let dir = tempdir("truncated");
    let a = record(1, 1);
    let b = record(2, 4);
    let f = dir.join("x");
    std::fs::write(&f, [a.clone(), b[..b.len() - 1].to_vec()].concat()).unwrap();
    let got: Vec<_> = records(&f).unwrap().collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap(), &a);
    match &got[1] {
        Err(DatasetError::Archive { path, offset, .. }) => {
            assert_eq!(path, &f);
            assert_eq!(*offset, a.len() as u64);
        }
        other => panic!("{other:?}"),
    }
    let empty = tempdir("empty");
    assert!(matches!(records(&empty).err(), Some(DatasetError::Options(_))));
}

#[test]
fn writer_rotates_by_size_and_age_refuses_non_records_and_reads_back_in_order() {
    let dir = tempdir("writer");
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let rot = Rotation {
        max_bytes: 600,
        max_age: Duration::from_secs(60),
    };
    let mut w = ArchiveWriter::new(&dir, rot).unwrap();
    let recs: Vec<Vec<u8>> = (1..=12).map(|i| record(i, 2)).collect();
    let mut finished = 0;
    for (i, r) in recs.iter().enumerate() {
        let now = t0 + Duration::from_millis(i as u64);
        finished += usize::from(w.rotate_if_due(now).unwrap().is_some());
        assert!(w.write(r, now).unwrap());
    }
    assert_eq!(
        finished,
        archive_files(&dir).unwrap().len(),
        "each size rotation finished one file"
    );
    assert!(
        !w.write(&recs[0][..10], t0).unwrap(),
        "a partial record is refused"
    );
    // A file still open is invisible to readers (.tmp); an age rotation finishes it.
    let before = archive_files(&dir).unwrap().len();
    assert!(w.rotate_if_due(t0 + Duration::from_secs(61)).unwrap().is_some());
    let files = archive_files(&dir).unwrap();
    assert_eq!(files.len(), before + 1);
    assert!(
        files.len() >= 3,
        "600-byte rotation over {} bytes",
        recs.concat().len()
    );
    let got: Vec<Vec<u8>> = records(&dir).unwrap().map(Result::unwrap).collect();
    assert_eq!(got, recs);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dataset-archive-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
