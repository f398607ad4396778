//! Tardis.dev `trades` CSV (`exchange,symbol,timestamp,local_timestamp,id,side,price,amount`, µs
//! timestamps, `side` = aggressor) → [`RecordedEvent::Trade`]. Exchange time is `timestamp`.

use std::io::BufRead;
use std::path::PathBuf;

use market::recording::RecordedEvent;
use market::{InstrumentScale, Trade};

use crate::error::DatasetError;

/// Iterator over the trades of a Tardis CSV (the header line is skipped).
#[derive(Debug)]
pub struct TardisTrades<R> {
    reader: R,
    path: PathBuf,
    scale: InstrumentScale,
    line_no: usize,
    buf: String,
}

impl<R: BufRead> TardisTrades<R> {
    /// Reads `reader`; `path` only labels errors.
    pub fn new(reader: R, path: PathBuf, scale: InstrumentScale) -> Self {
        Self {
            reader,
            path,
            scale,
            line_no: 0,
            buf: String::new(),
        }
    }

    fn error(&self, reason: impl Into<String>) -> DatasetError {
        DatasetError::Tardis {
            path: self.path.clone(),
            line: self.line_no,
            reason: reason.into(),
        }
    }

    fn parse(&self, line: &str) -> Result<Trade, DatasetError> {
        let cols: Vec<&str> = line.trim_end().split(',').collect();
        let [_, _, ts, _, id, side, price, amount] = cols[..] else {
            return Err(self.error(format!("expected 8 columns, got {}", cols.len())));
        };
        let is_buyer_maker = match side {
            "buy" => false,
            "sell" => true,
            other => return Err(self.error(format!("unknown side {other:?}"))),
        };
        Ok(Trade {
            event_time_us: ts.parse().map_err(|_| self.error("bad timestamp"))?,
            trade_id: id.parse().map_err(|_| self.error("bad id"))?,
            price: self
                .scale
                .parse_price(price)
                .map_err(|e| self.error(format!("price {price:?}: {e}")))?,
            qty: self
                .scale
                .parse_qty(amount)
                .map_err(|e| self.error(format!("amount {amount:?}: {e}")))?,
            is_buyer_maker,
        })
    }
}

impl<R: BufRead> Iterator for TardisTrades<R> {
    type Item = Result<RecordedEvent, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    return Some(Err(DatasetError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
            let line = self.buf.trim();
            if line.is_empty() || (self.line_no == 1 && line.starts_with("exchange,")) {
                continue;
            }
            return Some(self.parse(line).map(RecordedEvent::Trade));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(text: &str) -> Vec<Result<RecordedEvent, DatasetError>> {
        TardisTrades::new(
            text.as_bytes(),
            PathBuf::from("t.csv"),
            InstrumentScale::BTCUSDT_SPOT,
        )
        .collect()
    }

    #[test]
    fn aggressor_side_maps_to_buyer_maker_and_header_is_skipped() {
        let rows = parse_all(
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n\
             binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132\n\
             binance-futures,BTCUSDT,1582329602116000,1582329602418420,42377945,sell,9681.5,0.4\n",
        );
        let trades: Vec<Trade> = rows
            .into_iter()
            .map(|r| match r {
                Ok(RecordedEvent::Trade(t)) => t,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(trades.len(), 2);
        assert_eq!(trades[0].event_time_us, 1_582_329_602_111_000);
        assert_eq!((trades[0].price, trades[0].qty), (968_200, 13_200_000));
        assert!(!trades[0].is_buyer_maker);
        assert!(trades[1].is_buyer_maker);
        assert_eq!(trades[1].price, 968_150);
    }

    #[test]
    fn a_short_line_is_an_error_naming_the_line() {
        let rows = parse_all("exchange,symbol\nbinance,BTCUSDT,1,2\n");
        match &rows[..] {
            [Err(DatasetError::Tardis { line: 2, .. })] => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}
