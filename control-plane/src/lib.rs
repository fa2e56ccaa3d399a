//! The Togglerino control plane: the system of record. `main.rs` parses configuration
//! and calls [`run`]; tests call the same [`run`] on a port-0 listener, so the code under
//! test is the code that ships.

pub mod auth;
pub mod blocking;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod extract;
pub mod feed;
pub mod housekeeping;
pub mod metrics;
pub mod routes;
pub mod snapshot_cache;
pub mod state;
pub mod write;

use std::future::Future;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use state::{AppState, Settings};

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.settings.cors_origins);
    let (router, openapi) = openapi_router().split_for_parts();
    let openapi = Arc::new(openapi);
    router
        .route(
            OPENAPI_PATH,
            get(move || {
                let openapi = Arc::clone(&openapi);
                async move { axum::Json(openapi) }
            }),
        )
        .route("/metrics", get(metrics::scrape))
        .fallback(dashboard::fallback)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(
            |mut response: Response| async {
                togglerino_shared::http::secure_defaults(response.headers_mut(), true);
                response
            },
        ))
        .layer(cors)
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // Spans carry the route pattern, never the raw path or query string.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .with_state(state)
}

/// Where the OpenAPI document of the API is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Every route with its OpenAPI description.
fn openapi_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(routes::ApiDoc::openapi())
        .merge(routes::health::router())
        .nest("/api/v1", routes::api())
}

/// The OpenAPI 3.1 document of the whole API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi_router().into_openapi()
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(auth::session::CSRF_HEADER),
        ])
}

/// Serves the application on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.feed.spawn_listener(state.db.clone());
    housekeeping::spawn(state.db.clone(), Arc::clone(&state.settings));
    housekeeping::prune_login_limiter(Arc::clone(&state.login_limiter));
    let closing = state.clone();
    // Edge streams never end by themselves; without closing them, shutdown would wait
    // for every edge to hang up.
    togglerino_shared::process::serve(listener, app(state), shutdown, move || {
        closing.close_streams()
    })
    .await
}
