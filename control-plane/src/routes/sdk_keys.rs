//! SDK keys: scoped to one environment, shown once, stored as SHA-256.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use togglerino_shared::model::SdkKeyKind;
use uuid::Uuid;

use crate::auth::{Editor, Viewer, secrets};
use crate::db::audit::Entry;
use crate::db::sdk_keys::SdkKeyRow;
use crate::db::{self, changes};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::routes::environments::EnvironmentPath;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/projects/{project}/environments/{env}/sdk-keys",
            get(list).post(create),
        )
        .route(
            "/projects/{project}/environments/{env}/sdk-keys/{id}",
            delete(revoke),
        )
}

pub const SDK_KEY_PREFIX: &str = "sdk_";

#[derive(Debug, Serialize)]
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
#[derive(Serialize)]
struct CreatedSdkKeyOut {
    #[serde(flatten)]
    sdk_key: SdkKeyOut,
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SdkKeyIn {
    name: String,
    kind: SdkKeyKind,
}

async fn list(
    State(state): State<AppState>,
    _: Viewer,
    EnvironmentPath(_, environment): EnvironmentPath,
) -> ApiResult<axum::Json<Vec<SdkKeyOut>>> {
    let keys = db::sdk_keys::list(&state.db, environment.id).await?;
    Ok(axum::Json(keys.into_iter().map(SdkKeyOut::from).collect()))
}

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
    let mut tx = state.db.begin().await?;
    let row = db::sdk_keys::insert(
        &mut *tx,
        environment.id,
        name,
        kind,
        &secrets::hash(&key),
        &secrets::display_prefix(&key, SDK_KEY_PREFIX),
    )
    .await?;
    // Edges learn of keys through the snapshot.
    changes::bump(&mut tx, &[environment.id]).await?;
    let sdk_key = SdkKeyOut::from(row);
    let entry = Entry::in_project(&project, "sdk_key.created", "sdk_key", &sdk_key.name)
        .environment(&environment.key)
        .new(&sdk_key);
    db::audit::record(&mut tx, &actor, entry).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedSdkKeyOut { sdk_key, key }),
    ))
}

async fn revoke(
    State(state): State<AppState>,
    Editor(actor): Editor,
    EnvironmentPath(project, environment): EnvironmentPath,
    Path((_, _, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found("sdk_key_not_found", "SDK key");
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut tx = state.db.begin().await?;
    let row = db::sdk_keys::revoke(&mut *tx, environment.id, id)
        .await?
        .ok_or_else(not_found)?;
    changes::bump(&mut tx, &[environment.id]).await?;
    let sdk_key = SdkKeyOut::from(row);
    let entry = Entry::in_project(&project, "sdk_key.revoked", "sdk_key", &sdk_key.name)
        .environment(&environment.key)
        .old(&sdk_key);
    db::audit::record(&mut tx, &actor, entry).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
