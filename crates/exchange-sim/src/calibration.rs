//! Market statistics used to calibrate the synthetic market against a recording (and to print the
//! table in `docs/simulator.md`): event rates, spread distribution, 10 s return volatility, trade
//! sizes, and how often top-of-book imbalance predicts the next mid move.

use std::fmt;

/// Accumulates statistics from a stream of normalised events (times in µs on one clock).
#[derive(Debug, Clone, Default)]
pub struct MarketStats {
    first_us: Option<u64>,
    last_us: u64,
    trades: u64,
    trade_events: u64,
    bbo: u64,
    diffs: u64,
    diff_levels: u64,
    spreads: Vec<i64>,
    trade_sizes: Vec<i64>,
    mids_10s: Vec<f64>,
    next_sample_us: u64,
    last_mid: Option<f64>,
    /// Sign of the top-of-book imbalance when the mid last changed.
    pending_imbalance: Option<f64>,
    imbalance_hits: u64,
    imbalance_total: u64,
}

/// The summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub seconds: f64,
    pub trades_per_sec: f64,
    pub trade_events_per_sec: f64,
    pub bbo_per_sec: f64,
    pub diffs_per_sec: f64,
    pub levels_per_diff: f64,
    /// Shares of BBO updates with spread 1 tick, 2–5 ticks, > 5 ticks.
    pub spread_1: f64,
    pub spread_2_5: f64,
    pub spread_gt5: f64,
    pub spread_mean_ticks: f64,
    /// Standard deviation of 10 s log returns of the mid, and the number of returns.
    pub vol_10s: f64,
    pub vol_samples: usize,
    /// Trade size quantiles (BTC): p10, p50, p90, p99, and the mean.
    pub size_quantiles: [f64; 4],
    pub size_mean: f64,
    /// Share of mid changes whose direction matches the sign of the top-of-book imbalance
    /// `(bidQty − askQty) / (bidQty + askQty)` just before the change (0.5 = no signal).
    pub imbalance_hit_rate: f64,
}

fn quantile(sorted: &[i64], q: f64) -> i64 {
    let i = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
    sorted.get(i).copied().unwrap_or(0)
}

impl MarketStats {
    fn seen(&mut self, t: u64) {
        let first = *self.first_us.get_or_insert(t);
        self.last_us = self.last_us.max(t);
        if self.next_sample_us == 0 {
            self.next_sample_us = first;
        }
    }

    /// One trades event with `sizes` (lots) of its fills.
    pub fn on_trades(&mut self, t: u64, sizes: &[i64]) {
        self.seen(t);
        self.trade_events += 1;
        self.trades += sizes.len() as u64;
        self.trade_sizes.extend_from_slice(sizes);
    }

    /// One depth diff touching `levels` levels.
    pub fn on_diff(&mut self, t: u64, levels: usize) {
        self.seen(t);
        self.diffs += 1;
        self.diff_levels += levels as u64;
    }

    /// One best bid/ask update (ticks, lots).
    pub fn on_bbo(&mut self, t: u64, bid: i64, bid_qty: i64, ask: i64, ask_qty: i64) {
        self.seen(t);
        self.bbo += 1;
        self.spreads.push(ask - bid);
        let mid = (bid + ask) as f64 / 2.0;
        while t >= self.next_sample_us {
            self.mids_10s.push(self.last_mid.unwrap_or(mid));
            self.next_sample_us += 10_000_000;
        }
        if let (Some(prev), Some(imb)) = (self.last_mid, self.pending_imbalance)
            && mid != prev
            && imb != 0.0
        {
            self.imbalance_total += 1;
            if (mid > prev) == (imb > 0.0) {
                self.imbalance_hits += 1;
            }
        }
        let total = (bid_qty + ask_qty) as f64;
        self.pending_imbalance = (total > 0.0).then(|| (bid_qty - ask_qty) as f64 / total);
        self.last_mid = Some(mid);
    }

    /// The summary so far.
    pub fn summary(&self) -> Summary {
        let secs = (self.last_us.saturating_sub(self.first_us.unwrap_or(0)) as f64 / 1e6).max(1e-9);
        let n = self.spreads.len().max(1) as f64;
        let share = |f: &dyn Fn(i64) -> bool| self.spreads.iter().filter(|s| f(**s)).count() as f64 / n;
        let returns: Vec<f64> = self.mids_10s.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let mean = returns.iter().sum::<f64>() / returns.len().max(1) as f64;
        let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / returns.len().max(1) as f64;
        let mut sizes = self.trade_sizes.clone();
        sizes.sort_unstable();
        let btc = |lots: i64| lots as f64 / 1e8;
        Summary {
            seconds: secs,
            trades_per_sec: self.trades as f64 / secs,
            trade_events_per_sec: self.trade_events as f64 / secs,
            bbo_per_sec: self.bbo as f64 / secs,
            diffs_per_sec: self.diffs as f64 / secs,
            levels_per_diff: self.diff_levels as f64 / self.diffs.max(1) as f64,
            spread_1: share(&|s| s == 1),
            spread_2_5: share(&|s| (2..=5).contains(&s)),
            spread_gt5: share(&|s| s > 5),
            spread_mean_ticks: self.spreads.iter().sum::<i64>() as f64 / n,
            vol_10s: var.sqrt(),
            vol_samples: returns.len(),
            size_quantiles: [0.1, 0.5, 0.9, 0.99].map(|q| btc(quantile(&sizes, q))),
            size_mean: btc(sizes.iter().sum::<i64>()) / sizes.len().max(1) as f64,
            imbalance_hit_rate: self.imbalance_hits as f64 / self.imbalance_total.max(1) as f64,
        }
    }
}

