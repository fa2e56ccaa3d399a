//! Prometheus metrics at `/metrics`: low-cardinality labels only (route patterns, never
//! raw paths; environments, never users).

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvironmentLabels {
    project: String,
    environment: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    /// Flags evaluated, one per flag in every answer and stream event.
    pub evaluations: Counter,
    sse_clients: Gauge,
    revisions: Family<EnvironmentLabels, Gauge>,
    snapshot_age: Gauge<f64, AtomicU64>,
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 1.6 s: evaluations sit at the low end, snapshot transfers higher.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Metrics {
    /// `sync_failures` is the syncer's own counter, registered here too.
    pub fn new(sync_failures: Counter) -> Metrics {
        let mut registry = Registry::with_prefix("togglerino_edge");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route pattern, method and status",
            requests.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route pattern",
            latency.clone(),
        );
        let evaluations = Counter::default();
        registry.register(
            "evaluations",
            "Flag evaluations served",
            evaluations.clone(),
        );
        let sse_clients = Gauge::default();
        registry.register("sse_clients", "SDK streams open now", sse_clients.clone());
        let revisions = Family::<EnvironmentLabels, Gauge>::default();
        registry.register(
            "snapshot_revision",
            "Revision in service per environment",
            revisions.clone(),
        );
        let snapshot_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "snapshot_age_seconds",
            "Seconds since upstream last sent or confirmed the snapshot in service (or since a restored one was written)",
            snapshot_age.clone(),
        );
        registry.register(
            "sync_failures",
            "Failed attempts to pull a snapshot from upstream",
            sync_failures,
        );
        Metrics {
            registry,
            requests,
            latency,
            evaluations,
            sse_clients,
            revisions,
            snapshot_age,
        }
    }
}

/// The method as a label: one of a fixed set, so made-up methods cannot grow the
/// metrics without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Counts and times every request by its route pattern.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics` in the OpenMetrics text format.
pub async fn scrape(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = &state.metrics_token {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Hashed first, so the comparison takes the same time whatever the lengths.
        let matches = sha2::Sha256::digest(presented.as_bytes())
            .ct_eq(&sha2::Sha256::digest(expected.as_bytes()));
        if !bool::from(matches) {
            return crate::error::EdgeError::MetricsTokenRequired.into_response();
        }
    }
    let metrics = &state.metrics;
    metrics.sse_clients.set(state.streams.current() as i64);
    metrics.revisions.clear();
    if let Some(loaded) = state.store.load() {
        for revision in loaded.revisions() {
            metrics
                .revisions
                .get_or_create(&EnvironmentLabels {
                    project: revision.project,
                    environment: revision.environment,
                })
                .set(revision.revision as i64);
        }
    }
    // Nothing held yet: NaN, so an alert on age cannot mistake it for fresh.
    let age = state
        .store
        .staleness()
        .map_or(f64::NAN, |age| age.as_secs_f64());
    metrics.snapshot_age.set(age);
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &metrics.registry).is_err() {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut response = body.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
