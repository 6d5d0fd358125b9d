//! `cargo xtask <task>`: the project's developer tasks, one binary with a subcommand each
//! (the cargo-xtask pattern). Each task lives in its own module with a `run(args)` entry point.
#![forbid(unsafe_code)]

mod bench;
mod bench_plot;
mod bench_report;
mod bench_stats;
mod bench_token;
mod demo;
mod hydra;
mod regen;
mod test;

use std::process::ExitCode;

/// Tasks return any error; `main` prints it and exits non-zero.
type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "\
usage: cargo xtask <task> [args]

tasks:
  demo                      start a local Hydra, get a token through the flow crate, show each
                            step (the token redacted)
  test                      fmt --check, clippy -D warnings, test (against a real Hydra), doc,
                            package (the published crates); what .ci/run runs
  hydra [KEY=VALUE ...]     run Ory Hydra on loopback until Ctrl-C; KEY=VALUE are extra
                            Hydra settings, e.g. STRATEGIES_ACCESS_TOKEN=jwt
        [--version vX]      v26.2.0 (default, from its source archive) or v2.3.0 (Go proxy)
        [--postgres]        on a throwaway PostgreSQL cluster instead of DSN=memory
        [--public-port N] [--admin-port N]
  bench [--quick]           flow's token source side by side with Go's x/oauth2 against one
        [--json PATH]       Hydra: cached reads, refreshes, 1000 cold callers, cold acquire,
        [--plot PATH]       memory; --json writes the figures, --plot the latency SVG
  bench-build [--rounds N]  clean-build time of hydra-sdk side by side with ory-hydra-client
                            26.2.0, and the rebuild after a one-line spec change
  hydra-bin [--version vX]  print the path of the Hydra binary, building it first if needed
  regen --version vX.Y.Z    move the SDK to another Hydra spec and show what changed; --check
        [--from URL|FILE]   verifies the pinned spec and surface (see cargo xtask regen --help)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => {
            eprint!("{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let result = match task {
        "demo" => demo::run(rest),
        "bench" => bench_token::run(rest),
        "bench-build" => bench::run(rest),
        "test" => test::run(rest),
        "hydra" => hydra::run(rest),
        "hydra-bin" => hydra::run_bin(rest),
        "regen" => regen::run(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task {other:?}\n\n{USAGE}").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
