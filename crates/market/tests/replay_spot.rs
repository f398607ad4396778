//! Replay test placeholder.
