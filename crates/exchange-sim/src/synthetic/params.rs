//! Parameters of the synthetic market (defaults calibrated against the 2024-08-08/09 Binance spot
//! BTCUSDT recording; see `docs/simulator.md`).

/// Model parameters. Rates are per second of simulated time; prices in ticks (0.01 USDT); sizes
/// in BTC (converted to 1e-8 lots).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticParams {
    /// Mid price at the start, in ticks.
    pub start_mid_ticks: i64,
    /// Limit-order arrivals per side.
    pub limit_rate: f64,
    /// Cancellation rate of each resting order (1 / mean lifetime).
    pub cancel_rate: f64,
    /// Probability that a limit order joins the best level of its side.
    pub p_join: f64,
    /// Probability that a limit order improves the price when the spread is wider than one tick.
    pub p_improve: f64,
    /// Probability that a non-joining order lands near the touch (uniform in `1..=near_ticks`).
    pub p_near: f64,
    /// Width of the near band.
    pub near_ticks: i64,
    /// Farthest placement from the best (uniform in `1..=far_ticks` otherwise).
    pub far_ticks: i64,
    /// Median and log-σ of resting order sizes (BTC, log-normal).
    pub limit_size_median: f64,
    pub limit_size_sigma: f64,
    /// Baseline market-order intensity per side (Hawkes μ).
    pub market_base_rate: f64,
    /// Self-excitation jump (Hawkes α) and decay (β, per second) of market orders.
    pub hawkes_alpha: f64,
    pub hawkes_beta: f64,
    /// Jump added to the other side's intensity by a market order.
    pub hawkes_cross: f64,
    /// Queue reactivity of aggressive flow, in `[0, 1]`: market buys arrive at `(1 + k I)` and sells at
    /// `(1 − k I)` times their Hawkes intensity, `I = (bidQty − askQty) / (bidQty + askQty)` at the touch,
    /// so the thinner queue is the one more often hit and emptied; inside a wide spread a limit order
    /// improves with probability `p_improve (1 ± k I)` (+ for bids), so the heavier side refills first.
    pub imbalance_reactivity: f64,
    /// Median and log-σ of market-order sizes (BTC, log-normal).
    pub market_size_median: f64,
    pub market_size_sigma: f64,
    /// Cap of one market order as a share of the resting side's top levels (keeps the book alive).
    pub max_sweep_levels: usize,
    /// Depth-diff batching interval (Binance SBE `@depth`: 20 ms).
    pub diff_interval_us: u64,
    /// Seconds simulated (limit orders and cancels only) before the first emitted event.
    pub warmup_secs: f64,
    /// Smallest size step (BTC), Binance BTCUSDT: 0.00001.
    pub size_step: f64,
}

impl Default for SyntheticParams {
    fn default() -> Self {
        Self {
            start_mid_ticks: 6_000_000,
            limit_rate: 110.0,
            cancel_rate: 0.09,
            p_join: 0.30,
            p_improve: 0.9,
            p_near: 0.0,
            near_ticks: 100,
            far_ticks: 30_000,
            limit_size_median: 0.0015,
            limit_size_sigma: 2.4,
            market_base_rate: 1.4,
            hawkes_alpha: 1.2,
            hawkes_beta: 2.0,
            hawkes_cross: 0.2,
            imbalance_reactivity: 1.0,
            market_size_median: 0.012,
            market_size_sigma: 2.2,
            max_sweep_levels: 30,
            diff_interval_us: 20_000,
            warmup_secs: 120.0,
            size_step: 0.000_01,
        }
    }
}

impl SyntheticParams {
    /// Overrides one parameter by name (`key=value` tuning from the CLI or the calibration run).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let f = || value.parse::<f64>().map_err(|e| format!("{key}: {e}"));
        let i = || value.parse::<i64>().map_err(|e| format!("{key}: {e}"));
        match key {
            "start_mid_ticks" => self.start_mid_ticks = i()?,
            "limit_rate" => self.limit_rate = f()?,
            "cancel_rate" => self.cancel_rate = f()?,
            "p_join" => self.p_join = f()?,
            "p_improve" => self.p_improve = f()?,
            "p_near" => self.p_near = f()?,
            "near_ticks" => self.near_ticks = i()?,
            "far_ticks" => self.far_ticks = i()?,
            "limit_size_median" => self.limit_size_median = f()?,
            "limit_size_sigma" => self.limit_size_sigma = f()?,
            "market_base_rate" => self.market_base_rate = f()?,
            "hawkes_alpha" => self.hawkes_alpha = f()?,
            "hawkes_beta" => self.hawkes_beta = f()?,
            "hawkes_cross" => self.hawkes_cross = f()?,
            "imbalance_reactivity" => {
                let k = f()?;
                if !(0.0..=1.0).contains(&k) {
                    return Err(format!("imbalance_reactivity {k} is outside [0, 1]"));
                }
                self.imbalance_reactivity = k;
            }
            "market_size_median" => self.market_size_median = f()?,
            "market_size_sigma" => self.market_size_sigma = f()?,
            "max_sweep_levels" => self.max_sweep_levels = usize::try_from(i()?).map_err(|e| e.to_string())?,
            "warmup_secs" => self.warmup_secs = f()?,
            _ => return Err(format!("unknown synthetic parameter `{key}`")),
        }
        Ok(())
    }

    /// Applies `key=value[,key=value…]`.
    pub fn apply(&mut self, spec: &str) -> Result<(), String> {
        for kv in spec.split(',').filter(|s| !s.trim().is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("`{kv}` is not key=value"))?;
            self.set(k.trim(), v.trim())?;
        }
        Ok(())
    }
}
