//! `exchange-sim`: thin main around [`exchange_sim::Simulator`].

use clap::Parser;
use exchange_sim::Simulator;
use exchange_sim::cli::Args;

const EXIT_CONFIG: i32 = 64;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cfg = match Args::parse().into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("exchange-sim: {e}");
            std::process::exit(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("exchange-sim: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        let sim = match Simulator::start(cfg).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("exchange-sim: {e}");
                return EXIT_CONFIG;
            }
        };
        println!("exchange-sim listening on {}", sim.local_addr());
        wait_for_signal().await;
        tracing::info!("shutting down");
        sim.shutdown().await;
        0
    });
    std::process::exit(code);
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
