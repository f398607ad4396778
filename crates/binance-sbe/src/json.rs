//! Binance JSON events → equivalent SBE frames, exactly (decimal strings become mantissa/exponent
//! without passing through floats). For the exchange simulator and for tests.

use crate::{Decimal, DecimalError, EncodeError, rest, stream};
use serde::Deserialize;

/// Units of JSON timestamps (`E`, `T`): Binance sends milliseconds unless `timeUnit=MICROSECOND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeUnit {
    #[default]
    Millis,
    Micros,
}

/// Facts a JSON event may not carry itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonContext {
    /// Event time (µs) to use when the event has no `E` (spot `bookTicker`), e.g. the receive time.
    pub fallback_event_time_us: Option<i64>,
    pub time_unit: TimeUnit,
}

/// Which SBE message a JSON event became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `trade` → `TradesStreamEvent` (10000)
    Trade,
    /// `bookTicker` → `BestBidAskStreamEvent` (10001)
    BestBidAsk,
    /// `depthUpdate` → `DepthDiffStreamEvent` (10003)
    DepthDiff,
    /// REST `GET /api/v3/depth` body → `DepthResponse` (REST schema, 200)
    RestDepth,
}

/// Why a JSON event could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a trade, bookTicker, depthUpdate or REST depth event")]
    UnknownEvent,
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {field}: {source}")]
    Decimal {
        field: &'static str,
        source: DecimalError,
    },
    #[error("encoding: {0}")]
    Encode(#[from] EncodeError),
    #[error("timestamp out of range")]
    TimeRange,
}

