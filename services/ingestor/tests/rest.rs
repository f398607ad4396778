//! REST depth snapshots under rate limiting: 429 storms and 418 bans from the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use exchange_sim::{Fault, Speed};
use metrics_schema::labels::{HttpStatus, RestEndpoint};
use metrics_schema::services::ingestor::RestCallLabels;
use pipeline_events::OwnedEvent;
use std::time::{Duration, Instant};

fn calls(m: &metrics_schema::IngestorMetrics, status: HttpStatus) -> u64 {
    m.rest_api_calls
        .get_or_create(&RestCallLabels {
            endpoint: RestEndpoint::Depth,
            status,
        })
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_waited_out_inside_the_weight_budget_and_snapshots_resume() {
    let mut sim = sim_config(synthetic());
    sim.speed = Speed::Factor(20.0);
    sim.rest_weight_limit = 400; // the exchange's per-minute limit
    sim.faults = vec![Fault::Rest {
        status: 429,
        count: 3,
        retry_after_secs: Some(1),
    }];
    let started = Instant::now();
    let mut rig = Rig::start(sim, |c| {
        c.rest.weight_budget = 300; // 6 depth requests of weight 50 per minute
        c.rest.depth_limit = 1000;
        c.rest.snapshot_interval_secs = 0.3; // asks far more often than the budget allows
    })
    .await;
    let m = rig.m().clone();
    wait_until(
        Duration::from_secs(30),
        "the storm passed and a snapshot arrived",
        || calls(&m, HttpStatus::TooManyRequests) == 3 && calls(&m, HttpStatus::Ok) >= 1,
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "each Retry-After (1 s) was honoured"
    );
    // Keep asking for a while: the budget, not the exchange, must stop the requests.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let s = rig.sim.stats();
    assert_eq!(
        s.rest.rate_limited_429, 0,
        "never over the exchange's limit: {s:?}"
    );
    assert_eq!(s.rest.banned_418, 0);
    assert_eq!(
        calls(&m, HttpStatus::Ok),
        3,
        "the 429s used 150 of the 300 budget: 3 more requests, no more"
    );
    assert_eq!(m.rest_rate_limit_remaining.get(), Some(0.0));
    assert_eq!(
        m.rest_circuit_breaker_state.get(),
        Some(0.0),
        "429s are obeyed, not failures"
    );
    let evs = events(&rig.stop_and_read().await);
    assert!(count(&evs, |e| matches!(e, OwnedEvent::DepthSnapshot { .. })) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_418_ban_holds_every_request_until_its_retry_after_has_passed() {
    let mut sim = sim_config(synthetic());
    sim.speed = Speed::Factor(20.0);
    sim.faults = vec![Fault::Rest {
        status: 418,
        count: 1,
        retry_after_secs: Some(2),
    }];
    let mut rig = Rig::start(sim, |_| {}).await;
    let m = rig.m().clone();
    wait_until(Duration::from_secs(20), "the ban", || {
        calls(&m, HttpStatus::Teapot) == 1
    })
    .await;
    let banned_at = Instant::now();
    let requests = rig.sim.stats().rest.requests;
    wait_until(Duration::from_secs(20), "a snapshot after the ban", || {
        calls(&m, HttpStatus::Ok) >= 1
    })
    .await;
    let waited = banned_at.elapsed();
    assert!(
        waited >= Duration::from_millis(1900),
        "next request after {waited:?}"
    );
    assert_eq!(
        rig.sim.stats().rest.requests,
        requests + 1,
        "nothing was sent during the ban"
    );
    let evs = events(&rig.stop_and_read().await);
    assert!(count(&evs, |e| matches!(e, OwnedEvent::DepthSnapshot { .. })) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_open_the_circuit_breaker_which_recovers_after_its_cooldown() {
    let mut sim = sim_config(synthetic());
    sim.speed = Speed::Factor(20.0);
    sim.faults = vec![Fault::Rest {
        status: 503,
        count: 2,
        retry_after_secs: None,
    }];
    let mut rig = Rig::start(sim, |c| {
        c.rest.breaker_failures = 2;
        c.rest.breaker_cooldown_secs = 1.0;
    })
    .await;
    let m = rig.m().clone();
    wait_until(Duration::from_secs(20), "breaker open", || {
        m.rest_circuit_breaker_state.get() == Some(2.0)
    })
    .await;
    let opened = Instant::now();
    wait_until(Duration::from_secs(20), "recovered", || {
        calls(&m, HttpStatus::Ok) >= 1
    })
    .await;
    assert!(opened.elapsed() >= Duration::from_millis(900));
    assert_eq!(calls(&m, HttpStatus::ServerError), 2);
    assert_eq!(m.rest_circuit_breaker_state.get(), Some(0.0));
    rig.stop_and_read().await;
}
