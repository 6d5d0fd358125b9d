//! [`TokenSource`]: the long-lived, shared way for a service to hold a valid access token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use crate::retry::{retrying, Attempts, Deadline};
use crate::steps::{AccessToken, Registration};
use crate::{Config, Error, Flow, Stage};

/// A cached, self-refreshing source of access tokens for one OAuth2 client.
///
/// Clone it freely: clones share the cache, the registration and the refresher.
///
/// - **Cached.** [`TokenSource::token`] returns the cached token while it is fresh, without
///   touching the network.
/// - **Refreshed ahead of expiry.** Once a token exists, a background task fetches the next one
///   three quarters into the current one's lifetime, so readers never wait on the network again
///   while Hydra is reachable.
/// - **Single-flight.** However many callers arrive on a cold or expired cache, one request goes
///   to Hydra; the others wait for its result.
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
    cache: RwLock<Option<AccessToken>>,
    /// Held while talking to Hydra: the single-flight lock. It also guards the registration, so
    /// two refreshes never register twice.
    session: tokio::sync::Mutex<Session>,
    generation: AtomicU64,
    refresh_ahead: bool,
    refresher: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
}

/// At most this many re-registrations after Hydra rejected the client (`invalid_client`), per
/// source, within [`REREGISTRATION_WINDOW`]; then [`Error::ClientRejected`].
pub const MAX_REREGISTRATIONS: usize = 3;
/// The window [`MAX_REREGISTRATIONS`] is counted in.
pub const REREGISTRATION_WINDOW: Duration = Duration::from_secs(600);
/// The wait before the first re-registration in the window; doubled for each further one
/// (1 s, 2 s, 4 s).
const REREGISTRATION_BACKOFF: Duration = Duration::from_secs(1);

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

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut refresher) = self.refresher.lock() {
            if let Some(task) = refresher.take() {
                task.abort();
            }
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

impl TokenSource {
    /// A token source for `config`. Nothing is sent until the first [`TokenSource::token`].
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::with_refresh_ahead(config, true)
    }

    pub(crate) fn with_refresh_ahead(config: Config, refresh_ahead: bool) -> Result<Self, Error> {
        Ok(TokenSource {
            inner: Arc::new(Inner {
                flow: Flow::new(config)?,
                cache: RwLock::new(None),
                session: tokio::sync::Mutex::new(Session::default()),
                generation: AtomicU64::new(0),
                refresh_ahead,
                refresher: std::sync::Mutex::new(None),
            }),
        })
    }

    /// A valid access token: the cached one while fresh, else a new one from Hydra (registering
    /// the client first if needed).
    pub async fn token(&self) -> Result<AccessToken, Error> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let mut session = self.inner.session.lock().await;
        // Whoever held the lock before us may have fetched one.
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let token = self.inner.fetch(&mut session).await?;
        drop(session);
        self.store(token.clone());
        Ok(token)
    }

    /// Forgets `rejected` if it is still the cached token, so the next [`TokenSource::token`]
    /// fetches a new one. Call it when a downstream service answers 401 to this token; a token
    /// fetched since is kept, so many callers rejecting the same token cause one new request.
    pub fn invalidate(&self, rejected: &AccessToken) {
        if let Ok(mut cache) = self.inner.cache.write() {
            if cache.as_ref().map(|t| t.generation) == Some(rejected.generation) {
                debug!("access token invalidated");
                *cache = None;
            }
        }
    }

    /// The client's registration, once the source has registered it.
    pub async fn registration(&self) -> Option<Registration> {
        self.inner.session.lock().await.registration.clone()
    }

    /// Stops the background refresher and, if the configuration says so, deletes the client from
    /// Hydra.
    pub async fn shutdown(self) -> Result<(), Error> {
        if let Ok(mut refresher) = self.inner.refresher.lock() {
            if let Some(task) = refresher.take() {
                task.abort();
            }
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

    fn cached(&self) -> Option<AccessToken> {
        let cache = self.inner.cache.read().ok()?;
        cache.as_ref().filter(|t| t.is_fresh()).cloned()
    }

    fn store(&self, token: AccessToken) {
        let refresh_at = token.refresh_at();
        if let Ok(mut cache) = self.inner.cache.write() {
            *cache = Some(token);
        }
        if let (true, Some(at)) = (self.inner.refresh_ahead, refresh_at) {
            self.schedule_refresh(at);
        }
    }

    /// (Re)starts the background task that refreshes the token at `at`.
    fn schedule_refresh(&self, at: Instant) {
        let weak = Arc::downgrade(&self.inner);
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let task = handle.spawn(refresh_loop(weak, at));
        if let Ok(mut refresher) = self.inner.refresher.lock() {
            if let Some(previous) = refresher.replace(task.abort_handle()) {
                previous.abort();
            }
        }
    }
}

/// Sleeps until `at`, then fetches a new token while readers keep the current one. On failure it
/// tries again with backoff until the current token expires; after that, readers fetch on demand.
/// Holds only a weak reference, so dropping the last [`TokenSource`] ends it.
async fn refresh_loop(weak: Weak<Inner>, at: Instant) {
    tokio::time::sleep_until(at.into()).await;
    let mut backoff = Duration::from_secs(1);
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let source = TokenSource { inner };
        let mut session = source.inner.session.lock().await;
        match source.inner.fetch(&mut session).await {
            Ok(token) => {
                drop(session);
                info!("access token refreshed ahead of expiry");
                // Schedules the next refresh, replacing (and aborting) this task.
                source.store(token);
                return;
            }
            Err(e) => {
                drop(session);
                let expires = source
                    .inner
                    .cache
                    .read()
                    .ok()
                    .and_then(|c| c.as_ref().and_then(|t| t.expires_at_instant()));
                if expires.is_some_and(|e| e <= Instant::now()) {
                    warn!(error = %e, "refresh failed and the token has expired; callers will fetch on demand");
                    return;
                }
                warn!(error = %e, retry_in_s = backoff.as_secs(), "refresh ahead of expiry failed; will retry");
            }
        }
        drop(source);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}

impl Inner {
    /// One token request: register (and authorize) if there is no registration, then the token
    /// call; on `invalid_client`, register again and retry, within the bounds of [`Self::recover`].
    async fn fetch(&self, session: &mut Session) -> Result<AccessToken, Error> {
        let config = self.flow.config();
        let deadline = Deadline::after(config.deadline);
        let mut attempts = Attempts::default();
        loop {
            let registration = match &session.registration {
                Some(registration) => registration.clone(),
                None => {
                    let secret_rejected = session.secret_rejected;
                    let registered = retrying(Stage::Register, deadline, &mut attempts, || {
                        self.flow.register_with(secret_rejected)
                    })
                    .await?;
                    session.owned = registered.owned;
                    let registration = registered.registration;
                    if config.authorize {
                        retrying(Stage::Authorize, deadline, &mut attempts, || {
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
            let result = retrying(Stage::Token, deadline, &mut attempts, || {
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
        if session.owned && registration.created {
            // A client this source made and Hydra keeps rejecting goes before another is made.
            self.flow.delete(&registration.client_id).await?;
        }
        session.registration = None;
        session.secret_rejected = true;
        Ok(())
    }
}
