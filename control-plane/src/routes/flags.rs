//! Flags of a project: their definition, lifecycle (archive, delete) and the `{flag}` path
//! extractor. Per-environment behaviour lives in `flag_configs`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use togglerino_shared::model::{Flag, FlagConfig, FlagType};
use togglerino_shared::validate::validate_flag;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Editor, Viewer};
use crate::db;
use crate::db::audit::Entry;
use crate::db::flags::FlagRow;
use crate::db::projects::ProjectRow;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::{Json, Query};
use crate::routes::flag_configs::ConfigOut;
use crate::routes::projects::{ProjectPath, duplicate, path_param};
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(archive))
        .routes(routes!(unarchive))
}

/// The project and flag named by `{project}` and `{flag}`.
pub struct FlagPath(pub ProjectRow, pub FlagRow);

impl FromRequestParts<AppState> for FlagPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ProjectPath(project) = ProjectPath::from_request_parts(parts, state).await?;
        let key = path_param(parts, state, "flag").await?;
        let flag = db::flags::find(&state.db, project.id, &key)
            .await?
            .ok_or_else(|| ApiError::not_found("flag_not_found", format!("flag {key:?}")))?;
        Ok(FlagPath(project, flag))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagOut {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub flag_type: FlagType,
    pub default_value: Value,
    pub tags: Vec<String>,
    pub archived: bool,
    /// Whether client SDK keys see the flag; server keys see every flag.
    pub client_visible: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&FlagRow> for FlagOut {
    fn from(row: &FlagRow) -> FlagOut {
        FlagOut {
            id: row.id,
            key: row.key.clone(),
            name: row.name.clone(),
            description: row.description.clone(),
            flag_type: db::flags::parse_type(&row.flag_type),
            default_value: row.default_value.clone(),
            tags: row.tags.clone(),
            archived: row.archived,
            client_visible: row.client_visible,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A flag in the list: its definition and, per environment, whether it is on.
#[derive(Serialize, ToSchema)]
struct FlagSummaryOut {
    #[serde(flatten)]
    flag: FlagOut,
    environments: BTreeMap<String, EnvironmentState>,
}

#[derive(Serialize, ToSchema)]
struct EnvironmentState {
    enabled: bool,
    /// Send it back with a toggle.
    version: i64,
}

/// A flag with its config in every environment.
#[derive(Serialize, ToSchema)]
pub struct FlagDetailOut {
    #[serde(flatten)]
    pub flag: FlagOut,
    pub environments: BTreeMap<String, ConfigOut>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FlagIn {
    key: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "type")]
    flag_type: FlagType,
    default_value: Value,
    #[serde(default)]
    tags: Vec<String>,
    /// Whether client SDK keys (browsers, mobile apps) see the flag; default `true`.
    #[serde(default = "yes")]
    client_visible: bool,
}

fn yes() -> bool {
    true
}

/// The changeable part of a flag. Key and type are fixed at creation: configs in every
/// environment depend on them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FlagUpdate {
    name: String,
    #[serde(default)]
    description: String,
    default_value: Value,
    #[serde(default)]
    tags: Vec<String>,
    /// Whether client SDK keys see the flag; unchanged when left out.
    client_visible: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FlagQuery {
    /// Substring of the key or name, case-insensitive.
    q: Option<String>,
    tag: Option<String>,
    /// Archived flags: `exclude` them (the default), `include` them, or list `only`
    /// them (`false` and `true` mean `exclude` and `only`).
    #[serde(default)]
    #[param(inline)]
    archived: ArchivedFilter,
}

#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum ArchivedFilter {
    #[default]
    #[serde(alias = "false")]
    Exclude,
    Include,
    #[serde(alias = "true")]
    Only,
}

/// Flags of a project with their on/off state per environment.
#[utoipa::path(get, path = "/projects/{project}/flags", tag = "flags", params(("project" = String, Path, description = "Project key"), FlagQuery), responses((status = 200, body = Vec<FlagSummaryOut>), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn list(
    State(state): State<AppState>,
    _: Viewer,
    ProjectPath(project): ProjectPath,
    Query(query): Query<FlagQuery>,
) -> ApiResult<axum::Json<Vec<FlagSummaryOut>>> {
    let filter = db::flags::Filter {
        query: query.q.as_deref().filter(|q| !q.is_empty()),
        tag: query.tag.as_deref().filter(|t| !t.is_empty()),
        archived: match query.archived {
            ArchivedFilter::Exclude => Some(false),
            ArchivedFilter::Include => None,
            ArchivedFilter::Only => Some(true),
        },
    };
    let flags = db::flags::list(&state.db, project.id, filter).await?;
    let environments = environment_keys(&state, &project).await?;
    let mut states: HashMap<Uuid, BTreeMap<String, EnvironmentState>> = HashMap::new();
    for (flag_id, environment_id, enabled, version) in
        db::flag_configs::states(&state.db, project.id).await?
    {
        states.entry(flag_id).or_default().insert(
            environments[&environment_id].clone(),
            EnvironmentState { enabled, version },
        );
    }
    let out = flags
        .iter()
        .map(|flag| FlagSummaryOut {
            flag: FlagOut::from(flag),
            environments: states.remove(&flag.id).unwrap_or_default(),
        })
        .collect();
    Ok(axum::Json(out))
}

async fn environment_keys(
    state: &AppState,
    project: &ProjectRow,
) -> ApiResult<HashMap<Uuid, String>> {
    let environments = db::environments::list(&state.db, project.id).await?;
    Ok(environments.into_iter().map(|e| (e.id, e.key)).collect())
}

/// The flag with every environment's config.
pub async fn detail(
    state: &AppState,
    project: &ProjectRow,
    flag: &FlagRow,
) -> ApiResult<FlagDetailOut> {
    let environments = environment_keys(state, project).await?;
    let configs = db::flag_configs::for_flag(&state.db, flag.id).await?;
    Ok(FlagDetailOut {
        flag: FlagOut::from(flag),
        environments: configs
            .into_iter()
            .map(|row| {
                (
                    environments[&row.environment_id].clone(),
                    ConfigOut::from(row),
                )
            })
            .collect(),
    })
}

/// Creates a flag, disabled in every environment.
#[utoipa::path(post, path = "/projects/{project}/flags", tag = "flags", params(("project" = String, Path, description = "Project key")), request_body = FlagIn, responses((status = 201, body = FlagDetailOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn create(
    State(state): State<AppState>,
    Editor(actor): Editor,
    ProjectPath(project): ProjectPath,
    Json(body): Json<FlagIn>,
) -> ApiResult<(StatusCode, axum::Json<FlagDetailOut>)> {
    let flag = Flag {
        key: body.key,
        name: body.name.trim().to_owned(),
        description: body.description,
        flag_type: body.flag_type,
        default_value: body.default_value,
        tags: body.tags,
        archived: false,
        client_visible: body.client_visible,
    };
    validate_flag(&flag)?;
    let initial = FlagConfig::initial(&flag);
    let mut write = Write::begin(&state).await?;
    let row = db::flags::insert(write.db(), project.id, &flag)
        .await
        .map_err(|e| {
            duplicate(
                e,
                "flag_exists",
                format!("flag {:?} already exists", flag.key),
            )
        })?;
    for environment in db::environments::list(write.db(), project.id).await? {
        db::flag_configs::insert(write.db(), row.id, environment.id, &initial, &actor.name).await?;
    }
    write.flag_changed(&project, &flag.key);
    let entry = Entry::in_project(&project, "flag.created", "flag", &flag.key).new(&flag);
    write.commit(&actor, entry).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(detail(&state, &project, &row).await?),
    ))
}

