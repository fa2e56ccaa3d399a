//! The change feed edges follow, write side and replay. Every committed change to what
//! an environment serves bumps its revision and records one row in `edge_changes` with
//! the delta, in the writing transaction, under one advisory lock (see
//! [`crate::write`]); a `NOTIFY` on [`CHANNEL`] tells every control-plane replica to
//! read the new rows. PostgreSQL delivers a NOTIFY issued inside a transaction only when
//! it commits, so followers never hear of a change that did not happen.

use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgExecutor};
use togglerino_shared::model::Delta;
use uuid::Uuid;

pub const CHANNEL: &str = "togglerino_changes";

/// Names the advisory lock every write holds from its start to its commit, so change
/// numbers are taken and committed in one order.
pub const WRITE_LOCK: i64 = 0x7467_6c5f_7772_6974;

/// Where one environment stands after a bump.
#[derive(Debug, FromRow)]
pub struct Bumped {
    pub project_id: Uuid,
    pub project: String,
    pub environment: String,
    pub revision: i64,
}

/// Moves an environment to its next revision; `None` if there is no such environment.
pub async fn bump(db: &mut PgConnection, environment_id: Uuid) -> sqlx::Result<Option<Bumped>> {
    sqlx::query_as(
        "UPDATE environments e SET revision = e.revision + 1 FROM projects p
         WHERE e.id = $1 AND p.id = e.project_id
         RETURNING p.id AS project_id, p.key AS project, e.key AS environment, e.revision",
    )
    .bind(environment_id)
    .fetch_optional(db)
    .await
}

/// Where an environment stands, without moving it (a new environment is told at its
/// first revision).
pub async fn current(db: &mut PgConnection, environment_id: Uuid) -> sqlx::Result<Option<Bumped>> {
    sqlx::query_as(
        "SELECT p.id AS project_id, p.key AS project, e.key AS environment, e.revision
         FROM environments e JOIN projects p ON p.id = e.project_id WHERE e.id = $1",
    )
    .bind(environment_id)
    .fetch_optional(db)
    .await
}

/// Records `delta` under the next change number and notifies followers.
pub async fn record(
    db: &mut PgConnection,
    environment_id: Uuid,
    delta: &Delta,
) -> sqlx::Result<i64> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO edge_changes (seq, environment_id, revision, delta)
         VALUES (nextval('change_seq'), $1, $2, $3) RETURNING seq",
    )
    .bind(environment_id)
    .bind(delta.revision as i64)
    .bind(Json(delta))
    .fetch_one(&mut *db)
    .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(seq.to_string())
        .execute(db)
        .await?;
    Ok(seq)
}

/// One recorded change, its delta as the JSON text edges receive (passed on as it is,
/// never parsed again).
#[derive(Debug, Clone, FromRow)]
pub struct ChangeRow {
    pub seq: i64,
    pub delta: String,
}

/// Changes after `seq`, oldest first, at most `limit`.
pub async fn after(db: impl PgExecutor<'_>, seq: i64, limit: i64) -> sqlx::Result<Vec<ChangeRow>> {
    sqlx::query_as(
        "SELECT seq, delta::text AS delta FROM edge_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The oldest change still kept, if any.
pub async fn oldest(db: impl PgExecutor<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT min(seq) FROM edge_changes")
        .fetch_one(db)
        .await
}

/// The newest change committed and kept (0 when none is). Not the sequence's last
/// value: a write in progress may have taken a number it has not committed yet.
pub async fn newest(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM edge_changes")
        .fetch_one(db)
        .await
}

/// Forgets changes older than `hours`; edges away longer catch up from snapshots.
pub async fn prune(db: impl PgExecutor<'_>, hours: i32) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM edge_changes WHERE created_at < now() - make_interval(hours => $1)")
        .bind(hours)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
