use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> axum::Json<Value> {
    axum::Json(json!({"status": "ok"}))
}

/// The edge serves: it holds every environment upstream listed, or what it restored
/// from its cache.
async fn readyz(State(state): State<AppState>) -> (StatusCode, axum::Json<Value>) {
    match state.store.load() {
        Some(loaded) => (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "environments": loaded.environment_count()})),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "waiting for upstream's environments"})),
        ),
    }
}
