//! REST SBE responses (schema 3).

use crate::DecodeError;
use crate::rest::{self, Message};

/// A decoded REST SBE body.
#[derive(Debug, Clone, Copy)]
pub enum RestResponse<'a> {
    /// `GET /api/v3/depth` (template 200).
    Depth(rest::DepthResponseDecoder<'a>),
    /// Any error (template 100): `code`, `msg`, optional `serverTime`/`retryAfter` (µs).
    Error(rest::ErrorResponseDecoder<'a>),
}

/// Decodes a REST response body sent with `Content-Type: application/sbe`.
pub fn decode_rest_response(buf: &[u8]) -> Result<RestResponse<'_>, DecodeError> {
    Ok(match rest::decode(buf)? {
        Message::DepthResponse(d) => RestResponse::Depth(d),
        Message::ErrorResponse(e) => RestResponse::Error(e),
    })
}
