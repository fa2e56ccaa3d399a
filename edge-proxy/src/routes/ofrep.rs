//! OpenFeature Remote Evaluation Protocol (OFREP) 0.3: any OpenFeature SDK with its OFREP
//! provider evaluates against an edge with no custom code. The SDK key decides the
//! project and environment.

use std::convert::Infallible;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::{ETAG, HOST, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use togglerino_shared::http::if_none_match;
use togglerino_shared::{CompiledSnapshot, Evaluation, EvaluationContext, Reason};
use tokio::sync::watch;

use crate::AppState;
use crate::error::EdgeError;
use crate::routes::sdk_key::{SdkKey, key_from_headers, key_from_headers_or_query};
use crate::state::{EnvironmentWatch, Store};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ofrep/v1/evaluate/flags/{key}", post(evaluate_flag))
        .route("/ofrep/v1/evaluate/flags", post(evaluate_flags))
        .route("/ofrep/v1/stream", get(stream))
}

/// The `variant` sent when a flag is off and serves its default value: OFREP providers
/// require a string, and a leading `_` can never be a variant key, so it cannot be
/// mistaken for one.
pub const NO_VARIANT: &str = "_flag_default";

/// How long a hidden browser tab keeps its stream, as OFREP suggests.
const INACTIVITY_DELAY_SEC: u64 = 120;

/// The nearest standard OpenFeature reason; ours travels in `metadata.togglerinoReason`.
/// `has_rules`: whether the flag has targeting rules here.
fn standard_reason(reason: Reason, has_rules: bool) -> &'static str {
    match reason {
        Reason::TargetingMatch => "TARGETING_MATCH",
        Reason::Split => "SPLIT",
        // Off: the flag serves its default value, as a disabled one does.
        Reason::Disabled | Reason::PrerequisiteFailed => "DISABLED",
        // Rules were evaluated and none served: OpenFeature's fallback.
        Reason::Default if has_rules => "DEFAULT",
        // No rule could apply: the same answer for everyone.
        Reason::Default => "STATIC",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Success<'a> {
    key: &'a str,
    /// OFREP has no null value: a JSON flag serving `null` answers without a value,
    /// which OFREP defines as "use the code default".
    #[serde(skip_serializing_if = "Value::is_null")]
    value: &'a Value,
    variant: &'a str,
    reason: &'static str,
    metadata: SuccessMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SuccessMetadata {
    togglerino_reason: &'static str,
    revision: u64,
}

fn success<'a>(
    key: &'a str,
    evaluation: &Evaluation<'a>,
    snapshot: &CompiledSnapshot,
) -> Success<'a> {
    let has_rules = snapshot.has_rules(key).unwrap_or(false);
    Success {
        key,
        value: evaluation.value,
        variant: evaluation.variant.unwrap_or(NO_VARIANT),
        reason: standard_reason(evaluation.reason, has_rules),
        metadata: SuccessMetadata {
            togglerino_reason: evaluation.reason.as_str(),
            revision: snapshot.revision(),
        },
    }
}

/// A failure in OFREP's shape: `{key?, errorCode, errorDetails}`.
fn failure(status: StatusCode, key: Option<&str>, code: &str, details: String) -> Response {
    let mut body = json!({"errorCode": code, "errorDetails": details});
    if let Some(key) = key {
        body["key"] = json!(key);
    }
    (status, axum::Json(body)).into_response()
}

/// Why a request's context was refused: an OFREP error code and details.
struct BadContext {
    code: &'static str,
    details: String,
}

impl BadContext {
    fn respond(self, key: Option<&str>) -> Response {
        failure(StatusCode::BAD_REQUEST, key, self.code, self.details)
    }
}

/// The evaluation context from an OFREP request body: `targetingKey` is the user id,
/// every other field an attribute. A missing context, or one without `targetingKey`,
/// is an anonymous context.
fn context_from(body: &[u8]) -> Result<EvaluationContext, BadContext> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(EvaluationContext::default());
    }
    let parsed: Value = serde_json::from_slice(body).map_err(|e| BadContext {
        code: "PARSE_ERROR",
        details: format!("malformed JSON: {e}"),
    })?;
    let invalid = |details: &str| BadContext {
        code: "INVALID_CONTEXT",
        details: details.to_owned(),
    };
    let Value::Object(mut request) = parsed else {
        return Err(invalid("the request body must be a JSON object"));
    };
    let context = match request.remove("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(context)) => context,
        Some(_) => return Err(invalid("context must be a JSON object")),
    };
    let mut attributes = context;
    let user_id = match attributes.remove("targetingKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(_) => return Err(invalid("targetingKey must be a string")),
    };
    Ok(EvaluationContext {
        user_id,
        attributes,
    })
}