impl ConvertError {
    /// A short, bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Json(_) => "json",
            Self::UnknownEvent => "unknown_event",
            Self::MissingField(_) => "missing_field",
            Self::Decimal { source, .. } => source.kind(),
            Self::Encode(e) => e.kind(),
            Self::TimeRange => "time_range",
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StrOrLevels<'a> {
    #[serde(borrow)]
    Str(&'a str),
    #[serde(borrow)]
    Levels(Vec<[&'a str; 2]>),
}

/// The union of the fields of every supported event (unknown fields are ignored).
#[derive(Deserialize, Default)]
#[allow(non_snake_case)]
struct AnyEvent<'a> {
    #[serde(borrow)]
    data: Option<Box<AnyEvent<'a>>>,
    e: Option<&'a str>,
    E: Option<i64>,
    T: Option<i64>,
    s: Option<&'a str>,
    t: Option<i64>,
    p: Option<&'a str>,
    q: Option<&'a str>,
    m: Option<bool>,
    U: Option<i64>,
    u: Option<i64>,
    #[serde(borrow)]
    b: Option<StrOrLevels<'a>>,
    #[serde(borrow)]
    a: Option<StrOrLevels<'a>>,
    B: Option<&'a str>,
    A: Option<&'a str>,
    #[serde(rename = "lastUpdateId")]
    last_update_id: Option<i64>,
    #[serde(borrow)]
    bids: Option<Vec<[&'a str; 2]>>,
    #[serde(borrow)]
    asks: Option<Vec<[&'a str; 2]>>,
}

fn need<T>(v: Option<T>, field: &'static str) -> Result<T, ConvertError> {
    v.ok_or(ConvertError::MissingField(field))
}

fn time_us(v: i64, unit: TimeUnit) -> Result<i64, ConvertError> {
    match unit {
        TimeUnit::Millis => v.checked_mul(1000).ok_or(ConvertError::TimeRange),
        TimeUnit::Micros => Ok(v),
    }
}

/// Parses decimal strings and brings them to one shared exponent (the finest written precision).
fn common(values: &[&str], field: &'static str) -> Result<(i8, Vec<i64>), ConvertError> {
    let parsed = values
        .iter()
        .map(|s| Decimal::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ConvertError::Decimal { field, source })?;
    let exponent = parsed.iter().map(|d| d.exponent).min().unwrap_or(0);
    let mantissas = parsed
        .iter()
        .map(|d| d.rescale(exponent).map(|d| d.mantissa))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ConvertError::Decimal { field, source })?;
    Ok((exponent, mantissas))
}

/// Converts one Binance JSON event (raw, or inside a `{"stream":..,"data":..}` envelope) into an
/// SBE frame appended to `out`. On error `out` is left as it was.
pub fn json_to_sbe(json: &str, ctx: &JsonContext, out: &mut Vec<u8>) -> Result<JsonKind, ConvertError> {
    let start = out.len();
    let result = convert(json, ctx, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn convert(json: &str, ctx: &JsonContext, out: &mut Vec<u8>) -> Result<JsonKind, ConvertError> {
    let mut ev: AnyEvent<'_> = serde_json::from_str(json)?;
    if let Some(inner) = ev.data.take() {
        ev = *inner;
    }
    match (ev.e, &ev.b) {
        (Some("trade"), _) => trade(&ev, ctx, out),
        (Some("depthUpdate"), _) => depth_diff(&ev, ctx, out),
        (None, Some(StrOrLevels::Str(_))) => book_ticker(&ev, ctx, out),
        (None, None) if ev.last_update_id.is_some() => rest_depth(&ev, out),
        _ => Err(ConvertError::UnknownEvent),
    }
}

fn trade(ev: &AnyEvent<'_>, ctx: &JsonContext, out: &mut Vec<u8>) -> Result<JsonKind, ConvertError> {
    let (pe, p) = common(&[need(ev.p, "p")?], "p")?;
    let (qe, q) = common(&[need(ev.q, "q")?], "q")?;
    let mut enc = stream::TradesStreamEventEncoder::new(out);
    enc.event_time(time_us(need(ev.E, "E")?, ctx.time_unit)?)
        .transact_time(time_us(need(ev.T, "T")?, ctx.time_unit)?)
        .price_exponent(pe)
        .qty_exponent(qe);
    {
        let mut g = enc.trades()?;
        let is_buyer_maker = if need(ev.m, "m")? {
            stream::BoolEnum::True
        } else {
            stream::BoolEnum::False
        };
        g.entry()?
            .id(need(ev.t, "t")?)
            .price(p.first().copied().unwrap_or_default())
            .qty(q.first().copied().unwrap_or_default())
            .is_buyer_maker(is_buyer_maker);
    }
    enc.symbol(need(ev.s, "s")?)?;
    let _ = enc.finish();
    Ok(JsonKind::Trade)
}

fn book_ticker(ev: &AnyEvent<'_>, ctx: &JsonContext, out: &mut Vec<u8>) -> Result<JsonKind, ConvertError> {
    let bid = match &ev.b {
        Some(StrOrLevels::Str(s)) => *s,
        _ => return Err(ConvertError::MissingField("b")),
    };
    let ask = match &ev.a {
        Some(StrOrLevels::Str(s)) => *s,
        _ => return Err(ConvertError::MissingField("a")),
    };
    let event_time = match ev.E {
        Some(e) => time_us(e, ctx.time_unit)?,
        None => need(ctx.fallback_event_time_us, "E")?,
    };
    let (pe, prices) = common(&[bid, ask], "b/a")?;
    let (qe, qtys) = common(&[need(ev.B, "B")?, need(ev.A, "A")?], "B/A")?;
    let (&[bp, ap], &[bq, aq]) = (prices.as_slice(), qtys.as_slice()) else {
        return Err(ConvertError::MissingField("b/a"));
    };
    let mut enc = stream::BestBidAskStreamEventEncoder::new(out);
    enc.event_time(event_time)
        .book_update_id(need(ev.u, "u")?)
        .price_exponent(pe)
        .qty_exponent(qe)
        .bid_price(bp)
        .bid_qty(bq)
        .ask_price(ap)
        .ask_qty(aq);
    enc.symbol(need(ev.s, "s")?)?;
    let _ = enc.finish();
    Ok(JsonKind::BestBidAsk)
}

/// Shared exponents and mantissas of two level lists: (price exp, qty exp, [(p, q)] bids, asks).
type Book = (i8, i8, Vec<(i64, i64)>, Vec<(i64, i64)>);

fn book(bids: &[[&str; 2]], asks: &[[&str; 2]]) -> Result<Book, ConvertError> {
    let all = || bids.iter().chain(asks);
    let (pe, p) = common(&all().map(|l| l[0]).collect::<Vec<_>>(), "price")?;
    let (qe, q) = common(&all().map(|l| l[1]).collect::<Vec<_>>(), "qty")?;
    let mut levels = p.into_iter().zip(q);
    let b = levels.by_ref().take(bids.len()).collect();
    Ok((pe, qe, b, levels.collect()))
}

fn levels<'e>(
    v: &'e Option<StrOrLevels<'_>>,
    field: &'static str,
) -> Result<&'e [[&'e str; 2]], ConvertError> {
    match v {
        Some(StrOrLevels::Levels(l)) => Ok(l),
        _ => Err(ConvertError::MissingField(field)),
    }
}

fn depth_diff(ev: &AnyEvent<'_>, ctx: &JsonContext, out: &mut Vec<u8>) -> Result<JsonKind, ConvertError> {
    let (pe, qe, bids, asks) = book(levels(&ev.b, "b")?, levels(&ev.a, "a")?)?;
    let mut enc = stream::DepthDiffStreamEventEncoder::new(out);
    enc.event_time(time_us(need(ev.E, "E")?, ctx.time_unit)?)
        .first_book_update_id(need(ev.U, "U")?)
        .last_book_update_id(need(ev.u, "u")?)
        .price_exponent(pe)
        .qty_exponent(qe);
    {
        let mut g = enc.bids()?;
        for (p, q) in bids {
            g.entry()?.price(p).qty(q);
        }
    }
    {
        let mut g = enc.asks()?;
        for (p, q) in asks {
            g.entry()?.price(p).qty(q);
        }
    }
    enc.symbol(need(ev.s, "s")?)?;
    let _ = enc.finish();
    Ok(JsonKind::DepthDiff)
}

fn rest_depth(ev: &AnyEvent<'_>, out: &mut Vec<u8>) -> Result<JsonKind, ConvertError> {
    let (pe, qe, bids, asks) = book(
        need(ev.bids.as_deref(), "bids")?,
        need(ev.asks.as_deref(), "asks")?,
    )?;
    let mut enc = rest::DepthResponseEncoder::new(out);
    enc.last_update_id(need(ev.last_update_id, "lastUpdateId")?)
        .price_exponent(pe)
        .qty_exponent(qe);
    {
        let mut g = enc.bids()?;
        for (p, q) in bids {
            g.entry()?.price(p).qty(q);
        }
    }
    {
        let mut g = enc.asks()?;
        for (p, q) in asks {
            g.entry()?.price(p).qty(q);
        }
    }
    let _ = enc.finish();
    Ok(JsonKind::RestDepth)
}
