//! What the flow may do to clients in a real Hydra (v2.3.0): clients an admin made are used as
//! they are and never written; the flow's own clients are reconciled with a JSON Patch of the
//! fields it manages; registration is idempotent; recovery is bounded. Through `TokenSource` and
//! through the `hydra-token` program, as an operator would run them.

use std::error::Error;
use std::process::Output;
use std::time::Duration;

use flow::{AccessTokenStrategy, Config, TokenAuthMethod};
use hydra_sdk::{types, ApiResult as _, Client};
use hydra_tests::logs::Logs;
use hydra_tests::sdk::clients;
use hydra_tests::wire::WireRecorder;
use hydra_tests::TestHydra;
use serde_json::{json, Value};

type TestResult = Result<(), Box<dyn Error>>;

const BIN: &str = env!("CARGO_BIN_EXE_hydra-token");

/// The client as Hydra's admin API returns it, every field (`updated_at` included).
async fn get(hydra: &TestHydra, id: &str) -> Result<Value, Box<dyn Error>> {
    let response = hydra
        .http_client()?
        .get(format!("{}/admin/clients/{id}", hydra.admin_url()))
        .send()
        .await?;
    assert_eq!(response.status(), 200, "GET client {id}");
    Ok(response.json().await?)
}

/// A client as an admin makes one, through the SDK.
async fn admin_creates(hydra: &TestHydra, client: Value) -> TestResult {
    let client: types::OAuth2Client = serde_json::from_value(client)?;
    Client::admin(hydra.admin_url())?
        .create_oauth2_client()
        .body(client)
        .send()
        .await
        .api()?;
    Ok(())
}

