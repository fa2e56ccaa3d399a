//! API tokens for automation: shown once, stored hashed, revocable.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{API_TOKEN_PREFIX, Admin, Role, secrets};
use crate::db::audit::Entry;
use crate::db::{self, api_tokens::ApiTokenRow};
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[derive(Serialize, ToSchema)]
struct ApiTokenOut {
    id: Uuid,
    name: String,
    role: Role,
    /// The first characters of the token, to tell tokens apart.
    prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
}

impl From<ApiTokenRow> for ApiTokenOut {
    fn from(row: ApiTokenRow) -> ApiTokenOut {
        ApiTokenOut {
            id: row.id,
            name: row.name,
            role: Role::parse(&row.role).unwrap_or(Role::Viewer),
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The only response that ever carries the token itself.
#[derive(Serialize, ToSchema)]
struct CreatedApiTokenOut {
    #[serde(flatten)]
    token: ApiTokenOut,
    secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ApiTokenIn {
    name: String,
    role: Role,
}

/// Active API tokens, without their secrets (admin).
#[utoipa::path(get, path = "/api-tokens", tag = "api tokens", responses((status = 200, body = Vec<ApiTokenOut>), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list(State(state): State<AppState>, _: Admin) -> ApiResult<axum::Json<Vec<ApiTokenOut>>> {
    let tokens = db::api_tokens::list(&state.db).await?;
    Ok(axum::Json(
        tokens.into_iter().map(ApiTokenOut::from).collect(),
    ))
}

/// Creates a token; the response is the only time its secret is shown (admin).
#[utoipa::path(post, path = "/api-tokens", tag = "api tokens", request_body = ApiTokenIn, responses((status = 201, body = CreatedApiTokenOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn create(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Json(body): Json<ApiTokenIn>,
) -> ApiResult<(StatusCode, axum::Json<CreatedApiTokenOut>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "a name of 1 to 200 characters is required",
        ));
    }
    let secret = secrets::generate(API_TOKEN_PREFIX, 32);
    let prefix = secrets::display_prefix(&secret, API_TOKEN_PREFIX);
    let mut write = Write::begin(&state).await?;
    let row = db::api_tokens::insert(
        write.db(),
        name,
        body.role.as_str(),
        &secrets::hash(&secret),
        &prefix,
        actor.owner,
    )
    .await?;
    let token = ApiTokenOut::from(row);
    let entry = Entry::global("api_token.created", "api_token", &token.name).new(&token);
    write.commit(&actor, entry).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedApiTokenOut { token, secret }),
    ))
}

/// Revokes a token at once (admin).
#[utoipa::path(delete, path = "/api-tokens/{id}", tag = "api tokens", params(("id" = Uuid, Path, description = "Token id")), responses((status = 204, description = "Revoked"), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn revoke(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found("api_token_not_found", "API token");
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut write = Write::begin(&state).await?;
    let row = db::api_tokens::revoke(write.db(), id)
        .await?
        .ok_or_else(not_found)?;
    let token = ApiTokenOut::from(row);
    let entry = Entry::global("api_token.revoked", "api_token", &token.name).old(&token);
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
