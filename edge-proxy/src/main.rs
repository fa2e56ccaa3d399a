use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use togglerino_edge_proxy::config::{Config, LogFormat};
use togglerino_edge_proxy::{AppState, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("togglerino-edge: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if !(config.upstream_url.starts_with("http://") || config.upstream_url.starts_with("https://"))
    {
        anyhow::bail!("--upstream-url must be an http:// or https:// URL");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(address = %config.listen, upstream = %config.upstream_url, "edge listening");
    let state = AppState::new(&config);
    let (signalled, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = run(listener, state, config.poll_interval, async move {
        shutdown_signal().await;
        let _ = signalled.send(());
    });
    // Graceful, but bounded: a client that never lets go cannot hold the process.
    tokio::select! {
        result = server => result.context("server failed"),
        () = async {
            let _ = stopping.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("shutdown grace period over; exiting with connections still open");
            Ok(())
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// How long open connections get to finish after SIGTERM.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

async fn shutdown_signal() {
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
