//! The dataset-builder binary: feature contract output, bad options → exit 64, synthetic CSV shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn builder() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dataset-builder"))
}

#[test]
fn feature_spec_prints_the_feature_contract_of_crates_features() {
    let out = builder().arg("--feature-spec").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with(&format!(
        "{{\"feature_version\":{},\"feature_names\":[\"mid_price\",",
        features::FEATURE_VERSION
    )));
    for name in features::FEATURE_NAMES {
        assert!(text.contains(&format!("\"{name}\"")), "{name}");
    }
    assert!(text.contains("\"flat_threshold_bps\":0.5"));
}

#[test]
fn a_grid_step_that_does_not_divide_ten_seconds_exits_64() {
    let out = builder()
        .args(["--synthetic", "--hours", "0.01", "--every-ms", "3000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--every-ms 3000"));
}

#[test]
fn no_source_exits_64_and_a_missing_file_exits_1() {
    assert_eq!(builder().output().unwrap().status.code(), Some(64));
    let out = builder()
        .args(["--recording", "/nonexistent/x.gz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_short_synthetic_run_writes_a_header_and_full_width_rows() {
    let out = builder()
        .args([
            "--synthetic",
            "--seed",
            "5",
            "--hours",
            "0.05",
            "--every-ms",
            "2000",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let width = header.split(',').count();
    assert_eq!(width, 1 + features::N_FEATURES + 5);
    let rows: Vec<&str> = lines.collect();
    // 3 minutes every 2 s, minus the 10 s horizon at the end.
    assert!((80..=90).contains(&rows.len()), "{} rows", rows.len());
    assert!(rows.iter().all(|r| r.split(',').count() == width));
    assert!(
        rows.iter()
            .all(|r| r.ends_with(",up") || r.ends_with(",down") || r.ends_with(",flat"))
    );
}

#[test]
fn a_bad_book_snapshot_line_exits_1_naming_the_file_and_line_and_two_sources_are_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("dataset-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("snap.jsonl");
    std::fs::write(
        &path,
        "{\"ts\": 10.0, \"bids\": [[100.0, 1.0]], \"asks\": [[100.1, 1.0]]}\n\
         {\"ts\": 10.25, \"bids\": [[100.2, 1.0]], \"asks\": [[100.1, 1.0]]}\n",
    )
    .unwrap();
    let out = builder()
        .args(["--book-snapshots", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("snap.jsonl:2: crossed book"), "{err}");

    let out = builder()
        .args([
            "--book-snapshots",
            path.to_str().unwrap(),
            "--usdm-recording",
            "x.gz",
        ])
        .output()
        .unwrap();
    // clap's usage error (exit 2) before any file is opened.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    std::fs::remove_dir_all(&dir).unwrap();
}
