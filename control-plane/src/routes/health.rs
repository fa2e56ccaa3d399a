use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
struct HealthOut {
    /// `ok`, `ready` or `unavailable`.
    status: &'static str,
    /// `ok` or `unreachable`; on readiness checks only.
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'static str>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, body = HealthOut)))]
async fn healthz() -> axum::Json<HealthOut> {
    axum::Json(HealthOut {
        status: "ok",
        database: None,
    })
}

/// The process can serve: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses((status = 200, body = HealthOut), (status = 503, body = HealthOut)))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, axum::Json<HealthOut>) {
    match sqlx::query("SELECT 1").execute(&state.db).await {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(HealthOut {
                status: "ready",
                database: Some("ok"),
            }),
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(HealthOut {
                    status: "unavailable",
                    database: Some("unreachable"),
                }),
            )
        }
    }
}
