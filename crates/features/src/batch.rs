//! Batch recomputation: the feature vector after a whole input sequence, computed naively from scratch
//! (linear scans, no incremental state). It defines the features operationally and is the oracle of the
//! property test `incremental == batch`; the dataset builder may use it for spot checks. O(n · windows).

use market::{BestBidAsk, InstrumentScale, Trade};

use crate::engine::{depth_sums, microprice_dev_bps};
use crate::input::FeatureInput;
use crate::math::{bbo_is_valid, imbalance, log_return_bps, mid2, ofi_contribution, ratio};
use crate::spec::{
    FLOW_WINDOWS_US, IMBALANCE_LEVELS, RETURN_HORIZONS_US, RV_WINDOWS_S, TIME_SINCE_TRADE_CAP_S,
    TRADE_RATE_WINDOW, VWAP_WINDOW, idx,
};
use crate::vector::FeatureVector;

fn input_time(i: &FeatureInput) -> u64 {
    match i {
        FeatureInput::Bbo(b) => b.event_time_us,
        FeatureInput::Trade(t) => t.event_time_us,
        FeatureInput::Book { time_us, .. }
        | FeatureInput::BookLost { time_us }
        | FeatureInput::Clock { time_us } => *time_us,
    }
}

/// The feature vector after `inputs`, as of the last input's (clamped) time.
pub fn compute_batch(inputs: &[FeatureInput], scale: &InstrumentScale) -> FeatureVector {
    // Times never go backwards: a late event counts as happening at the running maximum.
    let mut now = 0u64;
    let timed: Vec<(u64, &FeatureInput)> = inputs
        .iter()
        .map(|i| {
            now = now.max(input_time(i));
            (now, i)
        })
        .collect();
    let started = timed.first().map(|(t, _)| *t);
    let bbos: Vec<(u64, &BestBidAsk)> = timed
        .iter()
        .filter_map(|(t, i)| match i {
            FeatureInput::Bbo(b) if bbo_is_valid(b) => Some((*t, b)),
            _ => None,
        })
        .collect();
    let trades: Vec<(u64, &Trade)> = timed
        .iter()
        .filter_map(|(t, i)| {
            if let FeatureInput::Trade(tr) = i {
                Some((*t, tr))
            } else {
                None
            }
        })
        .collect();
    let ofi: Vec<(u64, i64)> = bbos
        .windows(2)
        .map(|w| (w[1].0, ofi_contribution(w[0].1, w[1].1)))
        .collect();
    let mid_at = |x: u64| bbos.iter().rev().find(|(t, _)| *t <= x).map(|(_, b)| mid2(b));
    let in_window = |t: u64, w: u64| now < w || t > now - w;
    let covered = |w: u64| started.is_some_and(|s| now - s >= w);

    let mut v = FeatureVector {
        event_time_us: now,
        ..FeatureVector::default()
    };
    let last = bbos.last().map(|(_, b)| *b);
    let m2 = last.map(mid2);
    v.set(idx::MID_PRICE, m2.map(|m| scale.price_f64(m) / 2.0));
    v.set(idx::MICROPRICE_DEV_BPS, last.and_then(microprice_dev_bps));
    v.set(
        idx::SPREAD_BPS,
        last.map(|b| (b.ask.price - b.bid.price) as f64 * 2.0 / mid2(b) as f64 * 1e4),
    );

    let book = timed.iter().rev().find_map(|(_, i)| match i {
        FeatureInput::Book { top, .. } => Some(Some(top)),
        FeatureInput::BookLost { .. } => Some(None),
        _ => None,
    });
    for (k, n) in IMBALANCE_LEVELS.iter().enumerate() {
        let sums = book.flatten().and_then(|top| depth_sums(top, *n));
        v.set(idx::BOOK_IMBALANCE + k, sums.map(|(b, a)| imbalance(b, a)));
    }

    for (w, width) in FLOW_WINDOWS_US.iter().enumerate() {
        let (mut e, mut e_abs, mut buy, mut sell) = (0i64, 0i64, 0i64, 0i64);
        for (t, x) in &ofi {
            if in_window(*t, *width) {
                e += x;
                e_abs += x.saturating_abs();
            }
        }
        for (t, tr) in &trades {
            if in_window(*t, *width) {
                if tr.is_buyer_maker {
                    sell += tr.qty
                } else {
                    buy += tr.qty
                }
            }
        }
        let ok = covered(*width);
        v.set(idx::OFI + w, ok.then(|| ratio(e, e_abs)));
        v.set(
            idx::TFI + w,
            ok.then(|| imbalance(i128::from(buy), i128::from(sell))),
        );
        v.set(idx::LOG_VOLUME + w, ok.then(|| scale.qty_f64(buy + sell).ln_1p()));
    }

    for (i, h) in RETURN_HORIZONS_US.iter().enumerate() {
        let then = now.checked_sub(*h).and_then(mid_at);
        v.set(idx::RETURN + i, m2.zip(then).map(|(a, b)| log_return_bps(a, b)));
    }

    let close = |b: u64| mid_at((b + 1) * 1_000_000 - 1);
    let bucket = now / 1_000_000;
    for (i, w) in RV_WINDOWS_S.iter().enumerate() {
        let rv = bucket.checked_sub(*w).and_then(|from| {
            let mut sum = 0.0;
            for b in from..bucket {
                let prev = b.checked_sub(1).and_then(close)?;
                sum += log_return_bps(close(b)?, prev).powi(2);
            }
            Some(sum.sqrt())
        });
        v.set(idx::REALIZED_VOL + i, rv);
    }

    let rate_w = FLOW_WINDOWS_US[TRADE_RATE_WINDOW];
    let n_trades = trades.iter().filter(|(t, _)| in_window(*t, rate_w)).count() as f64;
    v.set(
        idx::TRADE_RATE_10S,
        covered(rate_w).then(|| n_trades / (rate_w as f64 / 1e6)),
    );

    let vwap_w = FLOW_WINDOWS_US[VWAP_WINDOW];
    let (mut notional, mut qty) = (0i128, 0i64);
    for (t, tr) in trades.iter().filter(|(t, _)| in_window(*t, vwap_w)) {
        let _ = t;
        notional += i128::from(tr.price) * i128::from(tr.qty);
        qty += tr.qty;
    }
    let vwap_dev = m2.filter(|_| covered(vwap_w) && qty > 0).map(|m| {
        let vwap = notional as f64 / qty as f64;
        (m as f64 / 2.0 - vwap) / vwap * 1e4
    });
    v.set(idx::VWAP_DEV_30S_BPS, vwap_dev);
    let since = trades
        .last()
        .map(|(t, _)| ((now - t) as f64 / 1e6).min(TIME_SINCE_TRADE_CAP_S));
    v.set(idx::TIME_SINCE_LAST_TRADE_S, since);
    v
}
