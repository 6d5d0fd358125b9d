//! The default cap on response bodies fits Hydra's largest realistic answer: a full page (500)
//! of clients with their metadata filled in, read from a real Hydra.

use std::error::Error;

use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use hydra_sdk::{types, ApiResult as _, Client};
use hydra_tests::TestHydra;

#[tokio::test]
async fn a_page_of_500_full_clients_fits_the_default_cap() -> Result<(), Box<dyn Error>> {
    let hydra = TestHydra::start().await?;
    let admin = Client::admin(hydra.admin_url())?;
    let uris = |n: usize| {
        (0..n)
            .map(|i| format!("https://service-{i}.example.org/callback/with/a/longer/path"))
            .collect::<Vec<_>>()
    };
    // Public clients (`none`): no secret to hash, so 500 of them are quick to make.
    stream::iter(0..500)
        .map(|i| {
            let admin = &admin;
            let body = types::OAuth2Client::builder()
                .client_name(Some(format!("boot-script-service-replica-{i:04}")))
                .grant_types(Some(
                    vec![
                        "client_credentials".to_string(),
                        "refresh_token".to_string(),
                    ]
                    .into(),
                ))
                .response_types(Some(vec!["code".to_string(), "token".to_string()].into()))
                .redirect_uris(Some(uris(4).into()))
                .post_logout_redirect_uris(Some(uris(2).into()))
                .audience(Some(uris(4).into()))
                .contacts(Some(vec!["ops@example.org".to_string()].into()))
                .scope(Some(
                    "openid email profile read write offline_access".to_string(),
                ))
                .token_endpoint_auth_method("none");
            async move { admin.create_oauth2_client().body(body).send().await.api() }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;

    assert_eq!(
        hydra_sdk::max_response_body(),
        hydra_sdk::DEFAULT_MAX_RESPONSE_BODY
    );
    let page = admin
        .list_oauth2_clients()
        .page_size(500u64)
        .send()
        .await
        .api()?;
    assert_eq!(page.len(), 500);
    // How much room is left: the page, re-encoded, against the cap.
    let size = serde_json::to_vec(&page)?.len() as u64;
    eprintln!(
        "a page of 500 clients: {size} bytes; cap {}",
        hydra_sdk::DEFAULT_MAX_RESPONSE_BODY
    );
    assert!(size * 4 < hydra_sdk::DEFAULT_MAX_RESPONSE_BODY, "{size}");
    Ok(())
}
