//! [`TokenSource`]: the long-lived, shared way for a service to hold a valid access token.
//!
//! The cached read is every outgoing request's hot path: an atomic load of an `Arc` (arc-swap,
//! no lock, no write to memory another reader touches) and a coarse clock read. Everything else
//! (the single fetch many callers share, the refresh ahead of expiry) is off that path.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, Guard};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::retry::{retrying, Attempts, Deadline};
use crate::status::{Stats, Status};
use crate::steps::{AccessToken, Freshness, Registration};
use crate::{Config, Error, Flow, Stage};

/// A cached, self-refreshing source of access tokens for one OAuth2 client.
///
/// Clone it freely: clones share the cache, the registration and the refresher.
///
/// - **Cached, without locks.** [`TokenSource::token`] returns a handle to the cached token while
///   it is fresh: no lock, no copy of the token, no network.
/// - **Refreshed ahead of expiry.** Once a token exists, a background task fetches the next one
///   three quarters into the current one's lifetime (earlier for short lifetimes, so that the
///   request's latency fits before the token stops being handed out). A caller that finds the
///   token in its last margin starts the refresh itself and goes on with the current token, so
///   readers do not wait on the network while the current token is valid.
/// - **Single-flight.** However many callers arrive on a cold or expired cache, one request goes
///   to Hydra; its one result wakes them all.
/// - **Self-healing, bounded.** When Hydra rejects the client (`invalid_client`: Hydra restarted
///   on an in-memory database, or the secret changed), it registers again and retries: at most
///   [`MAX_REREGISTRATIONS`] times per [`REREGISTRATION_WINDOW`], deleting a client it created
///   before making it anew, and never touching a client it does not own.
/// - **Retried within a deadline.** Transport errors, 5xx and 429 are retried with exponential
///   backoff and jitter, honouring `Retry-After`, until the configured deadline; every request
///   has a timeout.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    flow: Flow,
    /// The current token, or [`AccessToken::none`].
    cache: ArcSwap<AccessToken>,
    /// What `invalidate` puts in the cache, allocated once.
    empty: Arc<AccessToken>,
    /// Held while talking to Hydra. It guards the registration, so two fetches never register
    /// twice.
    session: tokio::sync::Mutex<Session>,
    /// The fetch under way, if any. Callers that need a token subscribe to it; its one result
    /// wakes them all at once.
    flight: Mutex<Option<watch::Receiver<Option<Outcome>>>>,
    /// A refresh from the read path (stale-while-revalidate) is under way; readers in the last
    /// margin read this flag (a read, no write) before starting another.
    revalidating: AtomicBool,
    generation: AtomicU64,
    refresh_ahead: bool,
    refresher: Mutex<Option<tokio::task::AbortHandle>>,
    /// Boxed: written on the slow paths, so kept off the cache line readers load `cache` from.
    stats: Box<Stats>,
}

/// At most this many re-registrations after Hydra rejected the client (`invalid_client`), per
/// source, within [`REREGISTRATION_WINDOW`]; then [`Error::ClientRejected`].
pub const MAX_REREGISTRATIONS: usize = 3;
/// The window [`MAX_REREGISTRATIONS`] is counted in.
pub const REREGISTRATION_WINDOW: Duration = Duration::from_secs(600);
/// The wait before the first re-registration in the window; doubled for each further one
/// (1 s, 2 s, 4 s).
const REREGISTRATION_BACKOFF: Duration = Duration::from_secs(1);

/// A flight's result, shared by every caller that waited for it.
type Outcome = Result<Arc<AccessToken>, Arc<Error>>;

#[derive(Default)]
struct Session {
    registration: Option<Registration>,
    /// Whether the registered client carries this library's marker: only such a client is ever
    /// deleted, and only if this source created it.
    owned: bool,
    /// Hydra rejected the secret in hand: the next registration must set a secret, not trust it.
    secret_rejected: bool,
    /// When this source re-registered after a rejection, within the last window.
    reregistrations: std::collections::VecDeque<Instant>,
}

/// A cheap handle to the access token a [`TokenSource`] holds: getting one takes no lock and
/// copies nothing, and it dereferences to the [`AccessToken`].
///
/// Hold it for a request or so, not for the life of the program (it pins that token in memory);
/// [`CachedToken::into_arc`] gives an ordinary `Arc` to keep.
pub struct CachedToken(Guard<Arc<AccessToken>>);