/// A client-credentials token straight from Hydra with HTTP Basic: does this secret work?
async fn basic_token_status(
    hydra: &TestHydra,
    id: &str,
    secret: &str,
    scope: &str,
) -> Result<u16, Box<dyn Error>> {
    let response = hydra
        .http_client()?
        .post(format!("{}/oauth2/token", hydra.public_url()))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// Runs the program without blocking the runtime (the recording proxy runs on it).
async fn hydra_token(env: &[(&str, &str)], args: &[&str]) -> Result<Output, Box<dyn Error>> {
    let mut command = tokio::process::Command::new(BIN);
    command.args(args).env_clear();
    for (k, v) in env {
        command.env(k, v);
    }
    Ok(command.output().await?)
}

fn writes(recorder: &WireRecorder) -> Vec<String> {
    recorder
        .requests()
        .into_iter()
        .filter(|r| matches!(r.method.as_str(), "PUT" | "PATCH" | "DELETE"))
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect()
}

#[tokio::test]
async fn foreign_clients_are_used_as_they_are_and_never_changed() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "admin-made", "client_secret": "admin-made-secret",
            "client_name": "made by an admin", "owner": "ops", "contacts": ["ops@example.org"],
            "metadata": {"team": "ops"}, "grant_types": ["client_credentials"],
            "scope": "read write", "audience": ["https://smd.example.org"],
            "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "web-app", "client_secret": "web-app-secret",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types": ["code"], "redirect_uris": ["https://app.example.org/callback"],
            "scope": "openid offline read", "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await?;
    // Hydra's updated_at has one-second resolution: let a second pass so any write shows.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let secret_file = std::env::temp_dir().join(format!("ownership-{}.secret", std::process::id()));

    for (id, secret, audience) in [
        ("admin-made", "admin-made-secret", "https://smd.example.org"),
        ("web-app", "web-app-secret", ""),
    ] {
        let before = get(&hydra, id).await?;
        // hydra-token, the secret from a file as a container would mount it.
        std::fs::write(&secret_file, format!("{secret}\n"))?;
        let file = secret_file.to_string_lossy().into_owned();
        let env = [
            ("HYDRA_ADMIN_URL", admin.url()),
            ("HYDRA_PUBLIC_URL", hydra.public_url()),
            ("HYDRA_CLIENT_SECRET_FILE", file.as_str()),
            ("HYDRA_TOKEN_AUTH_METHOD", "client_secret_basic"),
            ("HYDRA_AUDIENCE", audience),
        ];
        for _ in 0..5 {
            let out = hydra_token(
                &env,
                &["--client-id", id, "--scope", "read", "--no-authorize"],
            )
            .await?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{id}: {stderr}");
        }
        // TokenSources, each a new process's worth of state.
        let mut config = Config::builder(admin.url(), hydra.public_url())
            .client_id(id)
            .client_secret(secret)
            .scope("read")
            .token_auth_method(TokenAuthMethod::ClientSecretBasic)
            .authorize(false);
        if !audience.is_empty() {
            config = config.audience([audience.to_string()]);
        }
        let config = config.build()?;
        for _ in 0..5 {
            let source = flow::TokenSource::new(config.clone())?;
            source.token().await?;
            source.shutdown().await?;
        }
        assert_eq!(get(&hydra, id).await?, before, "{id} changed");
        assert_eq!(basic_token_status(&hydra, id, secret, "read").await?, 200);
    }
    let _ = std::fs::remove_file(&secret_file);
    assert_eq!(writes(&admin), Vec::<String>::new());
    assert_eq!(clients(hydra.admin_url()).await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_wrong_secret_for_a_foreign_client_is_a_typed_error_and_changes_nothing() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "shared", "client_secret": "the-right-secret",
            "grant_types": ["client_credentials"], "scope": "read",
            "token_endpoint_auth_method": "client_secret_post",
        }),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = get(&hydra, "shared").await?;
    let config = Config::builder(admin.url(), hydra.public_url())
        .client_id("shared")
        .client_secret("a-wrong-secret")
        .scope("read")
        .authorize(false)
        .build()?;
    let err = flow::TokenSource::new(config)?
        .token()
        .await
        .expect_err("wrong secret");
    let flow::Error::ForeignClient { problems, fix, .. } = err.unshared() else {
        panic!("expected ForeignClient, got {err:?}");
    };
    assert!(
        problems[0].contains("rejected the configured client secret"),
        "{err}"
    );
    assert!(fix.contains("HYDRA_CLIENT_SECRET"), "{err}");
    assert!(!err.to_string().contains("a-wrong-secret"));

    // The program says the same, on one line, and changes nothing either.
    let env = [
        ("HYDRA_ADMIN_URL", admin.url()),
        ("HYDRA_PUBLIC_URL", hydra.public_url()),
        ("HYDRA_CLIENT_SECRET", "a-wrong-secret"),
    ];
    let out = hydra_token(
        &env,
        &["--client-id", "shared", "--scope", "read", "--no-authorize"],
    )
    .await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("is not managed by this library"),
        "{stderr}"
    );

    assert_eq!(get(&hydra, "shared").await?, before);
    assert_eq!(writes(&admin), Vec::<String>::new());
    let right = hydra
        .http_client()?
        .post(format!("{}/oauth2/token", hydra.public_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "shared"),
            ("client_secret", "the-right-secret"),
        ])
        .send()
        .await?;
    assert_eq!(right.status(), 200);
    Ok(())
}

