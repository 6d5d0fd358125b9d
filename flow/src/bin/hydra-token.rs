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

use flow::settings::{Flag, SETTINGS};

const ABOUT: &str = "\
Prints an OAuth2 client-credentials access token from Ory Hydra.

Usage: hydra-token [OPTIONS]

Options (each overrides the environment variable named beside it):";

const MORE: &str = "  --json
      print the token as JSON (access_token, token_type, scope, and expires_in and expires_at
      as the flow counts them: 300 s when Hydra sent no expires_in, at most a day) instead of
      the bare token
  -h, --help
      this text
  -V, --version
      the version of hydra-token

The client secret comes only from HYDRA_CLIENT_SECRET, or from the file named by
HYDRA_CLIENT_SECRET_FILE (a regular file of at most 4 KiB, this user's or root's and writable
by no one else; a trailing newline is trimmed). Without --client-id each run registers a new
client, and nothing deletes it. A client this library did not create is used as it is and
never changed (unless --take-over-foreign-client); one it did (a service's, run with its
--client-id) has its managed settings (scope, name, ...) reconciled to this run's, so give the
same settings as the service. The configured secret is set on such a client by the service's
rules: at once with a higher --client-secret-version, at the same version once the client's
secret has been unchanged for 10 minutes; a stale secret file can so lock the service out until
its replicas set theirs again. Warnings (each retry, say) go to stderr, at the
level RUST_LOG sets (default: warn), coloured only on a terminal and without NO_COLOR. On
failure: a one-line reason as the last line on stderr, exit status 1 (an invalid value too); a
usage error (an unknown or refused flag, a flag without its value) exits with 2. SIGTERM,
SIGINT or SIGHUP stops a run at once, as PID 1 of a container too, with the exit status
128 + the signal's number (143 for SIGTERM).";

/// The help text: the options come from flow's settings table, so they cannot drift from it.
fn usage() -> String {
    let mut text = format!("{ABOUT}\n");
    for setting in SETTINGS {
        let lines: Vec<String> = (setting.flags.iter())
            .filter_map(|flag| match *flag {
                Flag::Value { flag, placeholder } => Some(format!(
                    "{:<36}{}",
                    format!("{flag} {placeholder}"),
                    setting.env
                )),
                Flag::Switch { flag, value } => Some(format!("{flag:<36}{}={value}", setting.env)),
                _ => None,
            })
            .collect();
        if lines.is_empty() {
            continue; // the secret: never a flag
        }
        for line in lines {
            text.push_str(&format!("  {line}\n"));
        }
        let doc = format!("{} (default: {})", setting.doc, setting.default_text());
        text.push_str(&wrap(&doc.replace('`', ""), "      ", 96));
    }
    text + MORE
}

/// `text` in lines of at most `width` characters (a longer word stays whole), each indented.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split(' ') {
        if line.len() > indent.len() && line.len() + 1 + word.len() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out + &line + "\n"
}

/// `text` on one line: a newline becomes a space, any other character that would rewrite the
/// line (a control or bidirectional formatting character) its escape.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => " ".to_string(),
            c if hydra_sdk::rewrites_text(c) => c.escape_default().collect(),
            c => c.to_string(),
        })
        .collect()
}

/// One line to stderr. Not `eprintln!`, which panics when stderr is closed (`|& head -0`): the
/// exit status still tells a script what happened.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "hydra-token: {line}");
}

