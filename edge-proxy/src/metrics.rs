//! Prometheus metrics at `/metrics`: low-cardinality labels only (route patterns, never
//! raw paths; environments, never users).

use std::sync::atomic::AtomicU64;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use togglerino_shared::http_metrics::{HttpMetrics, bearer_matches, openmetrics};

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvironmentLabels {
    project: String,
    environment: String,
}

pub struct Metrics {
    registry: Registry,
    http: HttpMetrics,
    /// Flags evaluated, one per flag in every answer and stream event.
    pub evaluations: Counter,
    sse_clients: Gauge,
    revisions: Family<EnvironmentLabels, Gauge>,
    snapshot_age: Gauge<f64, AtomicU64>,
}

impl Metrics {
    /// `sync_failures` and `usage_dropped` are counters of the syncer and of usage
    /// reporting, registered here too.
    pub fn new(sync_failures: Counter, usage_dropped: Counter) -> Metrics {
        let mut registry = Registry::with_prefix("togglerino_edge");
        let http = HttpMetrics::register(&mut registry);
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
        registry.register(
            "usage_dropped",
            "Evaluations counted but never reported upstream (the buffer overflowed while upstream was away, or upstream refused a report)",
            usage_dropped,
        );
        Metrics {
            registry,
            http,
            evaluations,
            sse_clients,
            revisions,
            snapshot_age,
        }
    }
}

/// Counts and times every request by its route pattern.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.metrics.http.track(request, next).await
}

/// `GET /metrics` in the OpenMetrics text format.
pub async fn scrape(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = &state.metrics_token
        && !bearer_matches(&headers, expected)
    {
        return crate::error::EdgeError::MetricsTokenRequired.into_response();
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
    openmetrics(&metrics.registry)
}