#[tokio::test]
async fn a_foreign_client_without_client_credentials_is_a_typed_error_naming_the_fix() -> TestResult
{
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "login-app", "client_secret": "login-app-secret",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "redirect_uris": ["https://app.example.org/callback"], "scope": "openid offline",
            "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = get(&hydra, "login-app").await?;
    // A scope may hold `'` and `;` (RFC 6749 §3.3): the command must quote them for the shell.
    let config = Config::builder(admin.url(), hydra.public_url())
        .client_id("login-app")
        .client_secret("login-app-secret")
        .scope("read it's;$(touch${IFS}pwned)")
        .authorize(false)
        .build()?;
    let err = flow::acquire_token_with(&config)
        .await
        .expect_err("cannot serve");
    let flow::Error::ForeignClient { problems, fix, .. } = &err else {
        panic!("expected ForeignClient, got {err:?}");
    };
    let problems = problems.join("; ");
    for missing in [
        "grant_types",
        "client_credentials",
        "scope",
        "token_endpoint_auth_method",
    ] {
        assert!(problems.contains(missing), "{missing}: {problems}");
    }
    assert!(fix.starts_with("curl -X PATCH"), "{fix}");
    assert!(fix.contains("/admin/clients/login-app"), "{fix}");
    assert!(!fix.contains("login-app-secret"), "{fix}");
    assert_eq!(get(&hydra, "login-app").await?, before);
    assert_eq!(writes(&admin), Vec::<String>::new());

    // The command as a POSIX shell reads it (with a `curl` that prints its arguments), sent as it
    // says: then the client serves the configuration, and the shell ran nothing else.
    let dir = std::env::temp_dir().join(format!("flow-fix-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let shell = std::process::Command::new("sh")
        .current_dir(&dir)
        .arg("-c")
        .arg(format!("curl() {{ printf '%s\\0' \"$@\"; }}; {fix}"))
        .output()?;
    assert!(
        shell.status.success(),
        "{}",
        String::from_utf8_lossy(&shell.stderr)
    );
    assert!(
        !dir.join("pwned").exists(),
        "the command ran a command of the scope's: {fix}"
    );
    std::fs::remove_dir_all(&dir)?;
    let args: Vec<String> = String::from_utf8(shell.stdout)?
        .split('\0')
        .map(str::to_string)
        .collect();
    let arg_after = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        args.get(at + 1).cloned()
    };
    let (url, patch) = (arg_after("PATCH"), arg_after("-d"));
    let (Some(url), Some(patch)) = (url, patch) else {
        panic!("no URL or patch in {args:?}");
    };
    let patched = hydra
        .http_client()?
        .patch(&url)
        .header("content-type", "application/json")
        .body(patch)
        .send()
        .await?;
    assert_eq!(patched.status(), 200, "{}", patched.text().await?);
    let after = get(&hydra, "login-app").await?;
    assert_eq!(
        after["grant_types"],
        json!(["authorization_code", "refresh_token", "client_credentials"]),
        "their grants kept, the one needed added"
    );
    flow::acquire_token_with(&config).await?;
    Ok(())
}

#[tokio::test]
async fn owned_clients_are_reconciled_with_a_patch_of_managed_fields_only() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = WireRecorder::start(hydra.admin_url()).await?;
    let first = Config::builder(admin.url(), hydra.public_url())
        .client_id("evolving")
        .client_secret("evolving-secret")
        .scope("read")
        .audience(["https://old.example.org".to_string()])
        .access_token_strategy(AccessTokenStrategy::Jwt)
        .authorize(false)
        .build()?;
    flow::acquire_token_with(&first).await?;
    // An admin adds a redirect URI, contacts and a metadata key of their own.
    Client::admin(hydra.admin_url())?
        .patch_oauth2_client()
        .id("evolving")
        .body(serde_json::from_value::<types::JsonPatchDocument>(json!([
            {"op": "add", "path": "/redirect_uris", "value": ["https://admin.example.org/extra"]},
            {"op": "add", "path": "/contacts", "value": ["ops@example.org"]},
            {"op": "add", "path": "/metadata/team", "value": "ops"},
        ]))?)
        .send()
        .await
        .api()?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = get(&hydra, "evolving").await?;

    // The next release: another scope, no audience, Hydra's default token strategy.
    let second = Config::builder(admin.url(), hydra.public_url())
        .client_id("evolving")
        .client_secret("evolving-secret")
        .scope("read write")
        .authorize(false)
        .build()?;
    let (logs, guard) = Logs::capture(tracing::Level::INFO);
    let token = flow::acquire_token_with(&second).await?;
    drop(guard);
    assert_eq!(token.scope(), Some("read write"));
    // The log names every changed field, old -> new.
    let logs = logs.text();
    for line in [
        r#"field="access_token_strategy" old="jwt" new="""#,
        r#"field="scope" old="read" new="read write""#,
        r#"field="audience" old=["https://old.example.org"] new=[]"#,
    ] {
        assert!(logs.contains(line), "{line} not in:\n{logs}");
    }
    assert!(!logs.contains("evolving-secret"));
    let after = get(&hydra, "evolving").await?;

    assert_eq!(after["scope"], "read write");
    assert!(
        after["audience"].as_array().is_none_or(|a| a.is_empty()),
        "{after}"
    );
    assert!(
        after["access_token_strategy"]
            .as_str()
            .is_none_or(str::is_empty),
        "{after}"
    );
    // Only those fields (and the marker, and the time of the update) changed.
    let (Value::Object(before), Value::Object(after)) = (&before, &after) else {
        panic!("clients are objects");
    };
    let mut changed: Vec<&str> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .map(String::as_str)
        .collect();
    changed.sort_unstable();
    changed.dedup();
    assert_eq!(
        changed,
        [
            "access_token_strategy",
            "audience",
            "metadata",
            "scope",
            "updated_at"
        ]
    );
    assert_eq!(after["metadata"]["team"], "ops");
    assert_eq!(
        after["redirect_uris"],
        json!(["https://admin.example.org/extra"])
    );
    assert_eq!(after["contacts"], json!(["ops@example.org"]));
    assert_eq!(admin.count("PATCH", "/admin/clients/evolving"), 1);
    assert_eq!(admin.count("PUT", "/admin/clients/evolving"), 0);
    Ok(())
}

