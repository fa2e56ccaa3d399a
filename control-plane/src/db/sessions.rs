use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::session::LIFETIME;

#[derive(Debug, FromRow)]
pub struct SessionUser {
    pub id: Uuid,
    pub email: String,
    pub role: String,
}

pub async fn create(db: impl PgExecutor<'_>, id_hash: &[u8], user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sessions (id_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(id_hash)
        .bind(user_id)
        .bind(OffsetDateTime::now_utc() + LIFETIME)
        .execute(db)
        .await
        .map(drop)
}

/// The user of a live session.
pub async fn find_user(
    db: impl PgExecutor<'_>,
    id_hash: &[u8],
) -> sqlx::Result<Option<SessionUser>> {
    sqlx::query_as(
        "SELECT u.id, u.email, u.role FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id_hash = $1 AND s.expires_at > now()",
    )
    .bind(id_hash)
    .fetch_optional(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(db)
        .await
        .map(drop)
}

/// Ends every session of a user but `keep` (after a password change, other devices
/// must sign in again). Expired sessions are swept on the way.
pub async fn delete_others(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    keep: &[u8],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE (user_id = $1 AND id_hash <> $2) OR expires_at < now()")
        .bind(user_id)
        .bind(keep)
        .execute(db)
        .await
        .map(drop)
}

/// Deletes every expired session; returns how many. Expired sessions already sign in
/// no one, but would otherwise stay forever.
pub async fn sweep(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM sessions WHERE expires_at < now()")
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
