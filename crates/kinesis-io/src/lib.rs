//! Kinesis I/O shared by the ingestor (producer) and the aggregator (consumer).
pub mod client;
pub mod consumer;
pub mod producer;
