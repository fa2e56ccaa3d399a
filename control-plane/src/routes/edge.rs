//! What edges read: where every environment stands, one environment's snapshot, and a
//! stream of deltas in order. An edge applies each delta to the one environment it
//! names, and pulls that environment's snapshot when it cannot (a gap, or a new
//! environment).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use sqlx::PgPool;
use togglerino_shared::model::{Heartbeat, RevisionsEvent, UsageReport, stream_events};
use tokio::sync::{broadcast, watch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Edge;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::feed::FeedEvent;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(revisions))
        .routes(routes!(environment))
        .routes(routes!(stream))
        .routes(routes!(usage))
        .routes(routes!(heartbeat))
}

/// An edge's heartbeat: its state, then that of the edges chained below it.
#[utoipa::path(post, path = "/edge/heartbeat", tag = "edge", security(("edge_token" = [])),
    request_body = Heartbeat,
    responses((status = 204, description = "Kept"),
        (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 413, body = ErrorOut)))]
async fn heartbeat(
    State(state): State<AppState>,
    _: Edge,
    Json(heartbeat): Json<Heartbeat>,
) -> ApiResult<axum::http::StatusCode> {
    heartbeat.check().map_err(|message| ApiError::BadRequest {
        code: "invalid_heartbeat",
        message,
        field: None,
    })?;
    let mut tx = state.db.begin().await?;
    db::fleet::heard(&mut tx, &heartbeat.edges).await?;
    db::receipts::applied(&mut tx, &heartbeat.edges).await?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Evaluation counts from an edge (and the edges below it). Each report is taken once:
/// one sent again, with an `(edge, seq)` already taken, is acknowledged with
/// `accepted: false` and changes nothing.
#[utoipa::path(post, path = "/edge/usage", tag = "edge", security(("edge_token" = [])),
    request_body = UsageReport,
    responses((status = 200, description = "Taken, or a repeat of one taken", body = UsageAccepted),
        (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 413, body = ErrorOut)))]
async fn usage(
    State(state): State<AppState>,
    _: Edge,
    Json(report): Json<UsageReport>,
) -> ApiResult<axum::Json<UsageAccepted>> {
    report.check().map_err(|message| ApiError::BadRequest {
        code: "invalid_usage",
        message,
        field: None,
    })?;
    let oldest = time::OffsetDateTime::now_utc()
        - time::Duration::days(i64::from(state.settings.usage_minute_days));
    let mut tx = state.db.begin().await?;
    let accepted = db::usage::take(&mut tx, &report, oldest).await?;
    tx.commit().await?;
    Ok(axum::Json(UsageAccepted { accepted }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct UsageAccepted {
    /// False when this report was taken before.
    accepted: bool,
}

/// How often an idle stream carries a comment, so proxies and edges see it alive.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Changes a reconnecting edge may replay; further behind, it gets `revisions` and
/// pulls what moved.
const MAX_REPLAY: i64 = 1000;

/// Where every environment stands: what an edge compares with what it holds.
#[utoipa::path(get, path = "/edge/revisions", tag = "edge", security(("edge_token" = [])),
    responses((status = 200, description = "Every environment's revision", content_type = "application/json"),
        (status = 401, body = ErrorOut)))]
async fn revisions(
    State(state): State<AppState>,
    _: Edge,
) -> ApiResult<axum::Json<RevisionsEvent>> {
    let mut connection = state.db.acquire().await?;
    let environments = db::snapshots::revisions(&mut connection).await?;
    Ok(axum::Json(RevisionsEvent { environments }))
}

/// One environment's snapshot. Send `If-None-Match` with the last `ETag` to get 304
/// when nothing changed; `Accept-Encoding: gzip` to get it compressed.
#[utoipa::path(get, path = "/edge/environments/{project}/{env}", tag = "edge", security(("edge_token" = [])),
    params(("project" = String, Path, description = "Project key"), ("env" = String, Path, description = "Environment key")),
    responses((status = 200, description = "The environment's snapshot", content_type = "application/json"),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn environment(
    State(state): State<AppState>,
    _: Edge,
    Path((project, environment)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("environment_not_found", "environment");
    let mut connection = state.db.acquire().await?;
    let Some((environment_id, _, revision)) =
        db::snapshots::find(&mut connection, &project, &environment).await?
    else {
        return Err(not_found());
    };
    drop(connection);
    let db = state.db.clone();
    let cached = state
        .snapshots
        .get_or_build(environment_id, revision, async || {
            let mut tx = db.begin().await?;
            // One instant for every table, and a promise to PostgreSQL that we only read.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let project = db::projects::find(&mut *tx, &project).await?;
            let found = match &project {
                Some(p) => db::environments::find(&mut *tx, p.id, &environment).await?,
                None => None,
            };
            let (Some(project), Some(found)) = (project, found) else {
                return Err(not_found());
            };
            let snapshot = db::snapshots::environment(&mut tx, &project, &found).await?;
            tx.commit().await?;
            Ok::<_, ApiError>(snapshot)
        })
        .await
        .inspect_err(|_| state.snapshots.forget(environment_id))?;
    Ok(cached.1.response(&headers))
}

/// Server-Sent Events with every committed change in order. Without `Last-Event-ID`
/// (or from further back than the changes kept), the first event is `revisions`:
/// where every environment stands. Then each change is a `change` event carrying its
/// delta; event ids are global change numbers, valid on every replica, so an edge
/// that reconnects with `Last-Event-ID` gets exactly the changes it missed.
#[utoipa::path(get, path = "/edge/stream", tag = "edge", security(("edge_token" = [])),
    params(("Last-Event-ID" = Option<i64>, Header, description = "The id of the last event received")),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream"),
        (status = 401, body = ErrorOut)))]
