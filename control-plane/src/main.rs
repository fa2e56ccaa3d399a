use std::process::ExitCode;

use anyhow::Context;
use togglerino_control_plane::auth::first_admin;
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
    let mut settings = Settings {
        cookie_secure: config.cookie_secure,
        cors_origins: config.cors_origins,
        edge_token_hash: config
            .edge_token
            .map(|token| togglerino_control_plane::auth::secrets::hash(&token.0)),
        setup_token_hash: None,
        metrics_token_hash: config
            .metrics_token
            .map(|token| togglerino_control_plane::auth::secrets::hash(&token.0)),
        trusted_proxies: config.trusted_proxies,
    };
    if let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password) {
        let state = AppState::new(pool.clone(), settings.clone());
        first_admin::from_config(&state, email, &password.0).await?;
    }
    settings.setup_token_hash = first_admin::setup_token_hash(
        &pool,
        config.setup_token.as_ref().map(|token| token.0.as_str()),
        &local_url(config.listen),
    )
    .await?;
    let state = AppState::new(pool, settings);
    serve_until_signalled(|shutdown| run(listener, state, shutdown))
        .await
        .unwrap_or(Ok(()))
        .context("server failed")
}

/// Where a browser on this machine reaches the dashboard.
fn local_url(listen: std::net::SocketAddr) -> String {
    let mut address = listen;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{address}/")
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
