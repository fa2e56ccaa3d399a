//! The evaluation API: SDK keys in, flag values out, straight from memory.

use std::io::Write;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use togglerino_shared::http::if_none_match;
use togglerino_shared::model::BorrowedContext;
use togglerino_shared::validate::parse_json;

use crate::AppState;
use crate::error::EdgeError;
use crate::routes::sdk_key::SdkKey;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/evaluate/{project}/{env}", post(all_flags))
        .route("/api/v1/evaluate/{project}/{env}/{flag}", post(one_flag))
}

/// Largest evaluation request accepted; contexts are small.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub const REVISION_HEADER: HeaderName = HeaderName::from_static("x-togglerino-revision");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluateIn<'a> {
    #[serde(default, borrow)]
    context: BorrowedContext<'a>,
}

/// An evaluation request's body, bounded: the bytes as sent, kept for the validator of
/// the answer, and the context they hold, parsed by [`context`](Self::context).
struct ContextBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for ContextBody {
    type Rejection = EdgeError;

    async fn from_request(request: Request, _: &S) -> Result<Self, EdgeError> {
        let bytes = crate::routes::read_body(request.into_body(), MAX_BODY_BYTES).await?;
        // An empty body means an empty context.
        Ok(ContextBody(if bytes.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            bytes
        }))
    }
}

impl ContextBody {
    /// The context, parsed strictly, with its strings borrowed from the body.
    fn context(&self) -> Result<BorrowedContext<'_>, EdgeError> {
        parse_json::<EvaluateIn>(&self.0)
            .map(|input| input.context)
            .map_err(|e| EdgeError::BadRequest {
                code: "invalid_context",
                message: e.message,
                field: (!e.field.is_empty()).then_some(e.field),
            })
    }
}

/// An answer from the snapshot at `revision`, its header map sized at once for every
/// header it will carry, the middleware's included, rather than grown on the way out.
fn answer(status: StatusCode, body: Body, revision: u64) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.reserve(10);
    headers.insert(REVISION_HEADER, HeaderValue::from(revision));
    response
}

fn json_answer(json: Vec<u8>, revision: u64) -> Response {
    let mut response = answer(StatusCode::OK, Body::from(json), revision);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The validator of an all-flags answer. The answer is a function of the environment's
/// version and the request body alone, so polling clients get 304 without anything
/// being evaluated.
fn all_flags_etag(revision: u64, body: &[u8]) -> HeaderValue {
    let mut digest = [0u8; 16];
    hex::encode_to_slice(&Sha256::digest(body)[..8], &mut digest).expect("16 hex digits");
    let mut etag = Vec::with_capacity(40);
    write!(etag, "\"{revision}-").expect("writing to memory cannot fail");
    etag.extend_from_slice(&digest);
    etag.push(b'"');
    HeaderValue::from_maybe_shared(Bytes::from(etag)).expect("digits and hex are a valid header")
}

/// The route's parameters, borrowed from the router's decoded copy rather than copied
/// into new strings for every evaluation.
struct PathValues(RawPathParams);

impl PathValues {
    /// The first `N` values, in the route's order.
    fn get<const N: usize>(&self) -> [&str; N] {
        let mut values = self.0.iter().map(|(_, value)| value);
        std::array::from_fn(|_| values.next().unwrap_or_default())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathValues {
    type Rejection = EdgeError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PathValues, EdgeError> {
        match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => Ok(PathValues(params)),
            Err(rejection) => Err(EdgeError::BadRequest {
                code: "invalid_path",
                message: rejection.body_text(),
                field: None,
            }),
        }
    }
}

/// The request's `If-None-Match` values, taken without copying its other headers.
struct IfNoneMatch(Vec<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<IfNoneMatch, Self::Rejection> {
        let values = parts.headers.get_all(IF_NONE_MATCH).iter().cloned();
        Ok(IfNoneMatch(values.collect()))
    }
}

async fn all_flags(
    State(state): State<AppState>,
    key: SdkKey,
    path: PathValues,
    IfNoneMatch(cached): IfNoneMatch,
    body: ContextBody,
) -> Result<Response, EdgeError> {
    let context = body.context()?;
    let [project, env] = path.get();
    let snapshot = key.scoped(project, env)?;
    let etag = all_flags_etag(snapshot.revision(), &body.0);
    let etag_text = etag.to_str().expect("an ASCII header");
    let cached = cached.iter().filter_map(|v| v.to_str().ok());
    if if_none_match(cached, &[etag_text]) {
        let mut response = answer(StatusCode::NOT_MODIFIED, Body::empty(), snapshot.revision());
        response.headers_mut().insert(ETAG, etag);
        return Ok(response);
    }
    // `{"flags": {…}, "revision": N}`, written straight into the answer's buffer.
    let kind = key.scope.kind;
    let mut out = Vec::with_capacity(snapshot.all_json_capacity(kind) + 40);
    out.extend_from_slice(b"{\"flags\":");
    let count = snapshot.write_all_json(&context, kind, &mut out);
    write!(out, ",\"revision\":{}}}", snapshot.revision()).expect("writing to memory cannot fail");
    state.metrics.evaluations.inc_by(count as u64);
    let mut response = json_answer(out, snapshot.revision());
    response.headers_mut().insert(ETAG, etag);
    Ok(response)
}

async fn one_flag(
    State(state): State<AppState>,
    key: SdkKey,
    path: PathValues,
    body: ContextBody,
) -> Result<Response, EdgeError> {
    let context = body.context()?;
    let [project, env, flag] = path.get();
    let snapshot = key.scoped(project, env)?;
    let mut out = Vec::with_capacity(256);
    snapshot
        .write_json_for(flag, &context, key.scope.kind, &mut out)
        .map_err(|_| EdgeError::FlagNotFound(flag.to_owned()))?;
    state.metrics.evaluations.inc();
    Ok(json_answer(out, snapshot.revision()))
}
