//! OAuth2 clients through the generated admin calls against a real Hydra: create, get, list a page
//! at a time, replace, JSON-patch, lifespans, delete, and Hydra's typed 404 and 409.

use std::collections::BTreeSet;
use std::error::Error;

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{types, ApiResult as _, Client, ExposeSecret, Secret};
use hydra_tests::sdk::{assert_not_found, hydra_error};
use hydra_tests::TestHydra;
use serde_json::json;

type TestResult = Result<(), Box<dyn Error>>;

fn client_credentials_client(name: &str) -> types::builder::OAuth2Client {
    types::OAuth2Client::builder()
        .client_name(Some(name.to_string()))
        .grant_types(Some(vec!["client_credentials".to_string()].into()))
        .scope(Some("read write".to_string()))
        .token_endpoint_auth_method("client_secret_post")
}

#[tokio::test]
async fn create_with_a_generated_secret_then_get() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;

    let created = admin
        .create_oauth2_client()
        .body(client_credentials_client("generated"))
        .send()
        .await
        .api_response()?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = created.into_inner();
    let id = created.client_id.clone().ok_or("no client_id")?;
    let secret = created.client_secret.as_ref().ok_or("no client_secret")?;
    // Hydra generates 26 characters or more; anything short would be a decoding slip.
    assert!(secret.expose_secret().len() >= 26, "a short secret");
    assert_eq!(created.client_name.as_deref(), Some("generated"));
    assert_eq!(created.token_endpoint_auth_method, "client_secret_post");
    assert!(created.created_at.is_some());

    let fetched = admin.get_oauth2_client().id(&id).send().await.api()?;
    assert_eq!(fetched.client_id.as_deref(), Some(id.as_str()));
    assert_eq!(fetched.client_name.as_deref(), Some("generated"));
    assert_eq!(fetched.scope.as_deref(), Some("read write"));
    assert_eq!(
        fetched.grant_types.as_deref().map(Vec::as_slice),
        Some(&["client_credentials".to_string()][..])
    );
    // Hydra stores only a hash: the secret is never read back.
    assert!(fetched.client_secret.is_none());
    Ok(())
}

#[tokio::test]
async fn create_with_a_chosen_id_and_secret_then_a_duplicate_is_a_typed_409() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let chosen = || {
        client_credentials_client("chosen")
            .client_id(Some("bss-chosen".to_string()))
            .client_secret(Some(Secret::from("a-chosen-secret-of-32-characters")))
    };

    let created = admin
        .create_oauth2_client()
        .body(chosen())
        .send()
        .await
        .api()?;
    assert_eq!(created.client_id.as_deref(), Some("bss-chosen"));
    assert_eq!(
        created.client_secret.as_ref().map(|s| s.expose_secret()),
        Some("a-chosen-secret-of-32-characters")
    );

    let duplicate = admin
        .create_oauth2_client()
        .body(chosen())
        .send()
        .await
        .api();
    let (status, error) = hydra_error(duplicate)?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        error.error.as_deref().is_some_and(|e| !e.is_empty()),
        "no `error` in {error:?}"
    );
    assert!(
        error.error_description.is_some(),
        "no `error_description` in {error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_client_is_a_typed_404_for_get_and_delete() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;

    let got = admin
        .get_oauth2_client()
        .id("no-such-client")
        .send()
        .await
        .api();
    assert_not_found(got)?;

    // Hydra's spec declares `genericError` for this one; Hydra sends `errorOAuth2` (fix-up
    // `generic_errors_as_error_oauth2`).
    let deleted = admin
        .delete_oauth2_client()
        .id("no-such-client")
        .send()
        .await
        .api();
    assert_not_found(deleted)?;

    let lifespans = admin
        .set_oauth2_client_lifespans()
        .id("no-such-client")
        .body(types::OAuth2ClientTokenLifespans::builder())
        .send()
        .await
        .api();
    assert_not_found(lifespans)?;
    Ok(())
}

/// The `page_token` of the `rel="next"` URL in a `Link` header, if there is a next page.
fn next_page_token(link: Option<&str>, base: &str) -> Result<Option<String>, Box<dyn Error>> {
    let Some(link) = link else {
        return Ok(None);
    };
    for part in link.split(',') {
        let mut pieces = part.split(';').map(str::trim);
        let target = pieces.next().unwrap_or_default();
        if !pieces.any(|p| p == r#"rel="next""#) {
            continue;
        }
        let target = target
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .ok_or_else(|| format!("a Link target without <>: {part:?}"))?;
        // Hydra writes the target relative to its admin URL.
        let url = url::Url::parse(base)?.join(target)?;
        let token = url
            .query_pairs()
            .find(|(k, _)| k == "page_token")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| format!("no page_token in the next link {url}"))?;
        return Ok(Some(token));
    }
    Ok(None)
}

