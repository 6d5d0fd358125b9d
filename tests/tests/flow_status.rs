//! `TokenSource::status()` and the `metrics` feature against a real Hydra, through a background
//! refresh and a re-registration (Hydra restarted on DSN=memory forgets the client). A binary of
//! its own: it installs the process-wide metrics recorder.

use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, Instant, SystemTime};

use flow::{metric_names, Config, Status, TokenSource};
use hydra_tests::TestHydra;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use secrecy::ExposeSecret;

type TestResult = Result<(), Box<dyn Error>>;

/// The metrics recorded so far. The debugging recorder's snapshot drains what it reports
/// (counters and gauges read as zero after it), so counters are summed over snapshots here and
/// gauges are the values set since the last one.
#[derive(Default)]
struct Totals(BTreeMap<String, f64>);

impl Totals {
    fn update(&mut self, snapshotter: &Snapshotter) -> &BTreeMap<String, f64> {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let name = key.key().name().to_string();
            match value {
                DebugValue::Counter(n) => *self.0.entry(name).or_default() += n as f64,
                DebugValue::Gauge(g) => {
                    self.0.insert(name, g.into_inner());
                }
                DebugValue::Histogram(_) => {}
            }
        }
        &self.0
    }
}

/// Polls `status` until `done`, for at most `limit`.
async fn wait_for(
    source: &TokenSource,
    limit: Duration,
    done: impl Fn(&Status) -> bool,
) -> Result<Status, String> {
    let start = Instant::now();
    loop {
        let status = source.status();
        if done(&status) {
            return Ok(status);
        }
        if start.elapsed() > limit {
            return Err(format!("gave up waiting; status: {status}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn assert_metrics_match(status: &Status, metrics: &BTreeMap<String, f64>) {
    let get = |name: &str| metrics.get(name).copied().unwrap_or(0.0);
    assert_eq!(
        get(metric_names::TOKEN_REQUESTS),
        status.token_requests as f64,
        "{metrics:?}"
    );
    assert_eq!(
        get(metric_names::REFRESHES),
        status.refreshes as f64,
        "{metrics:?}"
    );
    assert_eq!(
        get(metric_names::REREGISTRATIONS),
        status.reregistrations as f64,
        "{metrics:?}"
    );
    assert_eq!(
        get(metric_names::RETRIES),
        status.retries as f64,
        "{metrics:?}"
    );
}

#[tokio::test]
async fn status_and_metrics_follow_a_refresh_and_a_reregistration() -> TestResult {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install()?;

    let mut hydra = TestHydra::builder()
        .env("TTL_ACCESS_TOKEN", "4s")
        .start()
        .await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_name("status")
        .authorize(false)
        .build()?;
    let source = TokenSource::new(config)?;

    let idle = source.status();
    assert!(!idle.has_token && idle.expires_at.is_none() && idle.last_refresh.is_none());
    assert_eq!((idle.token_requests, idle.refreshes), (0, 0), "{idle}");
    assert_eq!(
        idle.to_string(),
        "no token, 0 token requests, 0 refreshes, 0 re-registrations, 0 retries"
    );

    let first = source.token().await?;
    let status = source.status();
    assert!(status.has_token, "{status}");
    assert_eq!(status.expires_at, first.expires_at());
    assert!(status.expires_at.is_some_and(|at| at > SystemTime::now()));
    assert!(
        status.last_refresh.is_some() && status.last_error.is_none(),
        "{status}"
    );
    assert_eq!(
        (
            status.token_requests,
            status.refreshes,
            status.reregistrations
        ),
        (1, 1, 0)
    );
    let mut totals = Totals::default();
    let metrics = totals.update(&snapshotter).clone();
    assert_metrics_match(&status, &metrics);
    assert_eq!(
        metrics.get(metric_names::HAS_TOKEN),
        Some(&1.0),
        "{metrics:?}"
    );
    let expires = status
        .expires_at
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64());
    assert_eq!(
        metrics.get(metric_names::EXPIRES_AT).copied(),
        expires,
        "{metrics:?}"
    );

    // The background refresh, three quarters into the 4 s lifetime: no call of ours.
    let refreshed = wait_for(&source, Duration::from_secs(10), |s| s.refreshes >= 2).await?;
    assert!(refreshed.last_refresh > status.last_refresh, "{refreshed}");
    assert!(refreshed.expires_at > status.expires_at, "{refreshed}");
    assert_metrics_match(&refreshed, totals.update(&snapshotter));

    // Hydra forgets the client; the next fetch is rejected (invalid_client) and registers again.
    hydra.restart().await?;
    let current = source.token().await?;
    source.invalidate(&current);
    let after = source.token().await?;
    assert!(
        after.secret().expose_secret() != current.secret().expose_secret(),
        "the token from before the restart is still handed out"
    );
    let status = source.status();
    assert_eq!(status.reregistrations, 1, "{status}");
    assert!(
        status.refreshes >= 3 && status.token_requests >= 4,
        "{status}"
    );
    let (_, error) = status
        .last_error
        .clone()
        .ok_or("the rejection is the last error")?;
    assert!(error.contains("invalid_client"), "{error}");
    let metrics = totals.update(&snapshotter);
    assert_metrics_match(&status, metrics);
    assert!(
        metrics.get(metric_names::ERRORS).is_some_and(|n| *n >= 1.0),
        "{metrics:?}"
    );

    // Safe to log: no token, old or new, in either form.
    for shown in [status.to_string(), format!("{status:?}")] {
        for secret in [&current, &after] {
            assert!(!shown.contains(secret.secret().expose_secret()), "{shown}");
        }
    }

    // Shutdown drops the token: the status and the gauge both say so. A source of its own, so
    // that the gauge's last value before the shutdown is the 1 its first token set (a snapshot
    // resets gauges to 0, and none is taken in between).
    let ending = TokenSource::new(
        Config::builder(hydra.admin_url(), hydra.public_url())
            .client_name("status-shutdown")
            .authorize(false)
            .build()?,
    )?;
    let clone = ending.clone();
    ending.token().await?;
    ending.shutdown().await?;
    let ended = clone.status();
    assert!(!ended.has_token && ended.expires_at.is_none(), "{ended}");
    let metrics = totals.update(&snapshotter);
    assert_eq!(
        metrics.get(metric_names::HAS_TOKEN),
        Some(&0.0),
        "a source that was shut down still reports a token: {metrics:?}"
    );
    Ok(())
}
