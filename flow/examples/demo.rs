//! The whole sequence against a running Hydra, one step at a time, as `cargo xtask demo` shows
//! it: register -> authorize -> token, the token redacted, its expiry and (for a JWT) its claims.
//!
//! Configured by the `HYDRA_*` variables of `flow::Config::from_env`; `RUST_LOG` sets the log
//! level. No secret is ever printed, whatever the level.

use std::process::ExitCode;
use std::time::SystemTime;

use base64::Engine as _;
use flow::ExposeSecret;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), flow::Error> {
    let config = flow::Config::from_env()?;
    println!("Hydra admin API:  {}", config.admin_url());
    println!("Hydra public API: {}", config.public_url());
    // A configured client id is looked up before anything is created.
    let lookup = config
        .client_id()
        .map(|id| format!("GET /admin/clients/{id}, if absent "))
        .unwrap_or_default();
    let flow = flow::Flow::new(config)?;

    println!("\n1. register  {lookup}POST /admin/clients");
    let registration = flow.register().await?;
    println!(
        "   client {} ({}), secret [redacted], registration access token {}",
        registration.client_id,
        if registration.created {
            "created"
        } else {
            "already registered, reused"
        },
        if registration.registration_access_token.is_some() {
            "[redacted]"
        } else {
            "none"
        },
    );

    if flow.config().authorizes() {
        println!("\n2. authorize GET /oauth2/auth");
        flow.authorize(&registration).await?;
        println!("   accepted: Hydra redirected into its login flow (not followed)");
    } else {
        println!("\n2. authorize skipped (HYDRA_AUTHORIZE=false)");
    }

    println!("\n3. token     POST /oauth2/token grant_type=client_credentials");
    let token = flow.token(&registration).await?;
    let secret = token.secret().expose_secret();
    println!(
        "   {} token [redacted, {} characters], scope {:?}",
        token.token_type(),
        secret.len(),
        token.scope().unwrap_or("")
    );
    if let (Some(lifetime), Some(at)) = (token.expires_in(), token.expires_at()) {
        let at = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        println!("   expires in {}s (at unix time {at})", lifetime.as_secs());
    }
    // A JWT's claims are not secret (anyone holding the token reads them); its signature and the
    // token as a whole are, and neither is printed.
    if let Some(claims) = jwt_claims(secret) {
        println!("   JWT claims: {claims}");
    } else {
        println!("   opaque token (set HYDRA_ACCESS_TOKEN_STRATEGY=jwt for a JWT)");
    }
    Ok(())
}

fn jwt_claims(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::to_string_pretty(&claims).ok()
}