#[tokio::test]
async fn list_a_page_at_a_time_through_the_link_header() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let mut expected = BTreeSet::new();
    for i in 0..5 {
        let created = admin
            .create_oauth2_client()
            .body(client_credentials_client(&format!("paged-{i}")))
            .send()
            .await
            .api()?;
        expected.insert(created.client_id.ok_or("no client_id")?);
    }

    let mut seen = BTreeSet::new();
    let mut page_sizes = Vec::new();
    let mut page_token: Option<String> = None;
    // Bounded: 5 clients in pages of 2 take 3 pages; 10 rounds mean the paging loops.
    for _ in 0..10 {
        let mut request = admin.list_oauth2_clients().page_size(2u64);
        if let Some(token) = &page_token {
            request = request.page_token(token);
        }
        let page = request.send().await.api_response()?;
        let link = page
            .headers()
            .get("link")
            .map(|v| v.to_str())
            .transpose()?
            .map(str::to_string);
        let clients = page.into_inner();
        page_sizes.push(clients.len());
        for client in clients {
            let id = client
                .client_id
                .ok_or("a listed client without client_id")?;
            assert!(seen.insert(id.clone()), "{id} listed twice");
        }
        page_token = next_page_token(link.as_deref(), hydra.admin_url())?;
        if page_token.is_none() {
            break;
        }
    }
    assert!(page_token.is_none(), "the pages never ended");
    assert_eq!(seen, expected);
    assert_eq!(page_sizes.first(), Some(&2), "page sizes {page_sizes:?}");
    assert!(
        page_sizes.iter().all(|n| *n <= 2),
        "page sizes {page_sizes:?}"
    );
    Ok(())
}

#[tokio::test]
async fn replace_patch_and_delete() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let created = admin
        .create_oauth2_client()
        .body(client_credentials_client("before"))
        .send()
        .await
        .api()?;
    let id = created.client_id.clone().ok_or("no client_id")?;

    // PUT replaces the whole client: fields not sent are reset.
    let replaced = admin
        .set_oauth2_client()
        .id(&id)
        .body(
            types::OAuth2Client::builder()
                .client_name(Some("replaced".to_string()))
                .grant_types(Some(vec!["client_credentials".to_string()].into()))
                .scope(Some("read".to_string()))
                .owner(Some("team-a".to_string()))
                .token_endpoint_auth_method("client_secret_basic"),
        )
        .send()
        .await
        .api()?;
    assert_eq!(replaced.client_id.as_deref(), Some(id.as_str()));
    assert_eq!(replaced.client_name.as_deref(), Some("replaced"));
    assert_eq!(replaced.scope.as_deref(), Some("read"));
    assert_eq!(replaced.owner.as_deref(), Some("team-a"));
    assert_eq!(replaced.token_endpoint_auth_method, "client_secret_basic");

    let patch = |op: &str, path: &str, value: serde_json::Value| types::JsonPatch {
        from: None,
        op: op.to_string(),
        path: path.to_string(),
        value: Some(value),
    };
    let patched = admin
        .patch_oauth2_client()
        .id(&id)
        .body(types::JsonPatchDocument(vec![
            patch("replace", "/client_name", json!("patched")),
            patch("add", "/redirect_uris/-", json!("https://bss.example/cb")),
        ]))
        .send()
        .await
        .api()?;
    assert_eq!(patched.client_name.as_deref(), Some("patched"));
    assert_eq!(
        patched.redirect_uris.as_deref().map(Vec::as_slice),
        Some(&["https://bss.example/cb".to_string()][..])
    );
    // What the patch did not touch stays as the PUT left it.
    assert_eq!(patched.owner.as_deref(), Some("team-a"));

    let fetched = admin.get_oauth2_client().id(&id).send().await.api()?;
    assert_eq!(fetched.client_name.as_deref(), Some("patched"));

    let deleted = admin
        .delete_oauth2_client()
        .id(&id)
        .send()
        .await
        .api_response()?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = admin.get_oauth2_client().id(&id).send().await.api();
    assert_not_found(gone)?;
    Ok(())
}

#[tokio::test]
async fn lifespans_are_stored_and_shorten_the_tokens_hydra_issues() -> TestResult {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let public = Client::public(hydra.public_url())?;
    let created = admin
        .create_oauth2_client()
        .body(client_credentials_client("short-lived"))
        .send()
        .await
        .api()?;
    let id = created.client_id.clone().ok_or("no client_id")?;
    let secret = created.client_secret.clone().ok_or("no client_secret")?;

    let updated = admin
        .set_oauth2_client_lifespans()
        .id(&id)
        .body(
            types::OAuth2ClientTokenLifespans::builder()
                .client_credentials_grant_access_token_lifespan(Some(
                    types::NullDuration::try_from("5m")?,
                )),
        )
        .send()
        .await
        .api()?;
    let lifespan = updated
        .client_credentials_grant_access_token_lifespan
        .as_deref()
        .map(String::as_str);
    // Hydra echoes the lifespan in Go's duration format.
    assert_eq!(lifespan, Some("5m0s"));

    let token = public
        .oauth2_token_exchange()
        .body(
            types::Oauth2TokenExchangeBody::builder()
                .grant_type("client_credentials")
                .client_id(Some(id.clone()))
                .client_secret(Some(secret)),
        )
        .send()
        .await
        .api()?;
    let expires_in = token.expires_in.ok_or("no expires_in")?;
    // Hydra's default is one hour; the client's own lifespan wins.
    assert!(
        (290..=300).contains(&expires_in),
        "expires_in {expires_in}, expected about 5 minutes"
    );
    Ok(())
}
