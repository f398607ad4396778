//! `watch`'s screen rendered from captures of real stacks (`watch --once --dump DIR` against
//! deploy/local/stack.sh, PROFILE=debug): `healthy` (ML serving for ~2 minutes), `fallback`
//! (features still warming up, heuristic fallback served, inference degraded), `stalled` (10 s
//! into a simulator stall fault after a sequence-gap fault: stale features, three re-anchors, an
//! alert firing) and `down` (nothing listening: every answer is "connection refused").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use watch::raw::Raw;
use watch::render::render;
use watch::snapshot::build;

fn screen(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let raw = Raw::load(&dir).unwrap_or_else(|e| panic!("capture {name}: {e}"));
    let text = render(&build(&raw, None)).join("\n");
    println!("--- {name}\n{text}");
    text
}

fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} line in\n{text}"))
}

#[test]
fn healthy_stack_shows_an_ml_prediction_its_outcome_and_everything_up() {
    let s = screen("healthy");
    let p = line(&s, "PREDICTION");
    assert!(
        p.contains("p_up 0.") && (p.contains(" UP ") || p.contains(" DOWN ")),
        "{p}"
    );
    assert!(line(&s, "            served_by").contains("served_by ml"), "{s}");
    assert!(
        line(&s, "            served_by").ends_with("fallback: none"),
        "{s}"
    );
    let o = line(&s, "10 S AGO");
    assert!(
        o.contains("realised") && (o.ends_with("HIT") || o.ends_with("MISS") || o.ends_with("no move")),
        "{o}"
    );
    let r = line(&s, "ROLLING");
    assert!(r.contains("accuracy") && r.contains("calibration 0."), "{r}");
    let m = line(&s, "MODEL");
    assert!(
        m.starts_with("MODEL       since start: accuracy ") && !m.contains("accuracy –"),
        "{m}"
    );
    assert!(
        line(&s, "ANCHOR").starts_with("ANCHOR      synced  epoch 1  re-anchors 1 ok"),
        "{s}"
    );
    assert!(line(&s, "FRESHNESS").contains(" ms  completeness 1.00"), "{s}");
    let h = line(&s, "HEALTH");
    assert_eq!(
        h,
        "HEALTH      ingestor healthy   aggregator healthy   inference healthy"
    );
    assert!(!s.contains(" DOWN (") && !s.contains("unreachable"), "{s}");
}

#[test]
fn fallback_state_names_the_reason_and_the_degraded_component() {
    let s = screen("fallback");
    assert!(
        line(&s, "PREDICTION").contains("FLAT  p_up 0.5000  confidence 0.500"),
        "{s}"
    );
    assert_eq!(
        line(&s, "            served_by"),
        "            served_by fallback   fallback: incomplete_features"
    );
    assert!(line(&s, "10 S AGO").ends_with("no call"), "{s}");
    assert!(
        line(&s, "MODEL").contains("fallbacks: incomplete_features "),
        "{s}"
    );
    let h = line(&s, "HEALTH");
    assert!(h.contains("inference DEGRADED (feature_pipeline: stale"), "{h}");
    assert!(
        h.contains("ingestor healthy") && h.contains("aggregator healthy"),
        "{h}"
    );
}

#[test]
fn stalled_market_shows_stale_features_the_market_age_and_the_firing_alert() {
    let s = screen("stalled");
    assert_eq!(
        line(&s, "            served_by"),
        "            served_by fallback   fallback: stale_features"
    );
    let f = line(&s, "FRESHNESS");
    assert!(
        f.contains("feature age 8426 ms") && f.contains("last exchange message 10.0 s ago"),
        "{f}"
    );
    assert!(
        line(&s, "ANCHOR").starts_with("ANCHOR      synced  epoch 3  re-anchors 3 ok"),
        "{s}"
    );
    let h = line(&s, "HEALTH");
    assert!(
        h.contains("aggregator DEGRADED (feature_pipeline: stale") && h.contains("inference DEGRADED"),
        "{h}"
    );
    assert!(
        line(&s, "MODEL").contains("stale_features 11, incomplete_features 15"),
        "{s}"
    );
    assert_eq!(line(&s, "ALERTS"), "ALERTS      1 firing:");
    assert!(
        s.lines()
            .any(|l| l.trim_start().starts_with("warning") && l.contains("SbeSequenceGaps")),
        "{s}"
    );
}

#[test]
fn stack_that_is_down_says_so_on_every_line_without_failing() {
    let s = screen("down");
    assert!(
        line(&s, "PREDICTION").starts_with("PREDICTION  none: Connection refused"),
        "{s}"
    );
    assert!(line(&s, "MODEL").contains("unreachable"), "{s}");
    assert!(line(&s, "ANCHOR").contains("unreachable"), "{s}");
    let h = line(&s, "HEALTH");
    for svc in ["ingestor", "aggregator", "inference"] {
        assert!(h.contains(&format!("{svc} DOWN (Connection refused")), "{h}");
    }
    assert!(line(&s, "ALERTS").contains("Alertmanager unreachable"), "{s}");
}

#[test]
fn a_capture_with_a_malformed_answer_is_reported_not_fatal() {
    let dir = tempfile_dir();
    std::fs::write(dir.join("taken_at_us"), "1764642000000000").expect("write");
    std::fs::write(
        dir.join("inference.latest"),
        "status: 200\n{\"not\":\"a prediction\"}",
    )
    .expect("write");
    std::fs::write(dir.join("inference.metrics"), "status: 200\ngarbage here\n").expect("write");
    std::fs::write(dir.join("inference.health"), "status: 503\n<html>").expect("write");
    std::fs::write(dir.join("alertmanager.alerts"), "status: 500\ninternal").expect("write");
    let raw = Raw::load(&dir).expect("loads");
    let s = render(&build(&raw, None)).join("\n");
    assert!(
        line(&s, "PREDICTION").contains("unexpected answer from inference.latest"),
        "{s}"
    );
    assert!(line(&s, "MODEL").contains("accuracy –"), "{s}");
    assert!(
        line(&s, "HEALTH").contains("inference DOWN (unexpected /health answer"),
        "{s}"
    );
    assert!(line(&s, "HEALTH").contains("ingestor DOWN (not captured)"), "{s}");
    assert!(line(&s, "ALERTS").contains("HTTP 500 internal"), "{s}");
    std::fs::write(dir.join("ingestor.health"), "HTTP/1.1 200\n").expect("write");
    assert!(
        Raw::load(&dir).is_err(),
        "a file without a status line is refused"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("watch-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
