//! How often a downstream service's word (a 401 to the token, through
//! [`TokenSource::invalidate`](super::TokenSource::invalidate)) may throw the cached token away.
//!
//! Each token request costs Hydra a hash of the client secret. A downstream service that rejects
//! every token (a wrong audience or issuer in its settings, a key it cannot fetch) would
//! otherwise turn each of its 401s into a token request, and one misconfigured service into load
//! on the Hydra every other client depends on. So the first rejection replaces the token at once
//! (Hydra may have restarted or revoked it), but while each new token is rejected in turn, the
//! next one is fetched only after 1 s, then 2 s, 4 s, … at most [`MAX_WAIT`]; until then the
//! token is kept. [`QUIET`] without a rejection forgets the streak.

use std::time::{Duration, Instant};

/// The wait after the first rejection; doubled for each one after it.
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait between two tokens thrown away at a downstream's word.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// No rejection for this long, and the next one replaces the token at once again.
const QUIET: Duration = Duration::from_secs(600);

/// The rejections a source has acted on.
#[derive(Debug, Default)]
pub(super) struct Invalidations {
    /// Tokens thrown away in the current streak.
    streak: u32,
    /// Before this, a rejection keeps the token.
    not_before: Option<Instant>,
    /// The last rejection, acted on or not.
    last: Option<Instant>,
}

impl Invalidations {
    /// Whether a rejection at `now` may throw the token away: `Ok` (and counted), or how long
    /// the token is kept yet.
    pub(super) fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        if self
            .last
            .replace(now)
            .is_some_and(|last| now.saturating_duration_since(last) >= QUIET)
        {
            *self = Invalidations {
                last: Some(now),
                ..Invalidations::default()
            };
        }
        if let Some(wait) = self.not_before.map(|at| at.saturating_duration_since(now)) {
            if !wait.is_zero() {
                return Err(wait);
            }
        }
        let wait = FIRST_WAIT
            .saturating_mul(1u32 << self.streak.min(16))
            .min(MAX_WAIT);
        self.not_before = now.checked_add(wait);
        self.streak = self.streak.saturating_add(1);
        Ok(())
    }

    /// Tokens thrown away in the current streak (1 after the first rejection).
    pub(super) fn streak(&self) -> u32 {
        self.streak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_first_rejection_acts_at_once_and_the_waits_double_up_to_the_cap() {
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut seen = Invalidations::default();
        assert_eq!(seen.admit(at(0)), Ok(()));
        // 1 s, then 2 s, 4 s, ... after the last token thrown away.
        assert_eq!(seen.admit(at(0)), Err(S));
        assert_eq!(seen.admit(at(1)), Ok(()));
        assert_eq!(seen.admit(at(2)), Err(S));
        assert_eq!(seen.admit(at(3)), Ok(()));
        assert_eq!(seen.admit(at(6)), Err(S));
        assert_eq!(seen.admit(at(7)), Ok(()));
        assert_eq!(seen.streak(), 4);
        let mut t = 7;
        for wait in [8, 16, 32, 60, 60] {
            assert_eq!(seen.admit(at(t + wait - 1)), Err(S), "after {t} s");
            t += wait;
            assert_eq!(seen.admit(at(t)), Ok(()), "at {t} s");
        }
    }

    #[test]
    fn a_quiet_spell_forgets_the_streak_and_steady_rejections_do_not() {
        let start = Instant::now();
        let mut seen = Invalidations::default();
        assert_eq!(seen.admit(start), Ok(()));
        assert_eq!(seen.admit(start + S), Ok(()));
        // Rejections every 5 minutes, acted on or not, keep the streak.
        let mut t = start + S;
        for _ in 0..4 {
            t += QUIET / 2;
            let _ = seen.admit(t);
        }
        assert!(seen.streak() > 2, "{seen:?}");
        // Ten minutes without one: the next acts at once and starts a new streak.
        t += QUIET;
        assert_eq!(seen.admit(t), Ok(()));
        assert_eq!(seen.streak(), 1);
        assert_eq!(seen.admit(t), Err(S));
    }
}
