//! Graceful shutdown: SIGTERM/SIGINT cancel a token; work drains within a deadline.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGTERM or SIGINT.
pub fn on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received; draining");
        t.cancel();
    });
    token
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Run `work` to completion or until `deadline` passes; says which.
pub async fn drain<F: Future>(deadline: Duration, work: F) -> Option<F::Output> {
    match tokio::time::timeout(deadline, work).await {
        Ok(v) => Some(v),
        Err(_) => {
            tracing::warn!(?deadline, "drain deadline passed; exiting with work unfinished");
            None
        }
    }
}
