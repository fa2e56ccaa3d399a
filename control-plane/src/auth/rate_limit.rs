//! Login throttling, per client address and per email, so neither one address nor a
//! botnet aimed at one account can guess passwords quickly.
//!
//! Every attempt costs its client address; only failed attempts cost the email, so a
//! stranger's requests do not lock a person out of an account they sign in to
//! correctly, and a person's own successful sign-ins are free. Emails are kept as a
//! fixed-size digest, never as sent, so long or many emails cost no more memory than
//! short ones; everything is pruned on a timer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// An email as the limiter keys it.
pub type EmailKey = [u8; 16];

pub fn email_key(email: &str) -> EmailKey {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    digest[..16]
        .try_into()
        .expect("a digest is longer than 16 bytes")
}

pub struct LoginLimiter {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    failures_per_email: DefaultKeyedRateLimiter<EmailKey>,
    /// Emails whose failures ran out, until when.
    locked: Mutex<HashMap<EmailKey, Instant>>,
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
            failures_per_email: RateLimiter::keyed(per_email),
            locked: Mutex::default(),
        }
    }
}

fn refused(wait: Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after: wait.as_secs().max(1),
    }
}

impl LoginLimiter {
    /// Lets an attempt through, or says how long to wait: it costs the client address
    /// one attempt, and is refused while the email is locked by its failures.
    pub fn admit(&self, client: IpAddr, email: &EmailKey) -> ApiResult<()> {
        if let Err(not_until) = self.per_client.check_key(&client) {
            return Err(refused(
                not_until.wait_time_from(DefaultClock::default().now()),
            ));
        }
        let locked = self.locked.lock().expect("never poisoned");
        match locked.get(email) {
            Some(until) if *until > Instant::now() => Err(refused(*until - Instant::now())),
            _ => Ok(()),
        }
    }

    /// Counts a failed attempt against the email; past its allowance the email is
    /// locked until the allowance refills.
    pub fn failed(&self, email: &EmailKey) {
        if let Err(not_until) = self.failures_per_email.check_key(email) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            self.locked
                .lock()
                .expect("never poisoned")
                .insert(*email, Instant::now() + wait);
        }
    }

    /// Forgets what no longer limits anyone.
    pub fn prune(&self) {
        self.per_client.retain_recent();
        self.per_client.shrink_to_fit();
        self.failures_per_email.retain_recent();
        self.failures_per_email.shrink_to_fit();
        let now = Instant::now();
        let mut locked = self.locked.lock().expect("never poisoned");
        locked.retain(|_, until| *until > now);
        locked.shrink_to_fit();
    }

    /// Keys held right now, for tests of the memory bound.
    pub fn len(&self) -> usize {
        self.per_client.len()
            + self.failures_per_email.len()
            + self.locked.lock().expect("never poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 1));

    #[test]
    fn only_failures_cost_the_email_and_the_first_refusal_stops() {
        let limiter = LoginLimiter::default();
        let victim = email_key("Victim@Example.com");
        // Successful sign-ins, from many addresses, never lock the account.
        for i in 0..50u8 {
            let client = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, i));
            limiter.admit(client, &victim).unwrap();
        }
        for _ in 0..10 {
            limiter.failed(&victim);
        }
        assert!(
            limiter.admit(CLIENT, &victim).is_ok(),
            "ten failures are allowed"
        );
        limiter.failed(&victim);
        let refused = limiter.admit(CLIENT, &email_key(" victim@example.COM "));
        assert!(matches!(refused, Err(ApiError::RateLimited { retry_after }) if retry_after >= 1));
        assert!(
            limiter
                .admit(CLIENT, &email_key("other@example.com"))
                .is_ok()
        );
    }

    #[test]
    fn an_address_over_its_limit_is_refused_before_the_email_is_looked_at() {
        let limiter = LoginLimiter::default();
        for i in 0..20 {
            limiter
                .admit(CLIENT, &email_key(&format!("u{i}@example.com")))
                .unwrap();
        }
        assert!(
            limiter
                .admit(CLIENT, &email_key("another@example.com"))
                .is_err()
        );
        assert_eq!(limiter.failures_per_email.len(), 0);
    }

    #[test]
    fn memory_does_not_grow_with_email_length_and_is_pruned() {
        let limiter = LoginLimiter::default();
        let huge = "x".repeat(200_000);
        let key = email_key(&huge);
        assert_eq!(key.len(), 16);
        limiter.failed(&key);
        assert!(!limiter.is_empty());
        limiter.prune();
        // A single failure is still remembered until its allowance refills; an
        // address that made one attempt long ago is not, once pruned.
        assert!(limiter.len() <= 1);
    }
}
