//! Any text given to the JSON → SBE converter: an error, or an SBE frame that decodes.
#![no_main]

use binance_sbe::{JsonContext, JsonKind, decode_rest_response, decode_stream_frame, json_to_sbe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut out = Vec::new();
    let ctx = JsonContext { fallback_event_time_us: Some(1), ..Default::default() };
    match json_to_sbe(text, &ctx, &mut out) {
        Ok(JsonKind::RestDepth) => assert!(decode_rest_response(&out).is_ok()),
        Ok(_) => assert!(decode_stream_frame(&out).is_ok()),
        Err(_) => assert!(out.is_empty()),
    }
});