impl Summary {
    /// Markdown table rows `| metric | real | synthetic |` for two summaries.
    pub fn table(real: &Summary, synthetic: &Summary) -> String {
        let rows: Vec<(&str, String, String)> = vec![
            (
                "duration (s)",
                format!("{:.0}", real.seconds),
                format!("{:.0}", synthetic.seconds),
            ),
            (
                "trades / s",
                format!("{:.1}", real.trades_per_sec),
                format!("{:.1}", synthetic.trades_per_sec),
            ),
            (
                "trade events / s (JSON: 1 per trade; SBE synthetic: 1 per market order)",
                format!("{:.1}", real.trade_events_per_sec),
                format!("{:.1}", synthetic.trade_events_per_sec),
            ),
            (
                "best bid/ask updates / s",
                format!("{:.1}", real.bbo_per_sec),
                format!("{:.1}", synthetic.bbo_per_sec),
            ),
            (
                "depth diffs / s",
                format!("{:.1}", real.diffs_per_sec),
                format!("{:.1}", synthetic.diffs_per_sec),
            ),
            (
                "levels changed / s (diffs × levels per diff)",
                format!("{:.0}", real.diffs_per_sec * real.levels_per_diff),
                format!("{:.0}", synthetic.diffs_per_sec * synthetic.levels_per_diff),
            ),
            ("spread = 1 tick", pct(real.spread_1), pct(synthetic.spread_1)),
            (
                "spread 2–5 ticks",
                pct(real.spread_2_5),
                pct(synthetic.spread_2_5),
            ),
            (
                "spread > 5 ticks",
                pct(real.spread_gt5),
                pct(synthetic.spread_gt5),
            ),
            (
                "mean spread (ticks)",
                format!("{:.2}", real.spread_mean_ticks),
                format!("{:.2}", synthetic.spread_mean_ticks),
            ),
            (
                "10 s log-return σ (n)",
                format!("{:.2e} ({})", real.vol_10s, real.vol_samples),
                format!("{:.2e} ({})", synthetic.vol_10s, synthetic.vol_samples),
            ),
            ("trade size p10 / p50 (BTC)", q2(real, 0, 1), q2(synthetic, 0, 1)),
            ("trade size p90 / p99 (BTC)", q2(real, 2, 3), q2(synthetic, 2, 3)),
            (
                "trade size mean (BTC)",
                format!("{:.5}", real.size_mean),
                format!("{:.5}", synthetic.size_mean),
            ),
            (
                "next mid move agrees with top-of-book imbalance",
                pct(real.imbalance_hit_rate),
                pct(synthetic.imbalance_hit_rate),
            ),
        ];
        let mut out = String::from("| metric | real (spot recording) | synthetic |\n|---|---|---|\n");
        for (m, r, s) in rows {
            out.push_str(&format!("| {m} | {r} | {s} |\n"));
        }
        out
    }
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

fn q2(s: &Summary, a: usize, b: usize) -> String {
    format!("{:.5} / {:.5}", s.size_quantiles[a], s.size_quantiles[b])
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:#?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_spreads_and_imbalance_hits_are_counted() {
        let mut s = MarketStats::default();
        s.on_bbo(0, 100, 9, 101, 1); // bid-heavy
        s.on_bbo(1_000_000, 101, 5, 102, 5); // mid up: a hit
        s.on_trades(2_000_000, &[100_000_000, 300_000_000]);
        s.on_diff(10_000_000, 4);
        s.on_bbo(10_000_000, 100, 5, 103, 5);
        let sum = s.summary();
        assert!((sum.seconds - 10.0).abs() < 1e-9);
        assert!((sum.trades_per_sec - 0.2).abs() < 1e-9);
        assert!((sum.spread_1 - 2.0 / 3.0).abs() < 1e-9);
        assert!((sum.imbalance_hit_rate - 1.0).abs() < 1e-9, "{sum:?}");
        assert_eq!(sum.vol_samples, 1);
        assert!((sum.size_mean - 2.0).abs() < 1e-9);
    }
}
