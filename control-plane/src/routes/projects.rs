//! Projects, and the `{project}` path extractor every project route uses.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use togglerino_shared::model::DEFAULT_ENVIRONMENTS;
use togglerino_shared::validate::{KeyKind, ValidationErrors, validate_key};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Admin, Editor, Viewer};
use crate::db;
use crate::db::audit::Entry;
use crate::db::projects::ProjectRow;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

/// The project named by the `{project}` path segment; 404 when there is none.
pub struct ProjectPath(pub ProjectRow);

impl FromRequestParts<AppState> for ProjectPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = path_param(parts, state, "project").await?;
        db::projects::find(&state.db, &key)
            .await?
            .map(ProjectPath)
            .ok_or_else(|| ApiError::not_found("project_not_found", format!("project {key:?}")))
    }
}

/// One named segment of the matched route's path.
pub async fn path_param(parts: &mut Parts, state: &AppState, name: &str) -> ApiResult<String> {
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::not_found("route_not_found", "route"))?;
    // Keys never contain NUL, and PostgreSQL would refuse to compare one.
    params
        .remove(name)
        .filter(|value| !crate::extract::has_nul(value))
        .ok_or_else(|| ApiError::not_found("route_not_found", "route"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectOut {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&ProjectRow> for ProjectOut {
    fn from(row: &ProjectRow) -> ProjectOut {
        ProjectOut {
            id: row.id,
            key: row.key.clone(),
            name: row.name.clone(),
            description: row.description.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ProjectIn {
    key: String,
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ProjectUpdate {
    name: String,
    #[serde(default)]
    description: String,
}

/// Name and description rules shared by every named entity.
pub fn check_name_and_description(name: &str, description: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "a name of 1 to 200 characters is required",
        ));
    }
    if description.chars().count() > 10_000 {
        return Err(ApiError::invalid(
            "description",
            "must be at most 10000 characters",
        ));
    }
    Ok(())
}

/// Every project.
#[utoipa::path(get, path = "/projects", tag = "projects", responses((status = 200, body = Vec<ProjectOut>), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list(State(state): State<AppState>, _: Viewer) -> ApiResult<axum::Json<Vec<ProjectOut>>> {
    let projects = db::projects::list(&state.db).await?;
    Ok(axum::Json(projects.iter().map(ProjectOut::from).collect()))
}

/// Creates a project with development, staging and production environments (admin).
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = ProjectIn, responses((status = 201, body = ProjectOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 409, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn create(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Json(body): Json<ProjectIn>,
) -> ApiResult<(StatusCode, axum::Json<ProjectOut>)> {
    validate_key(KeyKind::Project, "key", &body.key).map_err(ValidationErrors::from)?;
    check_name_and_description(&body.name, &body.description)?;
    let mut write = Write::begin(&state).await?;
    let project = db::projects::insert(write.db(), &body.key, body.name.trim(), &body.description)
        .await
        .map_err(|e| {
            duplicate(
                e,
                "project_exists",
                format!("a project with key {:?} already exists", body.key),
            )
        })?;
    for key in DEFAULT_ENVIRONMENTS {
        let name = capitalized(key);
        let environment = db::environments::insert(write.db(), project.id, key, &name).await?;
        write.environment_created(&environment).await?;
    }
    let out = ProjectOut::from(&project);
    let entry = Entry::in_project(&project, "project.created", "project", &project.key).new(&out);
    write.commit(&actor, entry).await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

fn capitalized(key: &str) -> String {
    let mut chars = key.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Maps a unique violation to a 409 on `key`.
pub fn duplicate(error: sqlx::Error, code: &'static str, message: String) -> ApiError {
    if db::is_unique_violation(&error) {
        ApiError::Conflict {
            code,
            message,
            field: Some("key"),
            details: None,
        }
    } else {
        error.into()
    }
}

/// One project.
#[utoipa::path(get, path = "/projects/{project}", tag = "projects", params(("project" = String, Path, description = "Project key")), responses((status = 200, body = ProjectOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn show(_: Viewer, ProjectPath(project): ProjectPath) -> axum::Json<ProjectOut> {
    axum::Json(ProjectOut::from(&project))
}

/// Renames a project or changes its description; the key is fixed.
#[utoipa::path(put, path = "/projects/{project}", tag = "projects", params(("project" = String, Path, description = "Project key")), request_body = ProjectUpdate, responses((status = 200, body = ProjectOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn update(
    State(state): State<AppState>,
    Editor(actor): Editor,
    ProjectPath(project): ProjectPath,
    Json(body): Json<ProjectUpdate>,
) -> ApiResult<axum::Json<ProjectOut>> {
    check_name_and_description(&body.name, &body.description)?;
    let mut write = Write::begin(&state).await?;
    let updated =
        db::projects::update(write.db(), project.id, body.name.trim(), &body.description).await?;
    let (before, after) = (ProjectOut::from(&project), ProjectOut::from(&updated));
    let entry = Entry::in_project(&project, "project.updated", "project", &project.key)
        .old(&before)
        .new(&after);
    write.commit(&actor, entry).await?;
    Ok(axum::Json(after))
}

/// Deletes a project with everything in it (admin).
#[utoipa::path(delete, path = "/projects/{project}", tag = "projects", params(("project" = String, Path, description = "Project key")), responses((status = 204, description = "Deleted"), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn remove(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ProjectPath(project): ProjectPath,
) -> ApiResult<StatusCode> {
    let mut write = Write::begin(&state).await?;
    for environment in db::environments::list(write.db(), project.id).await? {
        write.environment_deleted(environment.id).await?;
    }
    let entry = Entry::in_project(&project, "project.deleted", "project", &project.key)
        .old(ProjectOut::from(&project));
    db::projects::delete(write.db(), project.id).await?;
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
