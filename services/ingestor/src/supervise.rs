//! Supervision of the ingestor's background tasks. Every long-lived task (stream client, snapshot
//! task, control reader, liveness monitor, Kinesis producer, recorder) runs in one [`JoinSet`];
//! a watcher awaits them. A task that panics, or returns while the service is not shutting down,
//! is never silent: it is logged, counted in `ingestor_task_exits_total{task,outcome}` and turns
//! the `/health` component `tasks` unhealthy (503), so the orchestrator replaces the process.
//! Tasks are not restarted in place: each owns state (sequence chains, pending requests) that a
//! fresh process rebuilds more safely than a half-torn-down task would.
//!
//! Each task has a stop token: ending after it was cancelled is the normal way out. The input
//! tasks are also tracked by [`Supervisor::inputs`], so shutdown can wait for them before telling
//! the producer (a "last" task, not tracked as an input) to drain and stop.

use metrics_schema::IngestorMetrics;
use metrics_schema::labels::{IngestorTask, LabelValue, TaskExit};
use metrics_schema::services::ingestor::TaskExitLabels;
use std::collections::HashMap;
use std::future::Future;
use svc_kit::health::{Health, Level};
use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The `/health` component the supervisor owns.
pub const COMPONENT: &str = "tasks";

/// Collects tasks before [`Supervisor::watch`] hands them to the watcher.
pub struct Supervisor {
    set: JoinSet<()>,
    names: HashMap<Id, (IngestorTask, CancellationToken)>,
    inputs: TaskTracker,
    health: Health,
    metrics: IngestorMetrics,
}

impl Supervisor {
    pub fn new(health: Health, metrics: IngestorMetrics) -> Self {
        health.set(COMPONENT, Level::Healthy, "running", None);
        Self {
            set: JoinSet::new(),
            names: HashMap::new(),
            inputs: TaskTracker::new(),
            health,
            metrics,
        }
    }

    /// Run `fut` as the supervised input task `task`; it may end once `stop` is cancelled.
    pub fn spawn<F>(&mut self, task: IngestorTask, stop: &CancellationToken, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let h = self.set.spawn(self.inputs.track_future(fut));
        self.names.insert(h.id(), (task, stop.clone()));
    }

    /// Run the blocking `f` (a writer thread) as the supervised input task `task`.
    pub fn spawn_blocking<F>(&mut self, task: IngestorTask, stop: &CancellationToken, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let token = self.inputs.token();
        let h = self.set.spawn_blocking(move || {
            let _token = token;
            f()
        });
        self.names.insert(h.id(), (task, stop.clone()));
    }

    /// Run `fut` as a supervised task that is not an input (the producer): not tracked by
    /// [`Supervisor::inputs`].
    pub fn spawn_last<F>(&mut self, task: IngestorTask, stop: &CancellationToken, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let h = self.set.spawn(fut);
        self.names.insert(h.id(), (task, stop.clone()));
    }

    /// Waits for every input task (closed for new ones).
    pub fn inputs(&self) -> TaskTracker {
        self.inputs.clone()
    }

    /// Await every task. An end before its stop token is cancelled is a failure (see the module
    /// docs); the watcher returns once every task has ended.
    pub async fn watch(mut self) {
        self.inputs.close();
        while let Some(done) = self.set.join_next_with_id().await {
            let (id, outcome, why) = match done {
                Ok((id, ())) => (id, TaskExit::Ended, String::new()),
                Err(e) => (e.id(), TaskExit::Panicked, panic_message(e)),
            };
            let Some((task, stop)) = self.names.remove(&id) else {
                continue;
            };
            if outcome == TaskExit::Panicked || !stop.is_cancelled() {
                self.failed(task, outcome, &why);
            }
        }
    }

    fn failed(&self, task: IngestorTask, outcome: TaskExit, why: &str) {
        self.metrics
            .task_exits
            .get_or_create(&TaskExitLabels { task, outcome })
            .inc();
        let detail = format!("{} task {}{why}", task.as_str(), outcome.as_str());
        tracing::error!(task = task.as_str(), outcome = outcome.as_str(), "{detail}");
        self.health
            .set(COMPONENT, Level::Unhealthy, "task_failed", Some(detail));
    }
}

fn panic_message(e: JoinError) -> String {
    if e.is_cancelled() {
        return ": cancelled".into();
    }
    let payload = e.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string payload".into());
    format!(": {text}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use prometheus_client::registry::Registry;

    fn exits(m: &IngestorMetrics, task: IngestorTask, outcome: TaskExit) -> u64 {
        m.task_exits
            .get_or_create(&TaskExitLabels { task, outcome })
            .get()
    }

    #[tokio::test]
    async fn a_panicking_or_ending_task_makes_health_unhealthy_and_is_counted() {
        let m = IngestorMetrics::register(&mut Registry::default());
        let h = Health::new();
        let shutdown = CancellationToken::new();
        let mut s = Supervisor::new(h.clone(), m.clone());
        s.spawn(IngestorTask::Snapshot, &shutdown, async {
            panic!("overflow when adding duration to instant")
        });
        s.spawn(IngestorTask::Monitor, &shutdown, async {});
        let stay = shutdown.clone();
        s.spawn(
            IngestorTask::Stream,
            &shutdown,
            async move { stay.cancelled().await },
        );
        let watcher = tokio::spawn(s.watch());
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while exits(&m, IngestorTask::Monitor, TaskExit::Ended) == 0
            || exits(&m, IngestorTask::Snapshot, TaskExit::Panicked) == 0
        {
            assert!(tokio::time::Instant::now() < deadline, "exits not counted");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let c = h.get(COMPONENT).unwrap();
        assert_eq!(c.level, Level::Unhealthy);
        assert_eq!(h.report().status, Level::Unhealthy);
        assert!(!watcher.is_finished(), "the stream task still runs");
        shutdown.cancel();
        watcher.await.unwrap();
        assert_eq!(
            exits(&m, IngestorTask::Stream, TaskExit::Ended),
            0,
            "ended by shutdown: fine"
        );
    }

    #[tokio::test]
    async fn tasks_ending_after_shutdown_are_not_failures() {
        let m = IngestorMetrics::register(&mut Registry::default());
        let h = Health::new();
        let shutdown = CancellationToken::new();
        let mut s = Supervisor::new(h.clone(), m.clone());
        let t = shutdown.clone();
        s.spawn(
            IngestorTask::Stream,
            &shutdown,
            async move { t.cancelled().await },
        );
        let producer_stop = CancellationToken::new();
        let p = producer_stop.clone();
        s.spawn_last(IngestorTask::Producer, &producer_stop, async move {
            p.cancelled().await
        });
        shutdown.cancel();
        s.spawn_blocking(IngestorTask::Recorder, &shutdown, || {});
        let inputs = s.inputs();
        let watcher = tokio::spawn(s.watch());
        inputs.wait().await;
        assert!(!watcher.is_finished(), "the producer runs until told");
        producer_stop.cancel();
        watcher.await.unwrap();
        assert_eq!(h.report().status, Level::Healthy);
    }
}