#[tokio::test]
async fn with_authorize_off_no_redirect_uris_or_response_types_are_registered() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("no-authorize")
        .scope("read")
        .authorize(false)
        .build()?;
    flow::acquire_token_with(&config).await?;
    let client = get(&hydra, "no-authorize").await?;
    for field in ["redirect_uris", "response_types"] {
        assert!(
            client[field].as_array().is_none_or(|a| a.is_empty()),
            "{field}: {client}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn taking_over_a_foreign_client_needs_the_opt_in_and_keeps_the_admins_fields() -> TestResult {
    let hydra = TestHydra::start().await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "handed-over", "client_secret": "handed-over-secret",
            "grant_types": ["authorization_code"], "scope": "openid",
            "contacts": ["ops@example.org"], "metadata": {"team": "ops"},
            "token_endpoint_auth_method": "client_secret_basic",
        }),
    )
    .await?;
    let config = || {
        Config::builder(hydra.admin_url(), hydra.public_url())
            .client_id("handed-over")
            .client_secret("handed-over-secret")
            .scope("read")
            .authorize(false)
    };
    // Off by default: refused, untouched.
    let before = get(&hydra, "handed-over").await?;
    let err = flow::acquire_token_with(&config().build()?)
        .await
        .expect_err("not ours");
    assert!(matches!(err, flow::Error::ForeignClient { .. }), "{err:?}");
    assert_eq!(get(&hydra, "handed-over").await?, before);

    // With the opt-in: managed fields patched, the marker added, the admin's fields kept.
    let token = flow::acquire_token_with(&config().take_over_foreign_client(true).build()?).await?;
    assert_eq!(token.scope(), Some("read"));
    let after = get(&hydra, "handed-over").await?;
    assert_eq!(
        after["grant_types"],
        json!(["authorization_code", "client_credentials"])
    );
    assert_eq!(after["scope"], "openid read");
    assert_eq!(after["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(after["contacts"], json!(["ops@example.org"]));
    assert_eq!(after["metadata"]["team"], "ops");
    assert_eq!(after["metadata"][flow::MARKER_KEY]["v"], 1);
    // From now on it is the flow's: a run without the opt-in uses it.
    flow::acquire_token_with(&config().build()?).await?;
    Ok(())
}

/// A proxy in front of the admin API (misconfigured, or hostile) that answers the shutdown's
/// `DELETE` of the flow's own client with a redirect to another client's URL. With an HTTP
/// client of the user's that follows redirects, the `DELETE` would be sent again there, and
/// Hydra would delete a client the flow does not own. It is not: the shutdown fails, saying why,
/// and both clients are still in Hydra.
#[tokio::test]
async fn a_redirected_delete_never_deletes_a_client_the_flow_does_not_own() -> TestResult {
    use hydra_tests::wire::Redirect;
    let hydra = TestHydra::start().await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "someone-else", "client_secret": "someone-else-secret",
            "grant_types": ["client_credentials"],
        }),
    )
    .await?;
    for status in [
        "307 Temporary Redirect",
        "308 Permanent Redirect",
        "302 Found",
    ] {
        // A client of its own each time: only the source that made a client deletes it.
        let mine = format!("mine-{}", &status[..3]);
        let admin = WireRecorder::start_redirecting(
            hydra.admin_url(),
            Redirect {
                method: "DELETE",
                path: format!("/admin/clients/{mine}"),
                status,
                location: "/admin/clients/someone-else".into(),
            },
        )
        .await?;
        let config = Config::builder(admin.url(), hydra.public_url())
            .client_id(&mine)
            .client_secret("mine-secret")
            .scope("read")
            .authorize(false)
            .delete_on_shutdown(true)
            .http_client(hydra_tests::client_following_redirects()?)
            .build()?;
        let source = flow::TokenSource::new(config)?;
        source.token().await?;
        let result = source.shutdown().await;
        assert_eq!(
            admin.count("DELETE", "/admin/clients/someone-else"),
            0,
            "{status}: {result:?}"
        );
        get(&hydra, "someone-else").await?;
        get(&hydra, &mine).await?;
        let err = result.expect_err("a redirect is not a delete");
        assert_eq!(err.stage(), Some(flow::Stage::Delete), "{status}: {err}");
        assert!(err.to_string().contains(&status[..3]), "{status}: {err}");
    }
    Ok(())
}

