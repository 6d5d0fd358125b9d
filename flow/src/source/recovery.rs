//! One fetch from Hydra for a [`TokenSource`](super::TokenSource): register (and authorize) the
//! client when the session has no registration, request the token and stamp its generation, and
//! recover, within bounds, when Hydra rejects the client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::warn;

use super::{Inner, Session, MAX_REREGISTRATIONS, REREGISTRATION_BACKOFF, REREGISTRATION_WINDOW};
use crate::retry::{retrying, sleep_unless_stopped, Attempts, Deadline, Stop};
use crate::steps::{AccessToken, Registration};
use crate::{Error, Stage};

impl Inner {
    /// One token request: register (and authorize) if there is no registration, then the token
    /// call; on `invalid_client`, register again and retry, within the bounds of [`Self::recover`].
    pub(super) async fn fetch(&self, session: &mut Session) -> Result<AccessToken, Error> {
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
        let mut stop = self.stop.subscribe();
        // Whether this fetch read the client (registered it) itself.
        let mut read_the_client = false;
        loop {
            self.not_shut_down()?;
            let registration = match &session.registration {
                Some(registration) => registration.clone(),
                None => {
                    read_the_client = true;
                    let rejections = session.secret_rejections;
                    let registration =
                        retrying(Stage::Register, deadline, attempts, &mut stop, || {
                            self.flow.register_with(rejections)
                        })
                        .await?;
                    // Shut down meanwhile: nothing more is sent (shutdown's delete goes by the
                    // marker, so the registration need not be kept).
                    self.not_shut_down()?;
                    if config.authorize {
                        retrying(Stage::Authorize, deadline, attempts, &mut stop, || {
                            self.flow.authorize(&registration)
                        })
                        .await?;
                    }
                    self.record_registration(session, Some(registration.clone()));
                    self.not_shut_down()?;
                    registration
                }
            };
            let result = retrying(Stage::Token, deadline, attempts, &mut stop, || {
                self.stats.token_request();
                self.flow.token(&registration)
            })
            .await;
            match result {
                Ok(mut token) => {
                    session.secret_rejections = 0;
                    // Stamped here, where tokens enter the source: `invalidate` tells a rejected
                    // token from a newer one by it. One count for the process, so that a token
                    // of another source never matches this one's.
                    static GENERATIONS: AtomicU64 = AtomicU64::new(0);
                    token.generation = GENERATIONS.fetch_add(1, Ordering::Relaxed) + 1;
                    return Ok(token);
                }
                Err(e) if e.is_invalid_client() => {
                    self.recover(session, &registration, e, deadline, &mut stop)
                        .await?
                }
                // Any other refusal (`invalid_scope`, an audience not allowed, a grant type not
                // allowed) of a client read in an earlier fetch: someone may have changed it
                // since (another instance configured otherwise, an administrator), so it is
                // read again, once per fetch, which puts back what this configuration needs on
                // the flow's own client, or tells what a foreign one lacks.
                Err(e @ Error::OAuth2 { .. })
                    if !read_the_client && self.flow.registers(&registration) =>
                {
                    warn!(client_id = %registration.client_id, error = %e, "Hydra refused the token request; reading the client again");
                    self.record_registration(session, None);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// After Hydra rejected `registration` at the token endpoint: waits, and leaves the session
    /// to register again, which reads the client afresh (Hydra may have forgotten it, someone may
    /// have set its secret, or made a client of their own under its id) and sets the secret only
    /// where the ownership rules allow. Nothing is deleted: the client in Hydra may no longer be
    /// the one this source registered. Bounded: at most
    /// [`MAX_REREGISTRATIONS`] per [`REREGISTRATION_WINDOW`] per source, with a doubling wait,
    /// and never past `deadline`; beyond that, [`Error::ClientRejected`].
    async fn recover(
        &self,
        session: &mut Session,
        registration: &Registration,
        rejected: Error,
        deadline: Deadline,
        stop: &mut Stop,
    ) -> Result<(), Error> {
        let now = Instant::now();
        session
            .reregistrations
            .retain(|t| now.saturating_duration_since(*t) < REREGISTRATION_WINDOW);
        let made = session.reregistrations.len();
        let wait = REREGISTRATION_BACKOFF.saturating_mul(1u32 << made.min(16));
        if made >= MAX_REREGISTRATIONS || wait >= deadline.remaining() {
            return Err(Error::ClientRejected {
                client_id: registration.client_id.clone(),
                reregistrations: u32::try_from(made).unwrap_or(u32::MAX),
                window: REREGISTRATION_WINDOW,
                outlasts_deadline: made < MAX_REREGISTRATIONS,
                last: Box::new(rejected),
            });
        }
        warn!(client_id = %registration.client_id, error = %rejected, wait_s = wait.as_secs(), "Hydra rejected the client; registering it again");
        sleep_unless_stopped(wait, stop).await?;
        session.reregistrations.push_back(Instant::now());
        // Recovered, but an operator wants to see why the client had to be registered again.
        self.stats.failed(&rejected);
        self.stats.reregistered();
        self.record_registration(session, None);
        session.secret_rejections = session.secret_rejections.saturating_add(1);
        Ok(())
    }
}
