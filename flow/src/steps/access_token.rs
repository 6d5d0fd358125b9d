//! The access token: the secret, what Hydra said about it, and when the cache refreshes it and
//! stops handing it out (the cached read's one check, on the coarse clock).

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use hydra_sdk::Secret;

/// An access token from Hydra's token endpoint.
#[derive(Clone)]
pub struct AccessToken {
    issued: Issued,
    /// When to fetch the next token, on the coarse clock the cached read checks (a few ns to
    /// read, where `Instant::now()` costs about 25).
    refresh_at: coarsetime::Instant,
    /// The last moment the token is handed out.
    usable_until: coarsetime::Instant,
    /// Which token of its [`crate::TokenSource`] this is (stamped there; 0 outside one), so a
    /// rejected token can be told from a newer one.
    pub(crate) generation: u64,
}

/// What Hydra said when it issued a token, and when.
#[derive(Clone)]
pub(crate) struct Issued {
    pub(crate) secret: Secret,
    pub(crate) token_type: String,
    pub(crate) scope: Option<String>,
    pub(crate) expires_in: Option<Duration>,
    /// When the request was sent, so the lifetime is counted conservatively from before Hydra
    /// issued the token.
    pub(crate) obtained_at: Instant,
    /// The same moment by the wall clock, for [`AccessToken::expires_at`].
    pub(crate) issued_at: SystemTime,
}

/// A token is handed out until this long before it expires, so the request carrying it arrives
/// in time; a quarter of the lifetime for tokens shorter than 4 s.
const EXPIRY_MARGIN: Duration = Duration::from_secs(1);
/// The refresh starts at least this long before the token stops being handed out...
const MIN_REFRESH_LEAD: Duration = Duration::from_millis(500);
/// ...or this many times the token request's own latency, if longer.
const LATENCY_FACTOR: u32 = 4;
/// Lifetimes are capped here (about 68 years) before they meet the coarse clock, whose ticks
/// hold seconds in 32 bits. The token step caps what Hydra sends at [`super::MAX_LIFETIME`] (a
/// day) already; this cap keeps the schedule safe for any `Duration` it is given.
const MAX_SCHEDULED_LIFETIME: Duration = Duration::from_secs(1 << 31);
/// How far the coarse clock may lag the real one (one kernel tick, at most 10 ms at HZ=100).
const COARSE_CLOCK_LAG: Duration = Duration::from_millis(10);

impl AccessToken {
    /// A token Hydra issued, whose request took `latency`.
    pub(crate) fn new(issued: Issued, latency: Duration) -> Self {
        let (refresh_at, usable_until) = schedule(
            coarsetime::Instant::now_without_cache_update(),
            issued.obtained_at.elapsed(),
            issued.expires_in,
            latency,
        );
        AccessToken {
            issued,
            refresh_at,
            usable_until,
            generation: 0,
        }
    }

    /// Stands for "no token": never fresh, never handed out. Lets the cache be a plain
    /// `ArcSwap<AccessToken>`, so a handle to it needs no `Option` to look through.
    pub(crate) fn none() -> Self {
        let never = coarsetime::Instant::from_u64(0);
        AccessToken {
            issued: Issued {
                secret: Secret::from(String::new()),
                token_type: String::new(),
                scope: None,
                expires_in: Some(Duration::ZERO),
                obtained_at: Instant::now(),
                issued_at: SystemTime::now(),
            },
            refresh_at: never,
            usable_until: never,
            generation: 0,
        }
    }

    /// The token. Put it in an `Authorization: Bearer` header and nowhere else.
    pub fn secret(&self) -> &Secret {
        &self.issued.secret
    }

    /// The token type; `bearer` for Hydra.
    pub fn token_type(&self) -> &str {
        &self.issued.token_type
    }

    /// The scope granted, when Hydra says (RFC 6749 §5.1).
    pub fn scope(&self) -> Option<&str> {
        self.issued.scope.as_deref()
    }

    /// The lifetime the token is counted by, from its issue: Hydra's `expires_in`, or
    /// [`crate::ASSUMED_LIFETIME`] when the answer had none, at most [`crate::MAX_LIFETIME`].
    /// `Some` for every token the flow obtained.
    pub fn expires_in(&self) -> Option<Duration> {
        self.issued.expires_in
    }

    /// When the token expires, by the wall clock (its issue plus [`AccessToken::expires_in`]);
    /// `None` when that is beyond what the clock can hold.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.issued.issued_at.checked_add(self.issued.expires_in?)
    }

    /// The monotonic instant the token expires, for scheduling.
    pub(crate) fn expires_at_instant(&self) -> Option<Instant> {
        self.issued.obtained_at.checked_add(self.issued.expires_in?)
    }

    /// When the background refresh should fetch the next token, on the monotonic clock.
    pub(crate) fn refresh_at(&self) -> Option<Instant> {
        self.issued.expires_in?;
        let after = self
            .refresh_at
            .duration_since(coarsetime::Instant::now_without_cache_update());
        Instant::now().checked_add(after.into())
    }

    /// Where the token stands at `now`, read on the coarse clock. The cached read's one check.
    #[inline]
    pub(crate) fn freshness(&self, now: coarsetime::Instant) -> Freshness {
        if now < self.refresh_at {
            Freshness::Fresh
        } else if now < self.usable_until {
            Freshness::Refresh
        } else {
            Freshness::Stale
        }
    }

    /// Whether the token is still handed out: unexpired with a margin for the request that
    /// will carry it.
    pub(crate) fn is_fresh(&self) -> bool {
        self.freshness(coarsetime::Instant::now_without_cache_update()) != Freshness::Stale
    }
}

