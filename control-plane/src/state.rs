use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::watch;

use crate::feed::Feed;
use crate::metrics::Metrics;
use crate::snapshot_cache::SnapshotCache;

use crate::auth::rate_limit::LoginLimiter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<LoginLimiter>,
    pub feed: Feed,
    pub snapshots: Arc<SnapshotCache>,
    pub metrics: Arc<Metrics>,
    /// Flips to true when the server begins to shut down; long-lived streams end then.
    pub closing: watch::Receiver<bool>,
    closer: Arc<watch::Sender<bool>>,
}

/// Runtime settings derived from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Mark cookies `Secure`.
    pub cookie_secure: bool,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// SHA-256 of the pre-shared edge token, if one is configured.
    pub edge_token_hash: Option<Vec<u8>>,
    /// SHA-256 of the token `/metrics` requires, if one is configured.
    pub metrics_token_hash: Option<Vec<u8>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// SHA-256 of the token that setup from another machine requires; with none, only
    /// this machine can set the instance up.
    pub setup_token_hash: Option<Vec<u8>>,
    /// Days evaluation counts are kept per minute.
    pub usage_minute_days: u32,
    /// Days evaluation counts are kept per hour.
    pub usage_hour_days: u32,
    /// Days without a config change or an evaluation that make a flag stale.
    pub stale_after_days: u32,
    /// Seconds without a heartbeat after which an edge shows as gone.
    pub edge_gone_after_seconds: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            cookie_secure: false,
            cors_origins: Vec::new(),
            edge_token_hash: None,
            metrics_token_hash: None,
            trusted_proxies: Vec::new(),
            setup_token_hash: None,
            usage_minute_days: 3,
            usage_hour_days: 90,
            stale_after_days: 30,
            edge_gone_after_seconds: 60,
        }
    }
}

impl AppState {
    pub fn new(db: PgPool, settings: Settings) -> AppState {
        let (closer, closing) = watch::channel(false);
        let feed = Feed::default();
        let snapshots = Arc::new(SnapshotCache::default());
        let metrics = Arc::new(Metrics::new(feed.changes.clone(), snapshots.builds.clone()));
        AppState {
            db,
            settings: Arc::new(settings),
            login_limiter: Arc::new(LoginLimiter::default()),
            feed,
            snapshots,
            metrics,
            closing,
            closer: Arc::new(closer),
        }
    }

    /// Tells long-lived streams to end.
    pub fn close_streams(&self) {
        let _ = self.closer.send(true);
    }
}
