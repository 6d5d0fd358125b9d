//! [`TokenSource`]: the long-lived, shared way for a service to hold a valid access token.
//!
//! The cached read is every outgoing request's hot path: an atomic load of an `Arc` (arc-swap,
//! no lock, no write to memory another reader touches) and a coarse clock read. Everything else
//! (the single fetch many callers share, the refresh ahead of expiry) is off that path.

mod cooldown;
mod flight;
mod recovery;
mod tasks;

use std::ops::Deref;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, Guard};
use tracing::{debug, warn};

use crate::lock::lock;
use crate::status::{Stats, Status};
use crate::steps::{AccessToken, Freshness, Registration};
use crate::{Config, Error, Flow, Stage};
use tasks::{Handles, Tasks};

/// A cached, self-refreshing source of access tokens for one OAuth2 client.
///
/// Clone it freely: clones share the cache, the registration and the refresher. When the last
/// clone is dropped, the source's own tasks stop with it (the fetch under way, retries included,
/// and the refresh): no one could read the token they would get.
///
/// - **Cached, without locks.** [`TokenSource::token`] returns a handle to the cached token while
///   it is fresh: no lock, no copy of the token, no network.
/// - **Refreshed ahead of expiry.** Once a token exists, a background task fetches the next one
///   three quarters into the current one's lifetime (earlier for short lifetimes, so that the
///   request's latency fits before the token stops being handed out). A caller that finds the
///   token in its last margin starts the refresh itself and goes on with the current token, so
///   readers do not wait on the network while the current token is valid.
/// - **Single-flight.** However many callers arrive on a cold or expired cache, one request goes
///   to Hydra; its one result wakes them all. It runs as a task of its own, so callers that give
///   up on it (a timeout around `token()`) do not cancel it, and the callers after them wait for
///   it instead of sending another: on the caller's runtime when that is a multi-thread one, else
///   on a thread of flow's own (a current-thread runtime runs a task only while something blocks
///   on it, and a sync wrapper's is idle between calls).
/// - **Self-healing, bounded.** When Hydra rejects the client (`invalid_client`: Hydra restarted
///   on an in-memory database, or the secret changed), it registers again and retries: at most
///   [`MAX_REREGISTRATIONS`] times per [`REREGISTRATION_WINDOW`]. The registration reads the
///   client afresh: it makes it again if Hydra forgot it, sets the secret of its own client where
///   the ownership rules allow, and never deletes a client or touches one it does not own.
/// - **Retried within a deadline.** Transport errors, 5xx, 408 and 429 are retried with exponential
///   backoff and jitter, honouring `Retry-After`, until the configured deadline; every request
///   has a timeout.
/// - **Never at the callers' rate.** A fetch that failed in a way asking again at once cannot
///   fix holds off the next ([`TokenSource::token`]), and a downstream service that rejects each
///   new token gets one at most every so often ([`TokenSource::invalidate`]): each token request
///   costs Hydra a hash of the client secret.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
    /// Shared by the clones users hold, `None` in the source's own tasks' copies: the last
    /// user's drop stops those tasks (see [`Handles`]).
    _handles: Option<Arc<Handles>>,
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
    /// The session's registration, as [`TokenSource::registration`] reads it: without waiting
    /// for the session, which a fetch holds through all its retries.
    registered: Mutex<Option<Registration>>,
    /// The fetch under way, if any (callers that need a token subscribe to it; its one result
    /// wakes them all at once), and the last one's failure while the source holds off.
    flight: Mutex<flight::Flight>,
    /// A refresh from the read path (stale-while-revalidate) is under way; readers in the last
    /// margin read this flag (a read, no write) before starting another.
    revalidating: AtomicBool,
    /// [`TokenSource::shutdown`] was called: no fetch starts, a fetch under way keeps nothing
    /// (set, and read where a token is stored, under the `flight` lock), and its retries and
    /// waits, which watch it, stop after the request in flight.
    stop: tokio::sync::watch::Sender<bool>,
    /// Downstream rejections (`invalidate`) in a row: how soon the next may throw a token away.
    invalidations: Mutex<cooldown::Cooldown>,
    /// The source's own tasks: stopped when the last user's clone is dropped.
    tasks: Mutex<Tasks>,
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
    /// Times in a row Hydra rejected the client since the last token: the next registration
    /// decides on the secret by it (see `Flow::register_with`).
    secret_rejections: u32,
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

impl Inner {
    /// Records `registration` in `session`, and where [`TokenSource::registration`] reads it.
    fn record_registration(&self, session: &mut Session, registration: Option<Registration>) {
        lock(&self.registered).clone_from(&registration);
        session.registration = registration;
    }

