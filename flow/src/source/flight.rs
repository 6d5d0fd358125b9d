//! The single flight and the refresher: however many callers need a new token, one request goes
//! to Hydra and its one result wakes them all; a background task replaces the token ahead of
//! expiry, and a reader in the token's last margin starts the replacement without waiting for it.
//! A fetch that fails in a way asking again at once cannot fix holds off the next (see
//! [`cooldown`](super::cooldown)): callers meanwhile get its error without a request.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arc_swap::Guard;
use tokio::sync::watch;
use tracing::instrument::WithSubscriber;
use tracing::{debug, info, warn, Instrument};

use super::cooldown::Cooldown;
use super::{Inner, Outcome, TokenSource};
use crate::lock::lock;
use crate::steps::AccessToken;
use crate::Error;

/// The fetch under way, and what the last one's failure holds off.
#[derive(Default)]
pub(super) struct Flight {
    /// The fetch under way, if any.
    running: Option<watch::Receiver<Option<Outcome>>>,
    /// The last fetch's error, while `hold_off` lasts: what callers get instead of a request.
    failed: Option<Arc<Error>>,
    /// Failed fetches in a row.
    hold_off: Cooldown,
}

/// How long a fetch that failed with `error` holds off the next, at least: `None` when it may be
/// tried again at once. A deadline spent on retries of transient failures has waited already
/// (with backoff); anything else fails the same way when asked again at once.
fn holds_off(error: &Error) -> Option<Duration> {
    match error {
        // After shutdown no request is made, so there is nothing to hold off.
        Error::DeadlineExceeded { .. } | Error::ShutDown | Error::NoRuntime => None,
        Error::RetryAfterBeyondDeadline { retry_after, .. } => Some(*retry_after),
        _ => Some(Duration::ZERO),
    }
}

/// Ends the flight when dropped, on every way out of the fetch: a leader cancelled, and a task
/// aborted before it was ever polled (the last user's clone dropped, or a runtime shutting down,
/// drops the task's future unpolled), which is why it is made with the flight, not inside the
/// fetch. The waiters then see the sender gone and one of them leads; without it they would find
/// the flight still running, with no one to end it, and go round for ever.
struct EndFlight(Arc<Inner>);

impl Drop for EndFlight {
    fn drop(&mut self) {
        lock(&self.0.flight).running = None;
    }
}

/// Clears the source's `revalidating` flag when dropped (see [`TokenSource::revalidate`]). Holds
/// the source weakly, so that a refresh waiting out a hold-off does not keep it alive.
struct EndRevalidating(Weak<Inner>);

impl Drop for EndRevalidating {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.revalidating.store(false, Ordering::Release);
        }
    }
}

/// The runtime a fetch, a refresh from the last margin or a scheduled refresh runs on: the
/// caller's when it is a multi-thread runtime, whose workers run its tasks for as long as it
/// lives; otherwise flow's own ([`own_runtime`]). A current-thread runtime runs a task only while
/// something blocks on it: a sync wrapper's, blocked on for each call and idle in between, left
/// a fetch whose caller gave up sitting there, and every other caller waiting on it, with no
/// bound. Without any tokio runtime (another executor) the fetch runs on flow's own as well.
fn fetch_runtime() -> Option<tokio::runtime::Handle> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            Some(handle)
        }
        _ => own_runtime(),
    }
}

/// flow's own runtime: one thread per process, started on first use, that does nothing but
/// drive the fetches given to it. `None` if it cannot be started.
pub(super) fn own_runtime() -> Option<tokio::runtime::Handle> {
    static OWN: std::sync::OnceLock<Option<tokio::runtime::Handle>> = std::sync::OnceLock::new();
    OWN.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("hydra-token-fetch".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .ok()?;
        Some(handle)
    })
    .clone()
}

/// What a caller that needs a token from Hydra does.
enum Role {
    /// Nobody is fetching: fetch, and publish the result here.
    Lead(watch::Sender<Option<Outcome>>, EndFlight),
    /// Wait for the fetch under way.
    Wait(watch::Receiver<Option<Outcome>>),
    /// A token arrived meanwhile.
    Done(Arc<AccessToken>),
    /// The last fetch failed and the source holds off: its error.
    HeldOff(Arc<Error>),
}

