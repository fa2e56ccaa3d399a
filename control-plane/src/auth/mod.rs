//! Who is calling, and what they may do. Two kinds of credentials: a browser session
//! (HttpOnly cookie, with a CSRF token for writes) and an API token (`Authorization:
//! Bearer tgl_…`). Handlers state the role they need by their extractor — [`Viewer`],
//! [`Editor`] or [`Admin`] — so no route can forget the check.

pub mod first_admin;
pub mod password;
pub mod rate_limit;
pub mod secrets;
pub mod session;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// What a person or token may do; each role includes the ones below it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also changes flags, segments, environments and SDK keys.
    Editor,
    /// Also manages people, tokens, and creates and deletes projects.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Uuid,
    /// The user's email or the token's name; what the audit log shows.
    pub name: String,
    pub kind: ActorKind,
    pub role: Role,
    /// The person whose authority this is: the user, or the person who created the
    /// token (a token created by a token carries its creator's).
    pub owner: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    ApiToken,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiToken => "api_token",
        }
    }
}

/// Edge tokens start with this.
pub const EDGE_TOKEN_PREFIX: &str = "tge_";

/// An edge (or a tool acting as one) with a valid edge token: a database token, or the
/// pre-shared `--edge-token`. Edges read snapshots and follow changes; nothing else.
pub struct Edge;

impl FromRequestParts<AppState> for Edge {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Edge, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated)?;
        let hash = secrets::hash(token);
        if let Some(shared) = &state.settings.edge_token_hash
            && bool::from(shared.as_slice().ct_eq(&hash))
        {
            return Ok(Edge);
        }
        if token.starts_with(EDGE_TOKEN_PREFIX)
            && db::edge_tokens::authenticate(&state.db, &hash).await?
        {
            return Ok(Edge);
        }
        Err(ApiError::Unauthenticated)
    }
}

/// API tokens start with this, so they are recognisable in code and secret scanners.
pub const API_TOKEN_PREFIX: &str = "tgl_";

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Actor, ApiError> {
        if let Some(header) = parts.headers.get(AUTHORIZATION) {
            let token = header
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| t.starts_with(API_TOKEN_PREFIX))
                .ok_or(ApiError::Unauthenticated)?;
            let found = db::api_tokens::authenticate(&state.db, &secrets::hash(token)).await?;
            let found = found.ok_or(ApiError::Unauthenticated)?;
            return Ok(Actor {
                id: found.token.id,
                name: found.token.name,
                kind: ActorKind::ApiToken,
                role: Role::parse(&found.token.role).ok_or(ApiError::Unauthenticated)?,
                owner: found.owner,
            });
        }

        let session_id = session::from_cookies(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let user = db::sessions::find_user(&state.db, &secrets::hash(session_id))
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        // A cookie rides along on requests other sites trigger; a write must also prove
        // it came from a page that could read our CSRF token.
        if !parts.method.is_safe() {
            let presented = parts
                .headers
                .get(session::CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            let expected = session::csrf_token(session_id);
            if !bool::from(presented.ct_eq(expected.as_bytes())) {
                return Err(ApiError::Csrf);
            }
        }
        Ok(Actor {
            id: user.id,
            name: user.email,
            kind: ActorKind::User,
            role: Role::parse(&user.role).ok_or(ApiError::Unauthenticated)?,
            owner: user.id,
        })
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr, $message:literal) => {
        $(#[$doc])*
        pub struct $name(pub Actor);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<$name, ApiError> {
                let actor = Actor::from_request_parts(parts, state).await?;
                if actor.role < $role {
                    return Err(ApiError::Forbidden($message));
                }
                Ok($name(actor))
            }
        }
    };
}

role_extractor!(
    /// Any authenticated caller.
    Viewer,
    Role::Viewer,
    "this needs the viewer role"
);
role_extractor!(
    /// A caller with the editor or admin role.
    Editor,
    Role::Editor,
    "this needs the editor role"
);
role_extractor!(
    /// A caller with the admin role.
    Admin,
    Role::Admin,
    "this needs the admin role"
);
