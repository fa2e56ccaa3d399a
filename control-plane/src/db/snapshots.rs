//! Reading what edges need: every environment's snapshot, consistently.

use std::collections::HashMap;

use sqlx::{FromRow, PgConnection};
use togglerino_shared::model::{
    EdgeSnapshot, EnvironmentRevision, SdkKey, SdkKeyKind, Snapshot, SnapshotFlag,
};
use uuid::Uuid;

use crate::db;

/// Every environment's id and revision, ordered by id: a cheap fingerprint of the
/// snapshot, since every change that matters to edges moves a revision.
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

/// The latest change number handed out (0 before the first change).
pub async fn latest_change(db: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM change_seq")
        .fetch_one(db)
        .await
}

/// Builds every environment's snapshot. Run it in a repeatable-read transaction so all
/// tables are read at one instant.
pub async fn build(db: &mut PgConnection) -> sqlx::Result<EdgeSnapshot> {
    #[derive(FromRow)]
    struct KeyRow {
        id: Uuid,
        environment_id: Uuid,
        kind: String,
        key_hash: Vec<u8>,
    }
    let mut environments = Vec::new();
    let keys: Vec<KeyRow> = sqlx::query_as(
        "SELECT id, environment_id, kind, key_hash FROM sdk_keys WHERE revoked_at IS NULL ORDER BY created_at",
    )
    .fetch_all(&mut *db)
    .await?;
    let mut keys_by_environment: HashMap<Uuid, Vec<SdkKey>> = HashMap::new();
    for key in keys {
        keys_by_environment
            .entry(key.environment_id)
            .or_default()
            .push(SdkKey {
                id: key.id.to_string(),
                kind: if key.kind == "client" {
                    SdkKeyKind::Client
                } else {
                    SdkKeyKind::Server
                },
                sha256: hex::encode(&key.key_hash),
            });
    }
    for project in db::projects::list(&mut *db).await? {
        let flags: HashMap<Uuid, _> = db::flags::list_all(&mut *db, project.id)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
        let segments: Vec<_> = db::segments::list(&mut *db, project.id)
            .await?
            .iter()
            .map(|s| s.to_model())
            .collect();
        let configs = db::flag_configs::for_project(&mut *db, project.id).await?;
        for environment in db::environments::list(&mut *db, project.id).await? {
            let flags = configs
                .iter()
                .filter(|(_, row)| row.environment_id == environment.id)
                .map(|(_, row)| SnapshotFlag {
                    flag: flags[&row.flag_id].to_model(),
                    config: row.config.0.clone(),
                })
                .collect();
            environments.push(Snapshot {
                project: project.key.clone(),
                environment: environment.key.clone(),
                revision: environment.revision as u64,
                flags,
                segments: segments.clone(),
                sdk_keys: keys_by_environment
                    .remove(&environment.id)
                    .unwrap_or_default(),
            });
        }
    }
    Ok(EdgeSnapshot { environments })
}

/// One environment's snapshot, without SDK keys: what the playground evaluates. Run it
/// in a repeatable-read transaction so all tables are read at one instant.
pub async fn environment(
    db: &mut PgConnection,
    project: &db::projects::ProjectRow,
    environment: &db::environments::EnvironmentRow,
) -> sqlx::Result<Snapshot> {
    let flags: HashMap<Uuid, _> = db::flags::list_all(&mut *db, project.id)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let segments = db::segments::list(&mut *db, project.id)
        .await?
        .iter()
        .map(|s| s.to_model())
        .collect();
    let flags = db::flag_configs::for_project(&mut *db, project.id)
        .await?
        .into_iter()
        .filter(|(_, row)| row.environment_id == environment.id)
        .map(|(_, row)| SnapshotFlag {
            flag: flags[&row.flag_id].to_model(),
            config: row.config.0,
        })
        .collect();
    Ok(Snapshot {
        project: project.key.clone(),
        environment: environment.key.clone(),
        revision: environment.revision as u64,
        flags,
        segments,
        sdk_keys: Vec::new(),
    })
}