fn main() -> ExitCode {
    // Not `std::env::args`, which panics on an argument that is not valid UTF-8.
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let parsed = match args
        .map_err(|_| "an argument is not valid UTF-8".to_string())
        .and_then(|args| parse(&args))
    {
        Ok(parsed) => parsed,
        Err(why) => {
            say(&format!("{why} (see --help)"));
            return ExitCode::from(2);
        }
    };
    if parsed.help {
        return print(&usage());
    }
    if parsed.version {
        return print(concat!("hydra-token ", env!("CARGO_PKG_VERSION")));
    }
    // Logs go to stderr, warnings and up unless RUST_LOG says otherwise; stdout is the token.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, and not there either with NO_COLOR set: a pipe or a
        // log file gets plain text.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        // A log line it cannot write would be reported with `eprintln!`, which panics when
        // stderr is closed.
        .log_internal_errors(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            say(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = run(&parsed) => Ok(result),
            stopped = stop_signal() => Err(stopped),
        }
    });
    // Without waiting for the runtime's blocking threads: a DNS lookup still running there (the
    // C library's resolver, which nothing can cancel) would hold the exit past the deadline
    // for as long as the resolver takes to give up.
    runtime.shutdown_background();
    match result {
        Err((name, status)) => {
            say(&format!("stopped by {name}"));
            ExitCode::from(status)
        }
        Ok(Ok(output)) => print(&output),
        Ok(Err(e)) => {
            // One line, whatever the error's own formatting, and no control character a
            // peer's text could carry into the terminal.
            say(&one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// The first of SIGTERM (`docker stop`, `kubectl delete pod`), SIGINT (Ctrl-C) and SIGHUP, with
/// the exit status a shell gives a process that signal kills (128 + its number). The run is
/// dropped where it stands: each write to Hydra is one request, so none is left half done. The
/// kernel's default, termination, does this too, but not for PID 1 of a namespace (a container's
/// entrypoint, an init container), which ignores every signal it has no handler for: there a run
/// went on to its deadline whatever `docker stop` sent.
#[cfg(unix)]
async fn stop_signal() -> (&'static str, u8) {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind| async move {
        match signal(kind) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            // Not listened for, so left to the kernel's default action.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = listen(SignalKind::terminate()) => ("SIGTERM", 128 + 15),
        () = listen(SignalKind::interrupt()) => ("SIGINT", 128 + 2),
        () = listen(SignalKind::hangup()) => ("SIGHUP", 128 + 1),
    }
}

#[cfg(not(unix))]
async fn stop_signal() -> (&'static str, u8) {
    match tokio::signal::ctrl_c().await {
        Ok(()) => ("Ctrl-C", 128 + 2),
        Err(_) => std::future::pending().await,
    }
}

/// Writes `text` to stdout; a closed pipe (`hydra-token --help | head -1`) is a failure with a
/// reason, not the panic `println!` would give.
fn print(text: &str) -> ExitCode {
    use std::io::Write as _;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("cannot write to stdout: {e}"));
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
    version: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        // A switch's value is fixed: `--take-over-foreign-client=false` read as the switch alone
        // would do the opposite of what was written.
        let no_value = || match inline {
            Some(_) => Err(format!("{flag} takes no value")),
            None => Ok(()),
        };
        let variable = match flag {
            "-h" | "--help" => {
                no_value()?;
                parsed.help = true;
                continue;
            }
            "-V" | "--version" => {
                no_value()?;
                parsed.version = true;
                continue;
            }
            "--json" => {
                no_value()?;
                parsed.json = true;
                continue;
            }
            _ => match find(flag) {
                Some((env, Flag::Value { .. })) => env,
                Some((env, Flag::Switch { value, .. })) => {
                    no_value()?;
                    parsed.overrides.insert(env, value.into());
                    continue;
                }
                Some((_, Flag::Refused { reason, .. })) => {
                    return Err(format!("{flag} is not accepted: {reason}"))
                }
                _ => return Err(format!("unknown argument `{flag}`")),
            },
        };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))?,
        };
        // `--client-id "$ID"` with `ID` unset would read as no client id (a new client each
        // run), and `--client-id --json` took `--json` as the id.
        if value.trim().is_empty() {
            return Err(format!("{flag} needs a value, and was given an empty one"));
        }
        if value.starts_with("--") && (find(&value).is_some() || value == "--json") {
            return Err(format!(
                "{flag} needs a value, and was given the flag {value}"
            ));
        }
        parsed.overrides.insert(variable, value);
    }
    Ok(parsed)
}

/// The variable a flag sets, and the flag, from flow's settings table.
fn find(flag: &str) -> Option<(&'static str, Flag)> {
    SETTINGS.iter().find_map(|setting| {
        let found = setting.flags.iter().find(|f| f.flag() == flag)?;
        Some((setting.env, *found))
    })
}

async fn run(args: &Args) -> Result<String, flow::Error> {
    // A variable a flag overrides is not read, so its value need not be valid UTF-8.
    let env = flow::settings::process_env(|name| args.overrides.contains_key(name))?;
    let config = flow::Config::from_env_with(|name| {
        let value = args.overrides.get(name).cloned();
        value.or_else(|| env.get(name).map(|v| String::clone(v)))
    })?;
    if config.client_id().is_none() {
        say(
            "warning: without --client-id (HYDRA_CLIENT_ID) each run registers a new client in \
             Hydra, and nothing deletes it",
        );
    }
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
