//! The edges that sent heartbeats: their latest status, and when it came.

use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use time::OffsetDateTime;
use togglerino_shared::model::EdgeStatus;

/// Keeps each edge's latest status; edges in id order, so concurrent heartbeats that
/// share edges (relayed by two chains) lock rows in one order.
pub async fn heard(db: &mut PgConnection, edges: &[EdgeStatus]) -> sqlx::Result<()> {
    let mut edges: Vec<&EdgeStatus> = edges.iter().collect();
    edges.sort_by(|a, b| a.id.cmp(&b.id));
    edges.dedup_by(|a, b| a.id == b.id);
    let ids: Vec<&str> = edges.iter().map(|e| e.id.as_str()).collect();
    let statuses: Vec<Json<&EdgeStatus>> = edges.iter().map(|e| Json(*e)).collect();
    let ages: Vec<f64> = edges
        .iter()
        .map(|e| e.heard_ms_ago as f64 / 1000.0)
        .collect();
    // A status passed on by a chained edge is as old as it says; an older one than
    // what is kept changes nothing.
    sqlx::query(
        "INSERT INTO fleet_edges (id, status, last_seen_at)
         SELECT id, status, now() - make_interval(secs => age)
         FROM unnest($1::text[], $2::jsonb[], $3::float8[]) AS u (id, status, age)
         ORDER BY id
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, last_seen_at = EXCLUDED.last_seen_at
         WHERE fleet_edges.last_seen_at < EXCLUDED.last_seen_at",
    )
    .bind(&ids)
    .bind(&statuses)
    .bind(&ages)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct EdgeRow {
    pub status: Json<EdgeStatus>,
    pub last_seen_at: OffsetDateTime,
}

/// Every edge heard from, most recently seen first.
pub async fn all(db: &PgPool) -> sqlx::Result<Vec<EdgeRow>> {
    sqlx::query_as("SELECT status, last_seen_at FROM fleet_edges ORDER BY last_seen_at DESC, id")
        .fetch_all(db)
        .await
}

/// Forgets edges not heard from for `hours`.
pub async fn forget(db: &PgPool, hours: i32) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM fleet_edges WHERE last_seen_at < now() - make_interval(hours => $1)")
        .bind(hours)
        .execute(db)
        .await?;
    Ok(())
}
