//! argon2id password hashing, always off the async runtime: a hash takes tens of
//! milliseconds of CPU by design.

use std::sync::LazyLock;

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{ApiError, ApiResult};

pub const MIN_PASSWORD_LEN: usize = 8;
/// argon2 accepts more, but nobody needs a password longer than this; the cap keeps one
/// request from buying minutes of hashing.
pub const MAX_PASSWORD_LEN: usize = 256;

/// Checks the length rules, counting characters rather than bytes.
pub fn check_strength(field: &str, password: &str) -> ApiResult<()> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(ApiError::invalid(
            field,
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if length > MAX_PASSWORD_LEN {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

pub async fn hash(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).context("no randomness")?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .context("password hashing task failed")?
    .map_err(ApiError::Internal)
}

/// Verifies `password` against a stored PHC string. With no stored hash (unknown email)
/// it verifies against a dummy so both failures take the same time.
pub async fn verify(password: String, stored: Option<String>) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = stored.as_deref().unwrap_or(&DUMMY_HASH);
        let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && stored != DUMMY_HASH.as_str())
    })
    .await
    .context("password verification task failed")?
    .map_err(ApiError::Internal)
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::encode_b64(b"togglerino-dummy").expect("valid salt");
    Argon2::default()
        .hash_password(b"not a password anyone has", &salt)
        .expect("hashing a constant works")
        .to_string()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify("correct horse".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".into(), Some(stored)).await.unwrap());
        assert!(
            !verify("not a password anyone has".into(), None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(check_strength("password", "1234567").is_err());
        assert!(check_strength("password", "12345678").is_ok());
        assert!(check_strength("password", "ääääääää").is_ok());
        assert!(check_strength("password", &"x".repeat(257)).is_err());
    }
}
