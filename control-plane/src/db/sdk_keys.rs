use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct SdkKeyRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
}

const COLUMNS: &str = "id, name, kind, prefix, created_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    environment_id: Uuid,
    name: &str,
    kind: &str,
    key_hash: &[u8],
    prefix: &str,
) -> sqlx::Result<SdkKeyRow> {
    sqlx::query_as(&format!(
        "INSERT INTO sdk_keys (id, environment_id, name, kind, key_hash, prefix)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(environment_id)
    .bind(name)
    .bind(kind)
    .bind(key_hash)
    .bind(prefix)
    .fetch_one(db)
    .await
}

/// Active keys of an environment, newest first.
pub async fn list(db: impl PgExecutor<'_>, environment_id: Uuid) -> sqlx::Result<Vec<SdkKeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sdk_keys WHERE environment_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC"
    ))
    .bind(environment_id)
    .fetch_all(db)
    .await
}

pub async fn revoke(
    db: impl PgExecutor<'_>,
    environment_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<SdkKeyRow>> {
    sqlx::query_as(&format!(
        "UPDATE sdk_keys SET revoked_at = now()
         WHERE id = $1 AND environment_id = $2 AND revoked_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(environment_id)
    .fetch_optional(db)
    .await
}
