//! SDKs reporting what they read from the flags they hold (`get*` calls in a browser or
//! app): the counts join the edge's own, in the environment the SDK key belongs to. A
//! report can only name flags and variants the key can see, so it cannot grow the
//! edge's memory; it cannot be undone either, so counts per report are bounded.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use togglerino_shared::model::SdkUsage;

use crate::AppState;
use crate::error::EdgeError;
use crate::routes::evaluate::key_from_headers;
use crate::routes::{body_or_error, parse_checked};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/usage/{project}/{env}", post(report))
}

#[derive(Deserialize)]
struct UsageQuery {
    /// For `navigator.sendBeacon`, which cannot send headers.
    sdk_key: Option<String>,
}

/// Takes the body as JSON whatever its content type: a beacon sends `text/plain`, the
/// one type a browser sends across origins without asking first.
async fn report(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
    Query(query): Query<UsageQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, EdgeError> {
    let body = body_or_error(body, crate::routes::evaluate::MAX_BODY_BYTES)?;
    let presented = query
        .sdk_key
        .as_deref()
        .or_else(|| key_from_headers(&headers))
        .ok_or(EdgeError::Unauthenticated)?;
    let loaded = state.store.load().ok_or(EdgeError::NotReady)?;
    let scope = loaded
        .key_scope(presented)
        .ok_or(EdgeError::Unauthenticated)?;
    if scope.project != project || scope.environment != env {
        return Err(EdgeError::Forbidden);
    }
    let compiled = loaded
        .environment(&project, &env)
        .ok_or(EdgeError::Forbidden)?;
    let usage: SdkUsage = parse_checked(&body, "invalid_usage", SdkUsage::check)?;
    let mut accepted = 0;
    for count in &usage.counts {
        if compiled.count_reported(
            &count.flag,
            count.variant.as_deref(),
            scope.kind,
            count.count,
        ) {
            accepted += 1;
        }
    }
    let ignored = usage.counts.len() - accepted;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"accepted": accepted, "ignored": ignored})),
    )
        .into_response())
}
