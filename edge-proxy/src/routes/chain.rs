//! Serving other edges: the same revisions, per-environment snapshots and change
//! stream the control plane serves, from this edge's memory, so edges can be chained
//! (region → zone → node). Downstream edges get the deltas this edge applies as it
//! applies them; one that reconnects gets `revisions` and pulls what it lacks.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use futures_util::Stream;
use subtle::ConstantTimeEq;
use togglerino_shared::model::{Heartbeat, RevisionsEvent, UsageReport, stream_events};
use tokio::sync::{broadcast, watch};

use crate::AppState;
use crate::error::EdgeError;
use crate::routes::parse_checked;
use crate::sync::Relayed;
use crate::usage::Refused;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/edge/revisions", get(revisions))
        .route(
            "/api/v1/edge/environments/{project}/{env}",
            get(environment),
        )
        .route("/api/v1/edge/stream", get(stream))
        .route(
            "/api/v1/edge/heartbeat",
            post(heartbeat).layer(DefaultBodyLimit::max(MAX_USAGE_BYTES)),
        )
        .route(
            "/api/v1/edge/usage",
            post(usage).layer(DefaultBodyLimit::max(MAX_USAGE_BYTES)),
        )
}

/// A full report (`MAX_REPORT_COUNTS` counts) with long keys fits.
const MAX_USAGE_BYTES: usize = 4 * 1024 * 1024;

/// A downstream edge's heartbeat: kept, and passed on with this edge's own.
async fn heartbeat(
    State(state): State<AppState>,
    _: Downstream,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, EdgeError> {
    let body = crate::routes::body_or_error(body, MAX_USAGE_BYTES)?;
    let heartbeat: Heartbeat = parse_checked(&body, "invalid_heartbeat", Heartbeat::check)?;
    state.fleet.heard(heartbeat);
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// A downstream edge's evaluation counts, merged into this edge's own and sent on with
/// them. A report sent again is acknowledged and not counted twice.
async fn usage(
    State(state): State<AppState>,
    _: Downstream,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, EdgeError> {
    let body = crate::routes::body_or_error(body, MAX_USAGE_BYTES)?;
    let report: UsageReport = parse_checked(&body, "invalid_usage", UsageReport::check)?;
    match state.usage.merge(report) {
        Ok(accepted) => Ok(axum::Json(serde_json::json!({"accepted": accepted})).into_response()),
        Err(Refused::Full) => Err(EdgeError::Unavailable(
            "this edge holds as many unsent counts as it may; try again later",
        )),
    }
}

/// A downstream edge: it presents the same edge token this edge uses upstream, so a
/// chain shares one secret.
struct Downstream;

impl FromRequestParts<AppState> for Downstream {
    type Rejection = EdgeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Downstream, EdgeError> {
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(EdgeError::Unauthenticated)?;
        if bool::from(presented.as_bytes().ct_eq(state.edge_token.as_bytes())) {
            Ok(Downstream)
        } else {
            Err(EdgeError::Unauthenticated)
        }
    }
}

async fn revisions(
    State(state): State<AppState>,
    _: Downstream,
) -> Result<axum::Json<RevisionsEvent>, EdgeError> {
    let loaded = state.store.load().ok_or(EdgeError::NotReady)?;
    Ok(axum::Json(RevisionsEvent {
        environments: loaded.revisions(),
    }))
}

async fn environment(
    State(state): State<AppState>,
    _: Downstream,
    Path((project, environment)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, EdgeError> {
    let loaded = state.store.load().ok_or(EdgeError::NotReady)?;
    let environment = Arc::clone(
        loaded
            .get(&project, &environment)
            .ok_or_else(|| EdgeError::EnvironmentNotFound(format!("{project}/{environment}")))?,
    );
    Ok(environment.served().response(&headers))
}

/// `revisions` first, then a `change` event for each change this edge makes, as it
/// makes it. Event ids count this edge's changes; they mean nothing to another edge, so
/// a reconnecting downstream edge always starts from `revisions`.
async fn stream(
    State(state): State<AppState>,
    _: Downstream,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, EdgeError> {
    // Subscribe first: a change made meanwhile is relayed too, and a relayed change the
    // revisions already include is one downstream edges ignore.
    let relayed = state.syncer.relayed();
    let loaded = state.store.load().ok_or(EdgeError::NotReady)?;
    let first = Event::default()
        .event(stream_events::REVISIONS)
        .json_data(RevisionsEvent {
            environments: loaded.revisions(),
        })
        .expect("revisions serialize");
    let following = Following {
        first: Some(first),
        relayed,
        closing: state.closing.clone(),
        sent: 0,
    };
    let stream = futures_util::stream::unfold(following, next_event);
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(crate::HEARTBEAT)
            .text("heartbeat"),
    ))
}

struct Following {
    first: Option<Event>,
    relayed: broadcast::Receiver<Relayed>,
    closing: watch::Receiver<bool>,
    sent: u64,
}

async fn next_event(mut f: Following) -> Option<(Result<Event, Infallible>, Following)> {
    if let Some(event) = f.first.take() {
        return Some((Ok(event), f));
    }
    if *f.closing.borrow() {
        return None;
    }
    tokio::select! {
        // Shutting down wins over a change arriving at the same time.
        biased;
        _ = f.closing.changed() => None,
        relayed = f.relayed.recv() => match relayed {
            Ok(relayed) => {
                f.sent += 1;
                let event = Event::default()
                    .event(stream_events::CHANGE)
                    .id(f.sent.to_string())
                    .data(&*relayed.delta);
                Some((Ok(event), f))
            }
            // Fell behind: end the stream; the downstream edge reconnects and
            // reconciles from `revisions`.
            Err(_) => None,
        },
    }
}
