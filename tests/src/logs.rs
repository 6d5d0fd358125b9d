//! What a test's own code logs through `tracing`, captured in memory so the test can search it
//! (for a secret that must not be there, or a warning that must).

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing::Level;

/// The text a [`Logs::capture`] subscriber has written so far; clones share it.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Starts capturing this thread's events at `level` and above, without ANSI colours, until
    /// the guard drops. Thread-local, as `tracing::subscriber::set_default` is: events of tasks
    /// on other runtime threads are not captured, so use it in a current-thread `#[tokio::test]`.
    /// The first capture in a process also sets a global default that records nothing, so that
    /// concurrent tests without a capture cannot blind this one (see
    /// `interested_global_default`).
    pub fn capture(level: Level) -> (Logs, DefaultGuard) {
        interested_global_default();
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&crate::lock(&self.0)).into_owned()
    }
}

/// Makes a global default that is interested in every callsite: a bare registry, which records
/// nothing. Why: tracing caches each callsite's interest for the whole process, computed when a
/// thread first reaches it, and while at most one dispatcher is registered it asks only that
/// thread's default (tracing-core 0.1.36, `Rebuilder::JustOne`). A concurrent test's thread
/// without a subscriber would answer "never" for a callsite this capture is waiting for (flow's
/// `hydra.token` span, say), and the capture would miss it for good. With this default every
/// thread answers "yes", and a capture's dispatcher is never the only one registered.
fn interested_global_default() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means the binary set its own global default, which then answers instead.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    });
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        crate::lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capture sees a callsite that a thread without a subscriber reached first (the way a
    /// concurrently running test without a capture reaches flow's spans before the test that
    /// captures them).
    #[test]
    fn a_capture_sees_callsites_another_thread_reached_first() {
        fn emit() {
            tracing::info!("reached first elsewhere");
        }
        let (logs, guard) = Logs::capture(Level::INFO);
        std::thread::spawn(emit).join().expect("the other thread");
        emit();
        drop(guard);
        let text = logs.text();
        assert!(
            text.contains("reached first elsewhere"),
            "captured: {text:?}"
        );
    }
}
