//! The fleet: every edge that sent a heartbeat lately, its chain, the revision it serves
//! per environment against the current one, its streams and traffic.

use std::collections::HashMap;

use axum::extract::{Path, State};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Viewer;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::housekeeping::FORGET_EDGES_HOURS;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(receipt))
}

/// Live or gone, by when it was last heard from.
fn state_of(state: &AppState, last_seen_at: OffsetDateTime, now: OffsetDateTime) -> EdgeState {
    let gone_after = Duration::seconds(i64::from(state.settings.edge_gone_after_seconds));
    if now - last_seen_at < gone_after {
        EdgeState::Live
    } else {
        EdgeState::Gone
    }
}

#[derive(Serialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum EdgeState {
    /// Heard from lately (within --edge-gone-after, a minute by default).
    Live,
    /// Not heard from for longer; forgotten after a day.
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
                state: state_of(&state, row.last_seen_at, now),
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

#[derive(Serialize, ToSchema)]
struct ReachedOut {
    edge: String,
    #[serde(with = "time::serde::rfc3339")]
    reached_at: OffsetDateTime,
    /// From the commit to the edge serving the change (0 if the edge's clock says
    /// earlier).
    after_ms: i64,
    /// SDK streams open on the environment at that edge: the ones sent the change.
    sdk_streams: i64,
}

#[derive(Serialize, ToSchema)]
struct WaitingOut {
    edge: String,
    state: EdgeState,
    #[serde(with = "time::serde::rfc3339")]
    last_seen_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
struct EnvironmentReceipt {
    project: String,
    environment: String,
    /// The revision the change produced; an edge serving it or a later one has it.
    revision: i64,
    reached: Vec<ReachedOut>,
    /// Edges serving the environment that do not serve the change yet, since the commit.
    waiting: Vec<WaitingOut>,
}

#[derive(Serialize, ToSchema)]
struct ReceiptOut {
    #[serde(with = "time::serde::rfc3339")]
    committed_at: OffsetDateTime,
    /// Edges the change reached, and edges that serve what it changed at all.
    reached: usize,
    edges: usize,
    /// The longest commit-to-edge time among the edges reached.
    slowest_ms: Option<i64>,
    /// SDK streams sent the change, over every edge reached.
    sdk_streams: i64,
    /// Per environment the change moved; empty for changes edges never see.
    environments: Vec<EnvironmentReceipt>,
}

/// Whether a change reached every edge: per environment it moved, each edge with when
/// it served the change (and how many SDK streams it sent it to), and each edge that
/// serves the environment but not the change yet. Deployment pipelines can poll it
/// until `reached == edges`.
#[utoipa::path(get, path = "/audit-log/{id}/receipt", tag = "fleet",
    params(("id" = i64, Path, description = "The audit entry's id")),
    responses((status = 200, body = ReceiptOut), (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn receipt(
    State(state): State<AppState>,
    _: Viewer,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ReceiptOut>> {
    let not_found = || ApiError::not_found("entry_not_found", "audit entry");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let committed_at: OffsetDateTime =
        sqlx::query_scalar("SELECT created_at FROM audit_log WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await?
            .ok_or_else(not_found)?;
    let produced = db::receipts::of_entry(&state.db, id).await?;
    let fleet = db::fleet::all(&state.db).await?;
    let now = OffsetDateTime::now_utc();
    let mut environments = Vec::new();
    let (mut reached_edges, mut all_edges, mut streams) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
        0,
    );
    let mut slowest: Option<i64> = None;
    for change in produced {
        let reached: Vec<ReachedOut> = db::receipts::reached(
            &state.db,
            &change.project,
            &change.environment,
            change.revision,
        )
        .await?
        .into_iter()
        .map(|r| ReachedOut {
            after_ms: ((r.applied_at - committed_at).whole_milliseconds() as i64).max(0),
            edge: r.edge_id,
            reached_at: r.applied_at,
            sdk_streams: r.sdk_streams,
        })
        .collect();
        // Edges serving this environment that have not served the change: from their
        // last heartbeat, gone ones included (a change has not reached an edge that is
        // down).
        let waiting: Vec<WaitingOut> = fleet
            .iter()
            .filter(|row| {
                row.status
                    .0
                    .environments
                    .iter()
                    .any(|e| e.project == change.project && e.environment == change.environment)
                    && !reached.iter().any(|r| r.edge == row.status.0.id)
            })
            .map(|row| WaitingOut {
                edge: row.status.0.id.clone(),
                state: state_of(&state, row.last_seen_at, now),
                last_seen_at: row.last_seen_at,
            })
            .collect();
        for r in &reached {
            reached_edges.insert(r.edge.clone());
            all_edges.insert(r.edge.clone());
            streams += r.sdk_streams;
            slowest = Some(slowest.map_or(r.after_ms, |s| s.max(r.after_ms)));
        }
        for w in &waiting {
            all_edges.insert(w.edge.clone());
        }
        environments.push(EnvironmentReceipt {
            project: change.project,
            environment: change.environment,
            revision: change.revision,
            reached,
            waiting,
        });
    }
    // An edge counts as reached only once it has every environment the change moved.
    let waiting_somewhere: std::collections::BTreeSet<&str> = environments
        .iter()
        .flat_map(|e| e.waiting.iter().map(|w| w.edge.as_str()))
        .collect();
    let reached = reached_edges
        .iter()
        .filter(|edge| !waiting_somewhere.contains(edge.as_str()))
        .count();
    Ok(axum::Json(ReceiptOut {
        committed_at,
        reached,
        edges: all_edges.len(),
        slowest_ms: slowest,
        sdk_streams: streams,
        environments,
    }))
}
