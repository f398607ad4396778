//! Minimal `GET /api/v3/exchangeInfo` (JSON): the rate limits the simulator enforces and the one
//! symbol it serves, with its price and lot filters.

use crate::frames::decimal_text;
use crate::hub::{Shared, now_us};

/// The JSON body.
pub fn json(shared: &Shared) -> String {
    let cfg = &shared.cfg;
    let scale = &shared.scale;
    let (base, quote) = cfg
        .symbol
        .strip_suffix("USDT")
        .map_or((cfg.symbol.as_str(), ""), |b| (b, "USDT"));
    serde_json::json!({
        "timezone": "UTC",
        "serverTime": now_us() / 1000,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": cfg.rest_weight_limit},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [{
            "symbol": cfg.symbol,
            "status": "TRADING",
            "baseAsset": base,
            "baseAssetPrecision": 8,
            "quoteAsset": quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "MARKET"],
            "isSpotTradingAllowed": true,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": decimal_text(1, scale.price_decimals),
                 "maxPrice": "1000000.00000000", "tickSize": decimal_text(1, scale.price_decimals)},
                {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
                 "stepSize": "0.00001000"},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
        }],
    })
    .to_string()
}
