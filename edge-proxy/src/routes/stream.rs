//! Server-Sent Events to SDKs: the full evaluation for a context, then a patch with
//! just what changed for that context whenever the environment gets a new snapshot.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use futures_util::Stream;
use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};
use togglerino_shared::validate::parse_json;
use togglerino_shared::{EvaluationContext, EvaluationResult};
use tokio::sync::watch;

use crate::AppState;
use crate::error::EdgeError;
use crate::routes::evaluate::key_from_headers;
use crate::state::Store;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/stream/{project}/{env}",
        get(open_get).post(open_post),
    )
}

/// Streams open right now, against `--max-sse-clients`.
#[derive(Default)]
pub struct StreamCount(AtomicUsize);

impl StreamCount {
    pub fn current(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Holds one place among the open streams; gives it back when the stream ends.
struct Slot(Arc<StreamCount>);

impl Slot {
    fn take(count: &Arc<StreamCount>, max: usize) -> Option<Slot> {
        count
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(count)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Deserialize)]
struct StreamQuery {
    /// The context as base64url-encoded JSON.
    context: Option<String>,
    /// For clients that cannot send headers (browsers' EventSource).
    sdk_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamIn {
    #[serde(default)]
    context: EvaluationContext,
}

async fn open_get(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, EdgeError> {
    let context = match &query.context {
        None => EvaluationContext::default(),
        Some(encoded) => {
            let json = URL_SAFE_NO_PAD
                .decode(encoded.trim_end_matches('='))
                .or_else(|_| URL_SAFE.decode(encoded))
                .map_err(|_| bad_context("context must be base64url-encoded JSON".into(), None))?;
            parse_json::<EvaluationContext>(&json)
                .map_err(|e| bad_context(e.message, Some(e.field)))?
        }
    };
    let key = query
        .sdk_key
        .or_else(|| key_from_headers(&headers).map(str::to_owned));
    open(&state, key, &project, &env, context)
}

async fn open_post(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, EdgeError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    let request: StreamIn = parse_json(&body).map_err(|e| bad_context(e.message, Some(e.field)))?;
    let key = key_from_headers(&headers)
        .map(str::to_owned)
        .or(query.sdk_key);
    open(&state, key, &project, &env, request.context)
}

fn bad_context(message: String, field: Option<String>) -> EdgeError {
    EdgeError::BadRequest {
        code: "invalid_context",
        message,
        field: field.filter(|f| !f.is_empty()),
    }
}

fn open(
    state: &AppState,
    key: Option<String>,
    project: &str,
    environment: &str,
    context: EvaluationContext,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, EdgeError> {
    let key = key.ok_or(EdgeError::Unauthenticated)?;
    let loaded = state.store.load().ok_or(EdgeError::NotReady)?;
    let scope = loaded.key_scope(&key).ok_or(EdgeError::Unauthenticated)?;
    if scope.project != project || scope.environment != environment {
        return Err(EdgeError::Forbidden);
    }
    let slot = Slot::take(&state.streams, state.max_sse_clients).ok_or(EdgeError::Unavailable(
        "too many streaming clients on this edge; retry on another",
    ))?;
    let snapshot = loaded
        .environment(project, environment)
        .ok_or(EdgeError::Forbidden)?;
    let flags = evaluate(snapshot, &context);
    state.metrics.evaluations.inc_by(flags.len() as u64);
    let first = FlagsEvent {
        flags: &flags,
        revision: snapshot.revision(),
    };
    let first = Event::default()
        .event("flags")
        .id(snapshot.revision().to_string())
        .json_data(&first)
        .expect("evaluations serialize");
    let following = Following {
        first: Some(first),
        key,
        project: project.to_owned(),
        environment: environment.to_owned(),
        context,
        revision: snapshot.revision(),
        flags,
        generations: state.store.subscribe(),
        closing: state.closing.clone(),
        store: Arc::clone(&state.store),
        evaluations: state.metrics.evaluations.clone(),
        _slot: slot,
    };
    let stream = futures_util::stream::unfold(following, next_event);
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(crate::HEARTBEAT)
            .text("heartbeat"),
    ))
}

fn evaluate(
    snapshot: &togglerino_shared::CompiledSnapshot,
    context: &EvaluationContext,
) -> HashMap<String, EvaluationResult> {
    snapshot
        .evaluate_all(context)
        .into_iter()
        .map(|(key, evaluation)| (key.to_owned(), evaluation.to_result()))
        .collect()
}

#[derive(Serialize)]
struct FlagsEvent<'a> {
    flags: &'a HashMap<String, EvaluationResult>,
    revision: u64,
}

#[derive(Serialize)]
struct PatchEvent {
    flags: HashMap<String, EvaluationResult>,
    removed: Vec<String>,
    revision: u64,
}

struct Following {
    first: Option<Event>,
    key: String,
    project: String,
    environment: String,
    context: EvaluationContext,
    revision: u64,
    flags: HashMap<String, EvaluationResult>,
    generations: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    store: Arc<Store>,
    evaluations: Counter,
    _slot: Slot,
}

async fn next_event(mut f: Following) -> Option<(Result<Event, Infallible>, Following)> {
    if let Some(first) = f.first.take() {
        return Some((Ok(first), f));
    }
    loop {
        if *f.closing.borrow() {
            return None;
        }
        tokio::select! {
            _ = f.closing.changed() => return None,
            changed = f.generations.changed() => {
                changed.ok()?;
                let loaded = f.store.load()?;
                // A revoked key, or a deleted environment, ends the stream.
                loaded.key_scope(&f.key)?;
                let snapshot = loaded.environment(&f.project, &f.environment)?;
                if snapshot.revision() == f.revision {
                    continue;
                }
                f.revision = snapshot.revision();
                let now = evaluate(snapshot, &f.context);
                f.evaluations.inc_by(now.len() as u64);
                let changed: HashMap<String, EvaluationResult> = now
                    .iter()
                    .filter(|(key, result)| {
                        f.flags.get(*key).is_none_or(|before| before.value != result.value || before.variant != result.variant)
                    })
                    .map(|(key, result)| (key.clone(), result.clone()))
                    .collect();
                let mut removed: Vec<String> = f.flags.keys().filter(|key| !now.contains_key(*key)).cloned().collect();
                removed.sort();
                f.flags = now;
                if changed.is_empty() && removed.is_empty() {
                    continue;
                }
                let patch = PatchEvent { flags: changed, removed, revision: f.revision };
                let event = Event::default()
                    .event("patch")
                    .id(f.revision.to_string())
                    .json_data(&patch)
                    .expect("evaluations serialize");
                return Some((Ok(event), f));
            }
        }
    }
}
