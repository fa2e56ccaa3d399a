//! Propagation receipts: which revisions each audited write produced, and when each
//! edge put each revision in service (from its heartbeats).

use sqlx::{FromRow, PgConnection, PgPool};
use time::OffsetDateTime;
use togglerino_shared::model::EdgeStatus;

/// Records the `(project, environment, revision)`s audit entry `audit_id` produced.
pub async fn produced(
    db: &mut PgConnection,
    audit_id: i64,
    revisions: &[(String, String, u64)],
) -> sqlx::Result<()> {
    if revisions.is_empty() {
        return Ok(());
    }
    let projects: Vec<&str> = revisions.iter().map(|r| r.0.as_str()).collect();
    let environments: Vec<&str> = revisions.iter().map(|r| r.1.as_str()).collect();
    let numbers: Vec<i64> = revisions.iter().map(|r| r.2 as i64).collect();
    sqlx::query(
        "INSERT INTO audit_revisions (audit_id, project, environment, revision)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int8[])
         ON CONFLICT DO NOTHING",
    )
    .bind(audit_id)
    .bind(&projects)
    .bind(&environments)
    .bind(&numbers)
    .execute(db)
    .await?;
    Ok(())
}

/// Records, once per edge and revision, when each edge says it applied each revision.
pub async fn applied(db: &mut PgConnection, edges: &[EdgeStatus]) -> sqlx::Result<()> {
    let (mut ids, mut projects, mut environments, mut revisions, mut at, mut streams) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for edge in edges {
        for e in &edge.environments {
            ids.push(edge.id.as_str());
            projects.push(e.project.as_str());
            environments.push(e.environment.as_str());
            revisions.push(e.revision as i64);
            at.push(e.applied_at_ms as f64 / 1000.0);
            streams.push(e.sdk_streams as i64);
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO edge_applied (edge_id, project, environment, revision, applied_at, sdk_streams)
         SELECT u.id, u.project, u.environment, u.revision, to_timestamp(u.at), u.streams
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::float8[], $6::int8[])
              AS u (id, project, environment, revision, at, streams)
         ORDER BY 1, 2, 3, 4
         ON CONFLICT DO NOTHING",
    )
    .bind(&ids)
    .bind(&projects)
    .bind(&environments)
    .bind(&revisions)
    .bind(&at)
    .bind(&streams)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct Produced {
    pub project: String,
    pub environment: String,
    pub revision: i64,
    pub committed_at: OffsetDateTime,
}

/// What audit entry `audit_id` produced, and when it was committed.
pub async fn of_entry(db: &PgPool, audit_id: i64) -> sqlx::Result<Vec<Produced>> {
    sqlx::query_as(
        "SELECT r.project, r.environment, r.revision, a.created_at AS committed_at
         FROM audit_revisions r JOIN audit_log a ON a.id = r.audit_id
         WHERE r.audit_id = $1 ORDER BY r.project, r.environment",
    )
    .bind(audit_id)
    .fetch_all(db)
    .await
}

#[derive(Debug, FromRow)]
pub struct Reached {
    pub edge_id: String,
    pub applied_at: OffsetDateTime,
    pub sdk_streams: i64,
}

/// Per edge, the first time it served `revision` of the environment or a later one.
pub async fn reached(
    db: &PgPool,
    project: &str,
    environment: &str,
    revision: i64,
) -> sqlx::Result<Vec<Reached>> {
    sqlx::query_as(
        "SELECT DISTINCT ON (edge_id) edge_id, applied_at, sdk_streams
         FROM edge_applied
         WHERE project = $1 AND environment = $2 AND revision >= $3
         ORDER BY edge_id, revision, applied_at",
    )
    .bind(project)
    .bind(environment)
    .bind(revision)
    .fetch_all(db)
    .await
}

/// Forgets apply times older than `hours`.
pub async fn forget(db: &PgPool, hours: i32) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM edge_applied WHERE applied_at < now() - make_interval(hours => $1)")
        .bind(hours)
        .execute(db)
        .await?;
    Ok(())
}