/// An administrator replaces the flow's client with one of their own under its id: the same
/// secret, without the scope the source asks for. Hydra refused the source's next token request
/// (`invalid_scope`), and that was all the source ever said. A refused token request now reads
/// the client again, which names it foreign and says what it lacks; the administrator's client
/// is not written.
#[tokio::test]
async fn a_client_replaced_by_an_administrators_own_is_named_foreign_on_the_next_fetch(
) -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("replaced")
        .client_secret("replaced-secret")
        .scope("read")
        .authorize(false)
        .build()?;
    let source = flow::TokenSource::new(config)?;
    let first = source.token().await?.into_arc();
    Client::admin(hydra.admin_url())?
        .delete_oauth2_client()
        .id("replaced")
        .send()
        .await
        .api()?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "replaced", "client_secret": "replaced-secret",
            "grant_types": ["client_credentials"], "scope": "other",
            "token_endpoint_auth_method": "client_secret_post",
        }),
    )
    .await?;
    assert!(source.invalidate(&first));
    let err = source.token().await.expect_err("not the flow's client");
    assert!(
        matches!(err.unshared(), flow::Error::ForeignClient { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("read"), "{err}");
    let client = Client::admin(hydra.admin_url())?
        .get_oauth2_client()
        .id("replaced")
        .send()
        .await
        .api()?;
    assert_eq!(client.scope.as_deref(), Some("other"));
    Ok(())
}

/// An instance without a configured secret (an operator's `hydra-token --client-id` run, say)
/// never replaces a secret the service's replicas set from their configuration, however long
/// ago. Past the quiet period it set a secret of its own, locking every replica out until one of
/// them set the configured secret back.
#[tokio::test]
async fn an_instance_without_a_secret_never_replaces_a_configured_one() -> TestResult {
    let hydra = TestHydra::start().await?;
    let configured = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("configured-secret")
        .client_secret("the-fleets-secret")
        .authorize(false)
        .build()?;
    flow::acquire_token_with(&configured).await?;
    secret_set_long_ago(&hydra, "configured-secret").await?;

    refused_without_a_secret(&hydra, "configured-secret", "the-fleets-secret").await
}

/// An instance of `id` without a configured secret is refused (`SecretHeldElsewhere`), and
/// `fleets_secret` still works, as Hydra holds it (no instance set it back).
async fn refused_without_a_secret(hydra: &TestHydra, id: &str, fleets_secret: &str) -> TestResult {
    let unconfigured = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id(id)
        .authorize(false)
        .build()?;
    let err = flow::acquire_token_with(&unconfigured)
        .await
        .expect_err("the fleet's secret is not this instance's to replace");
    assert!(
        matches!(err, flow::Error::SecretHeldElsewhere { .. }),
        "{err:?}"
    );
    assert_eq!(post_token_status(hydra, id, fleets_secret).await?, 200);
    Ok(())
}

/// A replica of the service whose client is `id`, configured with `secret`, without the
/// authorize step.
fn replica(hydra: &TestHydra, id: &str, secret: &str) -> flow::ConfigBuilder {
    Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id(id)
        .client_secret(secret)
        .authorize(false)
}

/// The client's marker says its secret was set long ago: an administrator's edit of the
/// marker's time (its revision left as it is), which stands in for the quiet period passing.
async fn secret_set_long_ago(hydra: &TestHydra, id: &str) -> TestResult {
    let admin = Client::admin(hydra.admin_url())?;
    let client = admin.get_oauth2_client().id(id).send().await.api()?;
    let mut metadata = serde_json::to_value(client.metadata.as_ref().ok_or("no metadata")?)?;
    metadata[flow::MARKER_KEY]["secret_set_at"] = json!(1_000_000_000u64);
    let patch: Vec<types::JsonPatch> = serde_json::from_value(json!([
        { "op": "replace", "path": "/metadata", "value": metadata },
    ]))?;
    admin
        .patch_oauth2_client()
        .id(id)
        .body(patch)
        .send()
        .await
        .api()?;
    Ok(())
}

/// A client-credentials token straight from Hydra with the credentials in the form: does this
/// secret work?
async fn post_token_status(
    hydra: &TestHydra,
    id: &str,
    secret: &str,
) -> Result<u16, Box<dyn Error>> {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", hydra.public_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// A secret of a higher version (a rotation) replaces the fleet's at once, and no older version
/// replaces it again, however long ago it was set: a replica left on the old secret, or rolled
/// back to it, is refused. One of the same version (a typo, a stale secret file) is refused for
/// the quiet period after the fleet's was set.
#[tokio::test]
async fn a_configured_secret_replaces_another_only_with_a_higher_version() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = |secret: &str, version: u64| {
        replica(&hydra, "versioned", secret)
            .client_secret_version(version)
            .build()
    };
    flow::acquire_token_with(&config("the-fleets-secret", 0)?).await?;
    let err = flow::acquire_token_with(&config("a-mistyped-secret", 0)?)
        .await
        .expect_err("the same version, within the quiet period");
    assert!(
        matches!(err, flow::Error::ConfiguredSecretsDiffer { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("mistyped or stale"), "{err}");
    assert_eq!(
        post_token_status(&hydra, "versioned", "the-fleets-secret").await?,
        200
    );

    flow::acquire_token_with(&config("the-rotated-secret", 1)?).await?;
    assert_eq!(
        post_token_status(&hydra, "versioned", "the-rotated-secret").await?,
        200
    );
    secret_set_long_ago(&hydra, "versioned").await?;
    let err = flow::acquire_token_with(&config("the-fleets-secret", 0)?)
        .await
        .expect_err("an older version, however long ago the newer was set");
    assert!(
        matches!(
            err,
            flow::Error::ConfiguredSecretsDiffer {
                holder_version: 1,
                version: 0,
                ..
            }
        ),
        "{err:?}"
    );
    // The replica left behind is told to take the new secret, not to raise its version.
    assert!(
        err.to_string().contains("out of date") && err.to_string().contains("version-1 secret"),
        "{err}"
    );
    assert_eq!(
        post_token_status(&hydra, "versioned", "the-rotated-secret").await?,
        200
    );
    Ok(())
}

/// A replica with the fleet's secret, refused because the secret was changed outside the flow
/// (the marker left alone), gets its secret back once the quiet period after the marker's last
/// setting is over. With "a configured secret of the same version is never replaced", it stayed
/// refused for good, as `ConfiguredSecretsDiffer`, even after the secret was put back: every
/// restart makes an instance "another" to the one that set the secret.
#[tokio::test]
async fn a_replica_refused_by_a_secret_changed_outside_the_flow_sets_it_after_the_quiet_period(
) -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("changed-outside")
        .client_secret("the-fleets-secret")
        .authorize(false)
        .build()?;
    flow::acquire_token_with(&config).await?;
    let patch: Vec<types::JsonPatch> = serde_json::from_value(json!([
        { "op": "replace", "path": "/client_secret", "value": "changed-by-hand" },
    ]))?;
    Client::admin(hydra.admin_url())?
        .patch_oauth2_client()
        .id("changed-outside")
        .body(patch)
        .send()
        .await
        .api()?;
    let err = flow::acquire_token_with(&config)
        .await
        .expect_err("within the quiet period");
    assert!(
        matches!(err, flow::Error::ConfiguredSecretsDiffer { .. }),
        "{err:?}"
    );
    secret_set_long_ago(&hydra, "changed-outside").await?;
    flow::acquire_token_with(&config).await?;
    assert_eq!(
        post_token_status(&hydra, "changed-outside", "the-fleets-secret").await?,
        200
    );
    Ok(())
}

/// A client taken over by a replica configured with its secret keeps that secret as the
/// replica's configured one: a replica with another configured secret (of the same version)
/// replaced it at once, as if it were a generated one, locking the fleet out.
#[tokio::test]
async fn a_taken_over_clients_kept_secret_is_protected_as_a_configured_one() -> TestResult {
    let hydra = TestHydra::start().await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "taken-kept", "client_secret": "the-fleets-secret",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        }),
    )
    .await?;
    let config = |secret: &str| {
        replica(&hydra, "taken-kept", secret)
            .take_over_foreign_client(true)
            .build()
    };
    flow::acquire_token_with(&config("the-fleets-secret")?).await?;
    let err = flow::acquire_token_with(&config("a-mistyped-secret")?)
        .await
        .expect_err("the fleet's configured secret, set moments ago");
    assert!(
        matches!(err, flow::Error::ConfiguredSecretsDiffer { .. }),
        "{err:?}"
    );
    assert_eq!(
        post_token_status(&hydra, "taken-kept", "the-fleets-secret").await?,
        200
    );
    Ok(())
}

