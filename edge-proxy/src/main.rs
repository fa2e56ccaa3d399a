use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use togglerino_edge_proxy::config::{Config, HealthArgs, LogFormat};
use togglerino_edge_proxy::{AppState, run};
use togglerino_shared::health_check;
use togglerino_shared::process::{init_tracing, serve_until_signalled};

// Thousands of long-lived connections, each with buffers of its own, fragment glibc's
// heap: with 10,000 SDK streams the edge held 292 MiB under glibc and 174 MiB under
// mimalloc, and fanned a change out faster (docs/performance.md). Transparent huge pages
// are off for mimalloc's arenas (`no_thp`): with them, the idle edge held 39 MiB, not 11.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // `togglerino-edge health` comes first: it needs neither the serving options nor a
    // server runtime (container runtimes ask it often).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|first| first == "health")
    {
        let check = HealthArgs::parse_from(std::env::args_os().skip(1));
        return health_check::run(check.listen, &check.path);
    }
    let config = Config::parse();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(main_async(config)),
        Err(error) => {
            eprintln!("togglerino-edge: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn main_async(config: Config) -> ExitCode {
    init_tracing(config.log_format == LogFormat::Json);
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
    serve_until_signalled(|shutdown| run(listener, state, config.poll_interval, shutdown))
        .await
        .unwrap_or(Ok(()))
        .context("server failed")
}
