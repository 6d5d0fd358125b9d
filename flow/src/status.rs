//! [`Status`]: what an operator may ask a [`crate::TokenSource`] (for a health endpoint or a log
//! line), and the counters behind it.
//!
//! The counters are written on the slow paths only (a request to Hydra, a refresh, a
//! re-registration, an error), never by the cached read, and they live in an allocation of their
//! own, so their writes never touch the cache line the readers load the token from.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::lock::lock;

/// A snapshot of a token source's health. It holds no secret: its `Debug` and `Display` are
/// safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// Whether the source holds a token `token()` hands out (it may be in its refresh margin):
    /// not one dropped, nor one past the point where it is no longer handed out (its expiry,
    /// less a margin for the request that carries it).
    pub has_token: bool,
    /// When the held token expires, by the wall clock; `None` without a token or without an
    /// expiry.
    pub expires_at: Option<SystemTime>,
    /// When the source last obtained a token from Hydra.
    pub last_refresh: Option<SystemTime>,
    /// The last error a fetch ended with, or that made the source register the client again,
    /// and when; an error message never carries a secret.
    pub last_error: Option<(SystemTime, String)>,
    /// Requests sent to the token endpoint, retries included.
    pub token_requests: u64,
    /// Tokens obtained: the first and each one after it.
    pub refreshes: u64,
    /// Times Hydra rejected the client and the source registered it again.
    pub reregistrations: u64,
    /// Requests repeated after a transient failure (transport, 5xx, 408, 429), all stages.
    pub retries: u64,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unix = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        };
        match (self.has_token, self.expires_at) {
            (false, _) => f.write_str("no token")?,
            (true, Some(at)) => write!(f, "token expires at {}", unix(at))?,
            (true, None) => f.write_str("token without expiry")?,
        }
        if let Some(at) = self.last_refresh {
            write!(f, ", last refresh at {}", unix(at))?;
        }
        write!(
            f,
            ", {} token requests, {} refreshes, {} re-registrations, {} retries",
            self.token_requests, self.refreshes, self.reregistrations, self.retries
        )?;
        if let Some((at, error)) = &self.last_error {
            write!(f, ", last error at {}: {error}", unix(*at))?;
        }
        Ok(())
    }
}

/// The counters a token source keeps; see the module docs for where they are written.
#[derive(Default)]
pub(crate) struct Stats {
    token_requests: AtomicU64,
    refreshes: AtomicU64,
    reregistrations: AtomicU64,
    retries: AtomicU64,
    last_refresh: Mutex<Option<SystemTime>>,
    last_error: Mutex<Option<(SystemTime, String)>>,
}

fn set<T>(slot: &Mutex<Option<T>>, value: T) {
    *lock(slot) = Some(value);
}

fn get<T: Clone>(slot: &Mutex<Option<T>>) -> Option<T> {
    lock(slot).clone()
}

impl Stats {
    pub(crate) fn token_request(&self) {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(names::TOKEN_REQUESTS).increment(1);
    }

    pub(crate) fn retried(&self, retries: u32) {
        if retries > 0 {
            self.retries
                .fetch_add(u64::from(retries), Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            metrics::counter!(names::RETRIES).increment(u64::from(retries));
        }
    }

    pub(crate) fn reregistered(&self) {
        self.reregistrations.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(names::REREGISTRATIONS).increment(1);
    }

    /// A token obtained; `expires_at` feeds the expiry gauge.
    pub(crate) fn refreshed(&self, expires_at: Option<SystemTime>) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        set(&self.last_refresh, SystemTime::now());
        #[cfg(feature = "metrics")]
        {
            metrics::counter!(names::REFRESHES).increment(1);
            metrics::gauge!(names::HAS_TOKEN).set(1.0);
            if let Some(at) = expires_at.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            {
                metrics::gauge!(names::EXPIRES_AT).set(at.as_secs_f64());
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = expires_at;
    }

    /// The cached token was dropped: a downstream service rejected it, or the source was shut
    /// down.
    pub(crate) fn dropped(&self) {
        #[cfg(feature = "metrics")]
        metrics::gauge!(names::HAS_TOKEN).set(0.0);
    }

    pub(crate) fn failed(&self, error: &crate::Error) {
        set(&self.last_error, (SystemTime::now(), error.to_string()));
        #[cfg(feature = "metrics")]
        metrics::counter!(names::ERRORS).increment(1);
    }

    pub(crate) fn snapshot(&self, has_token: bool, expires_at: Option<SystemTime>) -> Status {
        Status {
            has_token,
            expires_at: expires_at.filter(|_| has_token),
            last_refresh: get(&self.last_refresh),
            last_error: get(&self.last_error),
            token_requests: self.token_requests.load(Ordering::Relaxed),
            refreshes: self.refreshes.load(Ordering::Relaxed),
            reregistrations: self.reregistrations.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

/// The names under which the `metrics` feature exports the counters and gauges of [`Status`],
/// through the [`metrics`](https://docs.rs/metrics) facade.
#[cfg(feature = "metrics")]
pub mod names {
    /// Counter: requests sent to the token endpoint, retries included.
    pub const TOKEN_REQUESTS: &str = "hydra_token_requests_total";
    /// Counter: tokens obtained.
    pub const REFRESHES: &str = "hydra_token_refreshes_total";
    /// Counter: re-registrations after Hydra rejected the client.
    pub const REREGISTRATIONS: &str = "hydra_token_reregistrations_total";
    /// Counter: requests repeated after a transient failure.
    pub const RETRIES: &str = "hydra_token_retries_total";
    /// Counter: fetches that ended in an error, and rejections that made the source register
    /// the client again (what [`crate::Status::last_error`] shows the last of).
    pub const ERRORS: &str = "hydra_token_errors_total";
    /// Gauge: 1 once a token was obtained, 0 after it was invalidated or its source shut down.
    /// Unlike [`crate::Status::has_token`], it is not set to 0 when the token expires unreplaced
    /// (nothing runs then to set it); [`EXPIRES_AT`] says when that is.
    pub const HAS_TOKEN: &str = "hydra_token_has_token";
    /// Gauge: when the held token expires, in seconds since the Unix epoch.
    pub const EXPIRES_AT: &str = "hydra_token_expires_at_seconds";
}
