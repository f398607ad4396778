//! Binance-compatible SBE market-data simulator (work in progress).