async fn stream(
    State(state): State<AppState>,
    _: Edge,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // Subscribe before reading where things stand, so no change falls in between.
    let receiver = state.feed.subscribe();
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let mut following = Following {
        pending: Vec::new(),
        sent: 0,
        receiver,
        closing: state.closing.clone(),
        db: state.db.clone(),
    };
    following.catch_up(last_seen).await?;
    let stream = futures_util::stream::unfold(following, next_event);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}

struct Following {
    /// Events to send before the live ones, oldest last.
    pending: Vec<Event>,
    /// The change number the edge has everything up to.
    sent: i64,
    receiver: broadcast::Receiver<FeedEvent>,
    closing: watch::Receiver<bool>,
    db: PgPool,
}

fn change_event(seq: i64, delta: &str) -> Event {
    Event::default()
        .event(stream_events::CHANGE)
        .id(seq.to_string())
        .data(delta)
}

impl Following {
    /// Queues what an edge that has everything up to `seen` lacks: the changes after
    /// it if they are all kept and not too many, else `revisions`.
    async fn catch_up(&mut self, seen: Option<i64>) -> ApiResult<()> {
        let mut tx = self.db.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let newest = db::changes::newest(&mut *tx).await?;
        let oldest = db::changes::oldest(&mut *tx).await?;
        let replayable = seen.filter(|&seen| {
            seen <= newest
                && newest - seen <= MAX_REPLAY
                && (seen == newest || oldest.is_some_and(|oldest| oldest <= seen + 1))
        });
        let mut events = Vec::new();
        match replayable {
            Some(seen) => {
                for row in db::changes::after(&mut *tx, seen, MAX_REPLAY).await? {
                    events.push(change_event(row.seq, &row.delta));
                }
            }
            None => {
                let environments = db::snapshots::revisions(&mut tx).await?;
                events.push(
                    Event::default()
                        .event(stream_events::REVISIONS)
                        .id(newest.to_string())
                        .json_data(RevisionsEvent { environments })
                        .expect("revisions serialize"),
                );
            }
        }
        tx.commit().await?;
        self.sent = newest;
        events.reverse();
        // Anything still queued from before goes after what was just read.
        events.append(&mut self.pending);
        self.pending = events;
        Ok(())
    }
}

async fn next_event(mut f: Following) -> Option<(Result<Event, Infallible>, Following)> {
    loop {
        if let Some(event) = f.pending.pop() {
            return Some((Ok(event), f));
        }
        if *f.closing.borrow() {
            return None;
        }
        tokio::select! {
            // Shutting down wins over anything still queued.
            biased;
            _ = f.closing.changed() => return None,
            received = f.receiver.recv() => match received {
                // Read already, while catching up.
                Ok(FeedEvent::Change { seq, .. }) if seq <= f.sent => {}
                Ok(FeedEvent::Change { seq, delta }) => {
                    f.sent = seq;
                    return Some((Ok(change_event(seq, &delta)), f));
                }
                // The feed may have missed changes, or this stream fell behind it:
                // catch up from the table.
                Ok(FeedEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    let sent = f.sent;
                    if let Err(error) = f.catch_up(Some(sent)).await {
                        tracing::warn!(%error, "cannot catch up; closing an edge stream");
                        return None;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
        }
    }
}
