//! Serving other edges: the same snapshot and change stream the control plane serves,
//! from this edge's memory, so edges can be chained (region → zone → node).

use std::convert::Infallible;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use subtle::ConstantTimeEq;
use togglerino_shared::http::snapshot_response;
use togglerino_shared::model::{ChangeEvent, RevisionsEvent, stream_events};
use tokio::sync::watch;

use crate::AppState;
use crate::error::EdgeError;
use crate::state::Store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/edge/snapshot", get(snapshot))
        .route("/api/v1/edge/stream", get(stream))
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

async fn snapshot(
    State(state): State<AppState>,
    _: Downstream,
    headers: HeaderMap,
) -> Result<Response, EdgeError> {
    let loaded = state.store.load().ok_or(EdgeError::NotReady)?;
    let etag = loaded.etag();
    Ok(snapshot_response(
        &headers,
        &etag,
        || loaded.json(),
        || loaded.gzip(),
    ))
}

/// `revisions` first (skipped when `Last-Event-ID` already names the snapshot in
/// service), then one `change` event per environment whose revision moved whenever a
/// new snapshot is swapped in. Event ids are snapshot validators.
async fn stream(
    State(state): State<AppState>,
    _: Downstream,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let generations = state.store.subscribe();
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let current = state.store.load();
    let initial = match &current {
        Some(loaded) if last_seen.as_deref() != Some(loaded.etag().as_str()) => {
            Some(revisions_event(&state.store))
        }
        _ => None,
    };
    let following = Following {
        initial: initial.flatten(),
        known: current.map(|l| l.revisions()).unwrap_or_default(),
        generations,
        closing: state.closing.clone(),
        store: state.store.clone(),
        pending: Vec::new(),
    };
    let stream = futures_util::stream::unfold(following, next_event);
    Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(crate::HEARTBEAT)
            .text("heartbeat"),
    )
}

struct Following {
    initial: Option<Event>,
    known: Vec<togglerino_shared::model::EnvironmentRevision>,
    generations: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    store: std::sync::Arc<Store>,
    pending: Vec<Event>,
}

async fn next_event(mut f: Following) -> Option<(Result<Event, Infallible>, Following)> {
    if let Some(event) = f.initial.take() {
        return Some((Ok(event), f));
    }
    loop {
        if let Some(event) = f.pending.pop() {
            return Some((Ok(event), f));
        }
        if *f.closing.borrow() {
            return None;
        }
        tokio::select! {
            // Shutting down wins over a change arriving at the same time.
            biased;
            _ = f.closing.changed() => return None,
            changed = f.generations.changed() => {
                changed.ok()?;
                let loaded = f.store.load()?;
                let now = loaded.revisions();
                let id = loaded.etag();
                // One change event per environment that moved or appeared; a vanished
                // environment is told as a change too, its next snapshot omits it.
                let moved = now.iter().filter(|r| !f.known.contains(r)).map(|r| r.environment_id.clone());
                let gone = f.known.iter().filter(|k| !now.iter().any(|r| r.environment_id == k.environment_id)).map(|k| k.environment_id.clone());
                let mut events: Vec<Event> = moved.chain(gone).map(|environment_id| {
                    let revision = now.iter().find(|r| r.environment_id == environment_id).map_or(0, |r| r.revision);
                    Event::default()
                        .event(stream_events::CHANGE)
                        .id(id.clone())
                        .json_data(ChangeEvent { environment_id, revision })
                        .expect("change events serialize")
                }).collect();
                events.reverse();
                f.pending = events;
                f.known = now;
            }
        }
    }
}

fn revisions_event(store: &Store) -> Option<Event> {
    let loaded = store.load()?;
    Some(
        Event::default()
            .event(stream_events::REVISIONS)
            .id(loaded.etag())
            .json_data(RevisionsEvent {
                environments: loaded.revisions(),
            })
            .expect("revisions serialize"),
    )
}
