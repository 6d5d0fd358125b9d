//! Retries within a caller-visible deadline: exponential backoff with jitter, honouring
//! `Retry-After`, for the failures that trying again can fix (see [`Error::is_retryable`]).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use tracing::warn;

use crate::{Error, Stage};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The point in time by which a token request must be done.
///
/// On tokio's clock, as every timeout and backoff within it is (and reqwest's request timeout):
/// under a paused clock (`start_paused`, in a user's test) those pass in no real time, and a
/// deadline on the real clock let a retry loop send requests at network speed until it passed
/// (thousands of registrations in 20 s against a real Hydra).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    pub(crate) fn after(limit: Duration) -> Self {
        let now = Instant::now();
        // The configuration bounds the deadline (a day at most); checked all the same, and a
        // deadline past what the clock can hold is one that has already passed, not a panic.
        Deadline {
            at: now.checked_add(limit).unwrap_or(now),
            limit,
        }
    }

    pub(crate) fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// Requests sent per stage during one token request, so an error says how many calls *its*
/// stage made rather than a sum over register, authorize and token.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Attempts {
    register: u32,
    authorize: u32,
    token: u32,
    delete: u32,
    /// Attempts after a stage's first, over all stages: what [`crate::Status`] counts.
    pub(crate) retries: u32,
}

impl Attempts {
    fn of(&mut self, stage: Stage) -> &mut u32 {
        match stage {
            Stage::Register => &mut self.register,
            Stage::Authorize => &mut self.authorize,
            Stage::Token => &mut self.token,
            Stage::Delete => &mut self.delete,
        }
    }
}

/// Set when the token source shuts down: a fetch under way sends nothing after it.
pub(crate) type Stop = tokio::sync::watch::Receiver<bool>;

/// Resolves once `stop` is set (or its source is gone).
pub(crate) async fn stopped(stop: &mut Stop) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Sleeps for `wait`, or returns [`Error::ShutDown`] as soon as `stop` is set.
pub(crate) async fn sleep_unless_stopped(wait: Duration, stop: &mut Stop) -> Result<(), Error> {
    tokio::select! {
        () = tokio::time::sleep(wait) => Ok(()),
        () = stopped(stop) => Err(Error::ShutDown),
    }
}

/// Runs `attempt` until it succeeds, fails in a way retrying cannot fix, the deadline passes, or
/// `stop` is set ([`Error::ShutDown`]: no attempt starts after it, and no wait goes on).
/// `attempts` counts requests per stage across one token request.
pub(crate) async fn retrying<T, F, Fut>(
    stage: Stage,
    deadline: Deadline,
    attempts: &mut Attempts,
    stop: &mut Stop,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut retrying = false;
    loop {
        if *stop.borrow() {
            return Err(Error::ShutDown);
        }
        if retrying {
            attempts.retries = attempts.retries.saturating_add(1);
        }
        retrying = true;
        let count = attempts.of(stage);
        *count = count.saturating_add(1);
        let count = *count;
        let exceeded = |attempts: u32, last: Option<Error>| Error::DeadlineExceeded {
            stage,
            deadline: deadline.limit,
            attempts,
            last: last.map(Box::new),
        };
        let result = match tokio::time::timeout(deadline.remaining(), attempt()).await {
            Ok(result) => result,
            Err(_) => return Err(exceeded(count, None)),
        };
        let error = match result {
            Ok(value) => return Ok(value),
            Err(e) if e.is_retryable() => e,
            Err(e) => return Err(e),
        };
        // Full jitter in [backoff/2, backoff], so a fleet restarted together does not retry in
        // lockstep. Retry-After, when sent, is a floor: never sooner than asked, and never
        // sooner than the backoff either (a `Retry-After: 0` must not turn into a tight loop).
        let jittered = backoff.mul_f64(0.5 + fastrand::f64() * 0.5);
        let remaining = deadline.remaining();
        let wait = match error.retry_after() {
            Some(asked) if asked >= remaining => {
                warn!(%stage, attempt = count, retry_after_s = asked.as_secs(), remaining_ms = millis(remaining), error = %error,
                    "giving up: Retry-After asks for a wait beyond the deadline");
                return Err(Error::RetryAfterBeyondDeadline {
                    stage,
                    retry_after: asked,
                    remaining,
                    deadline: deadline.limit,
                    attempts: count,
                    last: Box::new(error),
                });
            }
            Some(asked) => {
                let wait = asked.max(jittered).min(remaining);
                warn!(%stage, attempt = count, wait_ms = millis(wait), error = %error, "waiting as Retry-After asks, then retrying");
                wait
            }
            None => {
                if jittered >= remaining {
                    return Err(exceeded(count, Some(error)));
                }
                warn!(%stage, attempt = count, wait_ms = millis(jittered), error = %error, "retrying after backoff");
                jittered
            }
        };
        sleep_unless_stopped(wait, stop).await?;
        backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
