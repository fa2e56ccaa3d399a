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
use crate::routes::sdk_key::{SdkKey, key_from_headers_or_query};
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
    let key = SdkKey::check(
        &state,
        key_from_headers_or_query(&headers, query.sdk_key.as_deref()),
    )?;
    let compiled = key.scoped(&project, &env)?;
    let usage: SdkUsage = parse_checked(&body, "invalid_usage", SdkUsage::check)?;
    let mut accepted = 0;
    for count in &usage.counts {
        if compiled.count_reported(
            &count.flag,
            count.variant.as_deref(),
            key.scope.kind,
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
