//! In-memory rate limits per client address and per account (GCRA via `governor`).
//!
//! Limits are per instance; behind a load balancer each instance enforces its own share.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;

/// A refusal: try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// One keyed limiter.
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl Limiter {
    /// `per_minute` requests per minute, all of them allowed in a burst.
    pub fn per_minute(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            inner: Arc::new(RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Takes one cell for `key`, or says how long to wait.
    pub fn check(&self, key: &str) -> Result<(), RetryAfter> {
        self.inner.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            RetryAfter(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(RetryAfter(1))
        })
    }

    fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}

impl PartialOrd for RetryAfter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RetryAfter {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// Every limiter the API uses.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Credential checks (logins, key exchanges, forgot/reset) per client address.
    pub login_ip: Limiter,
    /// Credential checks per account name/email, whichever address they come from.
    pub login_account: Limiter,
    /// Account existence look-ups per client address.
    pub exist_email: Limiter,
}

impl RateLimits {
    pub fn new(config: &Config) -> Self {
        Self {
            login_ip: Limiter::per_minute(config.login_per_ip_per_minute),
            login_account: Limiter::per_minute(config.login_per_account_per_minute),
            exist_email: Limiter::per_minute(config.exist_email_per_minute),
        }
    }

    /// Checks the client-address and account limits together.
    pub fn check_login(&self, ip: &str, account: Option<&str>) -> Result<(), RetryAfter> {
        self.login_ip.check(ip)?;
        if let Some(account) = account {
            self.login_account.check(&account.trim().to_lowercase())?;
        }
        Ok(())
    }

    /// Drops the state of keys idle long enough to be full again; runs until the limits
    /// are dropped.
    pub fn spawn_janitor(&self) {
        let weak = [&self.login_ip, &self.login_account, &self.exist_email]
            .map(|l| Arc::downgrade(&l.inner));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let mut alive = false;
                for w in &weak {
                    if let Some(inner) = w.upgrade() {
                        Limiter { inner }.forget_idle();
                        alive = true;
                    }
                }
                if !alive {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_per_key() {
        let l = Limiter::per_minute(3);
        for _ in 0..3 {
            l.check("a").expect("within burst");
        }
        let RetryAfter(secs) = l.check("a").expect_err("over the limit");
        assert!((1..=60).contains(&secs), "{secs}");
        l.check("b").expect("other keys unaffected");
    }
}
