use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use togglerino_shared::model::{Condition, Segment};
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct SegmentRow {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: String,
    pub included: Vec<String>,
    pub excluded: Vec<String>,
    pub conditions: Json<Vec<Condition>>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl SegmentRow {
    pub fn to_model(&self) -> Segment {
        Segment {
            key: self.key.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            included: self.included.clone(),
            excluded: self.excluded.clone(),
            conditions: self.conditions.0.clone(),
        }
    }
}

const COLUMNS: &str =
    "id, key, name, description, included, excluded, conditions, created_at, updated_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    segment: &Segment,
) -> sqlx::Result<SegmentRow> {
    sqlx::query_as(&format!(
        "INSERT INTO segments (id, project_id, key, name, description, included, excluded, conditions)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(project_id)
    .bind(&segment.key)
    .bind(&segment.name)
    .bind(&segment.description)
    .bind(&segment.included)
    .bind(&segment.excluded)
    .bind(Json(&segment.conditions))
    .fetch_one(db)
    .await
}

pub async fn list(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Vec<SegmentRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM segments WHERE project_id = $1 ORDER BY key"
    ))
    .bind(project_id)
    .fetch_all(db)
    .await
}

pub async fn find(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    key: &str,
) -> sqlx::Result<Option<SegmentRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM segments WHERE project_id = $1 AND key = $2"
    ))
    .bind(project_id)
    .bind(key)
    .fetch_optional(db)
    .await
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    segment: &Segment,
) -> sqlx::Result<SegmentRow> {
    sqlx::query_as(&format!(
        "UPDATE segments SET name = $2, description = $3, included = $4, excluded = $5, conditions = $6,
             updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&segment.name)
    .bind(&segment.description)
    .bind(&segment.included)
    .bind(&segment.excluded)
    .bind(Json(&segment.conditions))
    .fetch_one(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM segments WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}