/// A client taken over with the fleet's configured secret (which the take-over keeps, unset) is
/// no client whose secret an instance without one may replace: its marker said "generated, set
/// long ago", and an operator's one-off run without the secret rotated it, locking the fleet out.
#[tokio::test]
async fn a_taken_over_clients_kept_secret_is_not_replaced_by_an_instance_without_one() -> TestResult
{
    let hydra = TestHydra::start().await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "taken", "client_secret": "the-fleets-secret",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        }),
    )
    .await?;
    let replica = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("taken")
        .client_secret("the-fleets-secret")
        .take_over_foreign_client(true)
        .authorize(false)
        .build()?;
    flow::acquire_token_with(&replica).await?;
    refused_without_a_secret(&hydra, "taken", "the-fleets-secret").await
}

/// A source given a registration (`with_registration`) holds its secret there, not in its
/// configuration: reading the client again after Hydra refused the scope judged it by the
/// configuration (no secret) and reported that, hiding Hydra's `invalid_scope`.
#[tokio::test]
async fn a_refusal_for_a_given_registration_is_reported_as_hydra_said() -> TestResult {
    let hydra = TestHydra::start().await?;
    admin_creates(
        &hydra,
        json!({
            "client_id": "given", "client_secret": "given-secret",
            "grant_types": ["client_credentials"], "scope": "other",
            "token_endpoint_auth_method": "client_secret_post",
        }),
    )
    .await?;
    let config = Config::builder(hydra.admin_url(), hydra.public_url())
        .client_id("given")
        .scope("read")
        .authorize(false)
        .build()?;
    let registration = flow::Registration {
        client_id: "given".into(),
        client_secret: flow::Secret::from("given-secret"),
        registration_access_token: None,
        token_auth_method: TokenAuthMethod::ClientSecretPost,
        created: false,
    };
    let source = flow::TokenSource::with_registration(config, registration)?;
    let err = source.token().await.expect_err("scope refused");
    assert_eq!(err.oauth2_error(), Some("invalid_scope"), "{err}");
    Ok(())
}

