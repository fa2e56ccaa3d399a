use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct EdgeTokenRow {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

const COLUMNS: &str = "id, name, prefix, created_at, last_used_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    name: &str,
    token_hash: &[u8],
    prefix: &str,
) -> sqlx::Result<EdgeTokenRow> {
    sqlx::query_as(&format!(
        "INSERT INTO edge_tokens (id, name, token_hash, prefix) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(token_hash)
    .bind(prefix)
    .fetch_one(db)
    .await
}

/// Active tokens, newest first.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<EdgeTokenRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM edge_tokens WHERE revoked_at IS NULL ORDER BY created_at DESC"
    ))
    .fetch_all(db)
    .await
}

pub async fn revoke(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<EdgeTokenRow>> {
    sqlx::query_as(&format!(
        "UPDATE edge_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Whether an active token has this hash, recording its use at most once a minute.
pub async fn authenticate(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<bool> {
    let found: Option<Uuid> = sqlx::query_scalar(
        "WITH found AS (
             SELECT id FROM edge_tokens WHERE token_hash = $1 AND revoked_at IS NULL
         ), touched AS (
             UPDATE edge_tokens SET last_used_at = now()
             WHERE id IN (SELECT id FROM found)
               AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
         )
         SELECT id FROM found",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}