/// Where a cached token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Hand it out.
    Fresh,
    /// Hand it out, and start the next fetch if none is under way (stale-while-revalidate).
    Refresh,
    /// Do not hand it out; wait for a new one.
    Stale,
}

/// The refresh point and the end of use for a token `age` old (since its request was sent) at
/// `now`, with lifetime `expires_in` (as Hydra rounded it: down to whole seconds) and a request
/// that took `latency`.
///
/// The refresh comes three quarters into the lifetime, but never later than the end of use minus
/// a lead of several request latencies (at most half the usable life), so that even for a 1 s
/// `expires_in` the next token arrives before readers would have to wait. All arithmetic saturates: `expires_in` comes from
/// the network.
fn schedule(
    now: coarsetime::Instant,
    age: Duration,
    expires_in: Option<Duration>,
    latency: Duration,
) -> (coarsetime::Instant, coarsetime::Instant) {
    let Some(lifetime) = expires_in else {
        let never = coarsetime::Instant::from_u64(u64::MAX);
        return (never, never);
    };
    let lifetime = lifetime.min(MAX_SCHEDULED_LIFETIME);
    let margin = EXPIRY_MARGIN.min(lifetime / 4);
    let usable = lifetime
        .saturating_sub(margin)
        .saturating_sub(COARSE_CLOCK_LAG);
    // At most half the usable life: a Hydra slow enough for more (a fifth of the lifetime per
    // answer) would otherwise be asked again as each answer came, all the more the slower it got.
    let lead = MIN_REFRESH_LEAD
        .max(latency.saturating_mul(LATENCY_FACTOR))
        .min(usable / 2);
    let refresh = (lifetime / 4 * 3).min(usable.saturating_sub(lead));
    let at = |offset: Duration| now.saturating_add(offset.saturating_sub(age).into());
    (at(refresh), at(usable))
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[REDACTED]")
            .field("token_type", &self.issued.token_type)
            .field("scope", &self.issued.scope)
            .field("expires_in", &self.issued.expires_in)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(expires_in: u64, latency_ms: u64) -> (Duration, Duration) {
        let now = coarsetime::Instant::from_u64(1 << 40);
        let (refresh, usable) = schedule(
            now,
            Duration::ZERO,
            Some(Duration::from_secs(expires_in)),
            Duration::from_millis(latency_ms),
        );
        (
            refresh.duration_since(now).into(),
            usable.duration_since(now).into(),
        )
    }

    #[test]
    fn the_refresh_comes_before_the_token_stops_being_handed_out() {
        // A 4 s TTL, which Hydra reports as 3: the old schedule refreshed at 2.25 s, after the
        // token had gone stale at 2 s.
        let (refresh, usable) = offsets(3, 5);
        assert!(
            refresh + MIN_REFRESH_LEAD <= usable,
            "{refresh:?} {usable:?}"
        );
        assert!(usable < Duration::from_secs(3));
        // A slow Hydra moves the refresh earlier.
        let (slow, _) = offsets(3, 200);
        assert!(slow + Duration::from_millis(800) <= usable, "{slow:?}");
        // Long tokens keep three quarters.
        assert_eq!(offsets(3600, 5).0, Duration::from_secs(2700));
        for s in [1, 2, 5, 60] {
            let (refresh, usable) = offsets(s, 5);
            assert!(refresh < usable, "{s}: {refresh:?} {usable:?}");
        }
    }

    #[test]
    fn a_slow_hydra_is_asked_at_most_twice_per_usable_life() {
        // expires_in 10 s answered in 2.2 s: a lead of four latencies (8.8 s) put the refresh
        // at 0.2 s, before the answer had even come, so each token's arrival started the next
        // request, back to back for the life of the source; the slower Hydra, the more it was
        // asked. The lead is at most half the usable life.
        let (refresh, usable) = offsets(10, 2200);
        assert!(refresh >= usable / 2, "{refresh:?} {usable:?}");
        // Short tokens keep their lead.
        let (refresh, usable) = offsets(3, 5);
        assert_eq!(usable - refresh, MIN_REFRESH_LEAD);
    }

    #[test]
    fn huge_lifetimes_saturate_instead_of_panicking() {
        let token = AccessToken::new(
            Issued {
                secret: Secret::from("t"),
                token_type: "bearer".into(),
                scope: None,
                expires_in: Some(Duration::MAX),
                obtained_at: Instant::now(),
                issued_at: SystemTime::now(),
            },
            Duration::from_millis(5),
        );
        assert_eq!(
            token.freshness(coarsetime::Instant::now()),
            Freshness::Fresh
        );
        let _ = (
            token.expires_at(),
            token.expires_at_instant(),
            token.refresh_at(),
        );
        let (refresh, usable) = offsets(u64::MAX, u64::MAX);
        assert!(refresh <= usable);
        assert_eq!(
            AccessToken::none().freshness(coarsetime::Instant::now()),
            Freshness::Stale
        );
    }
}
