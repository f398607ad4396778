//! Exact decimals: an `i64` mantissa and an `i8` exponent (value = mantissa × 10^exponent), as
//! Binance SBE sends prices and quantities. Parsing and formatting are exact (no float on the way).

use core::fmt;

/// `mantissa × 10^exponent`. Equality is structural (`1.50` ≠ `1.5`); use [`Decimal::same_value`]
/// to compare values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    pub mantissa: i64,
    pub exponent: i8,
}

/// Why a decimal string could not be represented exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("not a plain decimal number")]
    Syntax,
    #[error("mantissa does not fit in i64")]
    Overflow,
    #[error("exponent does not fit in i8")]
    ExponentRange,
    #[error("value cannot be expressed at the requested exponent without rounding")]
    Inexact,
}

impl DecimalError {
    /// A short, bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Syntax => "decimal_syntax",
            Self::Overflow => "decimal_overflow",
            Self::ExponentRange => "decimal_exponent_range",
            Self::Inexact => "decimal_inexact",
        }
    }
}

/// 10^n for n in 0..=18 (the powers that fit in i64).
const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

fn pow10(n: u32) -> Option<i64> {
    POW10.get(n as usize).copied()
}

impl Decimal {
    pub const fn new(mantissa: i64, exponent: i8) -> Self {
        Self { mantissa, exponent }
    }

