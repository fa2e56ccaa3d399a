use serde_json::Value;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use togglerino_shared::model::{Flag, FlagType};
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct FlagRow {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: String,
    pub flag_type: String,
    pub default_value: Value,
    pub tags: Vec<String>,
    pub archived: bool,
    pub client_visible: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl FlagRow {
    /// The shared model's view of this flag.
    pub fn to_model(&self) -> Flag {
        Flag {
            key: self.key.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            flag_type: parse_type(&self.flag_type),
            default_value: self.default_value.clone(),
            tags: self.tags.clone(),
            archived: self.archived,
            client_visible: self.client_visible,
        }
    }
}

/// The column's CHECK constraint admits exactly the four types.
pub fn parse_type(text: &str) -> FlagType {
    match text {
        "boolean" => FlagType::Boolean,
        "string" => FlagType::String,
        "number" => FlagType::Number,
        _ => FlagType::Json,
    }
}

const COLUMNS: &str = "id, key, name, description, flag_type, default_value, tags, archived, client_visible, created_at, updated_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    flag: &Flag,
) -> sqlx::Result<FlagRow> {
    sqlx::query_as(&format!(
        "INSERT INTO flags (id, project_id, key, name, description, flag_type, default_value, tags, archived, client_visible)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(project_id)
    .bind(&flag.key)
    .bind(&flag.name)
    .bind(&flag.description)
    .bind(flag.flag_type.as_str())
    .bind(&flag.default_value)
    .bind(&flag.tags)
    .bind(flag.archived)
    .bind(flag.client_visible)
    .fetch_one(db)
    .await
}

/// Filters of the flag list.
pub struct Filter<'a> {
    /// Substring of the key or name, case-insensitive.
    pub query: Option<&'a str>,
    pub tag: Option<&'a str>,
    /// `Some(true)`: archived flags only; `Some(false)`: active ones only; `None`: both.
    pub archived: Option<bool>,
}

pub async fn list(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    filter: Filter<'_>,
) -> sqlx::Result<Vec<FlagRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM flags
         WHERE project_id = $1 AND ($2::bool IS NULL OR archived = $2)
           AND ($3::text IS NULL OR strpos(lower(key), lower($3)) > 0 OR strpos(lower(name), lower($3)) > 0)
           AND ($4::text IS NULL OR $4 = ANY(tags))
         ORDER BY key"
    ))
    .bind(project_id)
    .bind(filter.archived)
    .bind(filter.query)
    .bind(filter.tag)
    .fetch_all(db)
    .await
}

/// Every flag of a project, archived ones too.
pub async fn list_all(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Vec<FlagRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM flags WHERE project_id = $1 ORDER BY key"
    ))
    .bind(project_id)
    .fetch_all(db)
    .await
}

pub async fn find(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    key: &str,
) -> sqlx::Result<Option<FlagRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM flags WHERE project_id = $1 AND key = $2"
    ))
    .bind(project_id)
    .bind(key)
    .fetch_optional(db)
    .await
}

pub async fn update(db: impl PgExecutor<'_>, id: Uuid, flag: &Flag) -> sqlx::Result<FlagRow> {
    sqlx::query_as(&format!(
        "UPDATE flags SET name = $2, description = $3, default_value = $4, tags = $5, archived = $6,
             client_visible = $7, updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&flag.name)
    .bind(&flag.description)
    .bind(&flag.default_value)
    .bind(&flag.tags)
    .bind(flag.archived)
    .bind(flag.client_visible)
    .fetch_one(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM flags WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}
