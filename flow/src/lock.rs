//! The std mutexes of flow, recovered when poisoned, with a warning the first time.
//!
//! Each guards a small value written in one assignment (a pointer to the fetch under way, the
//! refresher's handle, a timestamp, the list of shared HTTP clients) and none is held across an
//! await, so a thread that panicked while holding one cannot have left the value half-written.
//! Going on with it keeps one panicking caller from failing every later token request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tracing::warn;

/// Locks `mutex`, recovering its value if a thread panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    mutex.lock().unwrap_or_else(|poisoned| {
        if !WARNED.swap(true, Ordering::Relaxed) {
            warn!(
                "a thread panicked while holding one of flow's locks; going on with the value \
                 inside, which is written in one assignment and so is whole (warned once)"
            );
        }
        poisoned.into_inner()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_mutex_gives_back_its_value() {
        let mutex = Mutex::new(7);
        let poisoner = std::panic::catch_unwind(|| {
            let _held = lock(&mutex);
            panic!("poison it");
        });
        assert!(poisoner.is_err());
        assert!(mutex.is_poisoned());
        *lock(&mutex) += 1;
        assert_eq!(*lock(&mutex), 8);
    }
}
