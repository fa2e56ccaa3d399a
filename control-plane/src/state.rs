use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::rate_limit::LoginLimiter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<LoginLimiter>,
}

/// Runtime settings derived from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Mark cookies `Secure`.
    pub cookie_secure: bool,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
}

impl AppState {
    pub fn new(db: PgPool, settings: Settings) -> AppState {
        AppState {
            db,
            settings: Arc::new(settings),
            login_limiter: Arc::new(LoginLimiter::default()),
        }
    }
}
