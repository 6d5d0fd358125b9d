//! Path parameters against a real Hydra: a value that would change the path's shape is refused
//! before any request. progenitor's `encode_path` leaves `\` (which the URL parser reads as `/`)
//! and whole `.` and `..` segments (which it resolves), so such values reached other endpoints
//! of the admin API, which did what it was sent: another client replaced or deleted, a whole
//! JSON Web Key set deleted.

use std::error::Error;

use hydra_sdk::{types, ApiError, ApiResult as _, Client};
use hydra_tests::sdk::new_signing_key_set;
use hydra_tests::TestHydra;

type TestResult = Result<(), Box<dyn Error>>;

fn named(name: &str) -> types::builder::OAuth2Client {
    types::OAuth2Client::builder()
        .client_name(Some(name.to_string()))
        .grant_types(Some(vec!["client_credentials".to_string()].into()))
        .token_endpoint_auth_method("client_secret_basic")
}

fn refused<T: std::fmt::Debug>(what: &str, result: Result<T, ApiError>) {
    match result {
        Err(ApiError::InvalidRequest(why)) => {
            assert!(why.contains("PathSegment"), "{what}: {why}");
        }
        other => panic!("{what}: sent, and answered {other:?}"),
    }
}

#[tokio::test]
async fn a_path_parameter_never_reaches_another_client_or_key_set() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let victim = admin
        .create_oauth2_client()
        .body(named("victim"))
        .send()
        .await
        .api()?
        .client_id
        .ok_or("no client_id")?;
    new_signing_key_set(&admin, "victim-set", "RS256", "victim-key").await?;
    new_signing_key_set(&admin, "other-set", "RS256", "victim-set").await?;

    refused(
        "set_oauth2_client through `\\..\\`",
        admin
            .set_oauth2_client()
            .id(format!("mine\\..\\{victim}"))
            .body(named("overwritten"))
            .send()
            .await
            .api(),
    );
    refused(
        "delete_oauth2_client through `\\..\\`",
        admin
            .delete_oauth2_client()
            .id(format!("mine\\..\\{victim}"))
            .send()
            .await
            .api(),
    );
    refused(
        "delete_oauth2_client into /admin/keys",
        admin
            .delete_oauth2_client()
            .id("nope\\..\\..\\keys\\victim-set")
            .send()
            .await
            .api(),
    );
    refused(
        "delete_json_web_key with the set `.`",
        admin
            .delete_json_web_key()
            .set(".")
            .kid("victim-set")
            .send()
            .await
            .api(),
    );
    refused(
        "delete_json_web_key with the key `..`",
        admin
            .delete_json_web_key()
            .set("other-set")
            .kid("..")
            .send()
            .await
            .api(),
    );
    refused(
        "get_oauth2_client with an empty id",
        admin.get_oauth2_client().id("").send().await.api(),
    );

    // Nothing was touched.
    let client = admin.get_oauth2_client().id(&victim).send().await.api()?;
    assert_eq!(client.client_name.as_deref(), Some("victim"));
    for (set, kid) in [("victim-set", "victim-key"), ("other-set", "victim-set")] {
        let keys = admin.get_json_web_key_set().set(set).send().await.api()?;
        let kids: Vec<&str> = keys.keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, [kid], "{set}");
    }
    Ok(())
}
