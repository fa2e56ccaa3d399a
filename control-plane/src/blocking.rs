//! CPU-bound work — compiling rules, segments and patterns — runs on the blocking pool,
//! so a large config or environment never stalls the threads that serve requests.

use crate::error::{ApiError, ApiResult};

pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("compiling task failed: {e}")))
}
