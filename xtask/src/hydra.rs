//! `cargo xtask hydra`: a local Ory Hydra for trying the SDK and flow by hand, configured exactly
//! like the one the integration tests start (both go through `hydra-launcher`).
//! `cargo xtask hydra-bin`: the binary's path, for CI and for running Hydra's own CLI.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use hydra_launcher::{Config, HydraProcess, Postgres, Release};

use crate::Result;

pub fn run(args: &[String]) -> Result {
    let options = Options::parse(args)?;
    let bin = find_or_build(&options.release)?;
    // Declared before Hydra so it is dropped (stopped, removed) after Hydra.
    let (config, postgres) = options.config(&bin)?;

    // Ctrl-C reaches Hydra too (same process group) and it starts shutting down by itself; the
    // handler only wakes us so we can wait for that and tidy up instead of dying first.
    let (tx, interrupted) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })?;

    let started = Instant::now();
    let mut hydra = config.start()?;
    // A human may want the log after stopping; the directory is theirs to delete.
    hydra.keep_log();
    let database = match &postgres {
        Some(postgres) => format!("PostgreSQL on 127.0.0.1:{}", postgres.port()),
        None => "DSN=memory".to_owned(),
    };
    println!(
        "Ory Hydra {} is ready ({:.1?}, binary {}, {database})",
        options.release.version,
        started.elapsed(),
        bin.path.display(),
    );
    print_urls(&hydra);
    println!("Press Ctrl-C to stop.");

    wait_for_ctrl_c(&mut hydra, &interrupted)?;
    eprintln!("stopping Hydra…");
    hydra.stop(Duration::from_secs(10))?;
    eprintln!("stopped; the log is kept at {}", hydra.log_path().display());
    Ok(())
}

/// `cargo xtask hydra`'s arguments.
struct Options {
    /// `KEY=VALUE` arguments: extra Hydra settings, passed as its environment.
    config_env: Vec<(String, String)>,
    /// `--public-port` and `--admin-port`, both or neither.
    ports: Option<(u16, u16)>,
    release: Release,
    on_postgres: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut config_env = Vec::new();
        let mut public_port = None;
        let mut admin_port = None;
        let mut release = Release::selected()?;
        let mut on_postgres = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--public-port" => public_port = Some(port(args.next(), arg)?),
                "--admin-port" => admin_port = Some(port(args.next(), arg)?),
                "--version" => release = version(args.next())?,
                "--postgres" => on_postgres = true,
                other => match other.split_once('=') {
                    Some((key, value)) if !key.is_empty() && !key.starts_with('-') => {
                        config_env.push((key.to_owned(), value.to_owned()));
                    }
                    _ => {
                        return Err(
                            format!("unexpected argument {other:?}; see cargo xtask help").into(),
                        )
                    }
                },
            }
        }
        let ports = match (public_port, admin_port) {
            (Some(public), Some(admin)) => Some((public, admin)),
            (None, None) => None,
            _ => return Err("give both --public-port and --admin-port, or neither".into()),
        };
        Ok(Options {
            config_env,
            ports,
            release,
            on_postgres,
        })
    }

    /// Hydra's configuration, and the PostgreSQL cluster it runs on if `--postgres` asked for one
    /// (created, with Hydra's schema migrated into it).
    fn config(&self, bin: &hydra_launcher::HydraBin) -> Result<(Config, Option<Postgres>)> {
        let mut config = Config::new(&bin.path);
        let postgres = if self.on_postgres {
            let postgres = Postgres::start()?;
            postgres.create_database("hydra")?;
            let dsn = postgres.dsn("hydra");
            hydra_launcher::migrate(&bin.path, &dsn)?;
            config = config.env("DSN", dsn);
            Some(postgres)
        } else {
            None
        };
        for (key, value) in &self.config_env {
            config = config.env(key, value);
        }
        if let Some((public, admin)) = self.ports {
            config = config.ports(public, admin);
        }
        Ok((config, postgres))
    }
}

fn print_urls(hydra: &HydraProcess) {
    let urls = hydra.urls();
    println!("  admin API:  {}", urls.admin);
    println!("  public API: {}", urls.public);
    println!("  issuer:     {}", urls.issuer);
    println!(
        "  login URL:  {}   consent URL: {}",
        urls.login, urls.consent
    );
    println!("  log:        {}", hydra.log_path().display());
}

/// Waits for Ctrl-C or for Hydra to exit, for as long as the developer wants it running; Hydra
/// exiting by itself is an error that shows the end of its log.
fn wait_for_ctrl_c(hydra: &mut HydraProcess, interrupted: &mpsc::Receiver<()>) -> Result {
    loop {
        match interrupted.recv_timeout(Duration::from_millis(500)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = hydra.try_wait()? {
                    return Err(format!(
                        "Hydra exited on its own ({status}); its log {} ends with:\n{}",
                        hydra.log_path().display(),
                        hydra.log_tail(30)
                    )
                    .into());
                }
            }
        }
    }
}

pub fn run_bin(args: &[String]) -> Result {
    let release = match args {
        [] => Release::selected()?,
        [flag, value] if flag == "--version" => version(Some(value))?,
        _ => return Err(format!("hydra-bin takes [--version vX], got {args:?}").into()),
    };
    let bin = find_or_build(&release)?;
    println!("{}", bin.path.display());
    Ok(())
}

/// Finds or builds Hydra `release`, saying on stderr which one is used.
pub fn find_or_build(release: &Release) -> Result<hydra_launcher::HydraBin> {
    let bin = hydra_launcher::find_or_build(release)?;
    eprintln!(
        "using Hydra {} from {}: {}",
        release.version,
        bin.source.describe(),
        bin.path.display()
    );
    Ok(bin)
}

/// Whether `release` can be had without a network-only source: found already, or built from an
/// archive that is there. v2.x comes from the Go module proxy, which is always tried.
pub fn available(release: &hydra_launcher::Release) -> std::result::Result<(), String> {
    if hydra_launcher::find(release).is_ok_and(|found| found.is_some()) {
        return Ok(());
    }
    match release.source_archive() {
        Some((archive, _)) if !archive.is_file() => Err(format!(
            "no Hydra {} binary, and its source archive is not at {}",
            release.version,
            archive.display()
        )),
        _ => Ok(()),
    }
}

fn version(value: Option<&String>) -> Result<Release> {
    let value = value.ok_or("--version needs a release, e.g. v26.2.0")?;
    Ok(Release::named(value)?)
}

fn port(value: Option<&String>, flag: &str) -> Result<u16> {
    let value = value.ok_or_else(|| format!("{flag} needs a port number"))?;
    Ok(value
        .parse()
        .map_err(|e| format!("{flag} {value:?}: {e}"))?)
}
