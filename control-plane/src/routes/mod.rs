//! The HTTP surface: one module per resource, merged here. Routes are registered with
//! their OpenAPI description in one step (`routes!`), so the published document cannot
//! drift from what is served.

pub mod api_tokens;
pub mod audit_log;
pub mod auth;
pub mod edge;
pub mod edge_tokens;
pub mod environments;
pub mod flag_configs;
pub mod flags;
pub mod fleet;
pub mod health;
pub mod insights;
pub mod playground;
pub mod projects;
pub mod sdk_keys;
pub mod segments;
pub mod users;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// Everything under `/api/v1`.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
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
        .merge(playground::router())
        .merge(edge_tokens::router())
        .merge(edge::router())
        .merge(insights::router())
        .merge(fleet::router())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Togglerino control plane API",
        description = "Manage projects, environments, flags, segments, SDK keys, people and tokens. \
            Authenticate with the session cookie from /api/v1/auth/login (and send X-CSRF-Token on \
            writes) or with an API token as `Authorization: Bearer tgl_…`. Errors are always \
            `{\"error\": {\"code\", \"message\", \"field\"?}}`.",
    ),
    modifiers(&SecuritySchemes),
    security(("session" = []), ("api_token" = [])),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::session::COOKIE_NAME,
                "Browser session from /api/v1/auth/login; writes also need the X-CSRF-Token header",
            ))),
        );
        components.add_security_scheme(
            "edge_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An edge token, tge_…, or the pre-shared --edge-token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token, tgl_…"))
                    .build(),
            ),
        );
    }
}

pub async fn unknown_route() -> ApiError {
    ApiError::not_found("route_not_found", "route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
