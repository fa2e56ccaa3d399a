use serde::Serialize;
use serde_json::Value;
use sqlx::{FromRow, PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::projects::ProjectRow;

/// One mutation, as the audit log records it.
pub struct Entry<'a> {
    /// The project it happened in; `None` for people and tokens.
    pub project: Option<(Uuid, &'a str)>,
    pub environment: Option<&'a str>,
    /// `<entity>.<verb>`, e.g. `flag.created`, `flag_config.updated`.
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_key: &'a str,
    pub old_value: Option<Value>,
    pub new_value: Option<Value>,
}

impl<'a> Entry<'a> {
    /// An entry about people or tokens, outside any project.
    pub fn global(action: &'a str, entity_type: &'a str, entity_key: &'a str) -> Entry<'a> {
        Entry {
            project: None,
            environment: None,
            action,
            entity_type,
            entity_key,
            old_value: None,
            new_value: None,
        }
    }

    /// An entry about something in a project.
    pub fn in_project(
        project: &'a ProjectRow,
        action: &'a str,
        entity_type: &'a str,
        entity_key: &'a str,
    ) -> Entry<'a> {
        Entry {
            project: Some((project.id, &project.key)),
            ..Entry::global(action, entity_type, entity_key)
        }
    }

    pub fn environment(mut self, key: &'a str) -> Entry<'a> {
        self.environment = Some(key);
        self
    }

    pub fn old(mut self, value: impl Serialize) -> Entry<'a> {
        self.old_value = Some(serde_json::to_value(value).expect("API types serialize"));
        self
    }

    pub fn new(mut self, value: impl Serialize) -> Entry<'a> {
        self.new_value = Some(serde_json::to_value(value).expect("API types serialize"));
        self
    }
}

/// Records `entry` as done by `actor`, inside the caller's transaction, so the entry
/// exists exactly when the change does. An entry about a project deleted in the same
/// transaction keeps its key but no link, as it would had it been written first.
/// Writes the entry; returns its id.
pub async fn record(db: &mut PgConnection, actor: &Actor, entry: Entry<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO audit_log (project_id, project_key, environment_key, actor_type, actor_id,
             actor_name, action, entity_type, entity_key, old_value, new_value)
         VALUES ((SELECT id FROM projects WHERE id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id",
    )
    .bind(entry.project.map(|(id, _)| id))
    .bind(entry.project.map(|(_, key)| key))
    .bind(entry.environment)
    .bind(actor.kind.as_str())
    .bind(actor.id)
    .bind(&actor.name)
    .bind(entry.action)
    .bind(entry.entity_type)
    .bind(entry.entity_key)
    .bind(entry.old_value)
    .bind(entry.new_value)
    .fetch_one(db)
    .await
}

#[derive(Debug, Serialize, FromRow, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub project_key: Option<String>,
    pub environment_key: Option<String>,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub entity_type: String,
    pub entity_key: String,
    pub old_value: Option<Value>,
    pub new_value: Option<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Filters for a page of the audit log, newest first. Every filter left `None` (or
/// `false`) lets everything through.
#[derive(Default)]
pub struct Page<'a> {
    /// One project that exists now.
    pub project_id: Option<Uuid>,
    /// A project by key, deleted ones included (entries keep the key).
    pub project_key: Option<&'a str>,
    /// Only entries outside any project: people, tokens, settings.
    pub outside_projects: bool,
    pub before: Option<i64>,
    pub limit: i64,
    pub flag: Option<&'a str>,
    /// Part of the actor's name (an email or a token's name), any case.
    pub actor: Option<&'a str>,
    /// An action (`flag.updated`), or a family of them (`flag.`).
    pub action: Option<&'a str>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

pub async fn page(db: impl PgExecutor<'_>, page: Page<'_>) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as(
        "SELECT id, project_key, environment_key, actor_type, actor_id, actor_name, action,
                entity_type, entity_key, old_value, new_value, created_at
         FROM audit_log
         WHERE ($1::uuid IS NULL OR project_id = $1)
           AND ($2::text IS NULL OR project_key = $2)
           AND (NOT $3 OR project_key IS NULL)
           AND ($4::bigint IS NULL OR id < $4)
           AND ($5::text IS NULL OR (entity_type IN ('flag', 'flag_config') AND entity_key = $5))
           AND ($6::text IS NULL OR strpos(lower(actor_name), lower($6)) > 0)
           AND ($7::text IS NULL OR action = $7 OR (right($7, 1) = '.' AND starts_with(action, $7)))
           AND ($8::timestamptz IS NULL OR created_at >= $8)
           AND ($9::timestamptz IS NULL OR created_at < $9)
         ORDER BY id DESC
         LIMIT $10",
    )
    .bind(page.project_id)
    .bind(page.project_key)
    .bind(page.outside_projects)
    .bind(page.before)
    .bind(page.flag)
    .bind(page.actor)
    .bind(page.action)
    .bind(page.since)
    .bind(page.until)
    .bind(page.limit)
    .fetch_all(db)
    .await
}
