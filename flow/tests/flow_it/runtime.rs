//! `token()` where no tokio runtime can run the fetch: a typed error, never a panic. Nothing is
//! sent, so no Hydra is needed (the URLs lead nowhere).

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use flow::{Config, Registration, TokenAuthMethod, TokenSource};
use hydra_sdk::Secret;

fn source() -> TokenSource {
    let config = Config::builder("http://127.0.0.1:9", "http://127.0.0.1:9")
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

#[test]
fn token_outside_any_tokio_runtime_is_no_runtime() {
    // It panicked in reqwest: "there is no reactor running".
    let got = std::thread::spawn(|| block_on(source().token()).map(|_| ()))
        .join()
        .expect("no panic");
    assert!(matches!(got, Err(flow::Error::NoRuntime)), "{got:?}");
}

#[test]
fn token_on_a_runtime_that_was_dropped_is_no_runtime() {
    // Through a handle of a dropped runtime the fetch's task never runs; led inline instead, its
    // timers panicked: "A Tokio 1.x context was found, but it is being shutdown."
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let handle = runtime.handle().clone();
    drop(runtime);
    let source = source();
    let got = std::thread::spawn(move || handle.block_on(source.token()).map(|_| ()))
        .join()
        .expect("no panic");
    assert!(matches!(got, Err(flow::Error::NoRuntime)), "{got:?}");
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
