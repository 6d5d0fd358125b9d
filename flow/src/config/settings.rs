//! Every setting a service can give from outside the code, declared once: its `HYDRA_*`
//! variable, its `hydra-token` flags, one line of documentation, its default, and how a value
//! is read. [`Config::from_env_with`], the names in configuration errors, `hydra-token`'s flags
//! and its `--help`, and the settings table in the README (checked by a test) all come from
//! [`SETTINGS`]. A new setting is one entry here (plus its field in `config.rs` and a test).

use std::path::Path;
use std::time::Duration;

use hydra_sdk::Secret;
use zeroize::Zeroizing;

use super::secret_file::read_secret_file;
use super::{AccessTokenStrategy, Config, ConfigBuilder, TokenAuthMethod, DEFAULT_REDIRECT_URI};
use crate::bounds::shown;
use crate::Error;

/// One setting: a `HYDRA_*` environment variable and what reads it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Setting {
    /// The environment variable [`Config::from_env`] reads.
    pub env: &'static str,
    /// The setting's name in errors from [`ConfigBuilder::build`]: the builder method or the
    /// argument of [`Config::builder`] that sets it (`client_secret_file` has neither: only
    /// [`Config::from_env`] reads the file). Errors from [`Config::from_env`] name
    /// [`Setting::env`] instead.
    pub name: &'static str,
    /// `hydra-token`'s flags for it.
    pub flags: &'static [Flag],
    /// What it means: one line of Markdown.
    pub doc: &'static str,
    default: Unset,
    /// Another variable it cannot be set together with.
    not_with: Option<&'static str>,
    /// Applies a value (non-empty) to the builder; errors name the variable it gets.
    apply: fn(ConfigBuilder, &'static str, String) -> Result<ConfigBuilder, Error>,
}

/// A `hydra-token` flag: each sets its setting's variable, overriding the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flag {
    /// `--flag VALUE` or `--flag=VALUE`: the variable holds the value.
    Value {
        /// The flag, with its dashes.
        flag: &'static str,
        /// What `--help` shows for its value.
        placeholder: &'static str,
    },
    /// `--flag` alone: the variable holds `value`.
    Switch {
        /// The flag, with its dashes.
        flag: &'static str,
        /// The value it sets.
        value: &'static str,
    },
    /// Refused with `reason`: a secret on a command line is visible to every user of the machine.
    Refused {
        /// The flag, with its dashes.
        flag: &'static str,
        /// Why, and what to use instead.
        reason: &'static str,
    },
}

impl Flag {
    /// The flag, with its dashes.
    pub fn flag(&self) -> &'static str {
        match *self {
            Flag::Value { flag, .. } | Flag::Switch { flag, .. } | Flag::Refused { flag, .. } => {
                flag
            }
        }
    }
}

/// What holds when a variable is unset.
#[derive(Debug)]
enum Unset {
    /// [`Config::from_env`] fails.
    Required,
    /// A behaviour, in words.
    Means(&'static str),
    /// The value [`Config::builder`] starts from, shown as the variable would hold it.
    Is(fn(&Config) -> String),
}

impl Setting {
    /// Whether [`Config::from_env`] fails without it.
    pub fn required(&self) -> bool {
        matches!(self.default, Unset::Required)
    }

