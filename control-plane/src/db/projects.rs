use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct ProjectRow {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str = "id, key, name, description, created_at, updated_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    key: &str,
    name: &str,
    description: &str,
) -> sqlx::Result<ProjectRow> {
    sqlx::query_as(&format!(
        "INSERT INTO projects (id, key, name, description) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(key)
    .bind(name)
    .bind(description)
    .fetch_one(db)
    .await
}

pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ProjectRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM projects ORDER BY key"))
        .fetch_all(db)
        .await
}

pub async fn find(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<Option<ProjectRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM projects WHERE key = $1"))
        .bind(key)
        .fetch_optional(db)
        .await
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    name: &str,
    description: &str,
) -> sqlx::Result<ProjectRow> {
    sqlx::query_as(&format!(
        "UPDATE projects SET name = $2, description = $3, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(name)
    .bind(description)
    .fetch_one(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}
