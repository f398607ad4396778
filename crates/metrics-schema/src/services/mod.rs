pub mod aggregator;
pub mod common;
pub mod inference;
pub mod ingestor;
