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
#[derive(Debug, Clone, Default)]
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
