//! `token()` called where no tokio runtime of the caller's can run the fetch (another executor,
//! a handle of a runtime that was dropped): the fetch runs on flow's own, never a panic. Against
//! a stand-in token endpoint (the client counts as registered). `acquire_token_with`, which runs
//! its requests in the caller's own future, needs the caller's runtime: a typed error without.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use flow::{Config, Registration, TokenAuthMethod, TokenSource};
use hydra_sdk::{ExposeSecret as _, Secret};
use hydra_tests::stand_in::{Reply, StandIn, TOKEN};

/// A stand-in token endpoint answering one token request, served by a runtime of its own, which
/// lives as long as the returned one.
fn stand_in() -> (tokio::runtime::Runtime, StandIn) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let public = runtime
        .block_on(StandIn::start(vec![Reply::token(TOKEN)]))
        .expect("stand-in");
    (runtime, public)
}

fn source(public_url: &str) -> TokenSource {
    let config = Config::builder("http://127.0.0.1:9", public_url)
        .client_id("no-runtime")
        .authorize(false)
        .build()
        .expect("config");
    let registration = Registration {
        client_id: "no-runtime".into(),
        client_secret: Secret::from("no-runtime-secret"),
        registration_access_token: None,
        token_auth_method: TokenAuthMethod::ClientSecretPost,
        created: false,
    };
    TokenSource::with_registration(config, registration).expect("source")
}

/// Polls `future` to its end on this thread, with no tokio runtime anywhere: what an executor
/// other than tokio's does.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park_timeout(std::time::Duration::from_millis(10));
    }
}

/// The access token a `token()` run by `run` on another thread got, or its error.
fn token_on_a_thread(
    source: TokenSource,
    run: impl FnOnce(TokenSource) -> Result<String, flow::Error> + Send + 'static,
) -> Result<String, flow::Error> {
    std::thread::spawn(move || run(source))
        .join()
        .expect("no panic")
}

#[test]
fn token_outside_any_tokio_runtime_is_fetched_on_flows_own() {
    // It panicked in reqwest: "there is no reactor running".
    let (_serving, public) = stand_in();
    let got = token_on_a_thread(source(public.url()), |source| {
        block_on(source.token()).map(|t| t.secret().expose_secret().to_string())
    });
    assert_eq!(got.as_deref().ok(), Some("stand-in-token"), "{got:?}");
}

#[test]
fn token_on_a_runtime_that_was_dropped_is_fetched_on_flows_own() {
    // Through a handle of a dropped runtime the fetch's task never runs; led inline instead, its
    // timers panicked: "A Tokio 1.x context was found, but it is being shutdown."
    let (_serving, public) = stand_in();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let handle = runtime.handle().clone();
    drop(runtime);
    let got = token_on_a_thread(source(public.url()), move |source| {
        handle
            .block_on(source.token())
            .map(|t| t.secret().expose_secret().to_string())
    });
    assert_eq!(got.as_deref().ok(), Some("stand-in-token"), "{got:?}");
}

#[test]
fn acquire_token_with_outside_any_tokio_runtime_is_no_runtime() {
    let config = Config::builder("http://127.0.0.1:9", "http://127.0.0.1:9")
        .authorize(false)
        .build()
        .expect("config");
    let got = std::thread::spawn(move || block_on(flow::acquire_token_with(&config)).map(|_| ()))
        .join()
        .expect("no panic");
    assert!(matches!(got, Err(flow::Error::NoRuntime)), "{got:?}");
}
