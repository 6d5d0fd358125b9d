//! The SDK with an HTTP client of the caller's that follows redirects (reqwest's default): a
//! request goes elsewhere only as a bodiless `GET`, and an answer from where a redirect led is
//! refused.
//! Stand-ins, because a real Hydra does not redirect its admin API: here it stands for a
//! misconfigured proxy or a hostile peer in front of it.

use std::error::Error;

use hydra_sdk::{types, ApiError, ApiResult as _, Client};
use hydra_tests::client_following_redirects;
use hydra_tests::stand_in::{Reply, StandIn};

type TestResult = Result<(), Box<dyn Error>>;

/// An admin client on `url` whose HTTP client follows up to 10 redirects.
fn following(url: &str) -> Result<Client, Box<dyn Error>> {
    Ok(Client::new_with_client(url, client_following_redirects()?))
}

const CLIENT: &str = r#"{"client_id":"c1","client_secret":"s3cret"}"#;

/// A 307 or 308 asks for the same request, body included, at the `Location`: the body of a
/// client registration holds its secret. It is not sent there; the redirect is the answer.
#[tokio::test]
async fn stand_in_307_and_308_never_send_a_body_elsewhere() -> TestResult {
    for status in ["307 Temporary Redirect", "308 Permanent Redirect"] {
        let elsewhere = StandIn::start(vec![Reply::json("201 Created", &[], CLIENT)]).await?;
        let admin = StandIn::start(vec![Reply::redirect(
            status,
            &format!("{}/admin/clients", elsewhere.url()),
        )])
        .await?;
        let err = following(admin.url())?
            .create_oauth2_client()
            .body(
                types::OAuth2Client::builder()
                    .client_id(Some("c1".to_string()))
                    .client_secret(Some("s3cret".to_string().into())),
            )
            .send()
            .await
            .api()
            .expect_err("a redirect is not a created client");
        assert_eq!(
            elsewhere.served(),
            0,
            "{status}: the body went to the Location"
        );
        assert_eq!(admin.served(), 1, "{status}");
        let ApiError::UnexpectedStatus { status: got, .. } = &err else {
            panic!("{status}: expected UnexpectedStatus, got {err:?}");
        };
        assert_eq!(got.as_str(), &status[..3]);
    }
    Ok(())
}

/// A request without a body is followed with its method kept by a `301`, `302`, `307` or `308`:
/// a `DELETE` on the admin API, redirected to another client's URL, would delete that client.
/// It is not sent there; the redirect is the answer.
#[tokio::test]
async fn stand_in_a_redirected_delete_or_get_is_never_sent_elsewhere() -> TestResult {
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let elsewhere = StandIn::start(vec![Reply::Raw(NO_CONTENT.into())]).await?;
        let to = format!("{}/admin/clients/someone-else", elsewhere.url());
        let admin = StandIn::start(vec![Reply::redirect(status, &to)]).await?;
        let client = following(admin.url())?;
        let deleted = client.delete_oauth2_client().id("c1").send().await.api();
        let got = client.get_oauth2_client().id("c1").send().await.api();
        assert_eq!(elsewhere.request_lines(), Vec::<String>::new(), "{status}");
        assert_eq!(admin.served(), 2, "{status}");
        for err in [deleted.err(), got.err()] {
            let err = err.ok_or_else(|| format!("{status}: a redirect taken for an answer"))?;
            let ApiError::UnexpectedStatus { status: got, .. } = &err else {
                panic!("{status}: expected UnexpectedStatus, got {err:?}");
            };
            assert_eq!(got.as_str(), &status[..3]);
        }
    }
    Ok(())
}

const NO_CONTENT: &str = "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";

/// What a client that follows redirects still does: a `303` turns any request, and a `301` or
/// `302` a `POST`, into a bodiless `GET` of the `Location`. The answer from there is refused with
/// where it came from (its origin: the path and query can carry codes), whatever its status: a
/// client's JSON, or a `204` that would read as a successful delete.
#[tokio::test]
async fn stand_in_answers_from_where_a_redirect_led_are_refused() -> TestResult {
    for (status, method) in [
        ("303 See Other", "DELETE"),
        ("303 See Other", "GET"),
        ("302 Found", "POST"),
        ("301 Moved Permanently", "POST"),
    ] {
        let elsewhere = StandIn::start(vec![Reply::json("200 OK", &[], CLIENT)]).await?;
        let to = format!("{}/admin/clients/c1?code=not-for-errors", elsewhere.url());
        let admin = StandIn::start(vec![Reply::redirect(status, &to)]).await?;
        let client = following(admin.url())?;
        let result = match method {
            "DELETE" => client.delete_oauth2_client().id("c1").send().await.api(),
            "GET" => client
                .get_oauth2_client()
                .id("c1")
                .send()
                .await
                .api()
                .map(drop),
            _ => client
                .create_oauth2_client()
                .body(types::OAuth2Client::builder().client_id(Some("c1".to_string())))
                .send()
                .await
                .api()
                .map(drop),
        };
        assert_eq!(
            elsewhere.request_lines(),
            ["GET /admin/clients/c1?code=not-for-errors HTTP/1.1"],
            "{status} {method}"
        );
        let err = result.err().ok_or("an answer from elsewhere was taken")?;
        let ApiError::RedirectFollowed { to } = &err else {
            panic!("{status} {method}: expected RedirectFollowed, got {err:?}");
        };
        assert_eq!(to, elsewhere.url());
        assert!(!err.is_transient());
        assert!(!err.to_string().contains("not-for-errors"), "{err}");
        assert!(err.to_string().contains("redirect"), "{err}");
    }
    Ok(())
}
