//! What the SDK's constructors read from the environment: the root certificates `SSL_CERT_FILE`
//! and `SSL_CERT_DIR` name. Each case runs in a child process of this binary that has the
//! variable from its start (set in this process, it would reach every other test's client).

use hydra_sdk::{Client, ClientError};

/// Names the variable under test, in the child.
const CHILD: &str = "HYDRA_SDK_ENVIRONMENT_CHILD";

/// Regular files that hold no certificate pass `check_native_roots_env` and fail the HTTP
/// client's build; the constructors reported that as the TLS backend's "builder error", which
/// does not say the variable is why (flow named it; the SDK did not).
#[test]
fn root_certificates_that_do_not_load_are_reported_under_the_variable_that_names_them() {
    let dir = std::env::temp_dir().join(format!("hydra-sdk-no-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "not a certificate\n").expect("a file");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("an empty directory");
    for (variable, path) in [("SSL_CERT_FILE", &not_pem), ("SSL_CERT_DIR", &empty)] {
        let output = std::process::Command::new(std::env::current_exe().expect("this binary"))
            .args([
                "--ignored",
                "--exact",
                "environment::constructors_in_a_child",
                "--test-threads=1",
            ])
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .env(variable, path)
            .env(CHILD, variable)
            .output()
            .expect("the child ran");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "{variable}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "the child of root_certificates_that_do_not_load_are_reported_under_the_variable_that_names_them"]
fn constructors_in_a_child() {
    let variable = std::env::var(CHILD).expect("run by its parent test");
    let url = "http://127.0.0.1:9";
    let built = [
        ("admin", Client::admin(url).err()),
        ("public", Client::public(url).err()),
        (
            "build_http_client",
            hydra_sdk::build_http_client(hydra_sdk::http_client_builder()).err(),
        ),
    ];
    for (constructor, error) in built {
        match error {
            Some(ClientError::Environment {
                variable: named,
                reason,
            }) => {
                assert_eq!(named, variable, "{constructor}: {reason}");
                assert!(
                    reason.contains("cannot be built with"),
                    "{constructor}: {reason}"
                );
            }
            Some(other) => panic!("{constructor}: not under {variable}: {other}"),
            None => panic!("{constructor}: built with {variable} naming no certificate"),
        }
    }
}
