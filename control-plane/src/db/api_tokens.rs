use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct ApiTokenRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

const COLUMNS: &str = "id, name, role, prefix, created_at, last_used_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    name: &str,
    role: &str,
    token_hash: &[u8],
    prefix: &str,
    created_by: Uuid,
) -> sqlx::Result<ApiTokenRow> {
    sqlx::query_as(&format!(
        "INSERT INTO api_tokens (id, name, role, token_hash, prefix, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(role)
    .bind(token_hash)
    .bind(prefix)
    .bind(created_by)
    .fetch_one(db)
    .await
}

/// Active (unrevoked) tokens, newest first.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ApiTokenRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE revoked_at IS NULL ORDER BY created_at DESC"
    ))
    .fetch_all(db)
    .await
}

pub async fn revoke(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<ApiTokenRow>> {
    sqlx::query_as(&format!(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The active token with this hash, recording its use. The timestamp is written at most
/// once a minute, so a busy automation does not turn every read into a write.
/// A valid token and the person whose authority it carries.
#[derive(Debug, FromRow)]
pub struct Authenticated {
    #[sqlx(flatten)]
    pub token: ApiTokenRow,
    pub owner: Uuid,
}

/// The token with this hash, if it is valid: not revoked, and its creator still on the
/// team with at least the token's role. A removed or demoted person's tokens stop
/// working with them.
pub async fn authenticate(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> sqlx::Result<Option<Authenticated>> {
    sqlx::query_as(&format!(
        "WITH found AS (
             SELECT t.id, t.created_by AS owner FROM api_tokens t JOIN users u ON u.id = t.created_by
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL
               AND (CASE u.role WHEN 'admin' THEN 3 WHEN 'editor' THEN 2 ELSE 1 END)
                >= (CASE t.role WHEN 'admin' THEN 3 WHEN 'editor' THEN 2 ELSE 1 END)
         ), touched AS (
             UPDATE api_tokens SET last_used_at = now()
             WHERE id IN (SELECT id FROM found)
               AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
         )
         SELECT {COLUMNS}, found.owner FROM api_tokens JOIN found USING (id)"
    ))
    .bind(token_hash)
    .fetch_optional(db)
    .await
}
