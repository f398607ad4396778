//! The `{S}:features` hash of docs/redis-contract.md (layout `fmt` 1), decoded without I/O.
//! [`encode`] writes the same layout; tests and the bench use it to play the aggregator.

use bytes::Bytes;

/// Layout version this reader understands.
pub const FORMAT: u32 = 1;

/// `{S}:features`.
pub fn features_key(symbol: &str) -> String {
    format!("{{{symbol}}}:features")
}

/// Anchor state at the flush that wrote the vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnchorState {
    Synced,
    Buffering,
    Failed,
}

impl AnchorState {
    pub const fn as_str(self) -> &'static str {
        match self {
            AnchorState::Synced => "synced",
            AnchorState::Buffering => "buffering",
            AnchorState::Failed => "failed",
        }
    }
}

/// One decoded features hash.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureSnapshot {
    pub fmt: u32,
    /// `features::FEATURE_VERSION` of the writer.
    pub version: u32,
    /// `features::feature_list_signature()` of the writer.
    pub sig: String,
    /// The vector (f64, `FEATURE_NAMES` order).
    pub values: Vec<f64>,
    pub warm: u64,
    pub completeness: f64,
    /// Mid price (quote units), when known.
    pub mid: Option<f64>,
    pub event_time_us: i64,
    pub compute_time_us: i64,
    pub epoch: u64,
    pub state: AnchorState,
    pub usable: bool,
}

/// Why a features hash could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("features hash has no `{0}` field")]
    Missing(&'static str),
    #[error("features field `{field}` is malformed: {reason}")]
    Malformed { field: &'static str, reason: String },
    #[error("features hash layout fmt={0}, this reader understands fmt={FORMAT}")]
    Format(u32),
}

/// The fields of the hash this reader uses (the others are diagnostics, or added later by a
/// compatible change, and are skipped).
const FIELDS: [&str; 13] = [
    "fmt",
    "v",
    "sig",
    "n",
    "values",
    "warm",
    "completeness",
    "mid",
    "event_time_us",
    "compute_time_us",
    "epoch",
    "state",
    "usable",
];

/// One `HGETALL {S}:features` reply, as field slots: no map, no copies (the values share the
/// reply's read buffer). Filled field by field from the reply's pairs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawFeatures {
    slots: [Option<Bytes>; FIELDS.len()],
    /// Field/value pairs the reply held, used or not (0 ⇔ the key does not exist).
    pairs: usize,
}

impl RawFeatures {
    /// Records one field of the reply (unknown fields are counted and skipped).
    pub fn insert(&mut self, field: &[u8], value: Bytes) {
        self.pairs += 1;
        if let Some(i) = FIELDS.iter().position(|f| f.as_bytes() == field) {
            self.slots[i] = Some(value);
        }
    }

    /// Drops a field (tests: a hash without it).
    pub fn remove(&mut self, field: &str) {
        if let Some(i) = FIELDS.iter().position(|f| *f == field)
            && self.slots[i].take().is_some()
        {
            self.pairs -= 1;
        }
    }

    /// No field at all: the key does not exist.
    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }

    fn get(&self, field: &str) -> Option<&[u8]> {
        let i = FIELDS.iter().position(|f| *f == field)?;
        self.slots[i].as_deref()
    }
}

impl<K: AsRef<[u8]>, V: Into<Bytes>> FromIterator<(K, V)> for RawFeatures {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut raw = RawFeatures::default();
        for (k, v) in pairs {
            raw.insert(k.as_ref(), v.into());
        }
        raw
    }
}

type Fields = RawFeatures;

fn raw<'a>(f: &'a Fields, field: &'static str) -> Result<&'a [u8], DecodeError> {
    f.get(field).ok_or(DecodeError::Missing(field))
}

fn text<'a>(f: &'a Fields, field: &'static str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(raw(f, field)?).map_err(|e| DecodeError::Malformed {
        field,
        reason: e.to_string(),
    })
}

fn num<T: std::str::FromStr>(f: &Fields, field: &'static str) -> Result<T, DecodeError>
where
    T::Err: std::fmt::Display,
{
    let t = text(f, field)?;
    t.trim().parse::<T>().map_err(|e| DecodeError::Malformed {
        field,
        reason: format!("{t:?}: {e}"),
    })
}

/// Decodes an `HGETALL {S}:features` reply.
pub fn decode(f: &Fields) -> Result<FeatureSnapshot, DecodeError> {
    let fmt: u32 = num(f, "fmt")?;
    if fmt != FORMAT {
        return Err(DecodeError::Format(fmt));
    }
    let n: usize = num(f, "n")?;
    let bytes = raw(f, "values")?;
    if n > 4096 || bytes.len() != n * 8 {
        return Err(DecodeError::Malformed {
            field: "values",
            reason: format!("{} bytes for n = {n}", bytes.len()),
        });
    }
    let values = bytes
        .chunks_exact(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            f64::from_le_bytes(a)
        })
        .collect();
    let state = match text(f, "state")? {
        "synced" => AnchorState::Synced,
        "buffering" => AnchorState::Buffering,
        "failed" => AnchorState::Failed,
        other => {
            return Err(DecodeError::Malformed {
                field: "state",
                reason: format!("unknown state {other:?}"),
            });
        }
    };
    let mid_text = text(f, "mid")?.trim();
    let mid = if mid_text.is_empty() {
        None
    } else {
        Some(num::<f64>(f, "mid")?).filter(|m| m.is_finite() && *m > 0.0)
    };
    Ok(FeatureSnapshot {
        fmt,
        version: num(f, "v")?,
        sig: text(f, "sig")?.to_string(),
        values,
        warm: num(f, "warm")?,
        completeness: num(f, "completeness")?,
        mid,
        event_time_us: num(f, "event_time_us")?,
        compute_time_us: num(f, "compute_time_us")?,
        epoch: num(f, "epoch")?,
        state,
        usable: text(f, "usable")? == "1",
    })
}

