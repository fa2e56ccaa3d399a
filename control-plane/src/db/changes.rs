//! The change feed edges follow. Every change that can alter what an environment's
//! snapshot evaluates to bumps that environment's revision in the same transaction, and
//! queues a notification on [`CHANNEL`]. PostgreSQL delivers a NOTIFY issued inside a
//! transaction only when that transaction commits, so followers never hear of a change
//! that did not happen, and never miss one that did. Payloads carry only ids and a
//! global change number (`seq`); followers re-read.

use sqlx::PgConnection;
use uuid::Uuid;

pub const CHANNEL: &str = "togglerino_changes";

/// Bumps the revision of each environment in `environment_ids` and notifies followers.
pub async fn bump(db: &mut PgConnection, environment_ids: &[Uuid]) -> sqlx::Result<()> {
    if environment_ids.is_empty() {
        return Ok(());
    }
    let bumped: Vec<(Uuid, i64)> = sqlx::query_as(
        "UPDATE environments SET revision = revision + 1 WHERE id = ANY($1) RETURNING id, revision",
    )
    .bind(environment_ids)
    .fetch_all(&mut *db)
    .await?;
    for (id, revision) in bumped {
        notify(db, id, revision).await?;
    }
    Ok(())
}

/// Bumps every environment of a project.
pub async fn bump_project(db: &mut PgConnection, project_id: Uuid) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM environments WHERE project_id = $1")
        .bind(project_id)
        .fetch_all(&mut *db)
        .await?;
    bump(db, &ids).await
}

/// Tells followers about an environment at `revision` (a new one, or one being deleted).
pub async fn notify(
    db: &mut PgConnection,
    environment_id: Uuid,
    revision: i64,
) -> sqlx::Result<()> {
    // The change number is taken inside the same statement, so numbers and
    // notifications stay in one order per transaction.
    sqlx::query(
        "SELECT pg_notify($1, json_build_object(
             'environment_id', $2::uuid, 'revision', $3::bigint, 'seq', nextval('change_seq'))::text)",
    )
    .bind(CHANNEL)
    .bind(environment_id)
    .bind(revision)
    .execute(db)
    .await
    .map(drop)
}