    /// Parses a plain decimal string (`-12.3400`, `5`, `.5`) keeping every written digit, so the
    /// exponent is minus the number of fractional digits and [`fmt::Display`] gives the input back.
    pub fn parse(s: &str) -> Result<Self, DecimalError> {
        let b = s.as_bytes();
        let (neg, digits) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            Some(b'+') => (false, &b[1..]),
            _ => (false, b),
        };
        let mut mantissa: i64 = 0;
        let mut frac_digits: u32 = 0;
        let mut seen_dot = false;
        let mut seen_digit = false;
        for &c in digits {
            match c {
                b'0'..=b'9' => {
                    seen_digit = true;
                    let d = i64::from(c - b'0');
                    mantissa = mantissa
                        .checked_mul(10)
                        .and_then(|m| if neg { m.checked_sub(d) } else { m.checked_add(d) })
                        .ok_or(DecimalError::Overflow)?;
                    if seen_dot {
                        frac_digits += 1;
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => return Err(DecimalError::Syntax),
            }
        }
        if !seen_digit {
            return Err(DecimalError::Syntax);
        }
        let exponent = i8::try_from(frac_digits).map_err(|_| DecimalError::ExponentRange)?;
        Ok(Self {
            mantissa,
            exponent: -exponent,
        })
    }

    /// Parses `s` and expresses it exactly at `exponent` (e.g. all prices of one message share an
    /// exponent). Fails with `Inexact` when that would drop non-zero digits.
    pub fn parse_at(s: &str, exponent: i8) -> Result<Self, DecimalError> {
        Self::parse(s)?.rescale(exponent)
    }

    /// The same value at another exponent, exactly.
    pub fn rescale(self, exponent: i8) -> Result<Self, DecimalError> {
        let diff = i32::from(self.exponent) - i32::from(exponent);
        let mantissa = if diff >= 0 {
            if self.mantissa == 0 {
                0
            } else {
                pow10(diff.unsigned_abs())
                    .and_then(|p| self.mantissa.checked_mul(p))
                    .ok_or(DecimalError::Overflow)?
            }
        } else {
            match pow10(diff.unsigned_abs()) {
                Some(p) if self.mantissa % p == 0 => self.mantissa / p,
                None if self.mantissa == 0 => 0,
                _ => return Err(DecimalError::Inexact),
            }
        };
        Ok(Self { mantissa, exponent })
    }

    /// The value as a whole number of ticks of size 10^`tick_exponent` (e.g. -2 for 0.01), or
    /// `None` when it is not on that grid or does not fit.
    pub fn to_ticks(self, tick_exponent: i8) -> Option<i64> {
        self.rescale(tick_exponent).ok().map(|d| d.mantissa)
    }

    /// Nearest f64 (exact-to-rounding while |mantissa| < 2^53 and |exponent| ≤ 22).
    pub fn to_f64(self) -> f64 {
        let m = self.mantissa as f64;
        let e = i32::from(self.exponent);
        if e >= 0 {
            m * 10f64.powi(e)
        } else {
            m / 10f64.powi(-e)
        }
    }

    /// True when both denote the same number, whatever their exponents.
    pub fn same_value(self, other: Self) -> bool {
        let e = self.exponent.min(other.exponent);
        match (self.rescale(e), other.rescale(e)) {
            (Ok(a), Ok(b)) => a.mantissa == b.mantissa,
            _ => false,
        }
    }
}

impl fmt::Display for Decimal {
    /// Exact decimal string with exactly `-exponent` fractional digits when the exponent is negative.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.mantissa < 0;
        let abs = self.mantissa.unsigned_abs();
        if neg {
            f.write_str("-")?;
        }
        if self.exponent >= 0 {
            write!(f, "{abs}")?;
            if abs != 0 {
                for _ in 0..self.exponent {
                    f.write_str("0")?;
                }
            }
            return Ok(());
        }
        let frac = u32::from(self.exponent.unsigned_abs());
        let width = frac as usize;
        match 10u64.checked_pow(frac) {
            Some(p) => write!(f, "{}.{:0width$}", abs / p, abs % p),
            None => write!(f, "0.{abs:0>width$}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_then_display_gives_the_binance_string_back() {
        for s in [
            "61837.63000000",
            "0.00000000",
            "0.00100000",
            "-1.5",
            "12",
            "0",
            "-0.01",
        ] {
            assert_eq!(Decimal::parse(s).unwrap().to_string(), s, "{s}");
        }
    }

    #[test]
    fn parse_keeps_written_digits_as_exponent() {
        assert_eq!(
            Decimal::parse("61837.63000000"),
            Ok(Decimal::new(6_183_763_000_000, -8))
        );
        assert_eq!(Decimal::parse(".5"), Ok(Decimal::new(5, -1)));
    }

    #[test]
    fn parse_rejects_garbage_and_overflow() {
        for s in ["", "-", ".", "1.2.3", "1e5", "abc", " 1"] {
            assert_eq!(Decimal::parse(s), Err(DecimalError::Syntax), "{s:?}");
        }
        assert_eq!(
            Decimal::parse("99999999999999999999"),
            Err(DecimalError::Overflow)
        );
        assert_eq!(
            Decimal::parse("-9223372036854775808"),
            Ok(Decimal::new(i64::MIN, 0))
        );
    }

    #[test]
    fn display_pads_small_values_and_handles_positive_exponents() {
        assert_eq!(Decimal::new(5, -3).to_string(), "0.005");
        assert_eq!(Decimal::new(-5, -3).to_string(), "-0.005");
        assert_eq!(Decimal::new(12, 2).to_string(), "1200");
        assert_eq!(Decimal::new(i64::MIN, -2).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn rescale_is_exact_or_refuses() {
        assert_eq!(Decimal::parse_at("1.5", -8), Ok(Decimal::new(150_000_000, -8)));
        assert_eq!(Decimal::new(150, -2).rescale(-1), Ok(Decimal::new(15, -1)));
        assert_eq!(Decimal::new(151, -2).rescale(-1), Err(DecimalError::Inexact));
        assert_eq!(Decimal::new(i64::MAX, 0).rescale(-1), Err(DecimalError::Overflow));
    }

    #[test]
    fn ticks_and_floats() {
        let p = Decimal::parse("61837.63000000").unwrap();
        assert_eq!(p.to_ticks(-2), Some(6_183_763));
        assert_eq!(Decimal::new(61_837_635, -3).to_ticks(-2), None);
        assert_eq!(p.to_f64(), 61837.63);
        assert!(p.same_value(Decimal::new(6_183_763, -2)));
        assert!(!p.same_value(Decimal::new(6_183_764, -2)));
    }
}
