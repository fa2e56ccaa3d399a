//! Login throttling, per client address and per email, so neither one address nor a
//! botnet aimed at one account can guess passwords quickly.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{ApiError, ApiResult};

pub struct LoginLimiter {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    per_email: DefaultKeyedRateLimiter<String>,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        // A person mistyping gets several tries at once, then one every few seconds.
        let per_client = Quota::with_period(Duration::from_secs(2))
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(20).expect("non-zero"));
        let per_email = Quota::with_period(Duration::from_secs(6))
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(10).expect("non-zero"));
        LoginLimiter {
            per_client: RateLimiter::keyed(per_client),
            per_email: RateLimiter::keyed(per_email),
        }
    }
}

impl LoginLimiter {
    /// Counts one attempt; a 429 with the seconds to wait when over either limit.
    pub fn check(&self, client: IpAddr, email: &str) -> ApiResult<()> {
        let now = DefaultClock::default().now();
        let email = email.trim().to_lowercase();
        for outcome in [
            self.per_client.check_key(&client),
            self.per_email.check_key(&email),
        ] {
            if let Err(not_until) = outcome {
                let wait = not_until.wait_time_from(now);
                return Err(ApiError::RateLimited {
                    retry_after: wait.as_secs().max(1),
                });
            }
        }
        // Keep memory bounded under a spray of distinct emails.
        if self.per_email.len() > 100_000 {
            self.per_email.retain_recent();
        }
        Ok(())
    }
}
