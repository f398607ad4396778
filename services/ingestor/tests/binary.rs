//! The ingestor binary: exit 64 on bad config, every schema metric on /metrics, clean SIGTERM.

#[test]
fn binary_rejects_bad_config_serves_all_its_metrics_and_stops_on_sigterm() {
    let result = svc_kit::testing::check_binary_contract(
        env!("CARGO_BIN_EXE_ingestor"),
        "INGESTOR",
        metrics_schema::Service::Ingestor,
    );
    assert_eq!(result, Ok(()));
}

#[test]
fn check_config_never_prints_the_redis_password() {
    let result = svc_kit::testing::check_config_redacts_redis_password(
        env!("CARGO_BIN_EXE_ingestor"),
        "INGESTOR__CONTROL__REDIS_URL",
    );
    assert_eq!(result, Ok(()));
}
