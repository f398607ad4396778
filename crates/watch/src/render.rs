//! The screen as plain lines, from a [`Snapshot`] only (no I/O, no terminal): what `watch`
//! draws in place and what `watch --once` prints.

use crate::snapshot::{Health, Outcome, Prediction, Rolling, Snapshot};

/// Wall-clock `HH:MM:SS` (UTC) of a µs timestamp.
pub fn clock(us: i64) -> String {
    let s = us.div_euclid(1_000_000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn opt(v: Option<f64>, fmt: impl Fn(f64) -> String) -> String {
    v.filter(|v| v.is_finite()).map(fmt).unwrap_or_else(|| "–".into())
}

fn prediction_lines(p: &Prediction, now_us: i64) -> Vec<String> {
    let moved = match (p.mid, p.predicted_mid) {
        (Some(m), Some(pm)) => format!(" ({:+.2} USD, {m:.2} → {pm:.2})", pm - m),
        _ => String::new(),
    };
    let model = p
        .model_version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    vec![
        format!(
            "PREDICTION  tick {} ({:.1} s ago)  {:<4}  p_up {:.4}  confidence {:.3}  expected {:+.2} bps{moved}",
            clock(p.tick_time_us),
            (now_us - p.tick_time_us) as f64 / 1e6,
            p.direction.to_uppercase(),
            p.p_up,
            p.confidence,
            p.expected_return_bps,
        ),
        format!(
            "            served_by {}{model}   fallback: {}",
            p.served_by,
            p.fallback_reason.as_deref().unwrap_or("none")
        ),
    ]
}

fn outcome_line(o: &Option<Outcome>) -> String {
    let Some(o) = o else {
        return "10 S AGO    no prediction one horizon earlier in the history yet".into();
    };
    let verdict = match o.hit {
        Some(true) => "HIT",
        Some(false) => "MISS",
        None if o.then.direction == "flat" => "no call",
        None => "no move",
    };
    format!(
        "10 S AGO    tick {}: said {} {:+.2} bps; realised {:+.2} bps (mid {} → now)  {verdict}",
        clock(o.then.tick_time_us),
        o.then.direction.to_uppercase(),
        o.then.expected_return_bps,
        o.realised_bps,
        opt(o.then.mid, |m| format!("{m:.2}")),
    )
}

fn rolling_line(r: &Option<Rolling>) -> String {
    match r {
        Some(r) => format!(
            "ROLLING     {} scored predictions in the API history: accuracy {:.1}%  calibration {:.3}  (mean confidence {:.3})",
            r.scored,
            r.accuracy * 100.0,
            r.calibration,
            r.mean_confidence
        ),
        None => "ROLLING     no directed prediction with a realised outcome in the history yet".into(),
    }
}

fn health_cell(name: &str, h: &Result<Health, String>) -> String {
    match h {
        Ok(h) if h.problems.is_empty() => format!("{name} {}", h.status),
        Ok(h) => {
            let why: Vec<String> = h
                .problems
                .iter()
                .map(|(c, s, d)| {
                    if d.is_empty() {
                        format!("{c}: {s}")
                    } else {
                        format!("{c}: {s} – {d}")
                    }
                })
                .collect();
            format!(
                "{name} {}{} ({})",
                h.status.to_uppercase(),
                if h.ready { "" } else { ", not ready" },
                why.join("; ")
            )
        }
        Err(e) => format!("{name} DOWN ({e})"),
    }
}

fn anchor_state(code: f64) -> &'static str {
    match code as i64 {
        0 => "synced",
        1 => "buffering (re-anchoring)",
        2 => "FAILED",
        _ => "unknown",
    }
}

/// `3 ok, 1 failed` from the re-anchor counter by status (zeros left out).
fn reanchors(by_status: &[(String, f64)]) -> String {
    let parts: Vec<String> = by_status
        .iter()
        .filter(|(_, n)| *n > 0.0)
        .map(|(status, n)| format!("{n:.0} {}", if status == "success" { "ok" } else { status }))
        .collect();
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(", ")
    }
}

/// The whole screen.
pub fn render(s: &Snapshot) -> Vec<String> {
    let mut out = vec![format!(
        "btc-pipeline watch  {} UTC  (q or Ctrl-C quits)",
        clock(s.taken_at_us)
    )];
    out.push(String::new());
    match &s.prediction {
        Ok(p) => out.extend(prediction_lines(p, s.taken_at_us)),
        Err(e) => out.push(format!("PREDICTION  none: {e}")),
    }
    out.push(outcome_line(&s.outcome));
    out.push(rolling_line(&s.rolling));
    out.push(match &s.model {
        Ok(m) => {
            let fallbacks: Vec<String> = m
                .fallbacks
                .iter()
                .filter(|(_, n)| *n > 0.0)
                .map(|(r, n)| format!("{r} {n:.0}"))
                .collect();
            format!(
                "MODEL       {}: accuracy {}  calibration {}  correlation {}  MAE {}   fallbacks: {}",
                m.window_s
                    .map(|w| format!("last {w:.0} s"))
                    .unwrap_or_else(|| "since start".into()),
                opt(m.accuracy, |v| format!("{:.1}%", v * 100.0)),
                opt(m.calibration, |v| format!("{v:.3}")),
                opt(m.correlation, |v| format!("{v:.3}")),
                opt(m.mae_usd, |v| format!("{v:.2} USD")),
                if fallbacks.is_empty() {
                    "none".into()
                } else {
                    fallbacks.join(", ")
                }
            )
        }
        Err(e) => format!("MODEL       inference /metrics unreachable: {e}"),
    });
    let (age, completeness, epoch_seen) = match &s.prediction {
        Ok(p) => (p.feature_age_ms, p.feature_completeness, p.anchor_epoch),
        Err(_) => (None, None, None),
    };
    out.push(format!(
        "FRESHNESS   feature age {}  completeness {}  market: last exchange message {} ago",
        opt(age, |v| format!("{v:.0} ms")),
        opt(completeness, |v| format!("{v:.2}")),
        opt(s.market_age_s, |v| format!("{v:.1} s")),
    ));
    out.push(match &s.anchor {
        Ok(a) => format!(
            "ANCHOR      {}  epoch {}  re-anchors {}  buffered diffs {}   Kinesis lag {}{}",
            a.state.map(anchor_state).unwrap_or("–"),
            opt(a.epoch, |v| format!("{v:.0}")),
            reanchors(&a.reanchors),
            opt(a.buffered_diffs, |v| format!("{v:.0}")),
            opt(a.kinesis_lag_s, |v| format!("{v:.2} s")),
            epoch_seen
                .map(|e| format!("   (prediction used epoch {e})"))
                .unwrap_or_default(),
        ),
        Err(e) => format!("ANCHOR      aggregator /metrics unreachable: {e}"),
    });
    let cells: Vec<String> = s.health.iter().map(|(n, h)| health_cell(n, h)).collect();
    out.push(format!("HEALTH      {}", cells.join("   ")));
    match &s.alerts {
        Ok(a) if a.is_empty() => out.push("ALERTS      none firing".into()),
        Ok(a) => {
            out.push(format!("ALERTS      {} firing:", a.len()));
            out.extend(
                a.iter()
                    .map(|a| format!("            {:<9} {:<34} {}", a.severity, a.name, a.service)),
            );
        }
        Err(e) => out.push(format!("ALERTS      Alertmanager unreachable: {e}")),
    }
    out
}
