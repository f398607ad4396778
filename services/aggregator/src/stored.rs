//! Values read back from Redis, validated before use (pure): checkpoints, the flush script's
//! repair report, decimals as the Lua scripts compare them. Garbled values are never guessed at;
//! what is dropped is named so the caller can log and count it.

use crate::cursor::{AnchorPoint, Checkpoint};
use metrics_schema::labels::StateRepair;
use std::collections::HashMap;

/// The kinds the flush script reported as repaired (`REPAIRED a,b`), deduplicated.
pub fn parse_repairs(reply: &str) -> Vec<StateRepair> {
    let Some(list) = reply.strip_prefix("REPAIRED ") else {
        return Vec::new();
    };
    let mut out: Vec<StateRepair> = list
        .split(',')
        .map(|k| match k {
            "fence" => StateRepair::CorruptFence,
            _ => StateRepair::CorruptAnchorEpoch,
        })
        .collect();
    out.dedup();
    out
}

/// A decimal u64 as the Lua scripts accept it (digits only, at most 15: exact in a Lua double).
pub fn valid_number(v: &str) -> Option<u64> {
    (!v.is_empty() && v.len() <= 15 && v.bytes().all(|b| b.is_ascii_digit()))
        .then(|| v.parse().ok())
        .flatten()
}

/// A Kinesis sequence number: decimal digits, at most 128.
fn valid_sequence(v: &str) -> bool {
    !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_digit())
}

/// Parses `{S}:ckpt:<shard>`. Garbled values are never guessed at: a garbled `seq` drops the whole
/// checkpoint (the shard is re-read from the initial position and the state rebuilt), a garbled
/// `replay_from` replays from the trim horizon, a garbled anchor opens a new epoch, a garbled
/// `fence`/`epoch` counts as 0 (the flush script overwrites it). The names of the garbled fields
/// come back for the error log and the repair metric.
pub fn parse_checkpoint(h: &HashMap<String, String>) -> (Option<Checkpoint>, Vec<&'static str>) {
    let mut bad = Vec::new();
    let get = |k: &str| h.get(k).filter(|v| !v.is_empty());
    let mut num = |k: &'static str| match get(k) {
        None => None,
        Some(v) => {
            let n = valid_number(v);
            if n.is_none() {
                bad.push(k);
            }
            n
        }
    };
    let fence = num("fence").unwrap_or(0);
    let epoch = num("epoch").unwrap_or(0);
    let anchor_index = num("anchor_index");
    let anchor_epoch = num("anchor_epoch");
    let mut seq_field = |k: &'static str| match get(k) {
        Some(v) if valid_sequence(v) => Some(v.clone()),
        Some(_) => {
            bad.push(k);
            None
        }
        None => None,
    };
    let Some(seq) = seq_field("seq") else {
        return (None, bad);
    };
    let replay_from = seq_field("replay_from");
    let anchor = match (seq_field("anchor_seq"), anchor_epoch) {
        (Some(s), Some(e)) if e > 0 => Some(AnchorPoint {
            seq: s,
            index: anchor_index.unwrap_or(0).min(u64::from(u32::MAX)) as u32,
            epoch: e,
        }),
        _ => None,
    };
    let producers = get("producers")
        .map(|p| {
            p.split(',')
                .filter_map(|pair| {
                    let (a, b) = pair.split_once(':')?;
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    let ckpt = Checkpoint {
        seq,
        replay_from,
        anchor,
        producers,
        fence,
        epoch,
        ended: get("ended").is_some_and(|v| v == "1"),
    };
    (Some(ckpt), bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_valid_checkpoint_parses_with_nothing_garbled() {
        let (c, bad) = parse_checkpoint(&h(&[
            ("seq", "123"),
            ("replay_from", "100"),
            ("anchor_seq", "110"),
            ("anchor_index", "2"),
            ("anchor_epoch", "3"),
            ("producers", "7:9"),
            ("fence", "4"),
            ("epoch", "3"),
            ("ended", "1"),
        ]));
        let c = c.unwrap();
        assert!(bad.is_empty());
        assert_eq!((c.seq.as_str(), c.fence, c.epoch, c.ended), ("123", 4, 3, true));
        assert_eq!(
            c.anchor.map(|a| (a.seq, a.index, a.epoch)),
            Some(("110".into(), 2, 3))
        );
        assert_eq!(c.producers, vec![(7, 9)]);
    }

    #[test]
    fn garbled_fields_are_dropped_and_named_never_guessed() {
        let (c, bad) = parse_checkpoint(&h(&[("seq", "12ab"), ("fence", "3")]));
        assert!(c.is_none(), "a garbled sequence drops the checkpoint");
        assert_eq!(bad, vec!["seq"]);
        let (c, bad) = parse_checkpoint(&h(&[
            ("seq", "500"),
            ("replay_from", "-1"),
            ("anchor_seq", "400"),
            ("anchor_epoch", "x"),
            ("fence", "1e3"),
        ]));
        let c = c.unwrap();
        assert_eq!((c.replay_from, c.anchor, c.fence), (None, None, 0));
        assert_eq!(bad, vec!["fence", "anchor_epoch", "replay_from"]);
    }

    #[test]
    fn numbers_are_what_the_lua_scripts_accept() {
        assert_eq!(valid_number("42"), Some(42));
        for v in ["", "-1", "4.2", "1e3", " 4", "1234567890123456"] {
            assert_eq!(valid_number(v), None, "{v:?}");
        }
        assert_eq!(
            parse_repairs("REPAIRED anchor_epoch,anchor_epoch,fence"),
            vec![StateRepair::CorruptAnchorEpoch, StateRepair::CorruptFence]
        );
        assert!(parse_repairs("OK").is_empty());
    }
}
