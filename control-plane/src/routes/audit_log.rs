//! Reading the audit log: per project, and for people and tokens.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::auth::{Admin, Viewer};
use crate::db::{self, audit::AuditRow};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::projects::ProjectPath;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit-log", get(global))
        .route("/projects/{project}/audit-log", get(for_project))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    /// Entries per page, 1–200 (default 50).
    limit: Option<i64>,
    /// Only entries older than this entry id: the `next_before` of the previous page.
    before: Option<i64>,
    /// Only entries about this flag and its configs.
    flag: Option<String>,
}

#[derive(Serialize)]
struct PageOut {
    entries: Vec<AuditRow>,
    /// Pass as `before` for the next page; `null` on the last page.
    next_before: Option<i64>,
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

async fn global(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<PageOut>> {
    page(&state, None, query).await
}

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
