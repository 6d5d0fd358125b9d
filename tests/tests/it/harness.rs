//! The harness itself: Hydra starts with the configuration the other tests rely on, restarts on
//! the same ports, serves TLS with the test CA, and never outlives its test.

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hydra_tests::{error_chain, TestHydra};
use reqwest::StatusCode;
use serde_json::{json, Value};

type TestResult = Result<(), Box<dyn Error>>;

async fn get_json(
    client: &reqwest::Client,
    url: &str,
) -> Result<(StatusCode, Value), Box<dyn Error>> {
    let response = client.get(url).send().await?;
    let status = response.status();
    Ok((status, response.json().await?))
}

fn str_field<'a>(body: &'a Value, field: &str) -> Result<&'a str, String> {
    body.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no string field {field:?} in the response"))
}

fn port_refuses(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
}

/// Polls until nothing listens on `port`, for at most `timeout`.
fn wait_until_refused(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if port_refuses(port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[tokio::test]
async fn plain_http_hydra_is_ready_reports_the_release_under_test_and_its_issuer() -> TestResult {
    let hydra = TestHydra::start().await?;
    let client = hydra.http_client()?;
    assert!(hydra.admin_url().starts_with("http://127.0.0.1:"));
    assert_ne!(hydra.admin_url(), hydra.public_url());

    let (status, body) = get_json(&client, &format!("{}/health/ready", hydra.admin_url())).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "status": "ok" }));
    let (status, _) = get_json(&client, &format!("{}/health/ready", hydra.public_url())).await?;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = get_json(&client, &format!("{}/version", hydra.admin_url())).await?;
    assert_eq!(status, StatusCode::OK);
    // HYDRA_VERSION (cargo xtask test sets it per leg) with the binary it found or built.
    assert_eq!(
        str_field(&body, "version")?,
        hydra_tests::release()?.version
    );

    // URLS_SELF_ISSUER and OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED reached Hydra.
    let discovery = format!("{}/.well-known/openid-configuration", hydra.public_url());
    let (status, body) = get_json(&client, &discovery).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(str_field(&body, "issuer")?, hydra.issuer());
    assert_eq!(
        str_field(&body, "token_endpoint")?,
        format!("{}/oauth2/token", hydra.public_url())
    );
    assert_eq!(
        str_field(&body, "registration_endpoint")?,
        format!("{}/oauth2/register", hydra.public_url())
    );
    Ok(())
}

