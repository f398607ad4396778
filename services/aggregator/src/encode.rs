//! Hash fields of the Redis contract (`docs/redis-contract.md`), built from a [`Published`] state.
//! Pure: field/value pairs flattened for `HSET`.

use crate::cursor::Checkpoint;
use crate::state::Published;
use fred::types::Value;
use market::{InstrumentScale, Level};

/// Layout version of `{S}:features` (field `fmt`).
pub const CONTRACT_FORMAT: u32 = 1;

/// An exact decimal: `6160201` with 2 decimals → `61602.01`.
pub fn fixed(v: i64, decimals: u8) -> String {
    if decimals == 0 {
        return v.to_string();
    }
    let p = 10i128.pow(u32::from(decimals));
    let a = i128::from(v).abs();
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{}.{:0width$}", a / p, a % p, width = usize::from(decimals))
}

fn levels(ls: &[Level], s: &InstrumentScale) -> String {
    let mut out = String::with_capacity(ls.len() * 24);
    for (i, l) in ls.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&fixed(l.price, s.price_decimals));
        out.push(':');
        out.push_str(&fixed(l.qty, s.qty_decimals));
    }
    out
}

fn pair(out: &mut Vec<Value>, k: &'static str, v: impl Into<Value>) {
    out.push(k.into());
    out.push(v.into());
}

/// `values` as little-endian f64.
pub fn values_le(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn features_fields(p: &Published, _s: &InstrumentScale, now_us: i64, flush_seq: u64) -> Vec<Value> {
    let fv = &p.fv;
    let warm = fv
        .warm
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &w)| if w { m | (1 << i) } else { m });
    let mid = if fv.warm[features::spec::idx::MID_PRICE] {
        format!("{}", fv.values[features::spec::idx::MID_PRICE])
    } else {
        String::new()
    };
    let synced = p.state == market::SyncState::Synced;
    let mut out = Vec::with_capacity(32);
    pair(&mut out, "fmt", CONTRACT_FORMAT.to_string());
    pair(&mut out, "v", fv.version.to_string());
    pair(&mut out, "sig", features::feature_list_signature());
    pair(&mut out, "n", fv.values.len().to_string());
    pair(&mut out, "values", Value::Bytes(values_le(&fv.values).into()));
    pair(&mut out, "warm", warm.to_string());
    pair(&mut out, "completeness", fv.completeness().to_string());
    pair(&mut out, "mid", mid);
    pair(&mut out, "event_time_us", fv.event_time_us.to_string());
    pair(&mut out, "compute_time_us", now_us.to_string());
    pair(&mut out, "epoch", p.epoch.to_string());
    pair(&mut out, "state", p.state.as_str());
    pair(&mut out, "usable", if synced { "1" } else { "0" });
    pair(&mut out, "last_update_id", p.last_update_id.to_string());
    pair(&mut out, "flush_seq", flush_seq.to_string());
    out
}

pub fn book_fields(p: &Published, s: &InstrumentScale) -> Vec<Value> {
    let best = |ls: &[Level]| {
        ls.first()
            .map(|l| fixed(l.price, s.price_decimals))
            .unwrap_or_default()
    };
    let mut out = Vec::with_capacity(16);
    pair(&mut out, "epoch", p.epoch.to_string());
    pair(&mut out, "state", p.state.as_str());
    pair(&mut out, "last_update_id", p.last_update_id.to_string());
    pair(&mut out, "event_time_us", p.fv.event_time_us.to_string());
    pair(&mut out, "bids", levels(&p.bids, s));
    pair(&mut out, "asks", levels(&p.asks, s));
    pair(&mut out, "best_bid", best(&p.bids));
    pair(&mut out, "best_ask", best(&p.asks));
    out
}

pub fn anchor_fields(p: &Published, now_us: i64) -> Vec<Value> {
    let mut out = Vec::with_capacity(10);
    pair(&mut out, "epoch", p.epoch.to_string());
    pair(&mut out, "state", p.state.as_str());
    pair(&mut out, "last_update_id", p.last_update_id.to_string());
    pair(&mut out, "updated_us", now_us.to_string());
    pair(&mut out, "reanchors", p.reanchors.to_string());
    out
}

pub fn ckpt_fields(c: &Checkpoint, now_us: i64) -> Vec<Value> {
    let producers = c
        .producers
        .iter()
        .map(|(p, b)| format!("{p}:{b}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = Vec::with_capacity(18);
    pair(&mut out, "seq", c.seq.clone());
    pair(&mut out, "replay_from", c.replay_from.clone().unwrap_or_default());
    pair(
        &mut out,
        "anchor_seq",
        c.anchor.as_ref().map(|a| a.seq.clone()).unwrap_or_default(),
    );
    pair(
        &mut out,
        "anchor_index",
        c.anchor.as_ref().map(|a| a.index).unwrap_or(0).to_string(),
    );
    pair(
        &mut out,
        "anchor_epoch",
        c.anchor.as_ref().map(|a| a.epoch).unwrap_or(0).to_string(),
    );
    pair(&mut out, "producers", producers);
    pair(&mut out, "fence", c.fence.to_string());
    pair(&mut out, "epoch", c.epoch.to_string());
    pair(&mut out, "ended", if c.ended { "1" } else { "0" });
    pair(&mut out, "updated_us", now_us.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_values_print_exactly_with_their_decimals() {
        assert_eq!(fixed(6_160_201, 2), "61602.01");
        assert_eq!(fixed(100_000, 8), "0.00100000");
        assert_eq!(fixed(-5, 2), "-0.05");
    }

    #[test]
    fn values_are_little_endian_f64_in_feature_order() {
        let b = values_le(&[1.0, -2.5]);
        assert_eq!(b.len(), 16);
        assert_eq!(f64::from_le_bytes(b[8..16].try_into().unwrap()), -2.5);
    }
}
