//! Reading the audit log: per project, and for people and tokens.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Viewer};
use crate::db::{self, audit::AuditRow};
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Query;
use crate::routes::projects::ProjectPath;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(global))
        .routes(routes!(for_project))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// Entries per page, 1–200 (default 50).
    limit: Option<i64>,
    /// Only entries older than this entry id: the `next_before` of the previous page.
    before: Option<i64>,
    /// Only entries about this flag and its configs.
    flag: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct PageOut {
    entries: Vec<AuditRow>,
    /// Pass as `before` for the next page; `null` on the last page.
    next_before: Option<i64>,
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// Changes to people and tokens, newest first (admin).
#[utoipa::path(get, path = "/audit-log", tag = "audit log", params(PageQuery), responses((status = 200, body = PageOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn global(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<PageOut>> {
    page(&state, None, query).await
}

/// Changes in a project, newest first.
#[utoipa::path(get, path = "/projects/{project}/audit-log", tag = "audit log", params(("project" = String, Path, description = "Project key"), PageQuery), responses((status = 200, body = PageOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn for_project(
    State(state): State<AppState>,
    _: Viewer,
    ProjectPath(project): ProjectPath,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<PageOut>> {
    page(&state, Some(project.id), query).await
}

async fn page(
    state: &AppState,
    project_id: Option<uuid::Uuid>,
    query: PageQuery,
) -> ApiResult<axum::Json<PageOut>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            message: format!("limit must be between 1 and {MAX_LIMIT}"),
            field: Some("limit".into()),
        });
    }
    // One entry more than asked tells whether another page follows.
    let mut entries = db::audit::page(
        &state.db,
        db::audit::Page {
            project_id,
            before: query.before,
            limit: limit + 1,
            flag: query.flag.as_deref(),
        },
    )
    .await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next_before = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok(axum::Json(PageOut {
        entries,
        next_before,
    }))
}
