//! A flag's config in one environment: read, replace (with optimistic concurrency) and
//! the one-click toggle. Every write is validated by the shared engine against the rest
//! of the environment before it is stored.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use togglerino_shared::model::FlagConfig;
use togglerino_shared::validate::{EnvironmentView, parse_json_value, validate_flag_config};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Actor, Editor, Viewer};
use crate::db;
use crate::db::audit::Entry;
use crate::db::environments::EnvironmentRow;
use crate::db::flag_configs::ConfigRow;
use crate::db::flags::FlagRow;
use crate::db::projects::ProjectRow;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::routes::environments;
use crate::routes::flags::FlagPath;
use crate::routes::projects::path_param;
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, replace))
        .routes(routes!(toggle))
}

/// A config write: the config's fields and the version it was read at. Spelled out
/// rather than flattened: a flattened strict `FlagConfig` would document a body that
/// forbids `version`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documents the body `replace` parses by hand
struct ConfigIn {
    enabled: bool,
    variants: Vec<togglerino_shared::model::Variant>,
    /// The variant served when no targeting rule serves one.
    default_variant: String,
    #[serde(default)]
    targeting_rules: Vec<togglerino_shared::model::Rule>,
    #[serde(default)]
    prerequisites: Vec<togglerino_shared::model::Prerequisite>,
    /// The version of the config you edited.
    version: i64,
}

/// A config with its concurrency version and last writer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigOut {
    // The config's fields, spelled out: a flattened strict `FlagConfig` would document
    // an answer that forbids `version`.
    pub enabled: bool,
    pub variants: Vec<togglerino_shared::model::Variant>,
    /// The variant served when no targeting rule serves one.
    pub default_variant: String,
    pub targeting_rules: Vec<togglerino_shared::model::Rule>,
    pub prerequisites: Vec<togglerino_shared::model::Prerequisite>,
    /// Send it back with the next write; a stale one gets 409.
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub updated_by: Option<String>,
}

impl From<ConfigRow> for ConfigOut {
    fn from(row: ConfigRow) -> ConfigOut {
        let FlagConfig {
            enabled,
            variants,
            default_variant,
            targeting_rules,
            prerequisites,
        } = row.config.0;
        ConfigOut {
            enabled,
            variants,
            default_variant,
            targeting_rules,
            prerequisites,
            version: row.version,
            updated_at: row.updated_at,
            updated_by: row.updated_by,
        }
    }
}

/// The flag, environment and current config a route addresses.
struct Target {
    project: ProjectRow,
    flag: FlagRow,
    environment: EnvironmentRow,
}

impl axum::extract::FromRequestParts<AppState> for Target {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let FlagPath(project, flag) = FlagPath::from_request_parts(parts, state).await?;
        let key = path_param(parts, state, "env").await?;
        let environment = environments::find(state, &project, &key).await?;
        Ok(Target {
            project,
            flag,
            environment,
        })
    }
}

/// A flag's config in one environment.
#[utoipa::path(get, path = "/projects/{project}/flags/{flag}/environments/{env}", tag = "flag configs", params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment key")), responses((status = 200, body = ConfigOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn show(
    State(state): State<AppState>,
    _: Viewer,
    target: Target,
) -> ApiResult<axum::Json<ConfigOut>> {
    let row = db::flag_configs::find(&state.db, target.flag.id, target.environment.id)
        .await?
        .ok_or_else(missing)?;
    Ok(axum::Json(ConfigOut::from(row)))
}

fn missing() -> ApiError {
    ApiError::not_found("flag_config_not_found", "flag config")
}

