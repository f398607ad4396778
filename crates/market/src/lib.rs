//! Order book core.
