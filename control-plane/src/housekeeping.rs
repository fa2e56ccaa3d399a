//! Periodic clean-up of what outlives its use: expired sessions, changes older than
//! edges may replay, and login throttling state nobody is limited by any more. Every
//! replica runs it; the deletes are idempotent.

use std::time::Duration;

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::rate_limit::LoginLimiter;
use crate::db;
use crate::state::Settings;

/// How often the clean-up runs.
const EVERY: Duration = Duration::from_secs(600);

/// How long changes are kept for edges to replay; an edge away longer pulls what it
/// lacks instead.
pub const CHANGE_RETENTION_HOURS: i32 = 24;

/// How long edges' apply times are kept for propagation receipts.
pub const RECEIPT_HOURS: i32 = 7 * 24;

/// Edges not heard from for this long leave the Edges page.
pub const FORGET_EDGES_HOURS: i32 = 24;

/// Cleans up now and every [`EVERY`] for as long as the process runs; evaluation counts
/// are kept as long as `settings` say.
pub fn spawn(db: PgPool, settings: Arc<Settings>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            if let Err(error) = db::sessions::sweep(&db).await {
                tracing::warn!(%error, "cannot sweep expired sessions");
            }
            if let Err(error) = db::changes::prune(&db, CHANGE_RETENTION_HOURS).await {
                tracing::warn!(%error, "cannot prune old changes");
            }
            if let Err(error) = db::fleet::forget(&db, FORGET_EDGES_HOURS).await {
                tracing::warn!(%error, "cannot forget gone edges");
            }
            if let Err(error) = db::receipts::forget(&db, RECEIPT_HOURS).await {
                tracing::warn!(%error, "cannot forget old apply times");
            }
            let (minutes, hours) = (settings.usage_minute_days, settings.usage_hour_days);
            if let Err(error) = db::usage::prune(&db, minutes, hours).await {
                tracing::warn!(%error, "cannot prune old evaluation counts");
            }
        }
    });
}

/// How often login throttling forgets clients and emails that no longer limit anyone.
const PRUNE_LIMITER_EVERY: Duration = Duration::from_secs(60);

/// Prunes `limiter` every [`PRUNE_LIMITER_EVERY`] for as long as the process runs.
pub fn prune_login_limiter(limiter: Arc<LoginLimiter>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_LIMITER_EVERY);
        loop {
            every.tick().await;
            limiter.prune();
        }
    });
}
