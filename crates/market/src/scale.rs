//! Exact fixed-point conversion between exchange decimals and integer ticks / lots.
//!
//! Prices are held as `i64` ticks (`price = ticks * 10^-price_decimals`) and quantities as `i64` lots
//! (`qty = lots * 10^-qty_decimals`). Conversions never round: a value that is not a whole number of ticks
//! (or lots) is an error, so a book built from exchange data is exact.

use std::fmt;

/// Price ticks (`price * 10^price_decimals`).
pub type Ticks = i64;
/// Quantity lots (`qty * 10^qty_decimals`).
pub type Lots = i64;

/// Largest supported number of decimals (10^18 still fits in `i64`).
const MAX_DECIMALS: u8 = 18;

/// Per-instrument scale: how many decimals one price tick and one quantity lot represent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentScale {
    /// Decimals of the price tick (BTCUSDT spot: tick 0.01 → 2).
    pub price_decimals: u8,
    /// Decimals of one quantity lot (BTCUSDT spot: 8, see [`Self::BTCUSDT_SPOT`]).
    pub qty_decimals: u8,
}

impl InstrumentScale {
    /// Binance spot BTCUSDT: price tick 0.01 → 2 price decimals.
    ///
    /// The exchange's quantity step is 0.00001, but resting orders placed under an older, finer step still
    /// appear in depth data (the 2024-08-08 recording holds `25.426189` at 200000.00), so quantities use
    /// Binance's wire precision of 8 decimals. Exactness beats a tighter lot.
    pub const BTCUSDT_SPOT: Self = Self {
        price_decimals: 2,
        qty_decimals: 8,
    };

    /// Parses a decimal price string (e.g. `"61602.01000000"`) into exact ticks.
    pub fn parse_price(&self, s: &str) -> Result<Ticks, DecimalError> {
        parse_fixed(s, self.price_decimals)
    }

    /// Parses a decimal quantity string (e.g. `"0.00100000"`) into exact lots.
    pub fn parse_qty(&self, s: &str) -> Result<Lots, DecimalError> {
        parse_fixed(s, self.qty_decimals)
    }

    /// Converts an SBE-style decimal (`mantissa * 10^exponent`) into exact ticks.
    pub fn price_from_mantissa(&self, mantissa: i64, exponent: i8) -> Result<Ticks, DecimalError> {
        rescale(mantissa, exponent, self.price_decimals)
    }

    /// Converts an SBE-style decimal (`mantissa * 10^exponent`) into exact lots.
    pub fn qty_from_mantissa(&self, mantissa: i64, exponent: i8) -> Result<Lots, DecimalError> {
        rescale(mantissa, exponent, self.qty_decimals)
    }

    /// Price in quote units as `f64` (only for features and display; never for book keys).
    pub fn price_f64(&self, ticks: Ticks) -> f64 {
        ticks as f64 / pow10_f64(self.price_decimals)
    }

    /// Quantity in base units as `f64`.
    pub fn qty_f64(&self, lots: Lots) -> f64 {
        lots as f64 / pow10_f64(self.qty_decimals)
    }
}

/// Why a decimal could not be converted exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Empty string, stray characters, or more than one `.`.
    Malformed,
    /// The value has non-zero digits below the tick / lot size.
    OffScale,
    /// The value does not fit in `i64` ticks / lots.
    Overflow,
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed decimal",
            Self::OffScale => "decimal is not a whole number of ticks/lots",
            Self::Overflow => "decimal overflows i64 ticks/lots",
        })
    }
}

impl std::error::Error for DecimalError {}

fn pow10_f64(decimals: u8) -> f64 {
    10f64.powi(i32::from(decimals))
}

fn pow10_i64(exp: u32) -> Option<i64> {
    10i64.checked_pow(exp)
}

