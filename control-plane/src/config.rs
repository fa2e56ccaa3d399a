//! Command line and environment configuration; `--help` is the reference.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "togglerino-control-plane",
    version,
    about = "Togglerino control plane"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the API and dashboard (the default).
    Serve(ServeConfig),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseConfig),
    /// Exit 0 when the control plane on this machine is ready (a container health
    /// check without a shell or curl).
    Health(HealthArgs),
}

#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The address the control plane listens on, as given to serve's --listen.
    #[arg(long, env = "TOGGLERINO_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// What to ask: /readyz (serving, with its database) or /healthz (the process is up).
    #[arg(long, default_value = "/readyz")]
    pub path: String,
}

#[derive(Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL, e.g. postgres://togglerino:secret@db:5432/togglerino.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password.
        f.debug_struct("DatabaseConfig")
            .field("database_url", &"<hidden>")
            .finish()
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address and port to listen on.
    #[arg(long, env = "TOGGLERINO_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Mark the session cookie `Secure` (set this whenever users reach the control plane
    /// over HTTPS).
    #[arg(long, env = "TOGGLERINO_COOKIE_SECURE")]
    pub cookie_secure: bool,
    /// An origin allowed to call the API from a browser, e.g. https://flags.example.com.
    /// Repeat the option (or separate with commas in the variable) for several.
    #[arg(
        long = "cors-origin",
        env = "TOGGLERINO_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// A pre-shared token edges may present besides the edge tokens made in the API;
    /// handy where a deployment wires secrets in (Kubernetes).
    #[arg(long, env = "TOGGLERINO_EDGE_TOKEN", hide_env_values = true)]
    pub edge_token: Option<Secret>,
    /// A reverse proxy or load balancer whose `X-Forwarded-For` names the real client
    /// (an address or a range, e.g. 10.0.0.0/8); repeat, or separate with commas. Login
    /// throttling then counts the client, not the proxy. Without it, the header is
    /// ignored: anyone could write it.
    #[arg(
        long = "trusted-proxy",
        env = "TOGGLERINO_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_network
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A token Prometheus must present (`Authorization: Bearer …`) to read /metrics.
    /// Without it, /metrics is open to anyone who reaches the control plane.
    #[arg(long, env = "TOGGLERINO_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
    /// The token that setting up a new instance from another machine requires (setup
    /// from this machine needs none). Without it, one is generated and printed to the
    /// log at start while no admin exists, so whoever reaches a new instance first
    /// cannot claim it.
    #[arg(long, env = "TOGGLERINO_SETUP_TOKEN", hide_env_values = true)]
    pub setup_token: Option<Secret>,
    /// The first admin's email, created at start when no user exists yet (with
    /// --admin-password), e.g. from a Kubernetes Secret; ignored once users exist.
    #[arg(long, env = "TOGGLERINO_ADMIN_EMAIL", requires = "admin_password")]
    pub admin_email: Option<String>,
    /// The first admin's password (with --admin-email); at least 16 characters.
    #[arg(
        long,
        env = "TOGGLERINO_ADMIN_PASSWORD",
        hide_env_values = true,
        requires = "admin_email"
    )]
    pub admin_password: Option<Secret>,
    /// Days evaluation counts are kept per minute (the insights charts' finest
    /// buckets).
    #[arg(long, env = "TOGGLERINO_USAGE_MINUTE_DAYS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=90))]
    pub usage_minute_days: u32,
    /// Days evaluation counts are kept per hour.
    #[arg(long, env = "TOGGLERINO_USAGE_HOUR_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub usage_hour_days: u32,
    /// Days without a config change (for flags that give everyone one answer) or without
    /// an evaluation that make a flag a candidate for removal.
    #[arg(long, env = "TOGGLERINO_STALE_AFTER_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub stale_after_days: u32,
    /// Seconds without a heartbeat (edges send one every 15 s) after which the
    /// dashboard shows an edge as gone, and receipts count it as not reached.
    #[arg(long, env = "TOGGLERINO_EDGE_GONE_AFTER", default_value_t = 60, value_parser = clap::value_parser!(u32).range(5..=86_400))]
    pub edge_gone_after: u32,
    /// Log line format.
    #[arg(long, env = "TOGGLERINO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// An address (a network of one) or a range in CIDR notation.
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a CIDR range"))
}

/// A secret from the command line or environment, kept out of `Debug` output.
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(text: &str) -> Result<Secret, String> {
        if text.trim().len() < 16 {
            return Err("must be at least 16 characters".into());
        }
        Ok(Secret(text.trim().to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Cli {
    /// Parses the process arguments; with no command named, the command is `serve`.
    pub fn parse_args() -> Cli {
        Cli::parse_from(with_default_command(std::env::args_os().collect()))
    }
}

fn with_default_command(mut args: Vec<OsString>) -> Vec<OsString> {
    let named = args.get(1).and_then(|a| a.to_str()).is_some_and(|first| {
        matches!(
            first,
            "serve" | "migrate" | "health" | "help" | "-h" | "--help" | "-V" | "--version"
        )
    });
    if !named {
        args.insert(1.min(args.len()), OsString::from("serve"));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Command {
        let args = std::iter::once("togglerino-control-plane").chain(args.iter().copied());
        Cli::parse_from(with_default_command(args.map(OsString::from).collect())).command
    }

    #[test]
    fn serve_is_the_default_command() {
        let Command::Serve(config) = parse(&[
            "--database-url",
            "postgres://db/x",
            "--cors-origin",
            "https://a",
            "--cors-origin",
            "https://b",
        ]) else {
            panic!("expected serve");
        };
        assert_eq!(config.database.database_url, "postgres://db/x");
        assert_eq!(config.cors_origins, ["https://a", "https://b"]);
        assert_eq!(config.listen.to_string(), "0.0.0.0:8080");
        assert!(matches!(
            parse(&["migrate", "--database-url", "postgres://db/x"]),
            Command::Migrate(_)
        ));
        assert!(matches!(
            parse(&["serve", "--database-url", "postgres://db/x"]),
            Command::Serve(_)
        ));
    }

    #[test]
    fn the_database_url_is_hidden_from_debug_output() {
        let Command::Migrate(config) =
            parse(&["migrate", "--database-url", "postgres://u:hunter2@db/x"])
        else {
            panic!("expected migrate");
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