    /// What holds when the variable is unset, in Markdown: a value is read from the defaults
    /// [`Config::builder`] starts from, so it is stated once.
    pub fn default_text(&self) -> String {
        match self.default {
            Unset::Required => "required".into(),
            Unset::Means(text) => text.into(),
            Unset::Is(value) => format!("`{}`", value(&Config::defaults())),
        }
    }
}

const SECRET_FLAG_REASON: &str = "command lines are visible to other users; \
                                  set HYDRA_CLIENT_SECRET or HYDRA_CLIENT_SECRET_FILE";

/// Every setting, in the order [`Config::from_env`] reads them.
pub static SETTINGS: &[Setting] = &[
    Setting {
        env: "HYDRA_ADMIN_URL",
        name: "admin_url",
        flags: &[value("--admin-url", "URL")],
        doc: "Hydra's admin API base URL",
        default: Unset::Required,
        not_with: None,
        apply: |mut b, _, v| {
            b.config.admin_url = v;
            Ok(b)
        },
    },
    Setting {
        env: "HYDRA_PUBLIC_URL",
        name: "public_url",
        flags: &[value("--public-url", "URL")],
        doc: "Hydra's public API base URL",
        default: Unset::Required,
        not_with: None,
        apply: |mut b, _, v| {
            b.config.public_url = v;
            Ok(b)
        },
    },
    Setting {
        env: "HYDRA_CLIENT_ID",
        name: "client_id",
        flags: &[value("--client-id", "ID")],
        doc: "a stable client id: restarts reuse the client",
        default: Unset::Means("a random UUID per token source"),
        not_with: None,
        apply: |b, _, v| Ok(b.client_id(v)),
    },
    Setting {
        env: "HYDRA_CLIENT_SECRET",
        name: "client_secret",
        flags: &[Flag::Refused {
            flag: "--client-secret",
            reason: SECRET_FLAG_REASON,
        }],
        doc: "the client's secret; never a flag, since command lines are visible to other users \
              (a trailing newline is trimmed, as from the file)",
        default: Unset::Means("a random one per token source"),
        not_with: None,
        apply: |b, _, mut v| {
            // One trailing newline is not part of the secret, as in `HYDRA_CLIENT_SECRET_FILE`:
            // a Kubernetes secret made from a file, given to one replica as this variable and
            // mounted as a file for another, was two secrets, and the replicas fought over the
            // client. Trimmed in place, so no copy of the secret is made.
            for end in ["\n", "\r"] {
                if v.ends_with(end) {
                    v.truncate(v.len() - 1);
                }
            }
            Ok(b.client_secret(Secret::new(v)))
        },
    },
    Setting {
        env: "HYDRA_CLIENT_SECRET_FILE",
        name: "client_secret_file",
        flags: &[value("--client-secret-file", "PATH")],
        doc: "a file holding the secret (a regular file of at most 4 KiB, this user's or root's \
              and writable by no one else; a trailing newline is trimmed); not with \
              `HYDRA_CLIENT_SECRET`",
        default: Unset::Means("none"),
        not_with: Some("HYDRA_CLIENT_SECRET"),
        apply: |b, env, v| Ok(b.client_secret(read_secret_file(env, Path::new(&v))?)),
    },
    Setting {
        env: "HYDRA_CLIENT_SECRET_VERSION",
        name: "client_secret_version",
        flags: &[value("--client-secret-version", "N")],
        doc: "the configured secret's version: one of a higher version replaces another \
              instance's configured secret at once, a lower one never (to rotate the secret, \
              give the new one a higher version)",
        default: Unset::Is(|c| c.client_secret_version.to_string()),
        not_with: None,
        apply: |b, env, v| match v.trim().parse::<u64>() {
            Ok(version) => Ok(b.client_secret_version(version)),
            Err(_) => Err(Error::config(
                env,
                format!("{} is not a whole number", shown(&v)),
            )),
        },
    },
    Setting {
        env: "HYDRA_TAKE_OVER_FOREIGN_CLIENT",
        name: "take_over_foreign_client",
        flags: &[switch("--take-over-foreign-client", "true")],
        doc: "`true`: manage a client this library did not create (dangerous, see \
              `ConfigBuilder::take_over_foreign_client`)",
        default: Unset::Is(|c| c.take_over_foreign_client.to_string()),
        not_with: None,
        apply: |b, env, v| Ok(b.take_over_foreign_client(parse_bool(env, &v)?)),
    },
    Setting {
        env: "HYDRA_CLIENT_NAME",
        name: "client_name",
        flags: &[value("--client-name", "NAME")],
        doc: "the client's name",
        default: Unset::Is(|c| c.client_name.clone()),
        not_with: None,
        apply: |b, _, v| Ok(b.client_name(v)),
    },
    Setting {
        env: "HYDRA_SCOPE",
        name: "scope",
        flags: &[value("--scope", "SCOPES")],
        doc: "space-separated scopes to request",
        default: Unset::Means("none"),
        not_with: None,
        apply: |b, _, v| Ok(b.scope(v)),
    },
    Setting {
        env: "HYDRA_AUDIENCE",
        name: "audience",
        flags: &[value("--audience", "AUDIENCES")],
        doc: "space- or comma-separated audiences",
        default: Unset::Means("none"),
        not_with: None,
        apply: |b, _, v| {
            let audiences = v.split([' ', ',']).filter(|a| !a.is_empty());
            Ok(b.audience(audiences.map(str::to_string)))
        },
    },
    Setting {
        env: "HYDRA_TOKEN_AUTH_METHOD",
        name: "token_auth_method",
        flags: &[value("--auth-method", "METHOD")],
        doc: "`client_secret_post` or `client_secret_basic`",
        default: Unset::Is(|c| c.token_auth_method.as_str().into()),
        not_with: None,
        apply: |b, env, v| Ok(b.token_auth_method(TokenAuthMethod::parse(env, v.trim())?)),
    },
    Setting {
        env: "HYDRA_CA_FILE",
        name: "ca_file",
        flags: &[value("--ca-file", "PATH")],
        doc: "PEM file of CA certificates to trust (besides the system's)",
        default: Unset::Means("none"),
        not_with: None,
        apply: |b, _, v| Ok(b.ca_file(v)),
    },
    Setting {
        env: "HYDRA_AUTHORIZE",
        name: "authorize",
        flags: &[switch("--no-authorize", "false")],
        doc: "`true` or `false`: run the authorize step",
        default: Unset::Is(|c| c.authorize.to_string()),
        not_with: None,
        apply: |b, env, v| Ok(b.authorize(parse_bool(env, &v)?)),
    },
    Setting {
        env: "HYDRA_REDIRECT_URI",
        name: "redirect_uri",
        flags: &[value("--redirect-uri", "URI")],
        doc: "the redirect URI to register",
        default: Unset::Is(|_| DEFAULT_REDIRECT_URI.into()),
        not_with: None,
        apply: |b, _, v| Ok(b.redirect_uri(v)),
    },
    Setting {
        env: "HYDRA_ACCESS_TOKEN_STRATEGY",
        name: "access_token_strategy",
        flags: &[
            switch("--jwt", "jwt"),
            value("--access-token-strategy", "STRATEGY"),
        ],
        doc: "`jwt` or `opaque`",
        default: Unset::Means("Hydra's setting"),
        not_with: None,
        apply: |b, env, v| {
            let strategy = AccessTokenStrategy::parse(env, v.trim())?;
            Ok(b.access_token_strategy(strategy))
        },
    },
    Setting {
        env: "HYDRA_REQUEST_TIMEOUT",
        name: "request_timeout",
        flags: &[value("--request-timeout", "SECONDS")],
        doc: "seconds per HTTP request",
        default: Unset::Is(|c| seconds(c.request_timeout)),
        not_with: None,
        apply: |b, env, v| Ok(b.request_timeout(parse_seconds(env, &v)?)),
    },
    Setting {
        env: "HYDRA_CONNECT_TIMEOUT",
        name: "connect_timeout",
        flags: &[value("--connect-timeout", "SECONDS")],
        doc: "seconds per connection attempt",
        default: Unset::Is(|c| seconds(c.connect_timeout)),
        not_with: None,
        apply: |b, env, v| Ok(b.connect_timeout(parse_seconds(env, &v)?)),
    },
    Setting {
        env: "HYDRA_DEADLINE",
        name: "deadline",
        flags: &[value("--deadline", "SECONDS")],
        doc: "seconds a token request may take, retries included",
        default: Unset::Is(|c| seconds(c.deadline)),
        not_with: None,
        apply: |b, env, v| Ok(b.deadline(parse_seconds(env, &v)?)),
    },
];

const fn value(flag: &'static str, placeholder: &'static str) -> Flag {
    Flag::Value { flag, placeholder }
}

const fn switch(flag: &'static str, value: &'static str) -> Flag {
    Flag::Switch { flag, value }
}

/// Every setting's variable that is set in this process's environment, by variable, but those
/// `skip` names (`hydra-token`'s flags override them). A value that is not valid UTF-8 is an
/// error naming its variable: read as unset, a secret file's path (any bytes, on Unix) would
/// drop the secret and leave the flow to generate and set its own. [`Config::from_env`] reads
/// the environment through it, and so does `hydra-token`. The values are zeroed when dropped,
/// since one may be the client secret.
pub fn process_env(
    skip: impl Fn(&str) -> bool,
) -> Result<std::collections::HashMap<&'static str, Zeroizing<String>>, Error> {
    let mut env = std::collections::HashMap::new();
    for setting in SETTINGS.iter().filter(|s| !skip(s.env)) {
        match std::env::var(setting.env) {
            Ok(value) => {
                env.insert(setting.env, Zeroizing::new(value));
            }
            Err(std::env::VarError::NotPresent) => {}
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::config(setting.env, "is not valid UTF-8".into()));
            }
        }
    }
    Ok(env)
}

