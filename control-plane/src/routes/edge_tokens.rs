//! Edge tokens: what edges present to read snapshots and follow changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Admin, EDGE_TOKEN_PREFIX, secrets};
use crate::db::audit::Entry;
use crate::db::{self, edge_tokens::EdgeTokenRow};
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
struct EdgeTokenOut {
    id: Uuid,
    name: String,
    /// The first characters of the token, to tell tokens apart.
    prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
}

impl From<EdgeTokenRow> for EdgeTokenOut {
    fn from(row: EdgeTokenRow) -> EdgeTokenOut {
        EdgeTokenOut {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The only response that ever carries the token itself.
#[derive(Serialize, ToSchema)]
struct CreatedEdgeTokenOut {
    #[serde(flatten)]
    token: EdgeTokenOut,
    secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EdgeTokenIn {
    name: String,
}

/// Active edge tokens, without their secrets (admin).
#[utoipa::path(get, path = "/edge-tokens", tag = "edge tokens",
    responses((status = 200, body = Vec<EdgeTokenOut>), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list(State(state): State<AppState>, _: Admin) -> ApiResult<axum::Json<Vec<EdgeTokenOut>>> {
    let tokens = db::edge_tokens::list(&state.db).await?;
    Ok(axum::Json(
        tokens.into_iter().map(EdgeTokenOut::from).collect(),
    ))
}

/// Creates an edge token; the response is the only time its secret is shown (admin).
#[utoipa::path(post, path = "/edge-tokens", tag = "edge tokens", request_body = EdgeTokenIn,
    responses((status = 201, body = CreatedEdgeTokenOut), (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut), (status = 422, body = ErrorOut)))]
async fn create(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Json(body): Json<EdgeTokenIn>,
) -> ApiResult<(StatusCode, axum::Json<CreatedEdgeTokenOut>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "a name of 1 to 200 characters is required",
        ));
    }
    let secret = secrets::generate(EDGE_TOKEN_PREFIX, 32);
    let prefix = secrets::display_prefix(&secret, EDGE_TOKEN_PREFIX);
    let mut write = Write::begin(&state).await?;
    let row = db::edge_tokens::insert(write.db(), name, &secrets::hash(&secret), &prefix).await?;
    let token = EdgeTokenOut::from(row);
    let entry = Entry::global("edge_token.created", "edge_token", &token.name).new(&token);
    write.commit(&actor, entry).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedEdgeTokenOut { token, secret }),
    ))
}

/// Revokes an edge token; the edge using it is refused from its next request (admin).
#[utoipa::path(delete, path = "/edge-tokens/{id}", tag = "edge tokens",
    params(("id" = Uuid, Path, description = "Edge token id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn revoke(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found("edge_token_not_found", "edge token");
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut write = Write::begin(&state).await?;
    let row = db::edge_tokens::revoke(write.db(), id)
        .await?
        .ok_or_else(not_found)?;
    let token = EdgeTokenOut::from(row);
    let entry = Entry::global("edge_token.revoked", "edge_token", &token.name).old(&token);
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
