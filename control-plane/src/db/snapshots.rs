//! Reading what edges need: one environment's snapshot, where every environment
//! stands, and the single flags, segments and keys that deltas carry. Snapshots and
//! deltas are read by the same functions, so a delta applied to a snapshot gives the
//! next snapshot exactly.

use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use togglerino_shared::model::{
    EnvironmentRevision, FlagConfig, SdkKey, SdkKeyKind, Segment, Snapshot, SnapshotFlag,
};
use uuid::Uuid;

use crate::db;

/// Every environment's id and revision, ordered by id.
pub async fn revisions(db: &mut PgConnection) -> sqlx::Result<Vec<EnvironmentRevision>> {
    #[derive(FromRow)]
    struct Row {
        id: Uuid,
        project: String,
        environment: String,
        revision: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.id, p.key AS project, e.key AS environment, e.revision
         FROM environments e JOIN projects p ON p.id = e.project_id
         ORDER BY e.id",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| EnvironmentRevision {
            environment_id: r.id.to_string(),
            project: r.project,
            environment: r.environment,
            revision: r.revision as u64,
        })
        .collect())
}

/// An environment found by its keys: its id and revision.
pub async fn find(
    db: &mut PgConnection,
    project: &str,
    environment: &str,
) -> sqlx::Result<Option<(Uuid, Uuid, i64)>> {
    sqlx::query_as(
        "SELECT e.id, p.id, e.revision FROM environments e JOIN projects p ON p.id = e.project_id
         WHERE p.key = $1 AND e.key = $2",
    )
    .bind(project)
    .bind(environment)
    .fetch_optional(db)
    .await
}

/// One environment's whole snapshot, SDK keys included, in canonical order. Run it in a
/// repeatable-read transaction so all tables are read at one instant.
pub async fn environment(
    db: &mut PgConnection,
    project: &db::projects::ProjectRow,
    environment: &db::environments::EnvironmentRow,
) -> sqlx::Result<Snapshot> {
    let flags = flags(&mut *db, project.id, environment.id, None).await?;
    let segments = db::segments::list(&mut *db, project.id)
        .await?
        .iter()
        .map(|s| s.to_model())
        .collect();
    let mut snapshot = Snapshot {
        project: project.key.clone(),
        environment: environment.key.clone(),
        revision: environment.revision as u64,
        flags,
        segments,
        sdk_keys: sdk_keys(&mut *db, environment.id).await?,
    };
    snapshot.canonicalize();
    Ok(snapshot)
}

/// Flags with their configs in one environment: all of them, or the one keyed `only`.
async fn flags(
    db: &mut PgConnection,
    project_id: Uuid,
    environment_id: Uuid,
    only: Option<&str>,
) -> sqlx::Result<Vec<SnapshotFlag>> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        flag: db::flags::FlagRow,
        config: Json<FlagConfig>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT f.id, f.key, f.name, f.description, f.flag_type, f.default_value, f.tags,
                f.archived, f.client_visible, f.created_at, f.updated_at, c.config
         FROM flags f JOIN flag_configs c ON c.flag_id = f.id AND c.environment_id = $2
         WHERE f.project_id = $1 AND ($3::text IS NULL OR f.key = $3)
         ORDER BY f.key",
    )
    .bind(project_id)
    .bind(environment_id)
    .bind(only)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SnapshotFlag {
            flag: row.flag.to_model(),
            config: row.config.0,
        })
        .collect())
}

/// Flag `key` with its config in one environment, as a snapshot holds it; `None` once
/// deleted.
pub async fn flag(
    db: &mut PgConnection,
    project_id: Uuid,
    environment_id: Uuid,
    key: &str,
) -> sqlx::Result<Option<SnapshotFlag>> {
    Ok(flags(db, project_id, environment_id, Some(key))
        .await?
        .into_iter()
        .next())
}

/// Segment `key` as a snapshot holds it; `None` once deleted.
pub async fn segment(
    db: &mut PgConnection,
    project_id: Uuid,
    key: &str,
) -> sqlx::Result<Option<Segment>> {
    Ok(db::segments::find(db, project_id, key)
        .await?
        .map(|row| row.to_model()))
}

/// The environment's valid SDK keys, hashes only, in id order.
pub async fn sdk_keys(db: &mut PgConnection, environment_id: Uuid) -> sqlx::Result<Vec<SdkKey>> {
    #[derive(FromRow)]
    struct Row {
        id: Uuid,
        kind: String,
        key_hash: Vec<u8>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, key_hash FROM sdk_keys
         WHERE environment_id = $1 AND revoked_at IS NULL ORDER BY id",
    )
    .bind(environment_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SdkKey {
            id: row.id.to_string(),
            kind: if row.kind == "client" {
                SdkKeyKind::Client
            } else {
                SdkKeyKind::Server
            },
            sha256: hex::encode(&row.key_hash),
        })
        .collect())
}