/// The settings whose empty value is refused, not read as unset: without a secret the flow
/// generates one, and sets it on a client its replicas may share, so an empty one (from an unset
/// shell variable) must not pass for "no secret".
const EMPTY_REFUSED: [&str; 2] = ["HYDRA_CLIENT_SECRET", "HYDRA_CLIENT_SECRET_FILE"];

/// Reads every setting through `var` (empty values count as unset, but for [`EMPTY_REFUSED`])
/// into a builder.
pub(super) fn read(var: impl Fn(&str) -> Option<String>) -> Result<ConfigBuilder, Error> {
    // The secret's value is looked up more than once; each copy not kept is zeroed when dropped.
    let var = |name: &str| var(name).map(Zeroizing::new);
    if let Some(name) = EMPTY_REFUSED
        .into_iter()
        .find(|name| var(name).is_some_and(|v| v.trim().is_empty()))
    {
        let reason = "is set but empty: give the secret, or unset it to have one generated";
        return Err(Error::config(name, reason.into()));
    }
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    if let Some(missing) = SETTINGS
        .iter()
        .find(|s| s.required() && get(s.env).is_none())
    {
        return Err(Error::config(missing.env, "is not set".into()));
    }
    let mut builder = Config::builder(String::new(), String::new());
    for setting in SETTINGS {
        let Some(mut value) = get(setting.env) else {
            continue;
        };
        if let Some(other) = setting.not_with.filter(|other| get(other).is_some()) {
            let reason = format!("is set together with {other}; set one");
            return Err(Error::config(setting.env, reason));
        }
        // Moved, not copied, into the setting (the secret's into its `Secret`).
        builder = (setting.apply)(builder, setting.env, std::mem::take(&mut *value))?;
    }
    Ok(builder)
}

