//! Tiny formulas shared by the incremental engine and the batch recomputation, so both produce the same
//! floating-point result for the same integer inputs.

use market::BestBidAsk;

/// `ln(now / then) * 1e4` for two prices in the same unit (here: bid + ask in ticks).
pub fn log_return_bps(now: i64, then: i64) -> f64 {
    (now as f64 / then as f64).ln() * 1e4
}

/// `(a - b) / (a + b)`, or 0 when both are 0.
pub fn imbalance(a: i128, b: i128) -> f64 {
    let total = a + b;
    if total == 0 {
        0.0
    } else {
        (a - b) as f64 / total as f64
    }
}

/// `sum / |sum|-total` style ratio: `num / den`, or 0 when `den` is 0.
pub fn ratio(num: i64, den: i64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

/// A best bid/ask is usable when both prices are positive and the book is not crossed.
pub fn bbo_is_valid(b: &BestBidAsk) -> bool {
    b.bid.price > 0 && b.ask.price > b.bid.price && b.bid.qty >= 0 && b.ask.qty >= 0
}

/// Twice the mid in ticks (`bid + ask`), exact.
pub fn mid2(b: &BestBidAsk) -> i64 {
    b.bid.price + b.ask.price
}

/// Order-flow imbalance contribution of a best bid/ask change (Cont, Kukanov & Stoikov 2014), in lots.
pub fn ofi_contribution(prev: &BestBidAsk, now: &BestBidAsk) -> i64 {
    let (pb0, qb0, pa0, qa0) = (prev.bid.price, prev.bid.qty, prev.ask.price, prev.ask.qty);
    let (pb1, qb1, pa1, qa1) = (now.bid.price, now.bid.qty, now.ask.price, now.ask.qty);
    let mut e = 0i64;
    if pb1 >= pb0 {
        e = e.saturating_add(qb1);
    }
    if pb1 <= pb0 {
        e = e.saturating_sub(qb0);
    }
    if pa1 <= pa0 {
        e = e.saturating_sub(qa1);
    }
    if pa1 >= pa0 {
        e = e.saturating_add(qa0);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::Level;

    fn bbo(bid: (i64, i64), ask: (i64, i64)) -> BestBidAsk {
        BestBidAsk {
            bid: Level::new(bid.0, bid.1),
            ask: Level::new(ask.0, ask.1),
            ..Default::default()
        }
    }

    #[test]
    fn ofi_counts_bid_growth_as_buy_pressure_and_ask_growth_as_sell_pressure() {
        let base = bbo((100, 5), (101, 5));
        assert_eq!(ofi_contribution(&base, &bbo((100, 8), (101, 5))), 3);
        assert_eq!(ofi_contribution(&base, &bbo((100, 5), (101, 9))), -4);
        assert_eq!(
            ofi_contribution(&base, &bbo((99, 7), (101, 5))),
            -5,
            "bid level removed"
        );
        assert_eq!(
            ofi_contribution(&base, &bbo((100, 5), (102, 2))),
            5,
            "ask level removed"
        );
    }

    #[test]
    fn ratios_are_zero_on_empty_input() {
        assert_eq!(imbalance(0, 0), 0.0);
        assert_eq!(imbalance(3, 1), 0.5);
        assert_eq!(ratio(1, 0), 0.0);
        assert!((log_return_bps(10_001, 10_000) - 0.999_950_003_3).abs() < 1e-6);
    }
}
