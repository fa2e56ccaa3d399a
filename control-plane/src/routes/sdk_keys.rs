//! SDK keys: scoped to one environment, shown once, stored as SHA-256.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use togglerino_shared::model::SdkKeyKind;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Editor, Viewer, secrets};
use crate::db;
use crate::db::audit::Entry;
use crate::db::sdk_keys::SdkKeyRow;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::routes::environments::EnvironmentPath;
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

pub const SDK_KEY_PREFIX: &str = "sdk_";

#[derive(Debug, Serialize, ToSchema)]
struct SdkKeyOut {
    id: Uuid,
    name: String,
    kind: SdkKeyKind,
    /// The first characters of the key, to tell keys apart.
    prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<SdkKeyRow> for SdkKeyOut {
    fn from(row: SdkKeyRow) -> SdkKeyOut {
        SdkKeyOut {
            id: row.id,
            name: row.name,
            kind: if row.kind == "client" {
                SdkKeyKind::Client
            } else {
                SdkKeyKind::Server
            },
            prefix: row.prefix,
            created_at: row.created_at,
        }
    }
}

/// The only response that ever carries the key itself.
#[derive(Serialize, ToSchema)]
struct CreatedSdkKeyOut {
    #[serde(flatten)]
    sdk_key: SdkKeyOut,
    key: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SdkKeyIn {
    name: String,
    kind: SdkKeyKind,
}

/// Active SDK keys of an environment, without the keys themselves.
#[utoipa::path(get, path = "/projects/{project}/environments/{env}/sdk-keys", tag = "sdk keys", params(("project" = String, Path, description = "Project key"), ("env" = String, Path, description = "Environment key")), responses((status = 200, body = Vec<SdkKeyOut>), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn list(
    State(state): State<AppState>,
    _: Viewer,
    EnvironmentPath(_, environment): EnvironmentPath,
) -> ApiResult<axum::Json<Vec<SdkKeyOut>>> {
    let keys = db::sdk_keys::list(&state.db, environment.id).await?;
    Ok(axum::Json(keys.into_iter().map(SdkKeyOut::from).collect()))
}

/// Creates a key for this environment only; the response is the only time it is shown.
#[utoipa::path(post, path = "/projects/{project}/environments/{env}/sdk-keys", tag = "sdk keys", params(("project" = String, Path, description = "Project key"), ("env" = String, Path, description = "Environment key")), request_body = SdkKeyIn, responses((status = 201, body = CreatedSdkKeyOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn create(
    State(state): State<AppState>,
    Editor(actor): Editor,
    EnvironmentPath(project, environment): EnvironmentPath,
    Json(body): Json<SdkKeyIn>,
) -> ApiResult<(StatusCode, axum::Json<CreatedSdkKeyOut>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "a name of 1 to 200 characters is required",
        ));
    }
    let key = secrets::generate(SDK_KEY_PREFIX, 16);
    let kind = match body.kind {
        SdkKeyKind::Client => "client",
        SdkKeyKind::Server => "server",
    };
    let mut write = Write::begin(&state).await?;
    let row = db::sdk_keys::insert(
        write.db(),
        environment.id,
        name,
        kind,
        &secrets::hash(&key),
        &secrets::display_prefix(&key, SDK_KEY_PREFIX),
    )
    .await?;
    // Edges learn of keys through the snapshot.
    write.sdk_keys_changed(&environment);
    let sdk_key = SdkKeyOut::from(row);
    let entry = Entry::in_project(&project, "sdk_key.created", "sdk_key", &sdk_key.name)
        .environment(&environment.key)
        .new(&sdk_key);
    write.commit(&actor, entry).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedSdkKeyOut { sdk_key, key }),
    ))
}

/// Revokes a key; edges refuse it from their next snapshot.
#[utoipa::path(delete, path = "/projects/{project}/environments/{env}/sdk-keys/{id}", tag = "sdk keys", params(("project" = String, Path, description = "Project key"), ("env" = String, Path, description = "Environment key"), ("id" = Uuid, Path, description = "SDK key id")), responses((status = 204, description = "Revoked"), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn revoke(
    State(state): State<AppState>,
    Editor(actor): Editor,
    EnvironmentPath(project, environment): EnvironmentPath,
    Path((_, _, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found("sdk_key_not_found", "SDK key");
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut write = Write::begin(&state).await?;
    let row = db::sdk_keys::revoke(write.db(), environment.id, id)
        .await?
        .ok_or_else(not_found)?;
    write.sdk_keys_changed(&environment);
    let sdk_key = SdkKeyOut::from(row);
    let entry = Entry::in_project(&project, "sdk_key.revoked", "sdk_key", &sdk_key.name)
        .environment(&environment.key)
        .old(&sdk_key);
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