/// The variable of the setting `name` (as [`ConfigBuilder::build`] names it), or `name` itself
/// for a setting no variable sets.
pub(super) fn env_of(name: &'static str) -> &'static str {
    SETTINGS
        .iter()
        .find(|s| s.name == name)
        .map_or(name, |s| s.env)
}

/// The settings as the Markdown table flow's README shows (a test checks it is this).
pub fn markdown_table() -> String {
    let mut table =
        String::from("| variable | `hydra-token` flag | meaning | default |\n|---|---|---|---|\n");
    for setting in SETTINGS {
        let flags: Vec<String> = setting
            .flags
            .iter()
            .map(|flag| match flag {
                Flag::Value { flag, placeholder } => format!("`{flag} {placeholder}`"),
                Flag::Switch { flag, value } => format!("`{flag}` (`{value}`)"),
                Flag::Refused { .. } => "none".into(),
            })
            .collect();
        table.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            setting.env,
            flags.join(", "),
            setting.doc,
            setting.default_text()
        ));
    }
    table
}

/// A duration as `HYDRA_*_TIMEOUT` would hold it: seconds, with a fraction if there is one.
fn seconds(duration: Duration) -> String {
    duration.as_secs_f64().to_string()
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, Error> {
    match value.trim() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(Error::config(
            name,
            format!("`{other}` is not true or false"),
        )),
    }
}

fn parse_seconds(name: &'static str, value: &str) -> Result<Duration, Error> {
    let value = value.trim();
    let number = value.strip_suffix('s').unwrap_or(value);
    match number.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.001..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(Error::config(
            name,
            format!(
                "{} is not a number of seconds from 0.001 to 86400",
                shown(value)
            ),
        )),
    }
}
