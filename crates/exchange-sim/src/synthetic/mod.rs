//! Synthetic market: the pure simulation ([`SyntheticMarket`]) and its adapter to the feed
//! ([`SyntheticSource`]).

mod book;
mod engine;
mod params;
mod sampling;
mod source;

pub use book::{Fill, SimBook};
pub use engine::{SimEvent, SyntheticMarket};
pub use params::SyntheticParams;
pub use source::SyntheticSource;

#[cfg(test)]
mod tests;
