//! Lines of the ingestor's recorder (`ingestor --record DIR`):
//!
//! ```text
//! <local_recv_ns> <base64(SBE frame)>          (standard alphabet, padding optional)
//! ```
//!
//! A frame of the stream schema (id 1: trade, bestBidAsk, depth20, depth diff) is served as recorded
//! on its stream; a REST `DepthResponse` (schema 3, template 200), should a recording hold one, is
//! loaded as the source's snapshot like the JSON recordings' snapshot lines. Depth diffs also feed
//! the served book.

use binance_sbe::{
    DecodeError, Level as SbeLevel, RestResponse, StreamEvent, decode_rest_response, decode_stream_frame,
};
use market::{DepthDiff, DepthSnapshot, InstrumentScale, Level};

use crate::streams::StreamKind;

const STREAM_SCHEMA_ID: u16 = 1;
const REST_SCHEMA_ID: u16 = 3;

/// What one recorded frame carries.
#[derive(Debug, Clone)]
pub(super) enum Decoded {
    /// A stream frame for `stream`.
    Frame {
        stream: StreamKind,
        /// Set for depth diffs (feeds the served book).
        diff: Option<DepthDiff>,
        event_time_us: u64,
        /// Book update ids (`U`, `u`, or the single id of bestBidAsk / depth20).
        update_ids: Vec<u64>,
        trade_ids: Vec<u64>,
    },
    /// A REST depth snapshot.
    Snapshot(DepthSnapshot),
}

/// Is `payload` (the text after the receive time) a JSON recording line rather than base64?
pub(super) fn is_json(payload: &str) -> bool {
    payload.trim_start().starts_with('{')
}

/// Standard base64 (RFC 4648 §4) into `out`; padding optional; `None` on anything else.
pub(super) fn base64_decode(s: &str, out: &mut Vec<u8>) -> Option<()> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    ENGINE.decode_vec(s.trim_end(), out).ok()
}

