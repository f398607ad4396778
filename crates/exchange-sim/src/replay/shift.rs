//! Moving a replayed pass forward in id and time space (for `--loop`), so update ids, trade ids and
//! timestamps keep rising across passes. Frames are patched in place at the schema's fixed offsets.

use binance_sbe::stream;
use market::{DepthDiff, DepthSnapshot};

/// Offsets added to every id and timestamp of one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shift {
    pub update_id: u64,
    pub trade_id: u64,
    pub time_us: u64,
}

/// Ranges seen during the first pass.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    update_ids: Option<(u64, u64)>,
    trade_ids: Option<(u64, u64)>,
    times_us: Option<(u64, u64)>,
}

fn widen(r: &mut Option<(u64, u64)>, v: u64) {
    *r = Some(r.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
}

fn period(r: Option<(u64, u64)>, pad: u64) -> u64 {
    r.map_or(pad, |(lo, hi)| hi - lo + pad)
}

impl Span {
    pub fn update_id(&mut self, v: u64) {
        widen(&mut self.update_ids, v);
    }
    pub fn trade_id(&mut self, v: u64) {
        widen(&mut self.trade_ids, v);
    }
    pub fn time_us(&mut self, v: u64) {
        widen(&mut self.times_us, v);
    }

    /// The shift of pass `pass` (0 = unshifted); passes are separated by one id and one second.
    pub fn shift(&self, pass: u64) -> Shift {
        Shift {
            update_id: pass.saturating_mul(period(self.update_ids, 1)),
            trade_id: pass.saturating_mul(period(self.trade_ids, 1)),
            time_us: pass.saturating_mul(period(self.times_us, 1_000_000)),
        }
    }
}

fn add_at(buf: &mut [u8], off: usize, delta: u64) {
    if let Some(b) = buf.get_mut(off..off + 8) {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(b);
        let v = i64::from_le_bytes(raw).wrapping_add_unsigned(delta);
        b.copy_from_slice(&v.to_le_bytes());
    }
}

fn u16_at(buf: &[u8], off: usize) -> usize {
    buf.get(off..off + 2)
        .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])))
}

impl Shift {
    /// No shift at all (first pass)?
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    /// Shifts a stream frame's ids and times in place (unknown templates are left alone).
    pub fn frame(&self, f: &mut [u8]) {
        let template = u16_at(f, 2);
        let t = self.time_us;
        if template == usize::from(stream::trades_stream_event::TEMPLATE_ID) {
            add_at(f, 8, t);
            add_at(f, 16, t);
            let group = 8 + u16_at(f, 0);
            let entry_len = u16_at(f, group);
            let count = f
                .get(group + 2..group + 6)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            for i in 0..count {
                add_at(f, group + 6 + i * entry_len, self.trade_id);
            }
        } else if template == usize::from(stream::best_bid_ask_stream_event::TEMPLATE_ID)
            || template == usize::from(stream::depth_snapshot_stream_event::TEMPLATE_ID)
        {
            add_at(f, 8, t);
            add_at(f, 16, self.update_id);
        } else if template == usize::from(stream::depth_diff_stream_event::TEMPLATE_ID) {
            add_at(f, 8, t);
            add_at(f, 16, self.update_id);
            add_at(f, 24, self.update_id);
        }
    }

    /// Shifts a diff.
    pub fn diff(&self, d: &mut DepthDiff) {
        d.first_update_id += self.update_id;
        d.last_update_id += self.update_id;
        d.event_time_us += self.time_us;
    }

    /// Shifts a snapshot.
    pub fn snapshot(&self, s: &mut DepthSnapshot) {
        s.last_update_id += self.update_id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use binance_sbe::{JsonContext, StreamEvent, decode_stream_frame, json_to_sbe};

    fn frame(json: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let ctx = JsonContext {
            fallback_event_time_us: Some(5),
            ..JsonContext::default()
        };
        json_to_sbe(json, &ctx, &mut out).unwrap();
        out
    }

    #[test]
    fn shifted_frames_decode_with_every_id_and_time_moved() {
        let s = Shift {
            update_id: 1000,
            trade_id: 100,
            time_us: 10,
        };
        let mut t =
            frame(r#"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1.00","q":"2.0","T":1,"m":true,"M":true}"#);
        s.frame(&mut t);
        let Ok(StreamEvent::Trades(d)) = decode_stream_frame(&t) else {
            panic!()
        };
        assert_eq!((d.event_time(), d.transact_time()), (1010, 1010));
        assert_eq!(d.trade_list().next().map(|x| x.id), Some(107));

        let mut b = frame(r#"{"u":3,"s":"BTCUSDT","b":"1.0","B":"1","a":"2.0","A":"1"}"#);
        s.frame(&mut b);
        let Ok(StreamEvent::BestBidAsk(d)) = decode_stream_frame(&b) else {
            panic!()
        };
        assert_eq!((d.event_time(), d.book_update_id()), (15, 1003));

        let mut x = frame(r#"{"e":"depthUpdate","E":2,"s":"BTCUSDT","U":4,"u":6,"b":[["1.0","1"]],"a":[]}"#);
        s.frame(&mut x);
        let Ok(StreamEvent::DepthDiff(d)) = decode_stream_frame(&x) else {
            panic!()
        };
        assert_eq!(
            (d.event_time(), d.first_book_update_id(), d.last_book_update_id()),
            (2010, 1004, 1006)
        );
    }

    #[test]
    fn pass_shifts_are_one_period_apart() {
        let mut span = Span::default();
        span.update_id(10);
        span.update_id(19);
        span.trade_id(5);
        span.time_us(0);
        span.time_us(500);
        assert!(span.shift(0).is_zero());
        assert_eq!(
            span.shift(2),
            Shift {
                update_id: 20,
                trade_id: 2,
                time_us: 2 * 1_000_500
            }
        );
    }
}