/// A flag with its config in every environment.
#[utoipa::path(get, path = "/projects/{project}/flags/{flag}", tag = "flags", params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key")), responses((status = 200, body = FlagDetailOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn show(
    State(state): State<AppState>,
    _: Viewer,
    FlagPath(project, flag): FlagPath,
) -> ApiResult<axum::Json<FlagDetailOut>> {
    Ok(axum::Json(detail(&state, &project, &flag).await?))
}

/// Changes a flag's name, description, default value and tags; key and type are fixed.
#[utoipa::path(put, path = "/projects/{project}/flags/{flag}", tag = "flags", params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key")), request_body = FlagUpdate, responses((status = 200, body = FlagDetailOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn update(
    State(state): State<AppState>,
    Editor(actor): Editor,
    FlagPath(project, row): FlagPath,
    Json(body): Json<FlagUpdate>,
) -> ApiResult<axum::Json<FlagDetailOut>> {
    let before = row.to_model();
    let after = Flag {
        name: body.name.trim().to_owned(),
        description: body.description,
        default_value: body.default_value,
        tags: body.tags,
        client_visible: body.client_visible.unwrap_or(before.client_visible),
        ..before.clone()
    };
    validate_flag(&after)?;
    save(
        &state,
        &actor,
        &project,
        &row,
        before,
        after,
        "flag.updated",
    )
    .await
}

