//! Market events (exact ticks / lots) → Binance SBE frames, plus the REST depth bodies (SBE and JSON)
//! and the deliberately broken frames used by fault injection.
//!
//! Prices are written with exponent `-price_decimals` and quantities with `-qty_decimals` of the
//! instrument scale (BTCUSDT: −2 / −8), so every value is exact.

use binance_sbe::{EncodeError, rest, stream};
use market::{BestBidAsk, DepthDiff, InstrumentScale, Level, TopOfBook, Trade};

/// Exponents of an instrument scale.
fn exponents(scale: &InstrumentScale) -> (i8, i8) {
    (
        -(scale.price_decimals.min(18) as i8),
        -(scale.qty_decimals.min(18) as i8),
    )
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// One `TradesStreamEvent` carrying every trade of one matching event (same transact time).
pub fn trades(
    out: &mut Vec<u8>,
    scale: &InstrumentScale,
    transact_time_us: u64,
    fills: &[Trade],
    symbol: &str,
) -> Result<(), EncodeError> {
    let (pe, qe) = exponents(scale);
    let event_time = fills.first().map_or(transact_time_us, |t| t.event_time_us);
    let mut enc = stream::TradesStreamEventEncoder::new(out);
    enc.event_time(clamp_i64(event_time))
        .transact_time(clamp_i64(transact_time_us))
        .price_exponent(pe)
        .qty_exponent(qe);
    {
        let mut g = enc.trades()?;
        for t in fills {
            let maker = if t.is_buyer_maker {
                stream::BoolEnum::True
            } else {
                stream::BoolEnum::False
            };
            g.entry()?
                .id(clamp_i64(t.trade_id))
                .price(t.price)
                .qty(t.qty)
                .is_buyer_maker(maker);
        }
    }
    enc.symbol(symbol)?;
    let _ = enc.finish();
    Ok(())
}

/// One `BestBidAskStreamEvent`.
pub fn best_bid_ask(
    out: &mut Vec<u8>,
    scale: &InstrumentScale,
    bba: &BestBidAsk,
    symbol: &str,
) -> Result<(), EncodeError> {
    let (pe, qe) = exponents(scale);
    let mut enc = stream::BestBidAskStreamEventEncoder::new(out);
    enc.event_time(clamp_i64(bba.event_time_us))
        .book_update_id(clamp_i64(bba.update_id))
        .price_exponent(pe)
        .qty_exponent(qe)
        .bid_price(bba.bid.price)
        .bid_qty(bba.bid.qty)
        .ask_price(bba.ask.price)
        .ask_qty(bba.ask.qty);
    enc.symbol(symbol)?;
    let _ = enc.finish();
    Ok(())
}

/// One `DepthDiffStreamEvent`.
pub fn depth_diff(
    out: &mut Vec<u8>,
    scale: &InstrumentScale,
    diff: &DepthDiff,
    symbol: &str,
) -> Result<(), EncodeError> {
    let (pe, qe) = exponents(scale);
    let mut enc = stream::DepthDiffStreamEventEncoder::new(out);
    enc.event_time(clamp_i64(diff.event_time_us))
        .first_book_update_id(clamp_i64(diff.first_update_id))
        .last_book_update_id(clamp_i64(diff.last_update_id))
        .price_exponent(pe)
        .qty_exponent(qe);
    {
        let mut g = enc.bids()?;
        for l in &diff.bids {
            g.entry()?.price(l.price).qty(l.qty);
        }
    }
    {
        let mut g = enc.asks()?;
        for l in &diff.asks {
            g.entry()?.price(l.price).qty(l.qty);
        }
    }
    enc.symbol(symbol)?;
    let _ = enc.finish();
    Ok(())
}

/// One `DepthSnapshotStreamEvent` (`@depth20`) from the top of the book.
pub fn depth20(
    out: &mut Vec<u8>,
    scale: &InstrumentScale,
    event_time_us: u64,
    update_id: u64,
    top: &TopOfBook,
    symbol: &str,
) -> Result<(), EncodeError> {
    let (pe, qe) = exponents(scale);
    let mut enc = stream::DepthSnapshotStreamEventEncoder::new(out);
    enc.event_time(clamp_i64(event_time_us))
        .book_update_id(clamp_i64(update_id))
        .price_exponent(pe)
        .qty_exponent(qe);
    {
        let mut g = enc.bids()?;
        for l in &top.bids {
            g.entry()?.price(l.price).qty(l.qty);
        }
    }
    {
        let mut g = enc.asks()?;
        for l in &top.asks {
            g.entry()?.price(l.price).qty(l.qty);
        }
    }
    enc.symbol(symbol)?;
    let _ = enc.finish();
    Ok(())
}

/// REST `DepthResponse` (template 200) with the schema version the client asked for (the depth layout
/// is identical in versions 2–5).
pub fn rest_depth(
    out: &mut Vec<u8>,
    scale: &InstrumentScale,
    last_update_id: u64,
    top: &TopOfBook,
    version: u16,
) -> Result<(), EncodeError> {
    let start = out.len();
    let (pe, qe) = exponents(scale);
    let mut enc = rest::DepthResponseEncoder::new(out);
    enc.last_update_id(clamp_i64(last_update_id))
        .price_exponent(pe)
        .qty_exponent(qe);
    {
        let mut g = enc.bids()?;
        for l in &top.bids {
            g.entry()?.price(l.price).qty(l.qty);
        }
    }
    {
        let mut g = enc.asks()?;
        for l in &top.asks {
            g.entry()?.price(l.price).qty(l.qty);
        }
    }
    let _ = enc.finish();
    set_header_version(out, start, version);
    Ok(())
}

/// REST `ErrorResponse` (template 100).
pub fn rest_error(
    out: &mut Vec<u8>,
    code: i16,
    msg: &str,
    server_time_us: u64,
    retry_after_us: Option<u64>,
    version: u16,
) -> Result<(), EncodeError> {
    let start = out.len();
    let mut enc = rest::ErrorResponseEncoder::new(out);
    enc.code(code)
        .server_time(Some(clamp_i64(server_time_us)))
        .retry_after(retry_after_us.map(clamp_i64));
    enc.msg(msg)?;
    let _ = enc.finish();
    set_header_version(out, start, version);
    Ok(())
}

fn set_header_version(out: &mut [u8], start: usize, version: u16) {
    if let Some(v) = out.get_mut(start + 6..start + 8) {
        v.copy_from_slice(&version.to_le_bytes());
    }
}

/// Binance's decimal text (`"61602.01000000"`): the value with 8 fractional digits.
pub fn decimal_text(value: i64, decimals: u8) -> String {
    const OUT: u32 = 8;
    let decimals = u32::from(decimals.min(8));
    let scaled = i128::from(value) * 10i128.pow(OUT - decimals);
    let sign = if scaled < 0 { "-" } else { "" };
    let abs = scaled.unsigned_abs();
    let unit = 10u128.pow(OUT);
    format!("{sign}{}.{:08}", abs / unit, abs % unit)
}

/// REST `GET /api/v3/depth` JSON body.
pub fn rest_depth_json(scale: &InstrumentScale, last_update_id: u64, top: &TopOfBook) -> String {
    let side = |levels: &[Level]| -> Vec<[String; 2]> {
        levels
            .iter()
            .map(|l| {
                [
                    decimal_text(l.price, scale.price_decimals),
                    decimal_text(l.qty, scale.qty_decimals),
                ]
            })
            .collect()
    };
    serde_json::json!({
        "lastUpdateId": last_update_id,
        "bids": side(&top.bids),
        "asks": side(&top.asks),
    })
    .to_string()
}

/// A frame with a valid stream-schema header but a template id the schema does not define.
pub fn unknown_template(template_id: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    for v in [16u16, template_id, stream::SCHEMA_ID, stream::SCHEMA_VERSION] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&[0u8; 16]);
    out
}

/// The frame with its header's block length overwritten so the root block runs past the end.
pub fn corrupt(frame: &[u8]) -> Vec<u8> {
    let mut out = frame.to_vec();
    if let Some(b) = out.get_mut(0..2) {
        b.copy_from_slice(&u16::MAX.to_le_bytes());
    }
    out
}

/// The first half of the frame.
pub fn truncated(frame: &[u8]) -> Vec<u8> {
    frame.get(..frame.len() / 2).unwrap_or_default().to_vec()
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
