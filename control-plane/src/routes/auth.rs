//! Sign-up of the first admin, sign-in and out, and the caller's own account.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Actor, ActorKind, Role, first_admin, password, rate_limit, secrets, session};
use crate::db;
use crate::db::audit::Entry;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::{ClientIp, Json};
use crate::routes::users::{UserOut, check_email};
use crate::state::AppState;
use crate::write::Write;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(setup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[derive(Serialize, ToSchema)]
struct StatusOut {
    setup_required: bool,
    /// Setting up from where this request came from needs the setup token (the request
    /// is not from the control plane's own machine).
    setup_token_required: bool,
}

/// Whether the first admin still has to be created, and whether the caller must present
/// the setup token to do it.
#[utoipa::path(get, path = "/auth/status", tag = "auth", security(()), responses((status = 200, body = StatusOut)))]
async fn status(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<axum::Json<StatusOut>> {
    let setup_required = db::users::count(&state.db).await? == 0;
    Ok(axum::Json(StatusOut {
        setup_required,
        setup_token_required: setup_required && !first_admin::is_local(peer, &headers),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CredentialsIn {
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetupIn {
    email: String,
    password: String,
    /// Required unless the request comes from the control plane's own machine.
    setup_token: Option<String>,
}

/// A signed-in session: the user, and the token to send as `X-CSRF-Token` on writes.
#[derive(Serialize, ToSchema)]
struct SessionOut {
    user: UserOut,
    csrf_token: String,
}

/// Creates the first admin and signs them in; only while no user exists.
#[utoipa::path(post, path = "/auth/setup", tag = "auth", request_body = SetupIn, security(()), responses((status = 201, body = SessionOut, description = "Signed in; the session cookie is set"), (status = 403, body = ErrorOut, description = "From another machine, without the setup token"), (status = 409, body = ErrorOut, description = "Setup is already done"), (status = 422, body = ErrorOut), (status = 429, body = ErrorOut, description = "Busy; see Retry-After")))]
async fn setup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Json(body): Json<SetupIn>,
) -> ApiResult<impl IntoResponse> {
    // Refused before any password work: hashing is deliberately expensive, and anyone
    // can call this on an instance that is long set up.
    if db::users::count(&state.db).await? > 0 {
        return Err(first_admin::setup_complete());
    }
    // Throttled like sign-in, so the setup token cannot be guessed at speed.
    let email = rate_limit::email_key(&body.email);
    state.login_limiter.admit(client, &email)?;
    if !first_admin::is_local(peer, &headers) {
        first_admin::check_setup_token(&state, body.setup_token.as_deref())?;
    }
    let email = check_email(&body.email)?;
    password::check_strength("password", &body.password)?;
    let hash = password::hash(body.password).await?;
    let out = first_admin::create(&state, &email, &hash).await?;
    let (cookie, session) = start_session(&state, out).await?;
    Ok((
        StatusCode::CREATED,
        AppendHeaders([(SET_COOKIE, cookie)]),
        axum::Json(session),
    ))
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = CredentialsIn, security(()), responses((status = 200, body = SessionOut, description = "Signed in; the session cookie is set"), (status = 401, body = ErrorOut, description = "Unknown email or wrong password"), (status = 429, body = ErrorOut, description = "Too many attempts; see Retry-After")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Json(body): Json<CredentialsIn>,
) -> ApiResult<impl IntoResponse> {
    // Sizes first: nothing oversized is hashed, kept or looked up.
    if body.email.len() > MAX_EMAIL_LEN {
        return Err(ApiError::invalid(
            "email",
            format!("must be at most {MAX_EMAIL_LEN} characters"),
        ));
    }
    if body.password.chars().count() > password::MAX_PASSWORD_LEN {
        return Err(ApiError::invalid(
            "password",
            format!("must be at most {} characters", password::MAX_PASSWORD_LEN),
        ));
    }
    let email = rate_limit::email_key(&body.email);
    state.login_limiter.admit(client, &email)?;
    let user = db::users::find_by_email(&state.db, body.email.trim()).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Unknown email and wrong password take the same path and the same time.
    if !password::verify(body.password, stored).await? {
        state.login_limiter.failed(&email);
        return Err(ApiError::InvalidCredentials);
    }
    let user = user.expect("a password only verifies against a stored hash");
    let (cookie, session) = start_session(&state, UserOut::from(user)).await?;
    Ok((AppendHeaders([(SET_COOKIE, cookie)]), axum::Json(session)))
}

/// Longer than any email address can be.
const MAX_EMAIL_LEN: usize = 254;

async fn start_session(state: &AppState, user: UserOut) -> ApiResult<(String, SessionOut)> {
    let session_id = secrets::generate("", 32);
    db::sessions::create(&state.db, &secrets::hash(&session_id), user.id).await?;
    let cookie = session::set_cookie(&session_id, state.settings.cookie_secure);
    let csrf_token = session::csrf_token(&session_id);
    Ok((cookie, SessionOut { user, csrf_token }))
}

/// Ends the current session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "Signed out; the cookie is cleared"), (status = 401, body = ErrorOut)))]
async fn logout(
    State(state): State<AppState>,
    _actor: Actor,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    if let Some(session_id) = session::from_cookies(&headers) {
        db::sessions::delete(&state.db, &secrets::hash(session_id)).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(
            SET_COOKIE,
            session::clear_cookie(state.settings.cookie_secure),
        )]),
    ))
}

#[derive(Serialize, ToSchema)]
struct MeOut {
    #[serde(rename = "type")]
    actor_type: &'static str,
    id: uuid::Uuid,
    name: String,
    role: Role,
    /// Present for browser sessions: send it as `X-CSRF-Token` on every write.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
}

/// Who is calling, with the CSRF token for browser sessions.
#[utoipa::path(get, path = "/auth/me", tag = "auth", responses((status = 200, body = MeOut), (status = 401, body = ErrorOut)))]
async fn me(actor: Actor, headers: HeaderMap) -> axum::Json<MeOut> {
    let csrf_token = match actor.kind {
        ActorKind::User => session::from_cookies(&headers).map(session::csrf_token),
        ActorKind::ApiToken => None,
    };
    axum::Json(MeOut {
        actor_type: actor.kind.as_str(),
        id: actor.id,
        name: actor.name,
        role: actor.role,
        csrf_token,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordIn {
    current_password: String,
    new_password: String,
}

/// Changes the caller's password and ends their other sessions.
#[utoipa::path(put, path = "/auth/password", tag = "auth", request_body = PasswordIn, responses((status = 204, description = "Changed"), (status = 401, body = ErrorOut), (status = 422, body = ErrorOut, description = "Wrong current password or too short a new one")))]
async fn change_password(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    Json(body): Json<PasswordIn>,
) -> ApiResult<StatusCode> {
    if actor.kind != ActorKind::User {
        return Err(ApiError::Forbidden("API tokens have no password"));
    }
    password::check_strength("new_password", &body.new_password)?;
    let user = db::users::find(&state.db, actor.id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if !password::verify(body.current_password, Some(user.password_hash)).await? {
        return Err(ApiError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    let hash = password::hash(body.new_password).await?;
    let keep = session::from_cookies(&headers)
        .map(secrets::hash)
        .unwrap_or_default();
    let mut write = Write::begin(&state).await?;
    db::users::set_password(write.db(), actor.id, &hash).await?;
    db::sessions::delete_others(write.db(), actor.id, &keep).await?;
    let entry = Entry::global("user.password_changed", "user", &actor.name);
    write.commit(&actor, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}