#[tokio::test]
async fn extra_configuration_reaches_hydra() -> TestResult {
    let hydra = TestHydra::builder()
        .env("STRATEGIES_ACCESS_TOKEN", "jwt")
        .env("TTL_ACCESS_TOKEN", "7m")
        .start()
        .await?;
    let client = hydra.http_client()?;

    // Dynamic registration (public API), then a client-credentials token.
    let response = client
        .post(format!("{}/oauth2/register", hydra.public_url()))
        .json(&json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        }))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.json().await?;
    let client_id = str_field(&registered, "client_id")?;
    let client_secret = str_field(&registered, "client_secret")?;

    let response = client
        .post(format!("{}/oauth2/token", hydra.public_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let token: Value = response.json().await?;
    // A JWT has three dot-separated parts; Hydra's opaque tokens have two.
    let access_token = str_field(&token, "access_token")?;
    assert_eq!(
        access_token.split('.').count(),
        3,
        "the access token is not a JWT"
    );
    let expires_in = token.get("expires_in").and_then(Value::as_u64);
    assert!(
        matches!(expires_in, Some(415..=420)),
        "expires_in {expires_in:?}, expected about 7 minutes"
    );
    Ok(())
}

#[tokio::test]
async fn authorization_requests_are_sent_to_the_configured_login_url() -> TestResult {
    let hydra = TestHydra::start().await?;
    let client = hydra
        .http_client_builder()?
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let redirect_uri = "http://127.0.0.1:9/callback";
    let response = client
        .post(format!("{}/admin/clients", hydra.admin_url()))
        .json(&json!({
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [redirect_uri],
            "scope": "openid",
        }))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await?;
    let client_id = str_field(&created, "client_id")?;

    let response = client
        .get(format!("{}/oauth2/auth", hydra.public_url()))
        .query(&[
            ("client_id", client_id),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", redirect_uri),
            ("state", "state-of-at-least-8-chars"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .ok_or("no Location header")?
        .to_str()?;
    let expected = format!("{}?login_challenge=", hydra.login_url());
    assert!(
        location.starts_with(&expected),
        "Location {location:?} does not start with {expected:?}"
    );
    Ok(())
}

#[tokio::test]
async fn restart_keeps_the_ports_and_forgets_everything() -> TestResult {
    let mut hydra = TestHydra::start().await?;
    let client = hydra.http_client()?;
    let before = hydra.urls().clone();

    let response = client
        .post(format!("{}/admin/clients", hydra.admin_url()))
        .json(&json!({ "grant_types": ["client_credentials"] }))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await?;
    let client_url = format!(
        "{}/admin/clients/{}",
        hydra.admin_url(),
        str_field(&created, "client_id")?
    );
    assert_eq!(
        client.get(&client_url).send().await?.status(),
        StatusCode::OK
    );

    hydra.kill()?;
    assert!(!hydra.is_running());
    assert!(
        port_refuses(before.admin_port),
        "the admin port still accepts connections after kill"
    );

    hydra.restart().await?;
    assert!(hydra.is_running());
    assert_eq!(hydra.urls(), &before);
    // DSN=memory: the restarted Hydra has never heard of the client.
    assert_eq!(
        client.get(&client_url).send().await?.status(),
        StatusCode::NOT_FOUND
    );

    // Restarting a running Hydra works too.
    hydra.restart().await?;
    let (status, _) = get_json(&client, &format!("{}/health/ready", hydra.admin_url())).await?;
    assert_eq!(status, StatusCode::OK);
    let log = std::fs::read_to_string(hydra.log_path())?;
    assert_eq!(log.matches("==== hydra-launcher: start #").count(), 3);
    Ok(())
}

#[tokio::test]
async fn tls_hydra_is_trusted_through_the_test_ca_only() -> TestResult {
    let hydra = TestHydra::builder().tls().start().await?;
    assert!(hydra.admin_url().starts_with("https://127.0.0.1:"));
    assert!(hydra.issuer().starts_with("https://127.0.0.1:"));
    assert!(hydra
        .ca_pem()
        .is_some_and(|pem| pem.contains("BEGIN CERTIFICATE")));

    let trusting = hydra.http_client()?;
    for base in [hydra.admin_url(), hydra.public_url()] {
        let (status, body) = get_json(&trusting, &format!("{base}/health/ready")).await?;
        assert_eq!(status, StatusCode::OK, "{base}");
        assert_eq!(body, json!({ "status": "ok" }));
    }
    let discovery = format!("{}/.well-known/openid-configuration", hydra.public_url());
    let (_, body) = get_json(&trusting, &discovery).await?;
    assert_eq!(str_field(&body, "issuer")?, hydra.issuer());

    // The platform's roots do not include the test CA, so the handshake must fail. (On a machine
    // with no system roots at all, the platform verifier refuses already when the client is built.)
    hydra_tests::install_crypto_provider();
    let refusal = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Err(err) => error_chain(&err),
        Ok(default_roots) => {
            let url = format!("{}/health/ready", hydra.admin_url());
            match default_roots.get(url).send().await {
                Ok(response) => {
                    let status = response.status();
                    return Err(format!("default roots accepted the test CA: {status}").into());
                }
                Err(err) => {
                    assert!(err.is_connect(), "expected a TLS error, got {err:?}");
                    error_chain(&err)
                }
            }
        }
    };
    assert!(
        refusal.to_lowercase().contains("certificate"),
        "expected a certificate error, got {refusal}"
    );

    // And nothing is served in plain text: Go answers 400 to HTTP on a TLS port.
    let plain = format!("http://127.0.0.1:{}/health/ready", hydra.urls().admin_port);
    let status = trusting.get(plain).send().await?.status();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn a_panicking_test_stops_hydra_and_keeps_its_log() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin_port = hydra.urls().admin_port;
    let log_path = hydra.log_path().to_owned();

    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _owned_by_the_failing_test = hydra;
        panic!("deliberate panic to exercise the harness's cleanup");
    }));

    assert!(outcome.is_err());
    assert!(
        port_refuses(admin_port),
        "Hydra still listens after the panic"
    );
    assert!(log_path.is_file(), "the log of a failed test must be kept");
    Ok(())
}

const CHILD_ENV: &str = "HYDRA_TESTS_WATCHDOG_CHILD";

/// Runs this test binary again as a child that starts Hydra, then SIGKILLs the child, so no
/// Drop runs; the launcher's watchdog must end Hydra.
#[tokio::test]
async fn hydra_dies_with_a_killed_test_process() -> TestResult {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "harness::watchdog_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("child has no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix("ADMIN_PORT=") {
                let _ = tx.send(port.trim().parse::<u16>());
                return;
            }
        }
    });
    let received = rx.recv_timeout(Duration::from_secs(300));
    child.kill()?;
    child.wait()?;
    let admin_port =
        received.map_err(|e| format!("the child never reported Hydra's port: {e}"))??;
    assert!(
        wait_until_refused(admin_port, Duration::from_secs(15)),
        "Hydra on admin port {admin_port} outlived its killed parent"
    );
    Ok(())
}

/// Helper of `hydra_dies_with_a_killed_test_process`, run only as its child.
#[tokio::test]
#[ignore = "a helper process for hydra_dies_with_a_killed_test_process"]
async fn watchdog_child() -> TestResult {
    if std::env::var_os(CHILD_ENV).is_none() {
        return Err(format!("run only as a child process, with {CHILD_ENV} set").into());
    }
    let hydra = TestHydra::start().await?;
    println!("ADMIN_PORT={}", hydra.urls().admin_port);
    // Bounded: the parent kills this process long before.
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(hydra);
    Ok(())
}