impl TokenSource {
    /// A new token from Hydra through the one fetch under way, starting it if there is none.
    /// With `replacing`, a refresh: the fetch goes ahead although the cache is still fresh,
    /// unless a token newer than generation `replacing` is already there.
    pub(super) async fn fetch_shared(
        &self,
        replacing: Option<u64>,
    ) -> Result<Arc<AccessToken>, Error> {
        // Set when the caller's runtime dropped the fetch's task unrun: it is shutting down.
        let mut on_own = false;
        loop {
            self.inner.not_shut_down()?;
            // The flight lock is never held across an await: this block decides, then it is
            // released.
            let role = {
                let mut flight = lock(&self.inner.flight);
                // A guard, not a clone: a thousand waiters passing here would otherwise all
                // write the token's reference count.
                let current = self.inner.cache.load();
                let newer = replacing.is_none_or(|g| current.generation != g);
                let held_off = flight
                    .hold_off
                    .remaining(Instant::now())
                    .and_then(|_| flight.failed.clone());
                match (&flight.running, held_off) {
                    _ if newer && current.is_fresh() => Role::Done(Guard::into_inner(current)),
                    (Some(running), _) => Role::Wait(running.clone()),
                    (None, Some(error)) => Role::HeldOff(error),
                    (None, None) => {
                        let (publish, running) = watch::channel(None);
                        flight.running = Some(running);
                        Role::Lead(publish, EndFlight(Arc::clone(&self.inner)))
                    }
                }
            };
            match role {
                Role::Done(token) => return Ok(token),
                Role::HeldOff(error) => return Err(Error::Shared(error)),
                Role::Lead(publish, end) => {
                    // The fetch runs as a task of its own, so a caller that gives up (a timeout
                    // of its own around `token()`) leaves it running for the callers after it,
                    // instead of cancelling a request Hydra may have begun (and hashed the
                    // secret for) and making the next caller send another. The task carries the
                    // caller's span and subscriber, so the fetch logs where the caller does.
                    // It runs where it is sure to be driven ([`fetch_runtime`]).
                    //
                    // Without a runtime to fetch on, `end`, dropped, ends the flight.
                    let runtime = if on_own {
                        own_runtime()
                    } else {
                        fetch_runtime()
                    };
                    let runtime = runtime.ok_or(Error::NoRuntime)?;
                    match self.spawn_lead(&runtime, publish, end).await {
                        Ok(result) => return result,
                        Err(e) => match e.try_into_panic() {
                            Ok(panic) => std::panic::resume_unwind(panic),
                            // The caller's runtime is shutting down and dropped the task unrun
                            // (which ended the flight): lead again, on flow's own.
                            Err(_) if !on_own => {
                                on_own = true;
                                continue;
                            }
                            Err(_) => return Err(Error::NoRuntime),
                        },
                    }
                }
                Role::Wait(mut running) => {
                    let outcome = match running.wait_for(Option::is_some).await {
                        Ok(outcome) => outcome.clone(),
                        // The leader was cancelled before it had a result: try again (and
                        // probably lead).
                        Err(_) => continue,
                    };
                    match outcome {
                        Some(Ok(token)) => return Ok(token),
                        Some(Err(e)) => return Err(Error::Shared(e)),
                        None => continue,
                    }
                }
            }
        }
    }

