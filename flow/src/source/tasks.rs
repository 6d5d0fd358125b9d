//! A [`TokenSource`](super::TokenSource)'s own tasks (the single flight's fetch, a refresh
//! started by a reader in the last margin, the refresh ahead of expiry) and what stops them: the
//! drop of the last clone a user holds. Each task holds the source itself, so without this a
//! source dropped mid-fetch would go on sending, retries included, for a token no one can read.

use std::sync::Weak;

use tokio::task::AbortHandle;

use super::Inner;
use crate::lock::lock;

/// What the clones users hold share. Dropped with the last of them, it stops the source's own
/// tasks, which hold the source themselves and would otherwise go on (a fetch up to its
/// deadline, retrying) for a token no one can read.
pub(super) struct Handles(pub(super) Weak<Inner>);

impl Drop for Handles {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            lock(&inner.tasks).stop();
        }
    }
}

/// The source's own tasks, by their abort handles.
#[derive(Default)]
pub(super) struct Tasks {
    /// No user holds the source any more: a task spawned now is aborted at once.
    stopped: bool,
    /// The single flight's fetch under way (or the last one, finished).
    pub(super) lead: Option<AbortHandle>,
    /// The refresh a reader in the last margin started (or the last one, finished).
    pub(super) revalidate: Option<AbortHandle>,
    /// The refresh ahead of expiry.
    pub(super) refresh: Option<AbortHandle>,
}

impl Tasks {
    pub(super) fn stop(&mut self) {
        self.stopped = true;
        if let Some(task) = self.lead.take() {
            task.abort();
        }
        self.stop_refreshes();
    }

    /// At [`TokenSource::shutdown`](super::TokenSource::shutdown): stops the refreshes. The fetch
    /// under way, if any, is left to end by itself (it keeps nothing once the source is shut
    /// down), so that a client it was registering is known when the source deletes its client.
    pub(super) fn stop_refreshes(&mut self) {
        for task in [&mut self.revalidate, &mut self.refresh] {
            if let Some(task) = task.take() {
                task.abort();
            }
        }
    }

    /// Keeps `task` in `slot`, aborting the task it replaces if `abort_previous`; or aborts
    /// `task` at once when no user holds the source.
    pub(super) fn keep(
        &mut self,
        slot: fn(&mut Tasks) -> &mut Option<AbortHandle>,
        task: AbortHandle,
        abort_previous: bool,
    ) {
        if self.stopped {
            task.abort();
        } else if let Some(previous) = slot(self).replace(task) {
            if abort_previous {
                previous.abort();
            }
        }
    }
}

/// Aborts a task when dropped: one that works for a caller stops with the caller's future.
pub(super) struct AbortOnDrop(pub(super) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A task that runs until aborted.
    fn pending(runtime: &tokio::runtime::Runtime) -> tokio::task::JoinHandle<()> {
        runtime.spawn(std::future::pending())
    }

    /// Whether `task` ends aborted (within a bound, so a task left running fails the test
    /// instead of hanging it).
    fn aborted(runtime: &tokio::runtime::Runtime, task: tokio::task::JoinHandle<()>) -> bool {
        runtime.block_on(async {
            matches!(
                tokio::time::timeout(Duration::from_secs(5), task).await,
                Ok(Err(e)) if e.is_cancelled()
            )
        })
    }

    #[test]
    fn tasks_are_kept_until_stopped_and_aborted_at_once_after() {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let mut tasks = Tasks::default();
        let (lead, refresh, next_refresh) =
            (pending(&runtime), pending(&runtime), pending(&runtime));
        tasks.keep(|t| &mut t.lead, lead.abort_handle(), false);
        tasks.keep(|t| &mut t.refresh, refresh.abort_handle(), true);
        // A new refresh replaces the old one, which is aborted; a lead is only replaced.
        tasks.keep(|t| &mut t.refresh, next_refresh.abort_handle(), true);
        assert!(aborted(&runtime, refresh));
        assert!(!lead.is_finished());
        tasks.stop();
        assert!(aborted(&runtime, lead));
        assert!(aborted(&runtime, next_refresh));
        // Spawned after the stop: aborted as it is kept.
        let late = pending(&runtime);
        tasks.keep(|t| &mut t.revalidate, late.abort_handle(), false);
        assert!(aborted(&runtime, late));
        assert!(tasks.revalidate.is_none());
    }
}
