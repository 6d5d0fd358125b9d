//! `hydra-token`: prints an OAuth2 access token from Ory Hydra, for shell scripts.
//!
//! What OpenCHAMI's quickstart does with bash and curl (register a client, request a token,
//! cut it out of the JSON), as one command that keeps secrets out of the process list and logs.
//! Settings come from the `HYDRA_*` variables of `flow::Config::from_env`; flags override them.
//! The client secret is read only from `HYDRA_CLIENT_SECRET` or the file named by
//! `HYDRA_CLIENT_SECRET_FILE`, never from a flag, since command lines are visible to every user
//! of the machine.

use std::collections::HashMap;
use std::process::ExitCode;

use flow::ExposeSecret;

const USAGE: &str = "\
Prints an OAuth2 client-credentials access token from Ory Hydra.

Usage: hydra-token [OPTIONS]

Options (each overrides the environment variable named beside it):
  --admin-url URL          Hydra's admin API                 HYDRA_ADMIN_URL
  --public-url URL         Hydra's public API                HYDRA_PUBLIC_URL
  --client-id ID           a stable client id                HYDRA_CLIENT_ID
  --client-name NAME       the client's name                 HYDRA_CLIENT_NAME
  --scope SCOPES           space-separated scopes            HYDRA_SCOPE
  --audience AUDIENCES     space-separated audiences         HYDRA_AUDIENCE
  --auth-method METHOD     client_secret_post|client_secret_basic
                                                             HYDRA_TOKEN_AUTH_METHOD
  --ca-file PATH           extra CA certificates (PEM)       HYDRA_CA_FILE
  --jwt                    register the client for JWT access tokens
                                                             HYDRA_ACCESS_TOKEN_STRATEGY=jwt
  --no-authorize           skip the authorize step           HYDRA_AUTHORIZE=false
  --json                   print the token response as JSON (access_token, token_type,
                           expires_in, expires_at, scope) instead of the bare token
  -h, --help               this text

The client secret comes only from HYDRA_CLIENT_SECRET, or from the file named by
HYDRA_CLIENT_SECRET_FILE (a small regular file; a trailing newline is trimmed). A client
this tool did not create is used as it is and never changed. On failure: a one-line reason on
stderr, exit status 1; a usage error exits with 2.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match parse(&args) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("hydra-token: {why} (see --help)");
            return ExitCode::from(2);
        }
    };
    if parsed.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    // Logs go to stderr, warnings and up unless RUST_LOG says otherwise; stdout is the token.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hydra-token: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&parsed)) {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One line, whatever the error's own formatting.
            eprintln!("hydra-token: {}", e.to_string().replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Default)]
struct Args {
    /// Environment variable -> value, from flags.
    overrides: HashMap<&'static str, String>,
    json: bool,
    help: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let variable =
            match flag {
                "-h" | "--help" => {
                    parsed.help = true;
                    continue;
                }
                "--json" => {
                    parsed.json = true;
                    continue;
                }
                "--jwt" => {
                    parsed
                        .overrides
                        .insert("HYDRA_ACCESS_TOKEN_STRATEGY", "jwt".into());
                    continue;
                }
                "--no-authorize" => {
                    parsed.overrides.insert("HYDRA_AUTHORIZE", "false".into());
                    continue;
                }
                "--admin-url" => "HYDRA_ADMIN_URL",
                "--public-url" => "HYDRA_PUBLIC_URL",
                "--client-id" => "HYDRA_CLIENT_ID",
                "--client-name" => "HYDRA_CLIENT_NAME",
                "--scope" => "HYDRA_SCOPE",
                "--audience" => "HYDRA_AUDIENCE",
                "--auth-method" => "HYDRA_TOKEN_AUTH_METHOD",
                "--ca-file" => "HYDRA_CA_FILE",
                "--client-secret" => return Err(
                    "--client-secret is not accepted: command lines are visible to other users; \
                     set HYDRA_CLIENT_SECRET or HYDRA_CLIENT_SECRET_FILE"
                        .into(),
                ),
                other => return Err(format!("unknown argument `{other}`")),
            };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))?,
        };
        parsed.overrides.insert(variable, value);
    }
    Ok(parsed)
}

async fn run(args: &Args) -> Result<String, flow::Error> {
    let config = flow::Config::from_env_with(|name| {
        args.overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    })?;
    let token = flow::acquire_token_with(&config).await?;
    let access_token = token.secret().expose_secret();
    if !args.json {
        return Ok(access_token.to_string());
    }
    // Only what the caller asked for: no client secret, no registration access token.
    let expires_at = token
        .expires_at()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    Ok(serde_json::json!({
        "access_token": access_token,
        "token_type": token.token_type(),
        "expires_in": token.expires_in().map(|d| d.as_secs()),
        "expires_at": expires_at,
        "scope": token.scope(),
    })
    .to_string())
}
