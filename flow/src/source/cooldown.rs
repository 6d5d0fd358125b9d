//! How a [`TokenSource`](super::TokenSource) holds off asking Hydra again, for two kinds of
//! streak that would otherwise make it ask at the rate of its callers:
//!
//! - a downstream service that rejects each new token (through
//!   [`TokenSource::invalidate`](super::TokenSource::invalidate)): a wrong audience or issuer in
//!   its settings, a key it cannot fetch;
//! - fetches that fail in a way asking again at once cannot fix: an OAuth2 error such as
//!   `invalid_scope`, a malformed answer, a client Hydra keeps rejecting, or a `Retry-After`
//!   longer than the deadline.
//!
//! Each token request costs Hydra a hash of the client secret, so either would turn one
//! misconfigured service, or one answer from Hydra or a proxy, into load on the Hydra every other
//! client depends on. The first event of a streak acts at once; each one after it holds off the
//! next 1 s, then 2 s, 4 s, … at most [`MAX_WAIT`] (or as long as a `Retry-After` asks, up to
//! [`MAX_RETRY_AFTER`]). [`QUIET`] without an event forgets the streak.

use std::time::{Duration, Instant};

/// The hold-off after the first event of a streak; doubled for each one after it.
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest hold-off a streak reaches by doubling.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// The longest `Retry-After` honoured across fetches.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// No event for this long, and the next one starts a new streak.
const QUIET: Duration = Duration::from_secs(600);

/// A streak of events, each holding off the next for longer.
#[derive(Debug, Default)]
pub(super) struct Cooldown {
    /// Events in the current streak.
    streak: u32,
    /// Held off until then.
    until: Option<Instant>,
    /// The last event.
    last: Option<Instant>,
}

impl Cooldown {
    /// How long it is held off yet at `now`, if at all.
    pub(super) fn remaining(&self, now: Instant) -> Option<Duration> {
        let left = self.until?.saturating_duration_since(now);
        (!left.is_zero()).then_some(left)
    }

    /// An event at `now`: holds off for the streak's next wait, and at least `at_least` (a
    /// `Retry-After`, up to [`MAX_RETRY_AFTER`]).
    pub(super) fn start(&mut self, now: Instant, at_least: Duration) {
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) >= QUIET)
        {
            self.streak = 0;
        }
        let wait = FIRST_WAIT
            .saturating_mul(1u32 << self.streak.min(16))
            .min(MAX_WAIT)
            .max(at_least.min(MAX_RETRY_AFTER));
        self.until = now.checked_add(wait);
        self.last = Some(now);
        self.streak = self.streak.saturating_add(1);
    }

    /// The streak is over (a fetch succeeded).
    pub(super) fn reset(&mut self) {
        *self = Cooldown::default();
    }

    /// Events in the current streak.
    pub(super) fn streak(&self) -> u32 {
        self.streak
    }

    /// An event at `now` if not held off: `Ok` (and the hold-off starts), or how long it is held
    /// off yet.
    pub(super) fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.remaining(now) {
            Some(left) => Err(left),
            None => {
                self.start(now, Duration::ZERO);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_first_event_acts_at_once_and_the_waits_double_up_to_the_cap() {
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut seen = Cooldown::default();
        assert_eq!(seen.admit(at(0)), Ok(()));
        // 1 s, then 2 s, 4 s, ... after the last event acted on.
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
    fn a_quiet_spell_or_a_reset_forgets_the_streak_and_steady_events_do_not() {
        let start = Instant::now();
        let mut seen = Cooldown::default();
        assert_eq!(seen.admit(start), Ok(()));
        assert_eq!(seen.admit(start + S), Ok(()));
        // Events every 5 minutes keep the streak.
        let mut t = start + S;
        for _ in 0..4 {
            t += QUIET / 2;
            assert_eq!(seen.admit(t), Ok(()));
        }
        assert_eq!(seen.streak(), 6);
        // Ten minutes without one: the next acts at once and starts a new streak.
        t += QUIET;
        assert_eq!(seen.admit(t), Ok(()));
        assert_eq!(seen.streak(), 1);
        assert_eq!(seen.admit(t), Err(S));
        seen.reset();
        assert_eq!(seen.remaining(t), None);
        assert_eq!(seen.admit(t), Ok(()));
        assert_eq!(seen.streak(), 1);
    }

    #[test]
    fn a_retry_after_holds_off_as_long_as_it_asks_up_to_its_cap() {
        let start = Instant::now();
        let mut seen = Cooldown::default();
        seen.start(start, Duration::from_secs(120));
        assert_eq!(seen.remaining(start), Some(Duration::from_secs(120)));
        // Shorter than the streak's own wait: the streak's wait.
        seen.start(start, Duration::from_millis(10));
        assert_eq!(seen.remaining(start), Some(Duration::from_secs(2)));
        // A day: ten minutes.
        seen.start(start, Duration::from_secs(86_400));
        assert_eq!(seen.remaining(start), Some(MAX_RETRY_AFTER));
        assert_eq!(seen.remaining(start + MAX_RETRY_AFTER), None);
    }
}
