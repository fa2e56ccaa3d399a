//! Process plumbing both servers share: logging set-up and signal-driven, time-bounded
//! shutdown. Behind the `process` feature, so the engine itself stays free of a runtime.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How long open connections get to finish after SIGTERM or SIGINT.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as text or JSON lines.
/// `RUST_LOG` takes levels and per-target levels (`warn,togglerino_edge_proxy=debug`).
pub fn init_tracing(json: bool) {
    let setting = std::env::var("RUST_LOG").ok();
    let parsed = setting.as_deref().map(str::parse::<Targets>);
    let filter = match &parsed {
        Some(Ok(targets)) => targets.clone(),
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(fmt.json()).init();
    } else {
        registry.with(fmt).init();
    }
    if let Some(Err(error)) = parsed {
        tracing::warn!(%error, "ignoring RUST_LOG; logging at info");
    }
}

/// A future that completes on SIGINT or SIGTERM.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs a server given a shutdown future that fires on SIGINT or SIGTERM. Shutdown is
/// graceful but bounded: after [`SHUTDOWN_GRACE`] the process stops waiting for
/// clients that never let go. `None` when the grace period ran out.
pub async fn serve_until_signalled<S: Future>(
    server: impl FnOnce(Shutdown) -> S,
) -> Option<S::Output> {
    let (signalled, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = server(Box::pin(async move {
        signal().await;
        let _ = signalled.send(());
    }));
    tokio::select! {
        output = server => Some(output),
        () = async {
            let _ = stopping.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("shutdown grace period over; exiting with connections still open");
            None
        }
    }
}

async fn signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
