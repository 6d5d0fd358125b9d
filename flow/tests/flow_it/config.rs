//! Configuration from the environment: every bad value is an error naming its variable, and no
//! configuration prints its secret.

use std::collections::HashMap;
use std::time::Duration;

use flow::{Config, Error};

/// A lookup over `pairs`, for `Config::from_env_with` (this process's environment is never
/// touched); config_limits uses it too.
pub(crate) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

const BASE: &[(&str, &str)] = &[
    ("HYDRA_ADMIN_URL", "http://127.0.0.1:4445/"),
    ("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444"),
];

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    BASE.iter().chain(extra).copied().collect()
}

fn config_error(pairs: &[(&str, &str)]) -> (&'static str, String) {
    match Config::from_env_with(env(pairs)) {
        Err(Error::Config { name, reason }) => (name, reason),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn a_full_environment_is_read() {
    let config = Config::from_env_with(env(&with(&[
        ("HYDRA_CLIENT_ID", "bss"),
        ("HYDRA_CLIENT_SECRET", "s3cret-value"),
        ("HYDRA_SCOPE", "read"),
        ("HYDRA_AUDIENCE", "smd, bss"),
        ("HYDRA_TOKEN_AUTH_METHOD", "client_secret_basic"),
        ("HYDRA_AUTHORIZE", "false"),
        ("HYDRA_DEADLINE", "2.5"),
    ])))
    .expect("valid");
    assert_eq!(config.admin_url(), "http://127.0.0.1:4445");
    assert_eq!(config.client_id(), Some("bss"));
    assert!(!config.authorizes());
    let debug = format!("{config:?}");
    assert!(
        debug.contains("client_secret: Some(\"[REDACTED]\")"),
        "{debug}"
    );
    assert!(!debug.contains("s3cret-value"), "{debug}");
    assert!(debug.contains("deadline: 2.5s"), "{debug}");
    assert!(debug.contains("ClientSecretBasic"), "{debug}");
    assert!(debug.contains("[\"smd\", \"bss\"]"), "{debug}");
}

#[test]
fn each_bad_value_names_its_variable() {
    let missing_admin = [("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444")];
    let missing_public = [("HYDRA_ADMIN_URL", "http://127.0.0.1:4445")];
    let bad_admin = [
        ("HYDRA_ADMIN_URL", "localhost:4445"),
        ("HYDRA_PUBLIC_URL", "http://127.0.0.1"),
    ];
    // (environment, the variable the error must name, a fragment of its reason)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (missing_admin.to_vec(), "HYDRA_ADMIN_URL", "is not set"),
        (missing_public.to_vec(), "HYDRA_PUBLIC_URL", "is not set"),
        (
            bad_admin.to_vec(),
            "HYDRA_ADMIN_URL",
            "invalid Hydra base URL",
        ),
        (
            with(&[("HYDRA_TOKEN_AUTH_METHOD", "private_key_jwt")]),
            "HYDRA_TOKEN_AUTH_METHOD",
            "private_key_jwt",
        ),
        (
            with(&[("HYDRA_AUTHORIZE", "maybe")]),
            "HYDRA_AUTHORIZE",
            "maybe",
        ),
        (
            with(&[("HYDRA_ACCESS_TOKEN_STRATEGY", "paseto")]),
            "HYDRA_ACCESS_TOKEN_STRATEGY",
            "paseto",
        ),
        (
            with(&[("HYDRA_REQUEST_TIMEOUT", "ten")]),
            "HYDRA_REQUEST_TIMEOUT",
            "ten",
        ),
        (with(&[("HYDRA_DEADLINE", "-1")]), "HYDRA_DEADLINE", "-1"),
        (
            with(&[("HYDRA_CA_FILE", "/nonexistent/ca.pem")]),
            "HYDRA_CA_FILE",
            "cannot read",
        ),
        (
            with(&[("HYDRA_SCOPE", "read  write")]),
            "HYDRA_SCOPE",
            "space-separated",
        ),
        (
            with(&[("HYDRA_CLIENT_ID", "a/b")]),
            "HYDRA_CLIENT_ID",
            "a/b",
        ),
        (
            with(&[("HYDRA_REDIRECT_URI", "not a url")]),
            "HYDRA_REDIRECT_URI",
            "not a url",
        ),
    ];
    for (pairs, variable, fragment) in cases {
        let (name, reason) = config_error(&pairs);
        assert_eq!(name, variable, "{reason}");
        let message = Error::Config {
            name,
            reason: reason.clone(),
        }
        .to_string();
        assert!(
            message.contains(variable) && message.contains(fragment),
            "{message}"
        );
    }
}

#[test]
fn a_ca_file_that_is_not_pem_is_refused() {
    let dir = std::env::temp_dir().join(format!("flow-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ca.pem");
    std::fs::write(&path, "not a certificate").expect("write");
    let (name, reason) = config_error(&with(&[(
        "HYDRA_CA_FILE",
        path.to_str().expect("utf-8 path"),
    )]));
    assert_eq!(name, "HYDRA_CA_FILE");
    assert!(
        reason.contains("no certificate") || reason.contains("not PEM"),
        "{reason}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn builder_defaults() {
    let config = Config::builder("http://127.0.0.1:4445", "http://127.0.0.1:4444")
        .build()
        .expect("valid");
    assert!(config.authorizes());
    let debug = format!("{config:?}");
    assert!(debug.contains("ClientSecretPost"), "{debug}");
    assert!(debug.contains("request_timeout: 10s"), "{debug}");
    assert!(
        debug.contains(&format!("deadline: {:?}", Duration::from_secs(30))),
        "{debug}"
    );
}
