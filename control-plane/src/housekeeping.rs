//! Periodic clean-up of what outlives its use: expired sessions, and changes older than
//! edges may replay. Every replica runs it; the deletes are idempotent.

use std::time::Duration;

use sqlx::PgPool;

use crate::db;

/// How often the clean-up runs.
const EVERY: Duration = Duration::from_secs(600);

/// How long changes are kept for edges to replay; an edge away longer pulls what it
/// lacks instead.
pub const CHANGE_RETENTION_HOURS: i32 = 24;

/// Cleans up now and every [`EVERY`] for as long as the process runs.
pub fn spawn(db: PgPool) {
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
        }
    });
}