/// The first replica configured with a secret of a higher version sets it at once, before any
/// token request: it had to be refused first (`invalid_client`), wait the re-registration
/// backoff and spend one of the re-registrations a source may make in ten minutes.
#[tokio::test]
async fn a_rotation_sets_the_new_secret_without_a_refusal_first() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = |secret: &str, version: u64| {
        replica(&hydra, "rotated", secret)
            .client_secret_version(version)
            .build()
    };
    flow::acquire_token_with(&config("old-secret", 0)?).await?;
    let source = flow::TokenSource::new(config("new-secret", 1)?)?;
    source.token().await?;
    let status = source.status();
    assert_eq!(status.reregistrations, 0, "{status}");
    assert_eq!(status.token_requests, 1, "{status}");
    assert!(status.last_error.is_none(), "{status}");
    Ok(())
}

/// A replica configured with a mistyped secret (the fleet's version) is refused while the
/// fleet's client exists; when the client is gone (Hydra forgot it, an administrator deleted
/// it), it must not be the one to make it again, with its secret: it raced the correctly
/// configured replicas, which notice only at their next refresh, and won, locking them all out.
#[tokio::test]
async fn a_replica_whose_secret_differs_does_not_make_the_lost_client_again() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = |secret: &str| replica(&hydra, "lost", secret).build();
    flow::acquire_token_with(&config("the-fleets-secret")?).await?;
    let mistyped = flow::TokenSource::new(config("the-fleets-secreT")?)?;
    let err = mistyped
        .token()
        .await
        .expect_err("another configured secret");
    assert!(
        matches!(err.unshared(), flow::Error::ConfiguredSecretsDiffer { .. }),
        "{err:?}"
    );
    Client::admin(hydra.admin_url())?
        .delete_oauth2_client()
        .id("lost")
        .send()
        .await
        .api()?;
    // Past the hold-off of the first failure (1 s), the next call registers again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = mistyped
        .token()
        .await
        .expect_err("not this replica's client to make");
    assert!(
        matches!(err.unshared(), flow::Error::ConfiguredSecretsDiffer { .. }),
        "{err:?}"
    );
    assert!(clients(hydra.admin_url()).await?.is_empty());
    // A replica with the fleet's secret makes it again.
    flow::acquire_token_with(&config("the-fleets-secret")?).await?;
    Ok(())
}

