//! The `watch` binary's edges: a closed stdout, a capture that cannot be read, bad flags.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // `watch --once | head -1` closes the pipe early: the write fails with EPIPE, which must end
    // the program quietly (exit 0), not panic in println!.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_watch"))
        .arg("--replay")
        .arg(fixture("healthy"))
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}, stderr: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn replay_prints_the_screen_and_a_missing_capture_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_watch"))
        .arg("--replay")
        .arg(fixture("fallback"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("fallback: incomplete_features"));
    let out = Command::new(env!("CARGO_BIN_EXE_watch"))
        .args(["--replay", "/nonexistent/capture"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read the capture") && stderr.contains("taken_at_us"),
        "{stderr}"
    );
}

#[test]
fn an_interval_out_of_range_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_watch"))
        .args(["--interval", "0", "--once"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a number of seconds in [0.2, 60]"));
}
