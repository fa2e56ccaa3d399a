use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct EnvironmentRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub key: String,
    pub name: String,
    pub revision: i64,
    pub created_at: OffsetDateTime,
}

const COLUMNS: &str = "id, project_id, key, name, revision, created_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    key: &str,
    name: &str,
) -> sqlx::Result<EnvironmentRow> {
    sqlx::query_as(&format!(
        "INSERT INTO environments (id, project_id, key, name) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(project_id)
    .bind(key)
    .bind(name)
    .fetch_one(db)
    .await
}

pub async fn list(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Vec<EnvironmentRow>> {
    // Creation order keeps development, staging, production in their natural order.
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM environments WHERE project_id = $1 ORDER BY created_at, key"
    ))
    .bind(project_id)
    .fetch_all(db)
    .await
}

pub async fn find(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    key: &str,
) -> sqlx::Result<Option<EnvironmentRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM environments WHERE project_id = $1 AND key = $2"
    ))
    .bind(project_id)
    .bind(key)
    .fetch_optional(db)
    .await
}

/// Locks an environment row until the transaction ends. Config writes take this lock so
/// that two concurrent edits are validated one after the other (no prerequisite cycle
/// can slip in between two checks).
pub async fn lock(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("SELECT id FROM environments WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM environments WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}
