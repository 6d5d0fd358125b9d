//! A throwaway PostgreSQL cluster for Hydra: `initdb` in a temporary directory, `pg_ctl start` on
//! a free loopback port with trust authentication, a database per Hydra set, `hydra migrate sql
//! up`, and `pg_ctl stop` plus removal of the directory on drop.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: there every PostgreSQL command runs as
//! the `postgres` user (`runuser -u postgres --`, Debian's `postgresql` package creates it) on a
//! directory handed to that user. Without root it runs as the current user.

use std::env;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::log::{log_to, tail};
use crate::ports::free_ports;
use crate::run::{make_temp_dir, status_within};
use crate::Error;

const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Hydra's migrations take a few seconds; this only stops one that hangs.
const MIGRATE_TIMEOUT: Duration = Duration::from_secs(300);
const LOG_TAIL_LINES: usize = 30;

/// Where PostgreSQL's programs are: `PG_BIN_DIR`, else the newest `/usr/lib/postgresql/*/bin`
/// (Debian keeps `initdb` and `pg_ctl` off PATH), else the directory of an `initdb` on PATH.
/// The error says how to install it.
pub fn postgres_bin_dir() -> Result<PathBuf, Error> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = env::var_os("PG_BIN_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if has_initdb(&dir) {
            Ok(dir)
        } else {
            Err(Error::Postgres(format!(
                "PG_BIN_DIR is {}, which has no initdb and pg_ctl",
                dir.display()
            )))
        };
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_initdb(bin))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Ok(dir);
    }
    let on_path = env::var_os("PATH")
        .map(|paths| env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.is_absolute() && has_initdb(dir));
    on_path.ok_or_else(|| {
        Error::Postgres(
            "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on PATH): \
             `apt-get install -y postgresql` (Debian, Ubuntu), or set PG_BIN_DIR"
                .to_owned(),
        )
    })
}

/// A running throwaway cluster. Dropping it stops PostgreSQL and removes its directory.
pub struct Postgres {
    bin_dir: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
    running: bool,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// `initdb` and `pg_ctl start` on a free port of 127.0.0.1; waits until it accepts
    /// connections. Retries on new ports when another process took the port first.
    pub fn start() -> Result<Postgres, Error> {
        let bin_dir = postgres_bin_dir()?;
        let dir = make_temp_dir("hydra-postgres")?;
        let as_postgres_user = fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let mut postgres = Postgres {
            bin_dir,
            dir,
            port: 0,
            as_postgres_user,
            running: false,
        };
        if as_postgres_user {
            let status = Command::new("chown")
                .arg("postgres")
                .arg(&postgres.dir)
                .status()
                .map_err(|e| Error::io("running chown postgres", e))?;
            if !status.success() {
                return Err(Error::Postgres(format!(
                    "chown postgres {} failed ({status}): is there a `postgres` user?",
                    postgres.dir.display()
                )));
            }
        }
        postgres.run(
            "initdb",
            &[
                "-D",
                &postgres.data_dir(),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        for attempt in 1..=3 {
            let [port] = free_ports()?;
            postgres.port = port;
            match postgres.pg_ctl_start() {
                Ok(()) => break,
                Err(e) if attempt < 3 && postgres.log_tail().contains("already in use") => {
                    eprintln!("hydra-launcher: PostgreSQL lost port {port}, retrying: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(postgres)
    }

    fn pg_ctl_start(&mut self) -> Result<(), Error> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("postgres.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        self.running = true;
        Ok(())
    }

    /// The port PostgreSQL listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL Hydra's `DSN` takes for `database` (trust authentication, no TLS on loopback).
    pub fn dsn(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// Creates an empty database.
    pub fn create_database(&self, name: &str) -> Result<(), Error> {
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name],
        )
    }

    /// Stops PostgreSQL (`pg_ctl stop -m fast`). Drop does this too.
    pub fn stop(&mut self) -> Result<(), Error> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "fast", "-w", "stop"],
        )
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        tail(&self.dir.join("postgres.log"), LOG_TAIL_LINES)
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs one of PostgreSQL's programs (as the `postgres` user when we are root), its output
    /// going to `commands.log`, which an error quotes.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), Error> {
        let log_path = self.dir.join("commands.log");
        let path = self.bin_dir.join(program);
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        command
            .args(args)
            // The postgres user may not be able to read the caller's working directory.
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        log_to(&mut command, &log_path, true)?;
        let status = status_within(&mut command, COMMAND_TIMEOUT)
            .map_err(|e| Error::io(format!("running {}", path.display()), e))?;
        if status.success() {
            return Ok(());
        }
        Err(Error::Postgres(format!(
            "{program} {} failed ({status}); its output ends with:\n{}\nthe server log ends with:\n{}",
            args.join(" "),
            tail(&log_path, LOG_TAIL_LINES),
            self.log_tail()
        )))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("hydra-launcher: could not stop PostgreSQL: {e}");
            // pg_ctl's own last resort: the server exits at once, without a checkpoint.
            let _ = self.run(
                "pg_ctl",
                &["-D", &self.data_dir(), "-m", "immediate", "stop"],
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `hydra migrate sql up -e --yes` with `DSN=dsn`: Hydra will not serve from an empty database.
pub fn migrate(bin: &Path, dsn: &str) -> Result<(), Error> {
    let dir = make_temp_dir("hydra-postgres")?;
    let log_path = dir.join("migrate.log");
    let result = (|| {
        let mut command = Command::new(bin);
        command
            .args(["migrate", "sql", "up", "-e", "--yes"])
            .env_clear()
            .env("DSN", dsn)
            .env("PATH", env::var_os("PATH").unwrap_or_default())
            .current_dir(&dir)
            .stdin(Stdio::null());
        log_to(&mut command, &log_path, false)?;
        let status = status_within(&mut command, MIGRATE_TIMEOUT)
            .map_err(|e| Error::io(format!("running {} migrate sql up", bin.display()), e))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::Postgres(format!(
                "{} migrate sql up -e --yes failed ({status}); its output ends with:\n{}",
                bin.display(),
                tail(&log_path, LOG_TAIL_LINES)
            )))
        }
    })();
    let _ = fs::remove_dir_all(&dir);
    result
}
