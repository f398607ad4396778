use super::*;

const S: i64 = 1_000_000;

fn pending(t: i64, p_up: f64, predicted_mid: f64) -> Pending {
    Pending {
        target_time_us: t,
        mid: 100.0,
        predicted_mid,
        p_up,
        confidence: p_up.max(1.0 - p_up),
    }
}

#[test]
fn a_prediction_is_scored_only_once_its_target_time_has_come() {
    let mut e = Evaluator::new(10, 2, 3 * S);
    e.push(pending(10 * S, 0.6, 100.1));
    assert_eq!(e.observe(8 * S, Some(101.0)), 0);
    assert_eq!(e.pending(), 1);
    assert_eq!(e.observe(10 * S, Some(101.0)), 1);
    assert_eq!(e.pending(), 0);
}

#[test]
fn a_prediction_whose_outcome_never_arrived_in_time_is_dropped_unscored() {
    let mut e = Evaluator::new(10, 2, 3 * S);
    e.push(pending(10 * S, 0.6, 100.1));
    e.push(pending(12 * S, 0.6, 100.1));
    assert_eq!(e.observe(10 * S, None), 0);
    assert_eq!(
        e.observe(16 * S, Some(101.0)),
        0,
        "12 s target is 4 s late, beyond the grace"
    );
    assert_eq!(e.pending(), 0);
    assert_eq!(e.snapshot().samples, 0);
}

#[test]
fn accuracy_mae_and_calibration_follow_the_scored_outcomes() {
    let mut e = Evaluator::new(100, 2, 3 * S);
    // Up predictions (confidence 0.75): 3 right (mid 101), 1 wrong (mid 99); MAE: |100.5 - real|.
    for (i, real) in [101.0, 101.0, 101.0, 99.0].into_iter().enumerate() {
        let t = (i as i64 + 1) * 2 * S;
        e.push(pending(t, 0.75, 100.5));
        assert_eq!(e.observe(t, Some(real)), 1);
    }
    let s = e.snapshot();
    assert_eq!(s.samples, 4);
    assert_eq!(s.directional_accuracy, Some(0.75));
    assert_eq!(s.calibration, Some(1.0));
    assert_eq!(s.mean_absolute_error, Some((0.5 * 3.0 + 1.5) / 4.0));
}

#[test]
fn flat_outcomes_count_for_error_but_not_for_direction() {
    let mut e = Evaluator::new(100, 2, 3 * S);
    for i in 1..=3 {
        e.push(pending(i * S, 0.9, 100.0));
        e.observe(i * S, Some(100.0 * (1.0 + FLAT_RETURN / 2.0)));
    }
    let s = e.snapshot();
    assert_eq!(s.samples, 3);
    assert_eq!(s.directional_accuracy, None);
    assert!(s.mean_absolute_error.is_some_and(|m| m > 0.0));
}

#[test]
fn the_window_keeps_only_the_most_recent_scores() {
    let mut e = Evaluator::new(3, 2, 3 * S);
    for i in 1..=3 {
        e.push(pending(i * S, 0.9, 101.0));
        e.observe(i * S, Some(99.0)); // wrong
    }
    for i in 4..=6 {
        e.push(pending(i * S, 0.9, 101.0));
        e.observe(i * S, Some(101.0)); // right
    }
    assert_eq!(e.snapshot().samples, 3);
    assert_eq!(e.snapshot().directional_accuracy, Some(1.0));
}

#[test]
fn metrics_stay_undefined_below_the_minimum_sample_count() {
    let mut e = Evaluator::new(100, 5, 3 * S);
    e.push(pending(S, 0.9, 101.0));
    e.observe(S, Some(101.0));
    let s = e.snapshot();
    assert_eq!(s.samples, 1);
    assert_eq!(s.mean_absolute_error, None);
    assert_eq!(s.correlation, None);
}

#[test]
fn pearson_is_one_for_a_linear_relation_and_undefined_without_variance() {
    let pairs = [(1.0, 2.0), (2.0, 4.0), (3.0, 6.5)];
    let r = pearson(pairs.iter().copied()).unwrap_or(0.0);
    assert!(r > 0.99, "{r}");
    let inverse = [(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)];
    assert_eq!(pearson(inverse.iter().copied()), Some(-1.0));
    let flat = [(1.0, 2.0), (1.0, 4.0)];
    assert_eq!(pearson(flat.iter().copied()), None);
}

#[test]
fn correlation_tracks_predicted_against_realized_returns() {
    let mut e = Evaluator::new(100, 3, 3 * S);
    for (i, (pred, real)) in [(100.1, 100.2), (99.9, 99.7), (100.05, 100.1), (99.95, 99.9)]
        .into_iter()
        .enumerate()
    {
        let t = (i as i64 + 1) * S;
        e.push(pending(t, 0.6, pred));
        e.observe(t, Some(real));
    }
    assert!(e.snapshot().correlation.is_some_and(|c| c > 0.9));
}
