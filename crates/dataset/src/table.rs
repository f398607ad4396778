//! The CSV training table: `time_us, <FEATURE_NAMES…>, completeness, mid, future_mid, return_10s,
//! direction`. Floats use Rust's shortest round-trip formatting, so the file is deterministic.

use std::io::{self, Write};

use features::FEATURE_NAMES;

use crate::labels::LabeledRow;

/// Header columns in order.
pub fn header() -> Vec<String> {
    let mut cols = vec!["time_us".to_string()];
    cols.extend(FEATURE_NAMES.iter().map(|n| (*n).to_string()));
    cols.extend(["completeness", "mid", "future_mid", "return_10s", "direction"].map(String::from));
    cols
}

/// Writes the header and one line per row.
pub fn write_csv<W: Write>(out: &mut W, rows: &[LabeledRow<'_>]) -> io::Result<()> {
    writeln!(out, "{}", header().join(","))?;
    for row in rows {
        let f = &row.sample.features;
        write!(out, "{}", row.sample.time_us)?;
        for v in &f.values {
            write!(out, ",{v}")?;
        }
        writeln!(
            out,
            ",{},{},{},{},{}",
            f.completeness(),
            row.price,
            row.future_price,
            row.return_10s,
            row.direction.as_str()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Direction;
    use crate::replay::Sample;
    use features::{FeatureVector, N_FEATURES};

    #[test]
    fn every_line_has_as_many_fields_as_the_header() {
        let sample = Sample {
            time_us: 42,
            features: FeatureVector::default(),
            synced: true,
            price: Some(1.0),
        };
        let rows = [LabeledRow {
            sample: &sample,
            price: 61_600.005,
            future_price: 61_601.0,
            return_10s: 1.6e-5,
            direction: Direction::Flat,
        }];
        let mut buf = Vec::new();
        write_csv(&mut buf, &rows).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let n = lines[0].split(',').count();
        assert_eq!(n, 1 + N_FEATURES + 5);
        assert_eq!(lines[1].split(',').count(), n);
        assert!(lines[0].starts_with("time_us,mid_price,microprice_dev_bps,"));
        assert!(lines[1].starts_with("42,0,"));
        assert!(lines[1].ends_with(",61600.005,61601,0.000016,flat"));
    }
}