/// Archives a flag: it serves its default value everywhere and leaves bulk evaluations.
#[utoipa::path(post, path = "/projects/{project}/flags/{flag}/archive", tag = "flags", params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key")), responses((status = 200, body = FlagDetailOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn archive(
    State(state): State<AppState>,
    Editor(actor): Editor,
    FlagPath(project, row): FlagPath,
) -> ApiResult<axum::Json<FlagDetailOut>> {
    set_archived(&state, &actor, &project, &row, true).await
}

/// Restores an archived flag.
#[utoipa::path(post, path = "/projects/{project}/flags/{flag}/unarchive", tag = "flags", params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key")), responses((status = 200, body = FlagDetailOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn unarchive(
    State(state): State<AppState>,
    Editor(actor): Editor,
    FlagPath(project, row): FlagPath,
) -> ApiResult<axum::Json<FlagDetailOut>> {
    set_archived(&state, &actor, &project, &row, false).await
}

async fn set_archived(
    state: &AppState,
    actor: &crate::auth::Actor,
    project: &ProjectRow,
    row: &FlagRow,
    archived: bool,
) -> ApiResult<axum::Json<FlagDetailOut>> {
    let before = row.to_model();
    let after = Flag {
        archived,
        ..before.clone()
    };
    let action = if archived {
        "flag.archived"
    } else {
        "flag.unarchived"
    };
    save(state, actor, project, row, before, after, action).await
}

async fn save(
    state: &AppState,
    actor: &crate::auth::Actor,
    project: &ProjectRow,
    row: &FlagRow,
    before: Flag,
    after: Flag,
    action: &str,
) -> ApiResult<axum::Json<FlagDetailOut>> {
    let mut write = Write::begin(state).await?;
    let updated = db::flags::update(write.db(), row.id, &after).await?;
    // Snapshots carry the whole flag, so any change of it reaches edges.
    if before != after {
        write.flag_changed(project, &row.key);
    }
    let entry = Entry::in_project(project, action, "flag", &row.key)
        .old(&before)
        .new(&after);
    write.commit(actor, entry).await?;
    Ok(axum::Json(detail(state, project, &updated).await?))
}

/// Deletes a flag that no other flag needs as a prerequisite.
#[utoipa::path(delete, path = "/projects/{project}/flags/{flag}", tag = "flags", params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key")), responses((status = 204, description = "Deleted"), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut, description = "Another flag needs it")))]
async fn remove(
    State(state): State<AppState>,
    Editor(actor): Editor,
    FlagPath(project, row): FlagPath,
) -> ApiResult<StatusCode> {
    let mut write = Write::begin(&state).await?;
    let configs = db::flag_configs::for_project(write.db(), project.id).await?;
    let mut dependents: Vec<String> = configs
        .iter()
        .filter(|(_, c)| c.config.prerequisites.iter().any(|p| p.flag == row.key))
        .map(|(key, _)| key.clone())
        .collect();
    dependents.dedup();
    if !dependents.is_empty() {
        return Err(ApiError::Conflict {
            code: "flag_in_use",
            message: format!(
                "flag {:?} is a prerequisite of {}; remove it from their prerequisites first",
                row.key,
                dependents.join(", ")
            ),
            field: None,
            details: Some(serde_json::json!({"flags": dependents})),
        });
    }
    write.flag_changed(&project, &row.key);
    let entry = Entry::in_project(&project, "flag.deleted", "flag", &row.key).old(row.to_model());
    db::flags::delete(write.db(), row.id).await?;
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
