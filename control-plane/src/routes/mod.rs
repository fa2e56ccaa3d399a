//! The HTTP surface: one module per resource, merged here.

pub mod api_tokens;
pub mod audit_log;
pub mod auth;
pub mod environments;
pub mod flag_configs;
pub mod flags;
pub mod health;
pub mod projects;
pub mod sdk_keys;
pub mod segments;
pub mod users;

use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

/// Everything under `/api/v1`.
pub fn api() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(api_tokens::router())
        .merge(projects::router())
        .merge(environments::router())
        .merge(sdk_keys::router())
        .merge(flags::router())
        .merge(flag_configs::router())
        .merge(segments::router())
        .merge(audit_log::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("route_not_found", "route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::BadRequest {
        code: "method_not_allowed",
        message: "this route does not accept that method".into(),
        field: None,
    }
}
