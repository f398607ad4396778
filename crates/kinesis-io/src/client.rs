//! Build an `aws_sdk_kinesis::Client` from the `kinesis` config section: the endpoint override
//! points at kinesalite locally; on ECS the default chain finds the task role.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region};
use std::time::Duration;

/// The callers own retries (with backoff and metrics), so the SDK makes one attempt; timeouts
/// bound a hung connection.
fn common(loader: ConfigLoader) -> ConfigLoader {
    loader
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        )
}
use svc_kit::KinesisConfig;

pub async fn build(cfg: &KinesisConfig) -> aws_sdk_kinesis::Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(cfg.region.clone()));
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let shared = common(loader).load().await;
    aws_sdk_kinesis::Client::new(&shared)
}

/// A client for a local Kinesis-compatible server (kinesalite) with static dummy credentials,
/// so nothing consults the environment or instance metadata. For tests and local tools.
pub async fn build_local(endpoint_url: &str) -> aws_sdk_kinesis::Client {
    let creds = aws_sdk_kinesis::config::Credentials::new("test", "test", None, None, "static");
    let shared = common(aws_config::defaults(BehaviorVersion::latest()))
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .credentials_provider(creds)
        .load()
        .await;
    aws_sdk_kinesis::Client::new(&shared)
}