/// The hash fields for `snap` (what the aggregator's flush writes; `last_update_id` and
/// `flush_seq` are diagnostics and written as 0).
pub fn encode(snap: &FeatureSnapshot) -> Vec<(&'static str, Vec<u8>)> {
    let values: Vec<u8> = snap.values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let s = |v: String| v.into_bytes();
    vec![
        ("fmt", s(snap.fmt.to_string())),
        ("v", s(snap.version.to_string())),
        ("sig", s(snap.sig.clone())),
        ("n", s(snap.values.len().to_string())),
        ("values", values),
        ("warm", s(snap.warm.to_string())),
        ("completeness", s(snap.completeness.to_string())),
        ("mid", s(snap.mid.map(|m| m.to_string()).unwrap_or_default())),
        ("event_time_us", s(snap.event_time_us.to_string())),
        ("compute_time_us", s(snap.compute_time_us.to_string())),
        ("epoch", s(snap.epoch.to_string())),
        ("state", s(snap.state.as_str().to_string())),
        ("usable", s(if snap.usable { "1" } else { "0" }.to_string())),
        ("last_update_id", s("0".into())),
        ("flush_seq", s("0".into())),
    ]
}

/// A complete, synced snapshot of the running feature list at `mid` (tests, bench, tools).
pub fn synced_snapshot(mid: f64, now_us: i64) -> FeatureSnapshot {
    let n = features::N_FEATURES;
    let mut values = vec![0.0; n];
    if let Some(v) = values.first_mut() {
        *v = mid;
    }
    FeatureSnapshot {
        fmt: FORMAT,
        version: features::FEATURE_VERSION,
        sig: features::feature_list_signature(),
        values,
        warm: if n >= 64 { u64::MAX } else { (1u64 << n) - 1 },
        completeness: 1.0,
        mid: Some(mid),
        event_time_us: now_us,
        compute_time_us: now_us,
        epoch: 1,
        state: AnchorState::Synced,
        usable: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(snap: &FeatureSnapshot) -> Fields {
        encode(snap).into_iter().collect()
    }

    #[test]
    fn encoded_snapshot_decodes_to_the_same_values() {
        let mut snap = synced_snapshot(61_602.015, 1_700_000_000_000_000);
        snap.values[5] = -0.125;
        snap.state = AnchorState::Buffering;
        snap.usable = false;
        assert_eq!(decode(&fields(&snap)), Ok(snap));
    }

    #[test]
    fn empty_mid_decodes_as_unknown() {
        let mut snap = synced_snapshot(1.0, 0);
        snap.mid = None;
        assert_eq!(decode(&fields(&snap)).map(|s| s.mid), Ok(None));
    }

    #[test]
    fn values_whose_length_disagrees_with_n_are_refused() {
        let mut f = fields(&synced_snapshot(1.0, 0));
        f.insert(b"values", Bytes::from_static(&[0u8; 12]));
        assert!(matches!(
            decode(&f),
            Err(DecodeError::Malformed { field: "values", .. })
        ));
    }

    #[test]
    fn unknown_layout_version_and_missing_fields_are_named() {
        let mut f = fields(&synced_snapshot(1.0, 0));
        f.remove("epoch");
        assert_eq!(decode(&f), Err(DecodeError::Missing("epoch")));
        f.insert(b"fmt", Bytes::from_static(b"2"));
        assert_eq!(decode(&f), Err(DecodeError::Format(2)));
    }

    #[test]
    fn reply_fields_this_reader_does_not_use_are_skipped() {
        let snap = synced_snapshot(1.0, 0);
        let mut f = fields(&snap);
        f.insert(b"added_by_a_compatible_change", Bytes::from_static(b"x"));
        assert_eq!(decode(&f), Ok(snap));
        assert!(RawFeatures::default().is_empty());
        assert!(!f.is_empty());
    }

    #[test]
    fn unknown_anchor_state_is_malformed() {
        let mut f = fields(&synced_snapshot(1.0, 0));
        f.insert(b"state", Bytes::from_static(b"weird"));
        assert!(matches!(
            decode(&f),
            Err(DecodeError::Malformed { field: "state", .. })
        ));
    }
}
