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
