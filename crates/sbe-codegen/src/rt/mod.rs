//! Runtime support for generated codecs: typed errors, bounds-checked reads and writes, and exact
//! decimals. Generated code refers to it as `::sbe_codegen::rt`, so every crate built from a schema
//! shares one `DecodeError` (with a metric-friendly `kind()`) and one `Decimal`.

mod decimal;
mod error;
mod read;
mod write;

pub use decimal::{Decimal, DecimalError};
pub use error::{DecodeError, EncodeError};
pub use read::*;
pub use write::*;
