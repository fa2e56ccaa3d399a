//! The team: admins list, invite, re-role and remove people.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Admin, Role, password};
use crate::db::audit::Entry;
use crate::db::{self, users::UserRow};
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::Json;
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<UserRow> for UserOut {
    fn from(row: UserRow) -> UserOut {
        UserOut {
            id: row.id,
            email: row.email,
            // The column's CHECK constraint admits only the three roles.
            role: Role::parse(&row.role).unwrap_or(Role::Viewer),
            created_at: row.created_at,
        }
    }
}

/// A plausible email address, trimmed: we send no mail, so this only catches typos.
pub fn check_email(email: &str) -> ApiResult<String> {
    let email = email.trim();
    let plausible = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if plausible {
        Ok(email.to_owned())
    } else {
        Err(ApiError::invalid("email", "must be an email address"))
    }
}

/// Everyone who can sign in (admin).
#[utoipa::path(get, path = "/users", tag = "team", responses((status = 200, body = Vec<UserOut>), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list(State(state): State<AppState>, _: Admin) -> ApiResult<axum::Json<Vec<UserOut>>> {
    let users = db::users::list(&state.db).await?;
    Ok(axum::Json(users.into_iter().map(UserOut::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserIn {
    email: String,
    role: Role,
    password: String,
}

/// Adds a person with a role and an initial password (admin).
#[utoipa::path(post, path = "/users", tag = "team", request_body = UserIn, responses((status = 201, body = UserOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 409, body = ErrorOut, description = "The email is taken"), (status = 422, body = ErrorOut)))]
async fn create(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Json(body): Json<UserIn>,
) -> ApiResult<(StatusCode, axum::Json<UserOut>)> {
    let email = check_email(&body.email)?;
    password::check_strength("password", &body.password)?;
    let hash = password::hash(body.password).await?;
    let mut write = Write::begin(&state).await?;
    let user = db::users::insert(write.db(), &email, &hash, body.role.as_str())
        .await
        .map_err(|e| duplicate_email(e, &email))?;
    let out = UserOut::from(user);
    let entry = Entry::global("user.created", "user", &out.email).new(&out);
    write.commit(&actor, entry).await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

fn duplicate_email(error: sqlx::Error, email: &str) -> ApiError {
    if db::is_unique_violation(&error) {
        ApiError::Conflict {
            code: "user_exists",
            message: format!("a user with email {email} already exists"),
            field: Some("email"),
            details: None,
        }
    } else {
        error.into()
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleIn {
    role: Role,
}

/// Changes a person's role (admin); the last admin keeps theirs.
#[utoipa::path(put, path = "/users/{id}", tag = "team", params(("id" = Uuid, Path, description = "User id")), request_body = RoleIn, responses((status = 200, body = UserOut), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut, description = "The last admin cannot be demoted")))]
async fn update(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
    Json(body): Json<RoleIn>,
) -> ApiResult<axum::Json<UserOut>> {
    let id = parse_id(&id)?;
    let mut write = Write::begin(&state).await?;
    let admins = db::users::lock_admins(write.db()).await?;
    let before = db::users::find(write.db(), id)
        .await?
        .ok_or_else(not_found)?;
    if body.role != Role::Admin && admins == [id] {
        return Err(last_admin());
    }
    let after = db::users::set_role(write.db(), id, body.role.as_str())
        .await?
        .ok_or_else(not_found)?;
    let (before, after) = (UserOut::from(before), UserOut::from(after));
    let entry = Entry::global("user.updated", "user", &after.email)
        .old(&before)
        .new(&after);
    write.commit(&actor, entry).await?;
    Ok(axum::Json(after))
}

/// Removes a person (admin); never the last admin.
#[utoipa::path(delete, path = "/users/{id}", tag = "team", params(("id" = Uuid, Path, description = "User id")), responses((status = 204, description = "Removed"), (status = 401, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut, description = "The last admin cannot be deleted")))]
async fn remove(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    let mut write = Write::begin(&state).await?;
    let admins = db::users::lock_admins(write.db()).await?;
    if admins == [id] {
        return Err(last_admin());
    }
    let removed = db::users::delete(write.db(), id)
        .await?
        .ok_or_else(not_found)?;
    let removed = UserOut::from(removed);
    let entry = Entry::global("user.deleted", "user", &removed.email).old(&removed);
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::not_found("user_not_found", "user")
}

fn last_admin() -> ApiError {
    ApiError::conflict(
        "last_admin",
        "the last admin cannot be demoted or deleted; make someone else admin first",
    )
}