/// Parses `[-]digits[.digits]` into `value * 10^decimals`, exactly.
pub fn parse_fixed(s: &str, decimals: u8) -> Result<i64, DecimalError> {
    if decimals > MAX_DECIMALS {
        return Err(DecimalError::Overflow);
    }
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(DecimalError::Malformed);
    }
    let mut acc: i64 = 0;
    for b in int_part.bytes() {
        acc = push_digit(acc, b)?;
    }
    let mut used = 0u8;
    for b in frac_part.bytes() {
        if used < decimals {
            acc = push_digit(acc, b)?;
            used += 1;
        } else if b != b'0' {
            return Err(if b.is_ascii_digit() {
                DecimalError::OffScale
            } else {
                DecimalError::Malformed
            });
        }
    }
    let pad = pow10_i64(u32::from(decimals - used)).ok_or(DecimalError::Overflow)?;
    let value = acc.checked_mul(pad).ok_or(DecimalError::Overflow)?;
    Ok(if negative { -value } else { value })
}

fn push_digit(acc: i64, b: u8) -> Result<i64, DecimalError> {
    if !b.is_ascii_digit() {
        return Err(DecimalError::Malformed);
    }
    acc.checked_mul(10)
        .and_then(|v| v.checked_add(i64::from(b - b'0')))
        .ok_or(DecimalError::Overflow)
}

/// `mantissa * 10^exponent` expressed in units of `10^-decimals`, exactly.
fn rescale(mantissa: i64, exponent: i8, decimals: u8) -> Result<i64, DecimalError> {
    let shift = i32::from(exponent) + i32::from(decimals);
    if shift >= 0 {
        let factor = pow10_i64(shift.unsigned_abs()).ok_or(DecimalError::Overflow)?;
        mantissa.checked_mul(factor).ok_or(DecimalError::Overflow)
    } else {
        let Some(divisor) = pow10_i64(shift.unsigned_abs()) else {
            return if mantissa == 0 {
                Ok(0)
            } else {
                Err(DecimalError::OffScale)
            };
        };
        if mantissa % divisor != 0 {
            return Err(DecimalError::OffScale);
        }
        Ok(mantissa / divisor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_fixed_converts_exchange_strings_exactly() {
        let cases: &[(&str, u8, Result<i64, DecimalError>)] = &[
            ("61602.01000000", 2, Ok(6_160_201)),
            ("0.00100000", 5, Ok(100)),
            ("0.00000000", 5, Ok(0)),
            ("12", 2, Ok(1200)),
            ("12.", 2, Ok(1200)),
            (".5", 2, Ok(50)),
            ("-1.25", 2, Ok(-125)),
            ("0.001", 2, Err(DecimalError::OffScale)),
            ("1.2x", 2, Err(DecimalError::Malformed)),
            ("", 2, Err(DecimalError::Malformed)),
            (".", 2, Err(DecimalError::Malformed)),
            ("1.2.3", 2, Err(DecimalError::Malformed)),
            ("99999999999999999999", 2, Err(DecimalError::Overflow)),
        ];
        for (input, decimals, expected) in cases {
            assert_eq!(parse_fixed(input, *decimals), *expected, "input {input:?}");
        }
    }

    #[test]
    fn mantissa_exponent_rescales_to_ticks_or_rejects_sub_tick_values() {
        let s = InstrumentScale::BTCUSDT_SPOT;
        assert_eq!(s.price_from_mantissa(6_160_201_000_000, -8), Ok(6_160_201));
        assert_eq!(s.price_from_mantissa(616_020_100, -4), Ok(6_160_201));
        assert_eq!(s.price_from_mantissa(61_602, 0), Ok(6_160_200));
        assert_eq!(s.price_from_mantissa(61_602_015, -3), Err(DecimalError::OffScale));
        assert_eq!(s.qty_from_mantissa(100_000, -8), Ok(100_000));
        assert_eq!(s.qty_from_mantissa(1, 127), Err(DecimalError::Overflow));
        assert_eq!(s.qty_from_mantissa(0, -128), Ok(0));
    }

    #[test]
    fn ticks_convert_back_to_quote_units() {
        let s = InstrumentScale::BTCUSDT_SPOT;
        assert!((s.price_f64(6_160_201) - 61_602.01).abs() < 1e-9);
        assert!((s.qty_f64(100_000) - 0.001).abs() < 1e-12);
    }
}
