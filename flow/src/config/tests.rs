//! Unit tests of the configuration.

use super::*;

/// A lookup of environment variables from `pairs`, for `Config::from_env_with`; shared by the
/// configuration's unit tests.
pub(super) fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn taking_over_foreign_clients_is_off_unless_asked_for() {
    let urls = [
        ("HYDRA_ADMIN_URL", "http://127.0.0.1:4445"),
        ("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444"),
    ];
    let config = Config::from_env_with(env(&urls)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.take_over_foreign_client);
    let mut asked = urls.to_vec();
    asked.push(("HYDRA_TAKE_OVER_FOREIGN_CLIENT", "true"));
    let config = Config::from_env_with(env(&asked)).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.take_over_foreign_client);
}

#[test]
fn default_timeouts_are_within_the_sdks_and_the_deadline() {
    // flow states its own timeouts (so a stalled request leaves room for retries within the
    // deadline); they may be shorter than the SDK's defaults, never longer.
    let defaults = Config::defaults();
    assert!(defaults.request_timeout <= hydra_sdk::DEFAULT_TIMEOUT);
    assert!(defaults.connect_timeout <= hydra_sdk::DEFAULT_CONNECT_TIMEOUT);
    assert!(defaults.connect_timeout <= defaults.request_timeout);
    assert!(defaults.request_timeout < defaults.deadline);
}

/// The same secret, given to one replica as `HYDRA_CLIENT_SECRET` (a Kubernetes secret made from
/// a file keeps the file's newline) and to another as `HYDRA_CLIENT_SECRET_FILE` (which trims
/// it), was two secrets: the replicas fought over their client. A line break inside a secret is
/// refused, on either path.
#[test]
fn a_secret_is_the_same_from_the_variable_and_from_the_file() {
    use hydra_sdk::ExposeSecret as _;
    let dir = std::env::temp_dir().join(format!("flow-secret-newline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("secret");
    let base = [
        ("HYDRA_ADMIN_URL", "http://127.0.0.1:4445"),
        ("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444"),
    ];
    let secret_of = |name: &str, value: &str| {
        let value = if name == "HYDRA_CLIENT_SECRET_FILE" {
            std::fs::write(&file, value).expect("the secret file");
            file.to_str().expect("a UTF-8 path").to_string()
        } else {
            value.to_string()
        };
        let mut pairs = base.to_vec();
        pairs.push((name, &value));
        Config::from_env_with(env(&pairs))
            .map(|c| c.client_secret.map(|s| s.expose_secret().to_string()))
    };
    for name in ["HYDRA_CLIENT_SECRET", "HYDRA_CLIENT_SECRET_FILE"] {
        for given in ["k8s-secret-123", "k8s-secret-123\n", "k8s-secret-123\r\n"] {
            let got = secret_of(name, given).expect("a valid configuration");
            assert_eq!(got.as_deref(), Some("k8s-secret-123"), "{name}={given:?}");
        }
        for given in ["two\nlines", "k8s-secret-123\n\n", "tab\there"] {
            match secret_of(name, given) {
                Err(Error::Config { name: got, reason }) => {
                    assert_eq!(got, name, "{reason}");
                    assert!(reason.contains("control character"), "{reason}");
                }
                other => panic!("{name}={given:?}: {other:?}"),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_secret_setting_that_is_set_but_empty_is_refused() {
    // Read as unset, an empty secret (an unset shell variable in `HYDRA_CLIENT_SECRET=$SECRET`, or
    // `--client-secret-file "$FILE"`) let the flow generate a secret of its own and, once the
    // quiet period was over, set it on a client its replicas share.
    for name in ["HYDRA_CLIENT_SECRET", "HYDRA_CLIENT_SECRET_FILE"] {
        for empty in ["", "  "] {
            let pairs = [
                ("HYDRA_ADMIN_URL", "http://127.0.0.1:4445"),
                ("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444"),
                (name, empty),
            ];
            match Config::from_env_with(env(&pairs)) {
                Err(Error::Config { name: got, reason }) => {
                    assert_eq!(got, name, "{reason}");
                    assert!(reason.contains("empty"), "{reason}");
                }
                other => panic!("{name}={empty:?}: {other:?}"),
            }
        }
    }
    // Other settings keep reading an empty value as unset.
    let pairs = [
        ("HYDRA_ADMIN_URL", "http://127.0.0.1:4445"),
        ("HYDRA_PUBLIC_URL", "http://127.0.0.1:4444"),
        ("HYDRA_SCOPE", ""),
    ];
    assert!(Config::from_env_with(env(&pairs)).is_ok());
}
