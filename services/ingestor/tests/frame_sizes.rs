//! The size caps are sized from the real recordings: every message of the hftbacktest Binance
//! captures (spot and USDⓈ-M, JSON) is converted to the SBE frame Binance would send
//! (`binance_sbe::json::json_to_sbe`, exact), and the defaults must leave a wide margin over the
//! largest one. Prints the measured sizes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use binance_sbe::{JsonContext, JsonKind, json_to_sbe};
use std::io::BufRead;
use std::path::PathBuf;

#[test]
fn default_caps_leave_a_wide_margin_over_the_largest_real_frames() {
    let base =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/market/hftbacktest/examples");
    let files = [
        "spot/btcusdt_20240808.gz",
        "spot/btcusdt_20240809.gz",
        "usdm/btcusdt_20240808.gz",
    ];
    if !files.iter().all(|f| base.join(f).is_file()) {
        eprintln!("SKIP: recordings not found under {}", base.display());
        return;
    }
    let ctx = JsonContext {
        fallback_event_time_us: Some(1),
        ..JsonContext::default()
    };
    let (mut max_stream, mut max_json, mut max_snapshot, mut frames, mut skipped) =
        (0usize, 0usize, 0usize, 0u64, 0u64);
    let mut out = Vec::new();
    for f in files {
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(base.join(f)).unwrap());
        for line in std::io::BufReader::new(gz).lines() {
            let line = line.unwrap();
            let Some((_, json)) = line.split_once(' ') else {
                continue;
            };
            out.clear();
            match json_to_sbe(json, &ctx, &mut out) {
                Ok(JsonKind::RestDepth) => max_snapshot = max_snapshot.max(out.len()),
                Ok(_) => {
                    frames += 1;
                    max_stream = max_stream.max(out.len());
                    max_json = max_json.max(json.len());
                }
                Err(_) => skipped += 1,
            }
        }
    }
    let cfg = ingestor::config::Config::default();
    eprintln!(
        "{frames} stream frames ({skipped} skipped): largest SBE frame {max_stream} B (JSON {max_json} B); \
         1000-level SBE snapshot {max_snapshot} B; caps: message {} B, REST body {} B",
        cfg.exchange.max_message_bytes, cfg.rest.max_body_bytes
    );
    assert!(frames > 100_000, "{frames}");
    assert!(
        cfg.exchange.max_message_bytes >= 32 * max_stream,
        "message cap without margin"
    );
    // rest.depth_limit may be 5000: five times the 1000-level snapshot, with 16x margin on top.
    assert!(
        cfg.rest.max_body_bytes >= 16 * 5 * max_snapshot,
        "REST body cap without margin"
    );
}
