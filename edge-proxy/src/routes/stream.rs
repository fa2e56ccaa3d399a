//! Server-Sent Events to SDKs: the full evaluation for a context, then a patch with
//! the flags that changed whenever the environment gets a new version (see
//! [`crate::sdk_stream`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde::Deserialize;
use togglerino_shared::EvaluationContext;
use togglerino_shared::validate::parse_json;

use crate::AppState;
use crate::error::EdgeError;
use crate::routes::sdk_key::{SdkKey, key_from_headers_or_query};
use crate::sdk_stream::SdkStream;
use crate::sse;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/stream/{project}/{env}",
        get(open_get).post(open_post),
    )
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
) -> Result<Response, EdgeError> {
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
    let key = key_from_headers_or_query(&headers, query.sdk_key.as_deref());
    open(&state, key, &project, &env, context)
}

async fn open_post(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EdgeError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    let request: StreamIn = parse_json(&body).map_err(|e| bad_context(e.message, Some(e.field)))?;
    let key = key_from_headers_or_query(&headers, query.sdk_key.as_deref());
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
    key: Option<&str>,
    project: &str,
    environment: &str,
    context: EvaluationContext,
) -> Result<Response, EdgeError> {
    let key = SdkKey::check(state, key)?;
    key.scoped(project, environment)?;
    let key_hash = key.hash;
    let slot = state.streams.take(key_hash)?;
    let watch = state
        .store
        .watch(project, environment)
        .ok_or(EdgeError::Forbidden)?;
    let stream = SdkStream::new(
        key_hash,
        key.scope.kind,
        context,
        watch,
        Arc::clone(&state.store),
        state.closing.clone(),
        state.metrics.evaluations.clone(),
        slot,
    )
    .ok_or(EdgeError::Forbidden)?;
    Ok(sse::response(stream.frames(), crate::HEARTBEAT))
}
