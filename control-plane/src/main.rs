use std::process::ExitCode;

use anyhow::Context;
use togglerino_control_plane::config::{Cli, Command, LogFormat, ServeConfig};
use togglerino_control_plane::{AppState, Settings, db, run};
use togglerino_shared::process::{init_tracing, serve_until_signalled};

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse_args().command {
        Command::Serve(config) => serve(config).await,
        Command::Migrate(config) => {
            async {
                init_tracing(false);
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
    init_tracing(config.log_format == LogFormat::Json);
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
    let state = AppState::new(pool, settings);
    serve_until_signalled(|shutdown| run(listener, state, shutdown))
        .await
        .unwrap_or(Ok(()))
        .context("server failed")
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
