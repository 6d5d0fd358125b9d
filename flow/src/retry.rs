//! Retries within a caller-visible deadline: exponential backoff with jitter, honouring
//! `Retry-After`, for the failures that trying again can fix (transport, 5xx, 429).

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::warn;

use crate::{Error, Stage};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The point in time by which a token request must be done.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    pub(crate) fn after(limit: Duration) -> Self {
        Deadline {
            at: Instant::now() + limit,
            limit,
        }
    }

    fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// Runs `attempt` until it succeeds, fails in a way retrying cannot fix, or the deadline passes.
/// `attempts` counts requests across the stages of one token request.
pub(crate) async fn retrying<T, F, Fut>(
    stage: Stage,
    deadline: Deadline,
    attempts: &mut u32,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        *attempts += 1;
        let exceeded = |attempts: u32, last: Option<Error>| Error::DeadlineExceeded {
            stage,
            deadline: deadline.limit,
            attempts,
            last: last.map(Box::new),
        };
        let result = match tokio::time::timeout(deadline.remaining(), attempt()).await {
            Ok(result) => result,
            Err(_) => return Err(exceeded(*attempts, None)),
        };
        let error = match result {
            Ok(value) => return Ok(value),
            Err(e) if e.is_retryable() => e,
            Err(e) => return Err(e),
        };
        // Full jitter in [backoff/2, backoff], so a fleet restarted together does not retry in
        // lockstep; Retry-After, when Hydra sends one, wins.
        let wait = error
            .retry_after()
            .unwrap_or_else(|| backoff.mul_f64(0.5 + fastrand::f64() * 0.5));
        if wait >= deadline.remaining() {
            return Err(exceeded(*attempts, Some(error)));
        }
        warn!(%stage, attempt = *attempts, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
