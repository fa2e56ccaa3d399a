use std::process::ExitCode;

use anyhow::Context;
use togglerino_control_plane::auth::first_admin;
use togglerino_control_plane::config::{Cli, Command, LogFormat, ServeConfig};
use togglerino_control_plane::{AppState, Settings, db, run};
use togglerino_shared::health_check;
use togglerino_shared::process::{init_tracing, serve_until_signalled};

fn main() -> ExitCode {
    match Cli::parse_args().command {
        // Asked often by container runtimes: no server runtime for one question.
        Command::Health(check) => health_check::run(check.listen, &check.path),
        Command::Serve(config) => on_runtime(serve(config)),
        Command::Migrate(config) => on_runtime(async {
            init_tracing(false);
            let pool = db::connect(&config.database_url).await?;
            db::migrate(&pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }),
    }
}

/// Runs a command on the server runtime; its error, if any, is the process's last word.
fn on_runtime(command: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(command));
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
        usage_minute_days: config.usage_minute_days,
        usage_hour_days: config.usage_hour_days,
        stale_after_days: config.stale_after_days,
        edge_gone_after_seconds: config.edge_gone_after,
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
