//! Evaluation counts: taking edges' reports (once each), reading them back as buckets,
//! and forgetting them after their retention.

use sqlx::{FromRow, PgConnection, PgPool};
use time::OffsetDateTime;
use togglerino_shared::model::UsageReport;
use uuid::Uuid;

/// Adds a report's counts to their minutes and hours, unless this edge's report `seq`
/// was taken already. Returns whether it was new. Counts for flags or environments
/// that no longer exist are dropped; so are counts older than `oldest_minute`, which
/// retention would remove at once.
pub async fn take(
    db: &mut PgConnection,
    report: &UsageReport,
    oldest_minute: OffsetDateTime,
) -> sqlx::Result<bool> {
    let new: Option<i32> = sqlx::query_scalar(
        "INSERT INTO usage_edges (edge, last_seq) VALUES ($1, $2)
         ON CONFLICT (edge) DO UPDATE SET last_seq = EXCLUDED.last_seq, seen_at = now()
         WHERE usage_edges.last_seq < EXCLUDED.last_seq
         RETURNING 1",
    )
    .bind(&report.edge)
    .bind(report.seq as i64)
    .fetch_optional(&mut *db)
    .await?;
    if new.is_none() {
        return Ok(false);
    }
    let n = report.counts.len();
    let (mut projects, mut environments, mut flags, mut variants, mut minutes, mut counts) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for count in &report.counts {
        projects.push(count.project.as_str());
        environments.push(count.environment.as_str());
        flags.push(count.flag.as_str());
        variants.push(count.variant.as_deref().unwrap_or(""));
        minutes.push(count.minute as f64);
        counts.push(count.count as i64);
    }
    // Rows in key order, so concurrent reports lock shared rows in the same order and
    // cannot deadlock.
    for (table, bucket, unit) in [
        ("usage_minutes", "minute", "minute"),
        ("usage_hours", "hour", "hour"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {table} (environment_id, flag_id, {bucket}, variant, count)
             SELECT e.id, f.id, date_trunc('{unit}', to_timestamp(u.minute)), u.variant, sum(u.count)
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::int8[])
                  AS u (project, environment, flag, variant, minute, count)
             JOIN projects p ON p.key = u.project
             JOIN environments e ON e.project_id = p.id AND e.key = u.environment
             JOIN flags f ON f.project_id = p.id AND f.key = u.flag
             WHERE to_timestamp(u.minute) >= $7
             GROUP BY 1, 2, 3, 4
             ORDER BY 1, 2, 3, 4
             ON CONFLICT (environment_id, flag_id, {bucket}, variant)
             DO UPDATE SET count = {table}.count + EXCLUDED.count"
        ))
        .bind(&projects)
        .bind(&environments)
        .bind(&flags)
        .bind(&variants)
        .bind(&minutes)
        .bind(&counts)
        .bind(oldest_minute)
        .execute(&mut *db)
        .await?;
    }
    Ok(true)
}

/// One bucket of one environment's counts of a flag, per answer.
#[derive(Debug, FromRow)]
pub struct BucketRow {
    pub environment: String,
    pub start: OffsetDateTime,
    pub variant: String,
    pub count: i64,
}

/// A flag's counts in `[from, to)`, per environment, bucket and answer, oldest first.
pub async fn buckets(
    db: &PgPool,
    flag_id: Uuid,
    environment_id: Option<Uuid>,
    hourly: bool,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<BucketRow>> {
    let (table, bucket) = if hourly {
        ("usage_hours", "hour")
    } else {
        ("usage_minutes", "minute")
    };
    sqlx::query_as(&format!(
        "SELECT e.key AS environment, u.{bucket} AS start, u.variant, u.count
         FROM {table} u JOIN environments e ON e.id = u.environment_id
         WHERE u.flag_id = $1 AND ($2::uuid IS NULL OR u.environment_id = $2)
           AND u.{bucket} >= $3 AND u.{bucket} < $4
         ORDER BY u.{bucket}, e.key, u.variant"
    ))
    .bind(flag_id)
    .bind(environment_id)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}

/// Per flag and environment of a project: evaluations since `since`, and when the flag
/// was last evaluated there at all (as far as retention remembers).
#[derive(Debug, FromRow)]
pub struct ActivityRow {
    pub flag: String,
    pub environment: String,
    pub count: i64,
    pub last_evaluated_at: Option<OffsetDateTime>,
}

pub async fn activity(
    db: &PgPool,
    project_id: Uuid,
    flag_id: Option<Uuid>,
    since: OffsetDateTime,
) -> sqlx::Result<Vec<ActivityRow>> {
    // The last minute seen, or else the last hour (older than the minutes kept); an
    // hour's bucket says the hour began, so its end is the safer "last seen".
    sqlx::query_as(
        "WITH m AS (
             SELECT flag_id, environment_id,
                    sum(count) FILTER (WHERE minute >= $2) AS count,
                    max(minute) + interval '1 minute' AS last
             FROM usage_minutes u JOIN flags f ON f.id = u.flag_id
             WHERE f.project_id = $1 AND ($3::uuid IS NULL OR f.id = $3) GROUP BY 1, 2),
         h AS (
             SELECT flag_id, environment_id, max(hour) + interval '1 hour' AS last
             FROM usage_hours u JOIN flags f ON f.id = u.flag_id
             WHERE f.project_id = $1 AND ($3::uuid IS NULL OR f.id = $3) GROUP BY 1, 2)
         SELECT f.key AS flag, e.key AS environment,
                coalesce(m.count, 0)::int8 AS count,
                least(coalesce(m.last, h.last), now()) AS last_evaluated_at
         FROM h FULL JOIN m USING (flag_id, environment_id)
         JOIN flags f ON f.id = coalesce(m.flag_id, h.flag_id)
         JOIN environments e ON e.id = coalesce(m.environment_id, h.environment_id)
         ORDER BY f.key, e.key",
    )
    .bind(project_id)
    .bind(since)
    .bind(flag_id)
    .fetch_all(db)
    .await
}

/// Forgets minutes and repeat guards older than `minutes_days`, hours older than
/// `hours_days`.
pub async fn prune(db: &PgPool, minutes_days: u32, hours_days: u32) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM usage_minutes WHERE minute < now() - make_interval(days => $1)")
        .bind(minutes_days as i32)
        .execute(db)
        .await?;
    sqlx::query("DELETE FROM usage_edges WHERE seen_at < now() - make_interval(days => $1)")
        .bind(minutes_days as i32)
        .execute(db)
        .await?;
    sqlx::query("DELETE FROM usage_hours WHERE hour < now() - make_interval(days => $1)")
        .bind(hours_days as i32)
        .execute(db)
        .await?;
    Ok(())
}