/// `{…config, "version": n}`: the config is parsed separately so its errors carry
/// config-relative paths, like validation's.
/// Replaces a config; `version` must be the one you read, else 409 with the current config.
#[utoipa::path(put, path = "/projects/{project}/flags/{flag}/environments/{env}", tag = "flag configs", params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment key")), request_body = ConfigIn, responses((status = 200, body = ConfigOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut, description = "Someone changed it first; details.current holds their config"), (status = 422, body = ErrorOut, description = "Invalid config; field holds the JSON path")))]
async fn replace(
    State(state): State<AppState>,
    Editor(actor): Editor,
    target: Target,
    Json(mut body): Json<serde_json::Map<String, Value>>,
) -> ApiResult<axum::Json<ConfigOut>> {
    let version = match body.remove("version") {
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().expect("checked"),
        _ => {
            return Err(ApiError::BadRequest {
                code: "invalid_json",
                message: "version is required: the version of the config you edited".into(),
                field: Some("version".into()),
            });
        }
    };
    let config: FlagConfig =
        parse_json_value(Value::Object(body)).map_err(|e| ApiError::BadRequest {
            code: "invalid_json",
            message: e.message,
            field: (!e.field.is_empty()).then_some(e.field),
        })?;
    write(&state, &actor, &target, version, |_| Ok(config)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ToggleIn {
    enabled: bool,
    version: i64,
}

/// Turns a flag on or off in one environment, keeping its rules.
#[utoipa::path(post, path = "/projects/{project}/flags/{flag}/environments/{env}/toggle", tag = "flag configs", params(("project" = String, Path, description = "Project key"), ("flag" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment key")), request_body = ToggleIn, responses((status = 200, body = ConfigOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut)))]
async fn toggle(
    State(state): State<AppState>,
    Editor(actor): Editor,
    target: Target,
    Json(body): Json<ToggleIn>,
) -> ApiResult<axum::Json<ConfigOut>> {
    write(&state, &actor, &target, body.version, |current| {
        Ok(FlagConfig {
            enabled: body.enabled,
            ..current.clone()
        })
    })
    .await
}

/// Replaces the config if `version` is current, after validating the result against
/// the whole environment. The environment row stays locked from check to commit, so
/// concurrent writes are validated one after the other.
async fn write(
    state: &AppState,
    actor: &Actor,
    target: &Target,
    version: i64,
    change: impl FnOnce(&FlagConfig) -> ApiResult<FlagConfig>,
) -> ApiResult<axum::Json<ConfigOut>> {
    let mut write = Write::begin(state).await?;
    db::environments::lock(write.db(), target.environment.id).await?;
    let current = db::flag_configs::find(write.db(), target.flag.id, target.environment.id)
        .await?
        .ok_or_else(missing)?;
    if current.version != version {
        let who = current
            .updated_by
            .clone()
            .unwrap_or_else(|| "someone".into());
        return Err(ApiError::Conflict {
            code: "version_conflict",
            message: format!(
                "{who} changed this config since you loaded it (version {version}, now {}); reload and reapply your change",
                current.version
            ),
            field: Some("version"),
            details: Some(serde_json::json!({"current": ConfigOut::from(current)})),
        });
    }
    let config = change(&current.config.0)?;

    let shapes = db::flag_configs::shapes(write.db(), target.environment.id).await?;
    let segments: Vec<_> = db::segments::list(write.db(), target.project.id)
        .await?
        .iter()
        .map(|s| s.to_model())
        .collect();
    let flag = target.flag.to_model();
    let config = crate::blocking::run(move || {
        let view = EnvironmentView::from_shapes(shapes, &segments);
        validate_flag_config(&flag, &config, &view).map(|()| config)
    })
    .await??;

    let updated = db::flag_configs::update(
        write.db(),
        target.flag.id,
        target.environment.id,
        version,
        &config,
        &actor.name,
    )
    .await?
    .ok_or_else(missing)?;
    if updated.config.0 != current.config.0 {
        write.config_changed(&target.environment, &target.flag.key);
    }
    let entry = Entry::in_project(
        &target.project,
        "flag_config.updated",
        "flag_config",
        &target.flag.key,
    )
    .environment(&target.environment.key)
    .old(&current.config.0)
    .new(&updated.config.0);
    write.commit(actor, entry).await?;
    Ok(axum::Json(ConfigOut::from(updated)))
}