    /// [`Error::ShutDown`] once [`TokenSource::shutdown`] was called.
    fn not_shut_down(&self) -> Result<(), Error> {
        if *self.stop.borrow() {
            return Err(Error::ShutDown);
        }
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        lock(&self.tasks).stop();
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
        Self::build(config, None)
    }

    /// A token source for a client registered already (by an earlier run, or out of band): the
    /// first [`TokenSource::token`] goes straight to the token endpoint. If Hydra rejects the
    /// client, the source registers it as [`TokenSource::new`] would.
    pub fn with_registration(config: Config, registration: Registration) -> Result<Self, Error> {
        Self::build(config, Some(registration))
    }

    /// One fetch, for [`crate::acquire_token_with`]: a source's retries and recovery, ended
    /// with the caller's future. Not through the single flight, which runs as a task of its own
    /// so that callers who give up leave it to the callers after them: a one-shot has none, and a
    /// task left running would go on sending (retries included) for a token no one reads.
    pub(crate) async fn fetch_once(config: Config) -> Result<AccessToken, Error> {
        use tracing::instrument::WithSubscriber as _;
        use tracing::Instrument as _;
        // reqwest and the deadline need a runtime; without one they panic.
        let caller = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let source = Self::build(config, None)?;
        let fetch = async move {
            let mut session = source.inner.session.lock().await;
            source.inner.fetch(&mut session).await
        };
        if caller.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            // In the caller's own future: its workers drive the connections it opens.
            return fetch.await;
        }
        // A current-thread runtime drives the connections opened on it only while something
        // blocks on it, and they go back into the process's one pool: a sync wrapper's runtime,
        // idle between its calls, left connections that stalled the next request of any source
        // that took one, until that request's timeout. So the requests run on flow's own
        // runtime, as a current-thread caller's `TokenSource` fetches do, and stop with the
        // caller's future.
        let own = flight::own_runtime().ok_or(Error::NoRuntime)?;
        let task = own.spawn(fetch.in_current_span().with_current_subscriber());
        let _abort = tasks::AbortOnDrop(task.abort_handle());
        match task.await {
            Ok(result) => result,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(Error::NoRuntime),
            },
        }
    }

    fn build(config: Config, registration: Option<Registration>) -> Result<Self, Error> {
        let empty = Arc::new(AccessToken::none());
        let inner = Arc::new(Inner {
            flow: Flow::new(config)?,
            cache: ArcSwap::new(Arc::clone(&empty)),
            empty,
            registered: Mutex::new(registration.clone()),
            session: tokio::sync::Mutex::new(Session {
                registration,
                ..Session::default()
            }),
            flight: Mutex::default(),
            revalidating: AtomicBool::new(false),
            stop: tokio::sync::watch::Sender::new(false),
            invalidations: Mutex::default(),
            tasks: Mutex::default(),
            stats: Box::default(),
        });
        let handles = Some(Arc::new(Handles(Arc::downgrade(&inner))));
        Ok(TokenSource {
            inner,
            _handles: handles,
        })
    }

    /// A copy for the source's own tasks: it does not keep the source alive for its users (see
    /// [`Handles`]).
    fn for_task(&self) -> TokenSource {
        Self::task_copy(Arc::clone(&self.inner))
    }

    /// The source around `inner`, as its own tasks hold it: without a user's handle.
    fn task_copy(inner: Arc<Inner>) -> TokenSource {
        TokenSource {
            inner,
            _handles: None,
        }
    }

    /// A valid access token: the cached one while fresh, else a new one from Hydra (registering
    /// the client first if needed).
    ///
    /// From the cache this takes no lock and copies nothing: the [`CachedToken`] is a handle to
    /// the token the source holds. In the token's last margin it also starts the next fetch in
    /// the background and returns without waiting for it.
    ///
    /// A fetch that fails in a way asking again at once cannot fix (an OAuth2 error such as
    /// `invalid_scope`, a malformed answer, [`Error::ClientRejected`], a `Retry-After` beyond the
    /// deadline: anything but [`Error::DeadlineExceeded`], [`Error::ShutDown`] and
    /// [`Error::NoRuntime`]) holds off the next, since each token
    /// request costs Hydra a hash of the client secret: for 1 s, then 2 s, 4 s, … at most 60 s
    /// while fetches keep failing, or as long as the `Retry-After` asks (up to 10 minutes).
    /// Meanwhile this returns that error, as [`Error::Shared`], without a request. A token
    /// obtained ends the streak; ten minutes without a failure forget it.
    ///
    /// On a multi-thread runtime the fetch runs as a task of that runtime: a caller that blocks
    /// one of its workers on this future (`futures::executor::block_on` inside async code, a
    /// sync callback) can leave no worker to run the fetch, and then waits for good, its
    /// deadline with it (an outside audit: one worker, or two workers each blocked so). Await
    /// it, or block on it from a thread that is not the runtime's (`spawn_blocking` with
    /// `Handle::block_on` works).
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
                let token = self.fetch_shared_boxed(None).await?;
                Ok(CachedToken(Guard::from_inner(token)))
            }
        }
    }

    /// Forgets `rejected` if it is still the cached token, so the next [`TokenSource::token`]
    /// fetches a new one. Call it when a downstream service answers 401 to this token; a token
    /// fetched since is kept, so many callers rejecting the same token cause one new request.
    ///
    /// Returns whether the next [`TokenSource::token`] gives a token other than `rejected`, that
    /// is, whether retrying the request can help.
    ///
    /// Bounded, because each new token costs Hydra a hash of the client secret and a service
    /// that rejects every token (a wrong audience in its settings, say) would otherwise cost one
    /// per request: the first rejection forgets the token at once, but while each new token is
    /// rejected in turn, the next is forgotten only 1 s, then 2 s, 4 s, … at most 60 s after the
    /// last one; before that the token is kept and this returns `false`. Ten minutes without a
    /// rejection start afresh.
    pub fn invalidate(&self, rejected: &AccessToken) -> bool {
        let current = self.inner.cache.load();
        if current.generation != rejected.generation || Arc::ptr_eq(&current, &self.inner.empty) {
            // Replaced already (or never this source's): the next read gets another token.
            return true;
        }
        let mut invalidations = lock(&self.inner.invalidations);
        if let Err(wait) = invalidations.admit(Instant::now()) {
            debug!(
                keep_for_ms = wait.as_millis(),
                "access token rejected downstream again; kept until the wait is over"
            );
            return false;
        }
        let streak = invalidations.streak();
        drop(invalidations);
        let previous = self
            .inner
            .cache
            .compare_and_swap(&current, Arc::clone(&self.inner.empty));
        if Arc::ptr_eq(&previous, &current) {
            self.inner.stats.dropped();
            if streak > 1 {
                warn!(
                    rejected_in_a_row = streak,
                    "a downstream service rejected each new access token; fetching another, \
                     then waiting longer before the next (check the service's audience, issuer \
                     and keys)"
                );
            } else {
                debug!("access token invalidated");
            }
        }
        true
    }

    /// A snapshot for operators: whether a token is held and when it expires, the last refresh
    /// and error, and counters. No secret in it; see [`Status`]. Takes no lock the read path
    /// takes, and sends nothing.
    pub fn status(&self) -> Status {
        let current = self.inner.cache.load();
        // A token past the point where `token()` stops handing it out is no token to report.
        let has_token = !Arc::ptr_eq(&current, &self.inner.empty) && current.is_fresh();
        self.inner.stats.snapshot(has_token, current.expires_at())
    }

    /// The client's registration, once the source has registered it. Answers at once, also
    /// while a fetch is under way.
    pub async fn registration(&self) -> Option<Registration> {
        lock(&self.inner.registered).clone()
    }

    /// Ends the source, for every clone of it: the token is dropped, the refreshes stop, and
    /// from then on `token()` returns [`Error::ShutDown`] without a request (a caller that was
    /// waiting for a fetch under way gets it as [`Error::Shared`]). A fetch under way ends after
    /// the call in flight (a registration's read and the write it decides count as one; each
    /// request bounded by the request timeout), with no retry or wait after it, keeping nothing,
    /// so that a client it was registering is known before the delete. Then, if the configuration says so
    /// ([`crate::ConfigBuilder::delete_on_shutdown`]), deletes the client, if its marker, read
    /// just before, says this source created it; within the configured deadline.
    pub async fn shutdown(self) -> Result<(), Error> {
        {
            // Under the lock a fetch stores its token under: a fetch that ends after this keeps
            // nothing, and one that ended before has its token dropped here.
            let _flight = lock(&self.inner.flight);
            self.inner.stop.send_replace(true);
            self.inner.cache.store(Arc::clone(&self.inner.empty));
        }
        self.inner.stats.dropped();
        lock(&self.inner.tasks).stop_refreshes();
        // Waits for a fetch under way.
        drop(self.inner.session.lock().await);
        let config = self.inner.flow.config();
        if !config.delete_on_shutdown {
            return Ok(());
        }
        // Never a client someone else owns, nor one another replica made: the marker decides.
        tokio::time::timeout(config.deadline, self.inner.flow.delete_created())
            .await
            .unwrap_or(Err(Error::DeadlineExceeded {
                stage: Stage::Delete,
                deadline: config.deadline,
                attempts: 1,
                last: None,
            }))
    }
}
