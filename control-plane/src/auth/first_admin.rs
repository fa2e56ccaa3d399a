//! The first admin: made once, by the setup wizard or from configuration, and never
//! by whoever happens to reach a new instance first.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::auth::{Actor, ActorKind, Role, password, secrets};
use crate::db;
use crate::db::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::routes::users::{UserOut, check_email};
use crate::state::AppState;
use crate::write::Write;

/// Any fixed number works: it names the lock that serialises first-admin creation.
const SETUP_LOCK: i64 = 0x746f_6767_6c65;

pub fn setup_complete() -> ApiError {
    ApiError::conflict("setup_complete", "setup is already done; sign in instead")
}

/// A request from this machine, not relayed: the person at the console, who needs no
/// setup token. Anything a proxy forwarded counts as remote, since a proxy on this
/// machine would otherwise make every visitor local.
pub fn is_local(peer: SocketAddr, headers: &HeaderMap) -> bool {
    peer.ip().is_loopback()
        && !["forwarded", "x-forwarded-for", "x-real-ip"]
            .iter()
            .any(|name| headers.contains_key(*name))
}

/// Lets a remote setup through only with the configured or generated setup token.
pub fn check_setup_token(state: &AppState, presented: Option<&str>) -> ApiResult<()> {
    let expected = state.settings.setup_token_hash.as_deref();
    match (expected, presented) {
        (Some(expected), Some(presented))
            if bool::from(expected.ct_eq(&secrets::hash(presented.trim()))) =>
        {
            Ok(())
        }
        _ => Err(ApiError::SetupTokenRequired),
    }
}

/// Creates the first admin from an already hashed password, unless a user exists.
pub async fn create(state: &AppState, email: &str, hash: &str) -> ApiResult<UserOut> {
    let mut write = Write::begin(state).await?;
    // Two browsers finishing the wizard at once: the second waits here, then sees a user.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SETUP_LOCK)
        .execute(write.db())
        .await?;
    if db::users::count(write.db()).await? > 0 {
        return Err(setup_complete());
    }
    let user = db::users::insert(write.db(), email, hash, Role::Admin.as_str()).await?;
    let actor = Actor {
        id: user.id,
        name: user.email.clone(),
        kind: ActorKind::User,
        role: Role::Admin,
        owner: user.id,
    };
    let out = UserOut::from(user);
    let entry = Entry::global("user.created", "user", &out.email).new(&out);
    write.commit(&actor, entry).await?;
    Ok(out)
}

/// At start: the admin from `--admin-email`/`--admin-password` when no user exists yet.
pub async fn from_config(state: &AppState, email: &str, password: &str) -> anyhow::Result<()> {
    if db::users::count(&state.db).await? > 0 {
        tracing::info!("users exist; the configured first admin is not needed");
        return Ok(());
    }
    let email = check_email(email).map_err(|e| anyhow::anyhow!("--admin-email: {e}"))?;
    password::check_strength("admin_password", password)
        .map_err(|e| anyhow::anyhow!("--admin-password: {e}"))?;
    let hash = password::hash(password.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the admin password: {e}"))?;
    match create(state, &email, &hash).await {
        Ok(_) => tracing::info!(email = %email, "created the first admin from configuration"),
        Err(ApiError::Conflict { .. }) => {}
        Err(e) => return Err(anyhow::anyhow!("creating the first admin: {e}")),
    }
    Ok(())
}

/// The setup token to require, hashed: the configured one, else (while no admin
/// exists) a fresh one, printed for whoever runs the instance.
pub async fn setup_token_hash(
    db: &sqlx::PgPool,
    configured: Option<&str>,
    public_url: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(token) = configured {
        return Ok(Some(secrets::hash(token)));
    }
    if db::users::count(db).await? > 0 {
        return Ok(None);
    }
    let token = secrets::generate("tgs_", 16);
    tracing::warn!(
        "no admin yet: open {public_url} to create one. From another machine the setup \
         asks for this setup token: {token}"
    );
    Ok(Some(secrets::hash(&token)))
}
