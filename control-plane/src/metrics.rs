//! Prometheus metrics at `/metrics`: HTTP traffic by route pattern, the PostgreSQL pool,
//! the change feed's fan-out to edges, and snapshot builds. Labels only from fixed sets.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use togglerino_shared::http_metrics::{HttpMetrics, openmetrics};

use crate::error::ApiError;
use crate::state::AppState;

pub struct Metrics {
    registry: Registry,
    http: HttpMetrics,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    edge_streams: Gauge,
}

impl Metrics {
    /// Registers everything, the feed's and the snapshot cache's own meters included.
    pub fn new(
        changes: prometheus_client::metrics::counter::Counter,
        builds: prometheus_client::metrics::histogram::Histogram,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("togglerino_control_plane");
        let http = HttpMetrics::register(&mut registry);
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let pool_connections = gauge(
            &mut registry,
            "db_pool_connections",
            "PostgreSQL connections open, idle or in use",
        );
        let pool_idle = gauge(
            &mut registry,
            "db_pool_idle_connections",
            "PostgreSQL connections open and idle",
        );
        let pool_max = gauge(
            &mut registry,
            "db_pool_max_connections",
            "Most PostgreSQL connections the pool opens",
        );
        let edge_streams = gauge(
            &mut registry,
            "edge_streams",
            "Edges following this replica's change stream now",
        );
        registry.register(
            "changes",
            "Changes heard from the database and fanned out to the edge streams",
            changes,
        );
        registry.register(
            "snapshot_build_duration_seconds",
            "Environment snapshots built for edges (once per revision), and how long each took",
            builds,
        );
        Metrics {
            registry,
            http,
            pool_connections,
            pool_idle,
            pool_max,
            edge_streams,
        }
    }
}

/// Counts and times every request by its route pattern.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.metrics.http.track(request, next).await
}

/// `GET /metrics` in the OpenMetrics text format; with `--metrics-token`, only for
/// requests bearing it.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings.metrics_token_hash {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(Sha256::digest(presented.trim().as_bytes()).ct_eq(expected.as_slice())) {
            return ApiError::Unauthenticated.into_response();
        }
    }
    let metrics = &state.metrics;
    metrics.pool_connections.set(i64::from(state.db.size()));
    metrics.pool_idle.set(state.db.num_idle() as i64);
    metrics
        .pool_max
        .set(i64::from(state.db.options().get_max_connections()));
    metrics.edge_streams.set(state.feed.subscribers() as i64);
    openmetrics(&metrics.registry)
}
