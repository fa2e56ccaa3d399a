//! Environments of a project, and the `{env}` path extractor.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use togglerino_shared::model::FlagConfig;
use togglerino_shared::validate::{KeyKind, ValidationErrors, validate_key};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Editor, Viewer};
use crate::db;
use crate::db::audit::Entry;
use crate::db::environments::EnvironmentRow;
use crate::db::projects::ProjectRow;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::routes::projects::{ProjectPath, check_name_and_description, duplicate, path_param};
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
}

/// The project and environment named by `{project}` and `{env}`.
pub struct EnvironmentPath(pub ProjectRow, pub EnvironmentRow);

impl FromRequestParts<AppState> for EnvironmentPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ProjectPath(project) = ProjectPath::from_request_parts(parts, state).await?;
        let key = path_param(parts, state, "env").await?;
        let environment = find(state, &project, &key).await?;
        Ok(EnvironmentPath(project, environment))
    }
}

/// The environment `key` of `project`, or a 404.
pub async fn find(state: &AppState, project: &ProjectRow, key: &str) -> ApiResult<EnvironmentRow> {
    db::environments::find(&state.db, project.id, key)
        .await?
        .ok_or_else(|| ApiError::not_found("environment_not_found", format!("environment {key:?}")))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentOut {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    /// Increases with every change that can alter an evaluation here.
    pub revision: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&EnvironmentRow> for EnvironmentOut {
    fn from(row: &EnvironmentRow) -> EnvironmentOut {
        EnvironmentOut {
            id: row.id,
            key: row.key.clone(),
            name: row.name.clone(),
            revision: row.revision,
            created_at: row.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EnvironmentIn {
    key: String,
    name: String,
}

/// Environments of a project, in creation order.
#[utoipa::path(get, path = "/projects/{project}/environments", tag = "environments", params(("project" = String, Path, description = "Project key")), responses((status = 200, body = Vec<EnvironmentOut>), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn list(
    State(state): State<AppState>,
    _: Viewer,
    ProjectPath(project): ProjectPath,
) -> ApiResult<axum::Json<Vec<EnvironmentOut>>> {
    let environments = db::environments::list(&state.db, project.id).await?;
    Ok(axum::Json(
        environments.iter().map(EnvironmentOut::from).collect(),
    ))
}

/// Adds an environment; every flag starts disabled in it.
#[utoipa::path(post, path = "/projects/{project}/environments", tag = "environments", params(("project" = String, Path, description = "Project key")), request_body = EnvironmentIn, responses((status = 201, body = EnvironmentOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn create(
    State(state): State<AppState>,
    Editor(actor): Editor,
    ProjectPath(project): ProjectPath,
    Json(body): Json<EnvironmentIn>,
) -> ApiResult<(StatusCode, axum::Json<EnvironmentOut>)> {
    validate_key(KeyKind::Environment, "key", &body.key).map_err(ValidationErrors::from)?;
    check_name_and_description(&body.name, "")?;
    let mut write = Write::begin(&state).await?;
    let environment = db::environments::insert(write.db(), project.id, &body.key, body.name.trim())
        .await
        .map_err(|e| {
            duplicate(
                e,
                "environment_exists",
                format!("environment {:?} already exists", body.key),
            )
        })?;
    // Every flag exists in every environment; here it starts off.
    for flag in db::flags::list_all(write.db(), project.id).await? {
        let config = FlagConfig::initial(&flag.to_model());
        db::flag_configs::insert(write.db(), flag.id, environment.id, &config, &actor.name).await?;
    }
    write.environment_created(&environment).await?;
    let out = EnvironmentOut::from(&environment);
    let entry = Entry::in_project(
        &project,
        "environment.created",
        "environment",
        &environment.key,
    )
    .environment(&environment.key)
    .new(&out);
    write.commit(&actor, entry).await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// Deletes an environment with its configs and SDK keys.
#[utoipa::path(delete, path = "/projects/{project}/environments/{env}", tag = "environments", params(("project" = String, Path, description = "Project key"), ("env" = String, Path, description = "Environment key")), responses((status = 204, description = "Deleted"), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn remove(
    State(state): State<AppState>,
    Editor(actor): Editor,
    EnvironmentPath(project, environment): EnvironmentPath,
) -> ApiResult<StatusCode> {
    let mut write = Write::begin(&state).await?;
    write.environment_deleted(environment.id).await?;
    let entry = Entry::in_project(
        &project,
        "environment.deleted",
        "environment",
        &environment.key,
    )
    .environment(&environment.key)
    .old(EnvironmentOut::from(&environment));
    db::environments::delete(write.db(), environment.id).await?;
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
