//! JSON Web Key sets through the generated admin calls against a real Hydra: create a set, read
//! it and one key, put a key, delete the key and the set.

use std::error::Error;

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{types, ApiResult as _, Client};
use hydra_tests::sdk::{assert_not_found, new_signing_key_set};
use hydra_tests::TestHydra;

type TestResult = Result<(), Box<dyn Error>>;

fn kids(set: &types::JsonWebKeySet) -> Vec<&str> {
    let mut kids: Vec<&str> = set.keys.iter().map(|k| k.kid.as_str()).collect();
    kids.sort_unstable();
    kids
}

#[tokio::test]
async fn create_get_set_and_delete_keys_and_sets() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;

    let created = admin
        .create_json_web_key_set()
        .set("bss-signing")
        .body(
            types::CreateJsonWebKeySet::builder()
                .alg("RS256")
                .kid("rsa-1")
                .use_("sig"),
        )
        .send()
        .await
        .api_response()?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = created.into_inner();
    assert_eq!(kids(&created), ["rsa-1"]);
    let key = created.keys.first().ok_or("no key in the new set")?;
    assert_eq!(key.alg, "RS256");
    assert_eq!(key.kty, "RSA");
    assert_eq!(key.use_, "sig");
    assert!(key.n.is_some() && key.e.is_some(), "no RSA public members");
    // The admin API hands out the private key too.
    assert!(key.d.is_some(), "no private exponent from the admin API");

    let set = admin
        .get_json_web_key_set()
        .set("bss-signing")
        .send()
        .await
        .api()?;
    assert_eq!(kids(&set), ["rsa-1"]);
    assert_eq!(set.keys.first().and_then(|k| k.n.clone()), key.n);

    let one = admin
        .get_json_web_key()
        .set("bss-signing")
        .kid("rsa-1")
        .send()
        .await
        .api()?;
    assert_eq!(kids(&one), ["rsa-1"]);

    // A key made elsewhere (here: by Hydra in another set) is put into this set under its kid.
    let foreign = new_signing_key_set(&admin, "scratch", "ES256", "ec-1").await?;
    let ec = foreign.keys.into_iter().next().ok_or("no key in scratch")?;
    let put = admin
        .set_json_web_key()
        .set("bss-signing")
        .kid("ec-1")
        .body(ec.clone())
        .send()
        .await
        .api()?;
    assert_eq!(put.kid, "ec-1");
    assert_eq!(put.kty, "EC");
    assert_eq!(put.crv.as_deref(), Some("P-256"));
    assert_eq!(put.x, ec.x);

    let set = admin
        .get_json_web_key_set()
        .set("bss-signing")
        .send()
        .await
        .api()?;
    assert_eq!(kids(&set), ["ec-1", "rsa-1"]);

    let deleted = admin
        .delete_json_web_key()
        .set("bss-signing")
        .kid("ec-1")
        .send()
        .await
        .api_response()?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = admin
        .get_json_web_key()
        .set("bss-signing")
        .kid("ec-1")
        .send()
        .await
        .api();
    assert_not_found(gone)?;
    let set = admin
        .get_json_web_key_set()
        .set("bss-signing")
        .send()
        .await
        .api()?;
    assert_eq!(kids(&set), ["rsa-1"]);

    let deleted = admin
        .delete_json_web_key_set()
        .set("bss-signing")
        .send()
        .await
        .api_response()?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = admin
        .get_json_web_key_set()
        .set("bss-signing")
        .send()
        .await
        .api();
    assert_not_found(gone)?;
    Ok(())
}

#[tokio::test]
async fn replacing_a_whole_set_keeps_only_the_keys_sent() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let mut keys = Vec::new();
    for kid in ["a", "b"] {
        let set = new_signing_key_set(&admin, &format!("source-{kid}"), "ES256", kid).await?;
        keys.extend(set.keys);
    }

    let replaced = admin
        .set_json_web_key_set()
        .set("combined")
        .body(types::JsonWebKeySet { keys })
        .send()
        .await
        .api()?;
    assert_eq!(kids(&replaced), ["a", "b"]);
    let fetched = admin
        .get_json_web_key_set()
        .set("combined")
        .send()
        .await
        .api()?;
    assert_eq!(kids(&fetched), ["a", "b"]);
    Ok(())
}
