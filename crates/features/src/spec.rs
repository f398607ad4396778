//! The feature list: the single source of names, order, units and version. The ONNX model carries
//! [`FEATURE_VERSION`] and [`FEATURE_NAMES`] in its metadata; inference refuses a model whose list differs.
//!
//! Bump [`FEATURE_VERSION`] whenever a name, order, unit or definition changes.

/// Version of the feature definitions below.
pub const FEATURE_VERSION: u32 = 1;

/// Number of features.
pub const N_FEATURES: usize = 28;

/// Static description of one feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// Stable snake_case name.
    pub name: &'static str,
    /// Unit of the value.
    pub unit: &'static str,
    /// `false` for the few values that depend on the price level (not for model input).
    pub scale_free: bool,
}

const fn f(name: &'static str, unit: &'static str) -> FeatureSpec {
    FeatureSpec {
        name,
        unit,
        scale_free: true,
    }
}

/// All features, in vector order.
pub const FEATURES: [FeatureSpec; N_FEATURES] = [
    FeatureSpec {
        name: "mid_price",
        unit: "quote",
        scale_free: false,
    },
    f("microprice_dev_bps", "bps"),
    f("spread_bps", "bps"),
    f("book_imbalance_1", "ratio[-1,1]"),
    f("book_imbalance_5", "ratio[-1,1]"),
    f("book_imbalance_10", "ratio[-1,1]"),
    f("ofi_1s", "ratio[-1,1]"),
    f("ofi_5s", "ratio[-1,1]"),
    f("ofi_10s", "ratio[-1,1]"),
    f("ofi_30s", "ratio[-1,1]"),
    f("tfi_1s", "ratio[-1,1]"),
    f("tfi_5s", "ratio[-1,1]"),
    f("tfi_10s", "ratio[-1,1]"),
    f("tfi_30s", "ratio[-1,1]"),
    f("log_volume_1s", "ln(1+base)"),
    f("log_volume_5s", "ln(1+base)"),
    f("log_volume_10s", "ln(1+base)"),
    f("log_volume_30s", "ln(1+base)"),
    f("return_1s_bps", "bps"),
    f("return_5s_bps", "bps"),
    f("return_10s_bps", "bps"),
    f("return_30s_bps", "bps"),
    f("return_60s_bps", "bps"),
    f("realized_vol_10s_bps", "bps"),
    f("realized_vol_60s_bps", "bps"),
    f("trade_rate_10s", "trades/s"),
    f("vwap_dev_30s_bps", "bps"),
    f("time_since_last_trade_s", "s (capped at 60)"),
];

const fn names() -> [&'static str; N_FEATURES] {
    let mut out = [""; N_FEATURES];
    let mut i = 0;
    while i < N_FEATURES {
        out[i] = FEATURES[i].name;
        i += 1;
    }
    out
}

const NAME_ARRAY: [&str; N_FEATURES] = names();

/// Feature names in vector order.
pub const FEATURE_NAMES: &[&str] = &NAME_ARRAY;

/// Index of each feature in the vector.
#[allow(missing_docs)]
pub mod idx {
    pub const MID_PRICE: usize = 0;
    pub const MICROPRICE_DEV_BPS: usize = 1;
    pub const SPREAD_BPS: usize = 2;
    /// `book_imbalance_{1,5,10}` start here.
    pub const BOOK_IMBALANCE: usize = 3;
    /// `ofi_{1,5,10,30}s` start here.
    pub const OFI: usize = 6;
    /// `tfi_{1,5,10,30}s` start here.
    pub const TFI: usize = 10;
    /// `log_volume_{1,5,10,30}s` start here.
    pub const LOG_VOLUME: usize = 14;
    /// `return_{1,5,10,30,60}s_bps` start here.
    pub const RETURN: usize = 18;
    /// `realized_vol_{10,60}s_bps` start here.
    pub const REALIZED_VOL: usize = 23;
    pub const TRADE_RATE_10S: usize = 25;
    pub const VWAP_DEV_30S_BPS: usize = 26;
    pub const TIME_SINCE_LAST_TRADE_S: usize = 27;
}

/// Book depths for `book_imbalance_*`.
pub const IMBALANCE_LEVELS: [usize; 3] = [1, 5, 10];
/// Flow windows (µs) for `ofi_*`, `tfi_*`, `log_volume_*`.
pub const FLOW_WINDOWS_US: [u64; 4] = [1_000_000, 5_000_000, 10_000_000, 30_000_000];
/// Return horizons (µs).
pub const RETURN_HORIZONS_US: [u64; 5] = [1_000_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000];
/// Realized-volatility windows in completed 1-second buckets.
pub const RV_WINDOWS_S: [u64; 2] = [10, 60];
/// Window of `trade_rate_10s` (index into [`FLOW_WINDOWS_US`]).
pub const TRADE_RATE_WINDOW: usize = 2;
/// Window of `vwap_dev_30s_bps` (index into [`FLOW_WINDOWS_US`]).
pub const VWAP_WINDOW: usize = 3;
/// Cap of `time_since_last_trade_s`.
pub const TIME_SINCE_TRADE_CAP_S: f64 = 60.0;

/// `"v<version>:<name>,<name>,…"` — what the model metadata must carry verbatim.
pub fn feature_list_signature() -> String {
    format!("v{FEATURE_VERSION}:{}", FEATURE_NAMES.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_indices_point_at_them() {
        let unique: std::collections::HashSet<_> = FEATURE_NAMES.iter().collect();
        assert_eq!(unique.len(), N_FEATURES);
        assert!(FEATURE_NAMES.iter().all(|n| {
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
        assert_eq!(FEATURE_NAMES[idx::OFI + 3], "ofi_30s");
        assert_eq!(FEATURE_NAMES[idx::TFI], "tfi_1s");
        assert_eq!(FEATURE_NAMES[idx::LOG_VOLUME + 2], "log_volume_10s");
        assert_eq!(FEATURE_NAMES[idx::RETURN + 4], "return_60s_bps");
        assert_eq!(FEATURE_NAMES[idx::REALIZED_VOL + 1], "realized_vol_60s_bps");
        assert_eq!(
            FEATURE_NAMES[idx::TIME_SINCE_LAST_TRADE_S],
            "time_since_last_trade_s"
        );
    }

    #[test]
    fn only_mid_price_depends_on_the_price_level() {
        let not_free: Vec<_> = FEATURES
            .iter()
            .filter(|s| !s.scale_free)
            .map(|s| s.name)
            .collect();
        assert_eq!(not_free, ["mid_price"]);
    }

    #[test]
    fn signature_starts_with_the_version() {
        assert!(feature_list_signature().starts_with("v1:mid_price,microprice_dev_bps,"));
    }
}
