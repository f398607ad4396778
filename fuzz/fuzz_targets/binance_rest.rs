//! Any bytes given to the REST response decoder: a typed error or a readable response, never a panic.
#![no_main]

use binance_sbe::{RestResponse, decode_rest_response};
use libfuzzer_sys::fuzz_target;
use std::hint::black_box;

fuzz_target!(|data: &[u8]| {
    match decode_rest_response(data) {
        Ok(RestResponse::Depth(d)) => {
            black_box(d.bid_levels().chain(d.ask_levels()).map(|l| l.price.to_f64()).sum::<f64>());
        }
        Ok(RestResponse::Error(e)) => {
            black_box((e.code(), e.msg(), e.server_time(), e.retry_after(), e.data().len()));
        }
        Err(e) => {
            black_box(e.kind());
        }
    }
});