async fn evaluate_flag(
    State(state): State<AppState>,
    sdk_key: SdkKey,
    Path(flag): Path<String>,
    body: Bytes,
) -> Result<Response, EdgeError> {
    let snapshot = sdk_key.snapshot()?;
    let context = match context_from(&body) {
        Ok(context) => context,
        Err(bad) => return Ok(bad.respond(Some(&flag))),
    };
    let Ok(evaluation) = snapshot.evaluate_for(&flag, &context, sdk_key.scope.kind) else {
        return Ok(failure(
            StatusCode::NOT_FOUND,
            Some(&flag),
            "FLAG_NOT_FOUND",
            format!("flag {flag:?} was not found"),
        ));
    };
    state.metrics.evaluations.inc();
    Ok(axum::Json(success(&flag, &evaluation, snapshot)).into_response())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bulk<'a> {
    flags: Vec<Success<'a>>,
    event_streams: [EventStream; 1],
    metadata: BulkMetadata,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventStream {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    inactivity_delay_sec: u64,
}

#[derive(Serialize)]
struct BulkMetadata {
    revision: u64,
}

async fn evaluate_flags(
    State(state): State<AppState>,
    sdk_key: SdkKey,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EdgeError> {
    let snapshot = sdk_key.snapshot()?;
    let context = match context_from(&body) {
        Ok(context) => context,
        Err(bad) => return Ok(bad.respond(None)),
    };
    let evaluations = snapshot.evaluate_all_for(&context, sdk_key.scope.kind);
    state.metrics.evaluations.inc_by(evaluations.len() as u64);
    let bulk = Bulk {
        flags: evaluations
            .iter()
            .map(|(key, evaluation)| success(key, evaluation, snapshot))
            .collect(),
        event_streams: [EventStream {
            kind: "sse",
            url: stream_url(&headers, key_from_headers(&headers).unwrap_or_default()),
            inactivity_delay_sec: INACTIVITY_DELAY_SEC,
        }],
        metadata: BulkMetadata {
            revision: snapshot.revision(),
        },
    };
    let json = serde_json::to_vec(&bulk).expect("evaluations serialize");
    // The validator covers exactly what this context gets, so it changes only when an
    // answer (or the revision) does.
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&json)[..16]));
    let cached = headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let mut response = if if_none_match(cached, &[etag.as_str()]) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response()
    };
    response.headers_mut().insert(
        ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header"),
    );
    Ok(response)
}

/// Where this client's change stream is. Browsers' EventSource sends no headers, so the
/// URL carries the SDK key itself; it is never logged.
fn stream_url(headers: &HeaderMap, sdk_key: &str) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"))
        .unwrap_or("http");
    format!("{scheme}://{host}/ofrep/v1/stream?sdk_key={sdk_key}")
}

#[derive(Deserialize)]
struct StreamQuery {
    sdk_key: Option<String>,
}

/// OFREP change notifications: `{"type": "refetchEvaluation", "etag": "<revision>"}`
/// whenever the key's environment moves to a new revision.
async fn stream(
    State(state): State<AppState>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, EdgeError> {
    let presented = key_from_headers_or_query(&headers, query.sdk_key.as_deref());
    let SdkKey {
        scope, hash: key, ..
    } = SdkKey::check(&state, presented)?;
    let environment = state
        .store
        .watch(&scope.project, &scope.environment)
        .ok_or(EdgeError::NotReady)?;
    let slot = state.streams.take(key)?;
    let revision = environment.borrow().as_ref().map_or(0, |e| e.revision());
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let following = Following {
        _slot: slot,
        key,
        revision,
        // A client resuming from an older revision missed a change: tell it at once.
        owed: last_seen.is_some_and(|seen| seen != revision),
        environment,
        closing: state.closing.clone(),
        store: state.store.clone(),
    };
    let stream = futures_util::stream::unfold(following, next_refetch);
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(crate::HEARTBEAT)
            .text("heartbeat"),
    ))
}

struct Following {
    /// Held for as long as the stream lasts (its place among the open streams).
    _slot: crate::slots::Slot,
    /// The SDK key's hash: a revoked key ends its stream.
    key: [u8; 32],
    revision: u64,
    owed: bool,
    environment: EnvironmentWatch,
    closing: watch::Receiver<bool>,
    store: std::sync::Arc<Store>,
}

fn refetch(revision: u64) -> Event {
    Event::default()
        .id(revision.to_string())
        .data(json!({"type": "refetchEvaluation", "etag": revision.to_string()}).to_string())
}

async fn next_refetch(mut f: Following) -> Option<(Result<Event, Infallible>, Following)> {
    if std::mem::take(&mut f.owed) {
        return Some((Ok(refetch(f.revision)), f));
    }
    loop {
        if *f.closing.borrow() {
            return None;
        }
        tokio::select! {
            // Shutting down wins over a change arriving at the same time.
            biased;
            _ = f.closing.changed() => return None,
            changed = f.environment.changed() => {
                changed.ok()?;
                // `None`: the environment is gone.
                let revision = f.environment.borrow_and_update().as_ref()?.revision();
                // A revoked key ends its stream.
                f.store.load()?.key_scope(&f.key)?;
                if revision != f.revision {
                    f.revision = revision;
                    return Some((Ok(refetch(revision)), f));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_value_is_left_out_so_providers_use_the_code_default() {
        let answer = |value: &Value| {
            serde_json::to_value(Success {
                key: "k",
                value,
                variant: "v",
                reason: "STATIC",
                metadata: SuccessMetadata {
                    togglerino_reason: "DEFAULT",
                    revision: 1,
                },
            })
            .unwrap()
        };
        assert!(answer(&Value::Null).get("value").is_none());
        assert_eq!(answer(&json!({"a": 1}))["value"], json!({"a": 1}));
        assert_eq!(answer(&json!(false))["value"], json!(false));
    }
}
