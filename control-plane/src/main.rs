use std::process::ExitCode;

use anyhow::Context;
use togglerino_control_plane::config::{Cli, Command, LogFormat, ServeConfig};
use togglerino_control_plane::{AppState, Settings, db, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse_args().command {
        Command::Serve(config) => serve(config).await,
        Command::Migrate(config) => {
            async {
                init_tracing(LogFormat::Text);
                let pool = db::connect(&config.database_url).await?;
                db::migrate(&pool).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            .await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("togglerino-control-plane: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    init_tracing(config.log_format);
    let pool = db::connect(&config.database.database_url).await?;
    db::migrate(&pool).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(address = %config.listen, "control plane listening");
    let settings = Settings {
        cookie_secure: config.cookie_secure,
        cors_origins: config.cors_origins,
        edge_token_hash: config
            .edge_token
            .map(|token| togglerino_control_plane::auth::secrets::hash(&token.0)),
    };
    let (signalled, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = run(listener, AppState::new(pool, settings), async move {
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
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// The error and its causes on one line, no backtrace: what an operator needs. Causes
/// whose text the message before them already ends with are left out.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}