    /// [`Self::fetch_shared`], boxed, for `token()`: the fetch's code and state stay out of the
    /// cached read's hot path (its poll function, and its future), where inlined they cost it
    /// about 1.5 ns a read (measured side by side).
    #[inline(never)]
    pub(super) fn fetch_shared_boxed(
        &self,
        replacing: Option<u64>,
    ) -> Pin<Box<dyn Future<Output = Result<Arc<AccessToken>, Error>> + Send + '_>> {
        Box::pin(self.fetch_shared(replacing))
    }

    /// [`Self::lead`] as a task of its own, carrying the caller's span and subscriber. The
    /// fetch's state (registration, retries, the HTTP request) is kilobytes: not inlined, so that
    /// its future is built in this function's stack frame (over 9 KB of it, probed page by page),
    /// not in that of every poll of a waiter.
    #[inline(never)]
    fn spawn_lead(
        &self,
        runtime: &tokio::runtime::Handle,
        publish: watch::Sender<Option<Outcome>>,
        end: EndFlight,
    ) -> tokio::task::JoinHandle<Result<Arc<AccessToken>, Error>> {
        let source = self.for_task();
        let fetch = async move { source.lead(publish, end).await };
        let task = runtime.spawn(fetch.in_current_span().with_current_subscriber());
        lock(&self.inner.tasks).keep(|t| &mut t.lead, task.abort_handle(), false);
        task
    }

    /// The one fetch: its result goes into the cache, then to every waiter at once; `end` ends
    /// the flight.
    async fn lead(
        &self,
        publish: watch::Sender<Option<Outcome>>,
        end: EndFlight,
    ) -> Result<Arc<AccessToken>, Error> {
        let result = {
            let mut session = self.inner.session.lock().await;
            self.inner.fetch(&mut session).await
        };
        // A token fetched while the source was shut down is not kept (checked where it is
        // stored, under the lock `shutdown` sets the flag under).
        let stored = result.map(Arc::new).and_then(|token| {
            let mut flight = lock(&self.inner.flight);
            self.inner.not_shut_down()?;
            flight.failed = None;
            flight.hold_off.reset();
            self.store(Arc::clone(&token));
            Ok(token)
        });
        match stored {
            Ok(token) => {
                let expires_at = token.expires_at();
                // Counted once stored: a status that shows a refresh shows a source holding it.
                self.inner.stats.refreshed(expires_at);
                publish.send_replace(Some(Ok(Arc::clone(&token))));
                Ok(token)
            }
            Err(e) => {
                // A shutdown that ended the fetch is what was asked for, not a failure.
                if !matches!(e, Error::ShutDown) {
                    self.inner.stats.failed(&e);
                }
                let Some(at_least) = holds_off(&e) else {
                    drop(end);
                    // The caller that led keeps the error itself; waiters, if any, share it.
                    if publish.receiver_count() == 0 {
                        return Err(e);
                    }
                    let shared = Arc::new(e);
                    publish.send_replace(Some(Err(Arc::clone(&shared))));
                    return Err(Error::Shared(shared));
                };
                // Kept for the callers to come, so shared with the leader too. Recorded before
                // the flight ends, so that no caller finds neither.
                let shared = Arc::new(e);
                let (failed_in_a_row, hold_off) = {
                    let mut flight = lock(&self.inner.flight);
                    let now = Instant::now();
                    flight.failed = Some(Arc::clone(&shared));
                    flight.hold_off.start(now, at_least);
                    (flight.hold_off.streak(), flight.hold_off.remaining(now))
                };
                drop(end);
                let hold_off_ms = hold_off.map_or(0, |d| d.as_millis());
                // The first failure is the caller's to report; a streak is the operator's.
                if failed_in_a_row > 1 {
                    warn!(error = %shared, failed_in_a_row, hold_off_ms, "token fetch failed again; until the hold-off ends, callers get this error without a request to Hydra");
                } else {
                    debug!(error = %shared, hold_off_ms, "token fetch failed; until the hold-off ends, callers get this error without a request to Hydra");
                }
                publish.send_replace(Some(Err(Arc::clone(&shared))));
                Err(Error::Shared(shared))
            }
        }
    }

    /// Stale-while-revalidate: starts a refresh in the background, unless one is under way, and
    /// returns at once.
    pub(super) fn revalidate(&self, generation: u64) {
        // A plain load first: in the last margin every reader passes here, and a swap on every
        // read would be the shared write the read path avoids.
        if self.inner.revalidating.load(Ordering::Relaxed)
            || self.inner.revalidating.swap(true, Ordering::AcqRel)
        {
            return;
        }
        // Clears the flag however the task ends: done, aborted, or dropped before it ever ran
        // (spawned through a handle of a runtime that was dropped), which would otherwise leave
        // it set for the source's life, and no reader in the margin would refresh again.
        let done = EndRevalidating(Arc::downgrade(&self.inner));
        let Some(runtime) = fetch_runtime() else {
            return;
        };
        let source = self.for_task();
        let task = runtime.spawn(async move {
            let _done = done;
            if let Err(e) = source.fetch_shared(Some(generation)).await {
                warn!(error = %e, "refresh in the token's last margin failed");
                // Readers in the margin start no other refresh while the source holds off: it
                // would get the same error without a request, and log it again.
                let hold_off = lock(&source.inner.flight)
                    .hold_off
                    .remaining(Instant::now());
                if let Some(wait) = hold_off {
                    drop(source);
                    tokio::time::sleep(wait).await;
                }
            }
        });
        lock(&self.inner.tasks).keep(|t| &mut t.revalidate, task.abort_handle(), false);
    }

    fn store(&self, token: Arc<AccessToken>) {
        let refresh_at = token.refresh_at();
        let generation = token.generation;
        self.inner.cache.store(token);
        if let Some(at) = refresh_at {
            self.schedule_refresh(at, generation);
        }
    }

    /// (Re)starts the background task that replaces token `generation` at `at`.
    fn schedule_refresh(&self, at: Instant, generation: u64) {
        let weak = Arc::downgrade(&self.inner);
        let Some(handle) = fetch_runtime() else {
            return;
        };
        let task = handle.spawn(refresh_loop(weak, at, generation));
        lock(&self.inner.tasks).keep(|t| &mut t.refresh, task.abort_handle(), true);
    }
}

/// Sleeps until `at`, then fetches the token that replaces `generation` while readers keep the
/// current one. On failure it tries again with backoff until the current token expires; after
/// that, readers fetch on demand. Holds only a weak reference while asleep, so dropping the last
/// [`TokenSource`] ends it.
async fn refresh_loop(weak: Weak<Inner>, at: Instant, generation: u64) {
    tokio::time::sleep_until(at.into()).await;
    let mut backoff = Duration::from_secs(1);
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let source = TokenSource::task_copy(inner);
        match source.fetch_shared(Some(generation)).await {
            Ok(_) => {
                // The new token's `store` scheduled the next refresh, replacing (and aborting)
                // this task.
                info!("access token refreshed ahead of expiry");
                return;
            }
            Err(e) => {
                let expires = source.inner.cache.load().expires_at_instant();
                if expires.is_none_or(|e| e <= Instant::now()) {
                    warn!(error = %e, "refresh failed and the token has expired; callers will fetch on demand");
                    return;
                }
                warn!(error = %e, retry_in_s = backoff.as_secs(), "refresh ahead of expiry failed; will retry");
            }
        }
        drop(source);
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2).min(Duration::from_secs(60));
    }
}