/// A correct replica refused twice (a mistyped replica held the client past the quiet period)
/// tries the client as it is again once another correct replica has put the fleet's secret back:
/// the marker's secret record changed since it was refused. It tried a client as it is only
/// after its first refusal, so it took the fleet's own secret for a conflicting one and was
/// refused for another quiet period, though Hydra held its secret.
#[tokio::test]
async fn a_replica_refused_twice_uses_the_fleets_secret_once_it_is_back() -> TestResult {
    let hydra = TestHydra::start().await?;
    let config = |secret: &str| replica(&hydra, "put-back", secret).build();
    flow::acquire_token_with(&config("the-fleets-secret")?).await?;
    // A mistyped replica, past the quiet period, sets its own.
    secret_set_long_ago(&hydra, "put-back").await?;
    flow::acquire_token_with(&config("the-fleets-secreT")?).await?;
    let a = flow::TokenSource::new(config("the-fleets-secret")?)?;
    let c = flow::TokenSource::new(config("the-fleets-secret")?)?;
    let (refused_a, refused_c) = tokio::join!(a.token(), c.token());
    assert!(refused_a.is_err() && refused_c.is_err());
    // A quiet period later, another correct replica takes the client back.
    secret_set_long_ago(&hydra, "put-back").await?;
    flow::acquire_token_with(&config("the-fleets-secret")?).await?;
    // Past the hold-off of the failures so far (1 s, then 2 s).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (again_a, again_c) = tokio::join!(a.token(), c.token());
    assert!(again_a.is_ok(), "{:?}", again_a.err());
    assert!(again_c.is_ok(), "{:?}", again_c.err());
    Ok(())
}
