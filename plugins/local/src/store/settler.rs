//! The thread that applies clock-driven changes as they come due (`sql::timers`), on the
//! backend's own connection; it ends when the store is dropped (a retired build holds no
//! thread). Every write transaction also settles what is due before its own change, so the
//! settler only keeps reads current; settling is idempotent, so every host may run one.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::StoreError;

/// How often the settler looks for changes other hosts scheduled (its own are woken at
/// once, and each waits exactly until it is due).
pub const SETTLER_POLL: Duration = Duration::from_millis(250);

pub struct Settler {
    signal: Arc<(Mutex<Signal>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Signal {
    woken: bool,
    stop: bool,
}

impl Settler {
    /// Starts the thread; `settle_due` applies what is due and answers how long until the
    /// next change (on an error the settler tries again after the poll interval).
    pub fn start(
        mut settle_due: impl FnMut() -> Result<Duration, StoreError> + Send + 'static,
    ) -> Settler {
        let signal = Arc::new((Mutex::new(Signal::default()), Condvar::new()));
        let theirs = signal.clone();
        let thread = std::thread::Builder::new()
            .name("jumpgate-local-settler".into())
            .spawn(move || loop {
                let wait = settle_due().unwrap_or(SETTLER_POLL);
                let (lock, cvar) = &*theirs;
                let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
                if !s.woken && !s.stop && !wait.is_zero() {
                    s = cvar
                        .wait_timeout(s, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                if s.stop {
                    return;
                }
                s.woken = false;
            })
            .ok();
        Settler { signal, thread }
    }

    /// A change may have started a timer: the settler waits for it from now.
    pub fn wake(&self) {
        let (lock, cvar) = &*self.signal;
        lock.lock().unwrap_or_else(|e| e.into_inner()).woken = true;
        cvar.notify_one();
    }
}

impl Drop for Settler {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.signal;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        cvar.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
