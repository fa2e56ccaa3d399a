//! Reading the audit log: the whole story (admin), filterable by project, actor, action
//! and time; a project's log is the same filtered to that project.

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
    /// Only entries of the project with this key, deleted projects included (the
    /// whole log only).
    project: Option<String>,
    /// `instance`: only entries outside any project, about people and tokens (the
    /// whole log only).
    #[param(inline)]
    scope: Option<Scope>,
    /// Entries per page, 1–200 (default 50).
    limit: Option<i64>,
    /// Only entries older than this entry id: the `next_before` of the previous page.
    before: Option<i64>,
    /// Only entries about this flag and its configs.
    flag: Option<String>,
    /// Only entries by actors whose name (an email, or a token's name) contains this,
    /// in any case.
    actor: Option<String>,
    /// Only this action (`flag.updated`), or, ending in a dot, this family of actions
    /// (`flag.`).
    action: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<time::OffsetDateTime>,
    /// Only entries before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<time::OffsetDateTime>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Scope {
    Instance,
}

#[derive(Serialize, ToSchema)]
struct PageOut {
    entries: Vec<AuditRow>,
    /// Pass as `before` for the next page; `null` on the last page.
    next_before: Option<i64>,
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// Every change, in every project (deleted ones included) and outside them, newest
/// first (admin).
#[utoipa::path(get, path = "/audit-log", tag = "audit log", params(PageQuery), responses((status = 200, body = PageOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn global(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<PageOut>> {
    let filter = db::audit::Page {
        project_key: query.project.as_deref(),
        outside_projects: matches!(query.scope, Some(Scope::Instance)),
        ..Default::default()
    };
    page(&state, filter, &query).await
}

/// Changes in a project, newest first.
#[utoipa::path(get, path = "/projects/{project}/audit-log", tag = "audit log", params(("project" = String, Path, description = "Project key"), PageQuery), responses((status = 200, body = PageOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn for_project(
    State(state): State<AppState>,
    _: Viewer,
    ProjectPath(project): ProjectPath,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<PageOut>> {
    if query.project.is_some() || query.scope.is_some() {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            message: "project and scope filter the whole log (/audit-log), not a project's".into(),
            field: Some(
                if query.project.is_some() {
                    "project"
                } else {
                    "scope"
                }
                .into(),
            ),
        });
    }
    let filter = db::audit::Page {
        project_id: Some(project.id),
        ..Default::default()
    };
    page(&state, filter, &query).await
}

async fn page(
    state: &AppState,
    filter: db::audit::Page<'_>,
    query: &PageQuery,
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
            before: query.before,
            limit: limit + 1,
            flag: query.flag.as_deref(),
            actor: query.actor.as_deref(),
            action: query.action.as_deref(),
            since: query.since,
            until: query.until,
            ..filter
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
