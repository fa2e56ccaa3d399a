//! argon2id password hashing, always off the async runtime: a hash takes tens of
//! milliseconds of CPU and about 19 MiB of memory by design. At most one hash per core
//! runs at a time, a few more wait their turn, and the rest are turned away with 429:
//! a flood of logins costs a bounded amount of memory and never starves other requests.

use std::sync::{Arc, LazyLock};

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

/// Hashes allowed to run at once, and to wait for a turn, per core.
const WAITING_PER_CORE: usize = 4;
/// What a refused caller is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

struct Admission {
    running: Arc<tokio::sync::Semaphore>,
    admitted: Arc<tokio::sync::Semaphore>,
}

impl Admission {
    fn new(cores: usize) -> Admission {
        Admission {
            running: Arc::new(tokio::sync::Semaphore::new(cores)),
            admitted: Arc::new(tokio::sync::Semaphore::new(cores * (1 + WAITING_PER_CORE))),
        }
    }

    /// Runs `work` (argon2) on a blocking thread once a core's turn is free; refuses at
    /// once, with 429, when too many are already waiting.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> ApiResult<T> {
        let Ok(_admitted) = Arc::clone(&self.admitted).try_acquire_owned() else {
            return Err(ApiError::Overloaded {
                retry_after: RETRY_AFTER_SECONDS,
            });
        };
        let _running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        tokio::task::spawn_blocking(work)
            .await
            .context("password task failed")?
            .map_err(ApiError::Internal)
    }
}

static ADMISSION: LazyLock<Admission> =
    LazyLock::new(|| Admission::new(std::thread::available_parallelism().map_or(1, usize::from)));

async fn admitted<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> ApiResult<T> {
    ADMISSION.run(work).await
}

pub async fn hash(password: String) -> ApiResult<String> {
    admitted(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).context("no randomness")?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
}

/// Verifies `password` against a stored PHC string. With no stored hash (unknown email)
/// it verifies against a dummy so both failures take the same time.
pub async fn verify(password: String, stored: Option<String>) -> ApiResult<bool> {
    admitted(move || {
        let stored = stored.as_deref().unwrap_or(&DUMMY_HASH);
        let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && stored != DUMMY_HASH.as_str())
    })
    .await
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

    #[tokio::test]
    async fn a_flood_of_hashes_is_bounded_and_turned_away_with_429() {
        let admission = Arc::new(Admission::new(1));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let attempts = (0..20).map(|_| {
            let (admission, running, most) = (admission.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                admission
                    .run(move || {
                        let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            })
        });
        let results = futures_util::future::join_all(attempts).await;
        let done = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Ok(Err(ApiError::Overloaded { retry_after: 1 }))))
            .count();
        assert_eq!(done, 1 + WAITING_PER_CORE);
        assert_eq!(refused, 20 - done);
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Capacity comes back once the work is done.
        assert!(admission.run(|| Ok(())).await.is_ok());
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(check_strength("password", "1234567").is_err());
        assert!(check_strength("password", "12345678").is_ok());
        assert!(check_strength("password", "ääääääää").is_ok());
        assert!(check_strength("password", &"x".repeat(257)).is_err());
    }
}