fn header_u16(frame: &[u8], offset: usize) -> Option<u16> {
    frame
        .get(offset..offset + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn levels(scale: &InstrumentScale, it: impl Iterator<Item = SbeLevel>) -> Result<Vec<Level>, String> {
    it.map(|l| {
        let price = scale
            .price_from_mantissa(l.price.mantissa, l.price.exponent)
            .map_err(|e| format!("price {}: {e}", l.price))?;
        let qty = scale
            .qty_from_mantissa(l.qty.mantissa, l.qty.exponent)
            .map_err(|e| format!("qty {}: {e}", l.qty))?;
        Ok(Level::new(price, qty))
    })
    .collect()
}

fn id(v: i64, what: &str) -> Result<u64, String> {
    u64::try_from(v).map_err(|_| format!("negative {what} {v}"))
}

fn decode_error(e: &DecodeError) -> String {
    format!("undecodable SBE frame: {e}")
}

/// Classifies and validates one recorded frame.
pub(super) fn decode(frame: &[u8], scale: &InstrumentScale) -> Result<Decoded, String> {
    match header_u16(frame, 4) {
        Some(STREAM_SCHEMA_ID) => {
            let event = decode_stream_frame(frame).map_err(|e| decode_error(&e))?;
            let event_time_us = id(event.event_time_us(), "event time")?;
            let (stream, diff, update_ids, trade_ids) = match event {
                StreamEvent::Trades(t) => {
                    let ids = t
                        .trade_list()
                        .map(|x| id(x.id, "trade id"))
                        .collect::<Result<_, _>>()?;
                    (StreamKind::Trade, None, Vec::new(), ids)
                }
                StreamEvent::BestBidAsk(b) => {
                    let u = id(b.book_update_id(), "update id")?;
                    (StreamKind::BestBidAsk, None, vec![u], Vec::new())
                }
                StreamEvent::DepthSnapshot(d) => {
                    let u = id(d.book_update_id(), "update id")?;
                    (StreamKind::Depth20, None, vec![u], Vec::new())
                }
                StreamEvent::DepthDiff(d) => {
                    let diff = DepthDiff {
                        first_update_id: id(d.first_book_update_id(), "update id")?,
                        last_update_id: id(d.last_book_update_id(), "update id")?,
                        event_time_us,
                        bids: levels(scale, d.bid_levels())?,
                        asks: levels(scale, d.ask_levels())?,
                    };
                    let ids = vec![diff.first_update_id, diff.last_update_id];
                    (StreamKind::Depth, Some(diff), ids, Vec::new())
                }
            };
            Ok(Decoded::Frame {
                stream,
                diff,
                event_time_us,
                update_ids,
                trade_ids,
            })
        }
        Some(REST_SCHEMA_ID) => match decode_rest_response(frame).map_err(|e| decode_error(&e))? {
            RestResponse::Depth(d) => Ok(Decoded::Snapshot(DepthSnapshot {
                last_update_id: id(d.last_update_id(), "lastUpdateId")?,
                bids: levels(scale, d.bid_levels())?,
                asks: levels(scale, d.ask_levels())?,
            })),
            RestResponse::Error(_) => Err("a recorded REST error response (not served)".into()),
        },
        Some(other) => Err(format!(
            "SBE schema id {other} is neither stream (1) nor REST (3)"
        )),
        None => Err(format!("a {}-byte frame has no SBE header", frame.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use binance_sbe::{JsonContext, json_to_sbe};

    fn sbe(json: &str) -> Vec<u8> {
        let ctx = JsonContext {
            fallback_event_time_us: Some(5),
            ..JsonContext::default()
        };
        let mut out = Vec::new();
        json_to_sbe(json, &ctx, &mut out).unwrap();
        out
    }

    fn b64(data: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    #[test]
    fn base64_decodes_the_rfc_4648_vectors_with_or_without_padding() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = Vec::new();
            assert_eq!(base64_decode(enc, &mut out), Some(()), "{enc}");
            assert_eq!(out, raw.as_bytes());
            out.clear();
            assert_eq!(base64_decode(enc.trim_end_matches('='), &mut out), Some(()));
            assert_eq!(out, raw.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        base64_decode(&b64(&all), &mut out).unwrap();
        assert_eq!(out, all);
        assert!(base64_decode("Zm9v!", &mut Vec::new()).is_none());
        assert!(base64_decode("Z", &mut Vec::new()).is_none());
        assert!(is_json(r#" {"stream":"x"}"#));
        assert!(!is_json("Zm9v"));
    }

    #[test]
    fn stream_frames_are_classified_with_their_ids() {
        let s = InstrumentScale::BTCUSDT_SPOT;
        let t =
            sbe(r#"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1.00","q":"2.0","T":1,"m":true,"M":true}"#);
        let Ok(Decoded::Frame {
            stream, trade_ids, ..
        }) = decode(&t, &s)
        else {
            panic!()
        };
        assert_eq!((stream, trade_ids), (StreamKind::Trade, vec![7]));

        let b = sbe(r#"{"u":3,"s":"BTCUSDT","b":"1.0","B":"1","a":"2.0","A":"1"}"#);
        let Ok(Decoded::Frame {
            stream,
            update_ids,
            event_time_us,
            ..
        }) = decode(&b, &s)
        else {
            panic!()
        };
        assert_eq!(
            (stream, update_ids, event_time_us),
            (StreamKind::BestBidAsk, vec![3], 5)
        );

        let d = sbe(
            r#"{"e":"depthUpdate","E":2,"s":"BTCUSDT","U":4,"u":6,"b":[["1.01","0.5"]],"a":[["1.02","0"]]}"#,
        );
        let Ok(Decoded::Frame {
            stream,
            diff: Some(diff),
            ..
        }) = decode(&d, &s)
        else {
            panic!()
        };
        assert_eq!(stream, StreamKind::Depth);
        assert_eq!(
            (diff.first_update_id, diff.last_update_id, diff.event_time_us),
            (4, 6, 2000)
        );
        assert_eq!(diff.bids, vec![Level::new(101, 50_000_000)]);
        assert_eq!(diff.asks, vec![Level::new(102, 0)]);

        let mut broken = d.clone();
        broken.truncate(d.len() / 2);
        assert!(decode(&broken, &s).unwrap_err().contains("undecodable"));
        assert!(decode(&[1, 2, 3], &s).unwrap_err().contains("no SBE header"));
    }

    #[test]
    fn a_rest_depth_body_is_a_snapshot() {
        let s = InstrumentScale::BTCUSDT_SPOT;
        let body = sbe(r#"{"lastUpdateId":10,"bids":[["99.00","1.0"]],"asks":[["101.00","2.0"]]}"#);
        let Ok(Decoded::Snapshot(snap)) = decode(&body, &s) else {
            panic!()
        };
        assert_eq!(snap.last_update_id, 10);
        assert_eq!(snap.bids, vec![Level::new(9900, 100_000_000)]);
        assert_eq!(snap.asks, vec![Level::new(10_100, 200_000_000)]);
    }
}
