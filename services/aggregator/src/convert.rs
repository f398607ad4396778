//! Pipeline events (mantissa + exponent, wire views) → `market` inputs in exact ticks and lots.
//! Pure; an off-scale or negative value makes the event poison (counted and skipped by the caller).

use market::{BestBidAsk, DepthDiff, DepthSnapshot, InstrumentScale, Level, Trade};
use pipeline_events::schema::BestBidAskDecoder;
use pipeline_events::schema::{BoolEnum, DepthDiffDecoder, DepthSnapshotDecoder, TradeDecoder};

/// Why an event could not be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unconvertible;

fn u(v: i64) -> Result<u64, Unconvertible> {
    u64::try_from(v).map_err(|_| Unconvertible)
}

fn level(scale: &InstrumentScale, p: i64, q: i64, pe: i8, qe: i8) -> Result<Level, Unconvertible> {
    Ok(Level::new(
        scale.price_from_mantissa(p, pe).map_err(|_| Unconvertible)?,
        scale.qty_from_mantissa(q, qe).map_err(|_| Unconvertible)?,
    ))
}

pub fn diff(scale: &InstrumentScale, d: &DepthDiffDecoder<'_>) -> Result<DepthDiff, Unconvertible> {
    let (pe, qe) = (d.price_exponent(), d.qty_exponent());
    let bids = d
        .bids()
        .map(|l| level(scale, l.price(), l.qty(), pe, qe))
        .collect::<Result<Vec<_>, _>>()?;
    let asks = d
        .asks()
        .map(|l| level(scale, l.price(), l.qty(), pe, qe))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DepthDiff {
        first_update_id: u(d.first_update_id())?,
        last_update_id: u(d.last_update_id())?,
        event_time_us: u(d.event_time_us())?,
        bids,
        asks,
    })
}

pub fn snapshot(
    scale: &InstrumentScale,
    d: &DepthSnapshotDecoder<'_>,
) -> Result<DepthSnapshot, Unconvertible> {
    let (pe, qe) = (d.price_exponent(), d.qty_exponent());
    let bids = d
        .bids()
        .map(|l| level(scale, l.price(), l.qty(), pe, qe))
        .collect::<Result<Vec<_>, _>>()?;
    let asks = d
        .asks()
        .map(|l| level(scale, l.price(), l.qty(), pe, qe))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DepthSnapshot {
        last_update_id: u(d.last_update_id())?,
        bids,
        asks,
    })
}

/// Spot bookTicker-derived events may carry no exchange time (0): `now_us` substitutes it.
pub fn bbo(
    scale: &InstrumentScale,
    d: &BestBidAskDecoder<'_>,
    now_us: u64,
) -> Result<BestBidAsk, Unconvertible> {
    let (pe, qe) = (d.price_exponent(), d.qty_exponent());
    let t = u(d.event_time_us())?;
    Ok(BestBidAsk {
        event_time_us: if t == 0 { now_us } else { t },
        update_id: u(d.book_update_id())?,
        bid: level(scale, d.bid_price(), d.bid_qty(), pe, qe)?,
        ask: level(scale, d.ask_price(), d.ask_qty(), pe, qe)?,
    })
}

/// Every fill of a trade event, as `market` trades (all converted before any is used).
pub fn trades(
    scale: &InstrumentScale,
    d: &TradeDecoder<'_>,
    out: &mut Vec<Trade>,
) -> Result<(), Unconvertible> {
    out.clear();
    let (pe, qe) = (d.price_exponent(), d.qty_exponent());
    let t = u(d.event_time_us())?;
    for f in d.fills() {
        let l = level(scale, f.price(), f.qty(), pe, qe)?;
        out.push(Trade {
            event_time_us: t,
            trade_id: u(f.trade_id())?,
            price: l.price,
            qty: l.qty,
            is_buyer_maker: f.is_buyer_maker_raw() == BoolEnum::True.raw(),
        });
    }
    Ok(())
}
