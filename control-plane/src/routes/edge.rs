//! What edges read: every environment's snapshot, and a stream of changes telling them
//! when to read it again.

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use togglerino_shared::http::snapshot_response;
use togglerino_shared::model::{
    ChangeEvent, EdgeSnapshot, EnvironmentRevision, RevisionsEvent, stream_events,
};
use tokio::sync::{broadcast, watch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Edge;
use crate::db;
use crate::error::{ApiResult, ErrorOut};
use crate::feed::FeedEvent;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(snapshot))
        .routes(routes!(stream))
}

/// How often an idle stream carries a comment, so proxies and edges see it alive.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The last snapshot served, reused while no environment's revision moves: edges poll
/// and reconnect far more often than flags change.
#[derive(Default)]
pub struct SnapshotCache {
    current: ArcSwapOption<Cached>,
}

struct Cached {
    revisions: Vec<EnvironmentRevision>,
    json: Bytes,
    gzip: Bytes,
    /// Strong validator of the JSON body; the gzip body's is derived from it.
    etag: String,
}

impl Cached {
    fn new(revisions: Vec<EnvironmentRevision>, snapshot: &EdgeSnapshot) -> anyhow::Result<Cached> {
        let json = serde_json::to_vec(snapshot)?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&json)?;
        let gzip = encoder.finish()?;
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&json)[..16]));
        Ok(Cached {
            revisions,
            json: json.into(),
            gzip: gzip.into(),
            etag,
        })
    }
}

/// Every environment's snapshot. Send `If-None-Match` with the last `ETag` to get 304
/// when nothing changed; `Accept-Encoding: gzip` to get it compressed.
#[utoipa::path(get, path = "/edge/snapshot", tag = "edge", security(("edge_token" = [])),
    responses((status = 200, description = "The snapshot of every environment", content_type = "application/json"),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 401, body = ErrorOut)))]
async fn snapshot(
    State(state): State<AppState>,
    _: Edge,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut tx = state.db.begin().await?;
    // One instant for every table, and a promise to PostgreSQL that we only read.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let revisions = db::snapshots::revisions(&mut tx).await?;
    let cached = match state.snapshots.current.load_full() {
        Some(cached) if cached.revisions == revisions => cached,
        _ => {
            let snapshot = db::snapshots::build(&mut tx).await?;
            let cached = Arc::new(Cached::new(revisions, &snapshot)?);
            state.snapshots.current.store(Some(Arc::clone(&cached)));
            cached
        }
    };
    tx.commit().await?;

    Ok(snapshot_response(
        &headers,
        &cached.etag,
        || cached.json.clone(),
        || cached.gzip.clone(),
    ))
}

/// Server-Sent Events telling an edge when to pull the snapshot again. The first event,
/// `revisions`, lists every environment's revision; then each committed change sends a
/// `change` event. Event ids are global change numbers: reconnect with
/// `Last-Event-ID` and the `revisions` event is skipped when nothing was missed.
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
    let mut connection = state.db.acquire().await?;
    let latest = db::snapshots::latest_change(&mut connection).await?;
    drop(connection);
    let initial = if last_seen == Some(latest) {
        None
    } else {
        Some(revisions_event(&state.db).await?)
    };
    let stream = futures_util::stream::unfold(
        Following {
            initial,
            receiver,
            closing: state.closing.clone(),
            db: state.db.clone(),
        },
        next_event,
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}

struct Following {
    initial: Option<Event>,
    receiver: broadcast::Receiver<FeedEvent>,
    closing: watch::Receiver<bool>,
    db: PgPool,
}

async fn next_event(mut following: Following) -> Option<(Result<Event, Infallible>, Following)> {
    if let Some(event) = following.initial.take() {
        return Some((Ok(event), following));
    }
    if *following.closing.borrow() {
        return None;
    }
    let event = tokio::select! {
        // Shutting down wins over anything still queued.
        biased;
        _ = following.closing.changed() => return None,
        received = following.receiver.recv() => match received {
            Ok(FeedEvent::Change { environment_id, revision, seq }) => {
                let change = ChangeEvent {
                    environment_id: environment_id.to_string(),
                    revision: revision as u64,
                };
                Event::default()
                    .event(stream_events::CHANGE)
                    .id(seq.to_string())
                    .json_data(change)
                    .expect("change events serialize")
            }
            // The feed may have missed changes, or this stream fell behind it: say
            // where everything stands instead.
            Ok(FeedEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                match revisions_event(&following.db).await {
                    Ok(event) => event,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read revisions; closing an edge stream");
                        return None;
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        },
    };
    Some((Ok(event), following))
}

async fn revisions_event(db: &PgPool) -> ApiResult<Event> {
    let mut connection = db.acquire().await?;
    let latest = db::snapshots::latest_change(&mut connection).await?;
    let environments = db::snapshots::revisions(&mut connection).await?;
    Ok(Event::default()
        .event(stream_events::REVISIONS)
        .id(latest.to_string())
        .json_data(RevisionsEvent { environments })
        .expect("revisions serialize"))
}
