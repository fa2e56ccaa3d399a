//! The fleet: every edge that sent a heartbeat lately, its chain, the revision it serves
//! per environment against the current one, its streams and traffic.

use std::collections::HashMap;

use axum::extract::State;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Viewer;
use crate::db;
use crate::error::{ApiResult, ErrorOut};
use crate::housekeeping::FORGET_EDGES_HOURS;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// An edge heard from within this long is live; edges heartbeat every 15 s by default.
const LIVE_WITHIN: Duration = Duration::seconds(60);

#[derive(Serialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum EdgeState {
    /// Heard from within the last minute.
    Live,
    /// Not heard from for a minute or more; forgotten after a day.
    Gone,
}

#[derive(Serialize, ToSchema)]
struct EnvironmentOut {
    project: String,
    environment: String,
    /// The revision the edge serves.
    revision: u64,
    /// The control plane's revision now; `null` if the environment is gone.
    current_revision: Option<u64>,
    /// How many revisions the edge is behind (0 when current).
    behind: u64,
    #[serde(with = "time::serde::rfc3339")]
    applied_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
struct EdgeOut {
    id: String,
    /// The edge it follows; `null` when it follows the control plane.
    via: Option<String>,
    state: EdgeState,
    version: String,
    upstream: String,
    listen: String,
    #[serde(with = "time::serde::rfc3339")]
    started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_seen_at: OffsetDateTime,
    sdk_streams: u64,
    evaluations_per_second: f64,
    sync_error: Option<String>,
    /// The most revisions it is behind in any environment.
    behind: u64,
    environments: Vec<EnvironmentOut>,
}

#[derive(Serialize, ToSchema)]
struct EdgesOut {
    edges: Vec<EdgeOut>,
}

/// Every edge heard from in the last day, most recently seen first.
#[utoipa::path(get, path = "/edges", tag = "fleet",
    responses((status = 200, body = EdgesOut), (status = 401, body = ErrorOut)))]
async fn list(State(state): State<AppState>, _: Viewer) -> ApiResult<axum::Json<EdgesOut>> {
    let mut connection = state.db.acquire().await?;
    let current: HashMap<(String, String), u64> = db::snapshots::revisions(&mut connection)
        .await?
        .into_iter()
        .map(|r| ((r.project, r.environment), r.revision))
        .collect();
    drop(connection);
    let now = OffsetDateTime::now_utc();
    let forgotten = now - Duration::hours(i64::from(FORGET_EDGES_HOURS));
    let at = |seconds: i64| {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    let edges = db::fleet::all(&state.db)
        .await?
        .into_iter()
        .filter(|row| row.last_seen_at >= forgotten)
        .map(|row| {
            let status = row.status.0;
            let environments: Vec<EnvironmentOut> = status
                .environments
                .into_iter()
                .map(|e| {
                    let current_revision = current
                        .get(&(e.project.clone(), e.environment.clone()))
                        .copied();
                    EnvironmentOut {
                        behind: current_revision.map_or(0, |c| c.saturating_sub(e.revision)),
                        current_revision,
                        applied_at: OffsetDateTime::from_unix_timestamp_nanos(
                            i128::from(e.applied_at_ms) * 1_000_000,
                        )
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                        project: e.project,
                        environment: e.environment,
                        revision: e.revision,
                    }
                })
                .collect();
            EdgeOut {
                state: if now - row.last_seen_at < LIVE_WITHIN {
                    EdgeState::Live
                } else {
                    EdgeState::Gone
                },
                behind: environments.iter().map(|e| e.behind).max().unwrap_or(0),
                id: status.id,
                via: status.via,
                version: status.version,
                upstream: status.upstream,
                listen: status.listen,
                started_at: at(status.started_at),
                last_seen_at: row.last_seen_at,
                sdk_streams: status.sdk_streams,
                evaluations_per_second: status.evaluations_per_second,
                sync_error: status.sync_error,
                environments,
            }
        })
        .collect();
    Ok(axum::Json(EdgesOut { edges }))
}
