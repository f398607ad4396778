//! Feature engine.
