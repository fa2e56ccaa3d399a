//! Command line and environment configuration; `--help` is the reference.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

#[derive(Clone, Parser)]
#[command(
    name = "togglerino-edge",
    version,
    about = "Togglerino edge: evaluates flags from memory",
    after_help = "`togglerino-edge health` exits 0 when the edge on this machine is ready \
                  (a container health check); see `togglerino-edge health --help`."
)]
pub struct Config {
    /// Where snapshots come from: a control plane or another edge, e.g. http://togglerino:8080.
    #[arg(long, env = "TOGGLERINO_UPSTREAM_URL")]
    pub upstream_url: String,
    /// The edge token to present upstream (an edge token, or the control plane's
    /// pre-shared --edge-token).
    #[arg(long, env = "TOGGLERINO_EDGE_TOKEN", hide_env_values = true)]
    pub edge_token: String,
    /// Address and port to listen on.
    #[arg(long, env = "TOGGLERINO_LISTEN", default_value = "0.0.0.0:8090")]
    pub listen: SocketAddr,
    /// Directory for each environment's last good version, so a restarted edge serves at
    /// once even while upstream is down. Without it, nothing is persisted.
    #[arg(long, env = "TOGGLERINO_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// How often to compare revisions with upstream even when the change stream is quiet
    /// (a fallback for streams that silently stall), e.g. 30s, 2m.
    #[arg(long, env = "TOGGLERINO_POLL_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// An origin allowed to call the evaluation API from a browser. Repeat the option
    /// (or separate with commas in the variable) for several; `*` allows any.
    #[arg(
        long = "cors-origin",
        env = "TOGGLERINO_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Most streams (SDK and OFREP) served at once; more get 503.
    #[arg(long, env = "TOGGLERINO_MAX_SSE_CLIENTS", default_value_t = 10_000)]
    pub max_sse_clients: usize,
    /// Most streams one SDK key may hold open at once; more get 429. Defaults to half of
    /// --max-sse-clients, so one key cannot take every place; raise it on edges that
    /// serve one application.
    #[arg(long, env = "TOGGLERINO_MAX_SSE_CLIENTS_PER_KEY")]
    pub max_sse_clients_per_key: Option<usize>,
    /// How often evaluation counts go upstream (to the control plane's insights). On the
    /// minute by default, so each report holds whole minutes.
    #[arg(long, env = "TOGGLERINO_USAGE_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub usage_interval: Duration,
    /// How often this edge tells upstream how it is doing (revisions in service, streams,
    /// traffic), for the dashboard's Edges page.
    #[arg(long, env = "TOGGLERINO_HEARTBEAT_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,
    /// Log line format.
    #[arg(long, env = "TOGGLERINO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// A token Prometheus must present (`Authorization: Bearer …`) to read /metrics.
    /// Without it, /metrics is open to anyone who reaches the edge.
    #[arg(long, env = "TOGGLERINO_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("upstream_url", &self.upstream_url)
            .field("edge_token", &"<hidden>")
            .field("listen", &self.listen)
            .field("cache_dir", &self.cache_dir)
            .field("poll_interval", &self.poll_interval)
            .field("cors_origins", &self.cors_origins)
            .field("max_sse_clients", &self.max_sse_clients)
            .field("usage_interval", &self.usage_interval)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// `togglerino-edge health`: asks the edge on this machine whether it is ready.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "togglerino-edge health",
    bin_name = "togglerino-edge health",
    about = "Exit 0 when the edge on this machine is ready (a container health check \
             without a shell or curl)"
)]
pub struct HealthArgs {
    /// The address the edge listens on, as given to --listen.
    #[arg(long, env = "TOGGLERINO_LISTEN", default_value = "0.0.0.0:8090")]
    pub listen: SocketAddr,
    /// What to ask: /readyz (serving flags) or /healthz (the process is up).
    #[arg(long, default_value = "/readyz")]
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `500ms`, `30s`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number * 60),
        _ => return Err(format!("invalid duration {text:?}: use ms, s or m")),
    };
    if duration.is_zero() {
        return Err("the duration must be positive".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_common_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let config = Config::parse_from([
            "togglerino-edge",
            "--upstream-url",
            "http://cp",
            "--edge-token",
            "tge_secret",
        ]);
        assert!(!format!("{config:?}").contains("tge_secret"));
        assert_eq!(config.listen.to_string(), "0.0.0.0:8090");
        assert_eq!(config.poll_interval, Duration::from_secs(30));
    }
}
