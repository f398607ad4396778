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
            p_improve: 0.6,
            p_near: 0.35,
            near_ticks: 100,
            far_ticks: 20_000,
            limit_size_median: 0.01,
            limit_size_sigma: 1.8,
            market_base_rate: 2.2,
            hawkes_alpha: 1.2,
            hawkes_beta: 2.0,
            hawkes_cross: 0.2,
            market_size_median: 0.004,
            market_size_sigma: 2.2,
            max_sweep_levels: 30,
            diff_interval_us: 20_000,
            warmup_secs: 120.0,
            size_step: 0.000_01,
        }
    }
}
