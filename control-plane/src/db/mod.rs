//! Small per-table repositories. All SQL lives here; handlers call these functions and
//! own the transactions.

pub mod api_tokens;
pub mod audit;
pub mod changes;
pub mod edge_tokens;
pub mod environments;
pub mod flag_configs;
pub mod flags;
pub mod fleet;
pub mod projects;
pub mod receipts;
pub mod sdk_keys;
pub mod segments;
pub mod sessions;
pub mod snapshots;
pub mod usage;
pub mod users;

use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

/// The migrations in the repository's `migrations/` folder, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Connects to PostgreSQL, failing fast with a readable reason.
pub async fn connect(database_url: &str) -> anyhow::Result<PgPool> {
    // The URL parser falls back to defaults for anything it does not understand, which
    // would quietly connect somewhere else; insist on a PostgreSQL URL.
    if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
        anyhow::bail!(
            "malformed DATABASE_URL: expected postgres://user:password@host:port/database"
        );
    }
    let options: PgConnectOptions = database_url
        .parse()
        .map_err(|e| anyhow::anyhow!("malformed DATABASE_URL: {e}"))?;
    // One direct connection first: a pool reports only "timed out", this names the cause.
    let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            anyhow::anyhow!("cannot connect to the database: no answer within {CONNECT_TIMEOUT:?}")
        })?
        .context("cannot connect to the database")?;
    probe.close().await.ok();
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .context("cannot connect to the database")
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Applies pending migrations. sqlx holds a PostgreSQL advisory lock while migrating, so
/// replicas starting together apply each migration exactly once.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("cannot apply database migrations")
}

/// Whether `error` is a unique-constraint violation (a duplicate key).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}