impl CachedToken {
    /// The token as an `Arc`, to keep beyond a request.
    pub fn into_arc(self) -> Arc<AccessToken> {
        Guard::into_inner(self.0)
    }
}

impl Deref for CachedToken {
    type Target = AccessToken;

    fn deref(&self) -> &AccessToken {
        &self.0
    }
}

impl Clone for CachedToken {
    fn clone(&self) -> Self {
        CachedToken(Guard::from_inner(Arc::clone(&self.0)))
    }
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        AccessToken::fmt(self, f)
    }
}

/// The std mutexes here guard a few pointers and are never held across an await or a panic
/// point; a poisoned one still holds a valid value.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.refresher).take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("config", self.inner.flow.config())
            .finish_non_exhaustive()
    }
}

/// What a caller that needs a token from Hydra does.
enum Role {
    /// Nobody is fetching: fetch, and publish the result here.
    Lead(watch::Sender<Option<Outcome>>),
    /// Wait for the fetch under way.
    Wait(watch::Receiver<Option<Outcome>>),
    /// A token arrived meanwhile.
    Done(Arc<AccessToken>),
}

impl TokenSource {
    /// A token source for `config`. Nothing is sent until the first [`TokenSource::token`].
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::with_refresh_ahead(config, true)
    }

    /// A token source for a client registered already (by an earlier run, or out of band): the
    /// first [`TokenSource::token`] goes straight to the token endpoint. If Hydra rejects the
    /// client, the source registers it as [`TokenSource::new`] would.
    pub fn with_registration(config: Config, registration: Registration) -> Result<Self, Error> {
        let source = Self::with_refresh_ahead(config, true)?;
        if let Ok(mut session) = source.inner.session.try_lock() {
            session.registration = Some(registration);
        }
        Ok(source)
    }

    pub(crate) fn with_refresh_ahead(config: Config, refresh_ahead: bool) -> Result<Self, Error> {
        let empty = Arc::new(AccessToken::none());
        Ok(TokenSource {
            inner: Arc::new(Inner {
                flow: Flow::new(config)?,
                cache: ArcSwap::new(Arc::clone(&empty)),
                empty,
                session: tokio::sync::Mutex::new(Session::default()),
                flight: Mutex::new(None),
                revalidating: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                refresh_ahead,
                refresher: Mutex::new(None),
                stats: Box::default(),
            }),
        })
    }

    /// A valid access token: the cached one while fresh, else a new one from Hydra (registering
    /// the client first if needed).
    ///
    /// From the cache this takes no lock and copies nothing: the [`CachedToken`] is a handle to
    /// the token the source holds. In the token's last margin it also starts the next fetch in
    /// the background and returns without waiting for it.
    pub async fn token(&self) -> Result<CachedToken, Error> {
        let current = self.inner.cache.load();
        match current.freshness(coarsetime::Instant::now_without_cache_update()) {
            Freshness::Fresh => Ok(CachedToken(current)),
            Freshness::Refresh => {
                self.revalidate(current.generation);
                Ok(CachedToken(current))
            }
            Freshness::Stale => {
                drop(current);
                let token = self.fetch_shared(None).await?;
                Ok(CachedToken(Guard::from_inner(token)))
            }
        }
    }

    /// Forgets `rejected` if it is still the cached token, so the next [`TokenSource::token`]
    /// fetches a new one. Call it when a downstream service answers 401 to this token; a token
    /// fetched since is kept, so many callers rejecting the same token cause one new request.
    pub fn invalidate(&self, rejected: &AccessToken) {
        let current = self.inner.cache.load();
        if current.generation == rejected.generation && !Arc::ptr_eq(&current, &self.inner.empty) {
            let previous = self
                .inner
                .cache
                .compare_and_swap(&current, Arc::clone(&self.inner.empty));
            if Arc::ptr_eq(&previous, &current) {
                self.inner.stats.invalidated();
                debug!("access token invalidated");
            }
        }
    }

    /// A snapshot for operators: whether a token is held and when it expires, the last refresh
    /// and error, and counters. No secret in it; see [`Status`]. Takes no lock the read path
    /// takes, and sends nothing.
    pub fn status(&self) -> Status {
        let current = self.inner.cache.load();
        let has_token = !Arc::ptr_eq(&current, &self.inner.empty);
        self.inner.stats.snapshot(has_token, current.expires_at())
    }

    /// The client's registration, once the source has registered it.
    pub async fn registration(&self) -> Option<Registration> {
        self.inner.session.lock().await.registration.clone()
    }

    /// Stops the background refresher and, if the configuration says so, deletes the client from
    /// Hydra.
    pub async fn shutdown(self) -> Result<(), Error> {
        if let Some(task) = lock(&self.inner.refresher).take() {
            task.abort();
        }
        let config = self.inner.flow.config();
        if !config.delete_on_shutdown {
            return Ok(());
        }
        let session = self.inner.session.lock().await;
        match &session.registration {
            // Never a client someone else owns.
            Some(registration) if session.owned => {
                self.inner.flow.delete(&registration.client_id).await
            }
            _ => Ok(()),
        }
    }

    /// A new token from Hydra through the one fetch under way, starting it if there is none.
    /// With `replacing`, a refresh: the fetch goes ahead although the cache is still fresh,
    /// unless a token newer than generation `replacing` is already there.
    async fn fetch_shared(&self, replacing: Option<u64>) -> Result<Arc<AccessToken>, Error> {
        loop {
            // The flight lock is never held across an await: this block decides, then it is
            // released.
            let role = {
                let mut flight = lock(&self.inner.flight);
                // A guard, not a clone: a thousand waiters passing here would otherwise all
                // write the token's reference count.
                let current = self.inner.cache.load();
                let newer = replacing.is_none_or(|g| current.generation != g);
                match flight.as_ref() {
                    _ if newer && current.is_fresh() => Role::Done(Guard::into_inner(current)),
                    Some(running) => Role::Wait(running.clone()),
                    None => {
                        let (publish, running) = watch::channel(None);
                        *flight = Some(running);
                        Role::Lead(publish)
                    }
                }
            };
            match role {
                Role::Done(token) => return Ok(token),
                // Boxed: the fetch's state (registration, retries, the HTTP request) is
                // kilobytes. Inline, it would make every `token()` future that large (and every
                // task holding one, moved on each spawn), and each of a thousand waiters would
                // carry it; boxed, only the one leader allocates it.
                Role::Lead(publish) => return Box::pin(self.lead(publish)).await,
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

    /// The one fetch: its result goes into the cache, then to every waiter at once.
    async fn lead(
        &self,
        publish: watch::Sender<Option<Outcome>>,
    ) -> Result<Arc<AccessToken>, Error> {
        // Ends the flight on every way out, a cancelled leader included: the waiters then see
        // the sender gone and one of them leads.
        struct EndFlight<'a>(&'a Inner);
        impl Drop for EndFlight<'_> {
            fn drop(&mut self) {
                *lock(&self.0.flight) = None;
            }
        }
        let end = EndFlight(&self.inner);
        let result = {
            let mut session = self.inner.session.lock().await;
            self.inner.fetch(&mut session).await
        };
        match result {
            Ok(token) => {
                self.inner.stats.refreshed(token.expires_at());
                let token = Arc::new(token);
                self.store(Arc::clone(&token));
                publish.send_replace(Some(Ok(Arc::clone(&token))));
                Ok(token)
            }
            Err(e) => {
                self.inner.stats.failed(&e);
                drop(end);
                // The caller that led keeps the error itself; waiters, if any, share it.
                if publish.receiver_count() == 0 {
                    return Err(e);
                }
                let shared = Arc::new(e);
                publish.send_replace(Some(Err(Arc::clone(&shared))));
                Err(Error::Shared(shared))
            }
        }
    }

    /// Stale-while-revalidate: starts a refresh in the background, unless one is under way, and
    /// returns at once.
    fn revalidate(&self, generation: u64) {
        // A plain load first: in the last margin every reader passes here, and a swap on every
        // read would be the shared write the read path avoids.
        if self.inner.revalidating.load(Ordering::Relaxed)
            || self.inner.revalidating.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.inner.revalidating.store(false, Ordering::Release);
            return;
        };
        let source = self.clone();
        runtime.spawn(async move {
            if let Err(e) = source.fetch_shared(Some(generation)).await {
                warn!(error = %e, "refresh in the token's last margin failed");
            }
            source.inner.revalidating.store(false, Ordering::Release);
        });
    }

    fn store(&self, token: Arc<AccessToken>) {
        let refresh_at = token.refresh_at();
        let generation = token.generation;
        self.inner.cache.store(token);
        if let (true, Some(at)) = (self.inner.refresh_ahead, refresh_at) {
            self.schedule_refresh(at, generation);
        }
    }

    /// (Re)starts the background task that replaces token `generation` at `at`.
    fn schedule_refresh(&self, at: Instant, generation: u64) {
        let weak = Arc::downgrade(&self.inner);
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let task = handle.spawn(refresh_loop(weak, at, generation));
        if let Some(previous) = lock(&self.inner.refresher).replace(task.abort_handle()) {
            previous.abort();
        }
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
        let source = TokenSource { inner };
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

impl Inner {
    /// One token request: register (and authorize) if there is no registration, then the token
    /// call; on `invalid_client`, register again and retry, within the bounds of [`Self::recover`].
    async fn fetch(&self, session: &mut Session) -> Result<AccessToken, Error> {
        let mut attempts = Attempts::default();
        let result = self.fetch_counting(session, &mut attempts).await;
        self.stats.retried(attempts.retries);
        result
    }

    async fn fetch_counting(
        &self,
        session: &mut Session,
        attempts: &mut Attempts,
    ) -> Result<AccessToken, Error> {
        let config = self.flow.config();
        let deadline = Deadline::after(config.deadline);
        loop {
            let registration = match &session.registration {
                Some(registration) => registration.clone(),
                None => {
                    let secret_rejected = session.secret_rejected;
                    let registered = retrying(Stage::Register, deadline, attempts, || {
                        self.flow.register_with(secret_rejected)
                    })
                    .await?;
                    session.owned = registered.owned;
                    let registration = registered.registration;
                    if config.authorize {
                        retrying(Stage::Authorize, deadline, attempts, || {
                            self.flow.authorize(&registration)
                        })
                        .await?;
                    }
                    session.registration = Some(registration.clone());
                    session.secret_rejected = false;
                    registration
                }
            };
            let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
            let result = retrying(Stage::Token, deadline, attempts, || {
                self.stats.token_request();
                self.flow.token_with_generation(&registration, generation)
            })
            .await;
            match result {
                Ok(token) => return Ok(token),
                Err(e) if e.is_invalid_client() => {
                    self.recover(session, &registration, e, deadline).await?
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// After Hydra rejected `registration` at the token endpoint: waits, deletes the client if
    /// this source created it, and leaves the session to register again. Bounded: at most
    /// [`MAX_REREGISTRATIONS`] per [`REREGISTRATION_WINDOW`] per source, with a doubling wait,
    /// and never past `deadline`; beyond that, [`Error::ClientRejected`].
    async fn recover(
        &self,
        session: &mut Session,
        registration: &Registration,
        rejected: Error,
        deadline: Deadline,
    ) -> Result<(), Error> {
        let now = Instant::now();
        session
            .reregistrations
            .retain(|t| now.saturating_duration_since(*t) < REREGISTRATION_WINDOW);
        let made = session.reregistrations.len();
        let give_up = |last: Error| Error::ClientRejected {
            client_id: registration.client_id.clone(),
            reregistrations: u32::try_from(made).unwrap_or(u32::MAX),
            window: REREGISTRATION_WINDOW,
            last: Box::new(last),
        };
        let wait = REREGISTRATION_BACKOFF.saturating_mul(1u32 << made.min(16));
        if made >= MAX_REREGISTRATIONS || wait >= deadline.remaining() {
            return Err(give_up(rejected));
        }
        warn!(client_id = %registration.client_id, error = %rejected, wait_s = wait.as_secs(), "Hydra rejected the client; registering it again");
        tokio::time::sleep(wait).await;
        session.reregistrations.push_back(Instant::now());
        // Recovered, but an operator wants to see why the client had to be registered again.
        self.stats.failed(&rejected);
        self.stats.reregistered();
        if session.owned && registration.created {
            // A client this source made and Hydra keeps rejecting goes before another is made.
            self.flow.delete(&registration.client_id).await?;
        }
        session.registration = None;
        session.secret_rejected = true;
        Ok(())
    }
}
